/* The registered sockets of one SOCKMAP carried into another, by the BPF
 * program of bpf/sockmap_copy.bpf.c (see upgrade.h). */
#include "upgrade.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sockmap_copy.skel.h"

#define CHUNK 4096 /* keys per run, as in the program */

static int max_entries(int fd, uint32_t *n, struct skl_err *err)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the sockets map: %s",
				strerror(errno));
	*n = info.max_entries;
	return 0;
}

/* One run over the keys [first, first + CHUNK). */
static int run_chunk(struct sockmap_copy_bpf *skel, uint32_t first, uint32_t count,
		     struct skl_err *err)
{
	unsigned char packet[64] = { 0 }; /* an Ethernet header's worth, and more */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
		    .repeat = 1);

	skel->bss->first = first;
	skel->bss->count = count;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.copy_sockets), &opts))
		return skl_errf(err, SKL_CNI_INTERNAL, "running the socket-copying program: %s",
				strerror(errno));
	return 0;
}

int skl_upgrade_copy_sockets(int from_fd, int to_fd, uint32_t *copied, struct skl_err *err)
{
	struct sockmap_copy_bpf *skel;
	uint32_t n = 0;
	int ret = -1;

	*copied = 0;
	if (max_entries(from_fd, &n, err))
		return -1;
	skel = sockmap_copy_bpf__open();
	if (!skel)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening the socket-copying program: %s",
				strerror(errno));
	if (bpf_map__reuse_fd(skel->maps.from, from_fd) ||
	    bpf_map__reuse_fd(skel->maps.to, to_fd) || sockmap_copy_bpf__load(skel)) {
		skl_errf(err, SKL_CNI_INTERNAL,
			 "loading the socket-copying program (needs bpf_loop: a kernel 5.17 or "
			 "later): %s; nothing was changed", strerror(errno));
		goto out;
	}
	for (uint32_t first = 0; first < n; first += CHUNK)
		if (run_chunk(skel, first, n - first < CHUNK ? n - first : CHUNK, err))
			goto out;
	if (skel->bss->copied != skel->bss->seen) {
		skl_errf(err, SKL_CNI_INTERNAL,
			 "carrying the registered sockets over: %u of %u copied into the new "
			 "sockets map", skel->bss->copied, skel->bss->seen);
		goto out;
	}
	*copied = skel->bss->copied;
	ret = 0;
out:
	sockmap_copy_bpf__destroy(skel);
	return ret;
}
