/*
 * Records found through the kernel rather than through their pins: when
 * bpffs is unmounted at bpffsRoot while another mount keeps the instance
 * (another mount namespace, a bind mount), the pins, the link and so the
 * dispatcher live on out of reach of every path. Each record names its
 * attachment's state directory, so DEL can still find it among the maps.
 */
#include "record.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

/* True if the program of link link_id holds map map_id. */
static bool vouched(uint32_t map_id, uint32_t link_id)
{
	struct bpf_link_info link = { 0 };
	struct bpf_prog_info prog = { 0 };
	uint32_t len = sizeof(link), *ids = NULL;
	int link_fd = link_id ? bpf_link_get_fd_by_id(link_id) : -1, prog_fd = -1;
	bool found = false;

	if (link_fd < 0 || bpf_obj_get_info_by_fd(link_fd, &link, &len) ||
	    link.type != BPF_LINK_TYPE_NETNS || link.netns.attach_type != BPF_SK_LOOKUP)
		goto out;
	prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
	len = sizeof(prog);
	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &prog, &len) || !prog.nr_map_ids)
		goto out;
	ids = calloc(prog.nr_map_ids, sizeof(*ids));
	if (!ids)
		goto out;
	{
		struct bpf_prog_info again = { .nr_map_ids = prog.nr_map_ids,
					       .map_ids = (uint64_t)(uintptr_t)ids };

		len = sizeof(again);
		if (bpf_obj_get_info_by_fd(prog_fd, &again, &len))
			goto out;
		for (uint32_t i = 0; i < again.nr_map_ids && i < prog.nr_map_ids; i++)
			found = found || ids[i] == map_id;
	}
out:
	free(ids);
	if (prog_fd >= 0)
		close(prog_fd);
	if (link_fd >= 0)
		close(link_fd);
	return found;
}

int skl_record_find(const char *state_dir, uint32_t *id, struct skl_record *r)
{
	while (!bpf_map_get_next_id(*id, id)) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(*id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_ARRAY &&
		    !strcmp(info.name, SKL_PIN_RECORD) &&
		    !skl_record_load_fd(fd, SKL_PIN_RECORD, r, NULL)) {
			if (!strcmp(r->state_dir, state_dir) && vouched(*id, r->link_id))
				return fd;
			skl_record_free(r);
		}
		close(fd);
	}
	return -1;
}
