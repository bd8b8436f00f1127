#include "node_ready.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dispatcher.h"
#include "state.h"

static bool has_cap(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

static int check_caps(struct skl_err *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return skl_errf(err, SKL_CNI_NOT_AVAILABLE, "cannot read this process' capabilities");
	if (!has_cap(data, CAP_SYS_ADMIN) || !has_cap(data, CAP_NET_ADMIN))
		return skl_errf(err, SKL_CNI_NOT_AVAILABLE,
				"the plugin lacks %s: run it as root (the runtime does) with "
				"CAP_SYS_ADMIN and CAP_NET_ADMIN",
				has_cap(data, CAP_SYS_ADMIN) ? "CAP_NET_ADMIN" : "CAP_SYS_ADMIN");
	return 0;
}

/* Stops the walk at the first pod whose pinned program is an sk_lookup
 * program this process can open. */
static int pinned_program(const struct skl_state_visit *v, void *arg)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, ok;

	(void)arg;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", v->dir, SKL_PIN_PROG) >= sizeof(path))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_PROG_TYPE_SK_LOOKUP;
	close(fd);
	return ok;
}

int skl_node_ready(const char *root, enum skl_ready_proof *proof, struct skl_err *err)
{
	int ret;

	if (check_caps(err))
		return -1;
	if (skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, pinned_program, NULL) > 0) {
		if (proof)
			*proof = SKL_READY_PINNED_PROGRAM;
		return 0;
	}
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_LOOKUP, NULL);
	if (ret != 1)
		return skl_errf(err, SKL_CNI_NOT_AVAILABLE,
				"the kernel does not let this process load BPF sk_lookup programs "
				"(%s): run the plugin as root (CAP_BPF, CAP_NET_ADMIN) on Linux 5.9 "
				"or later", ret < 0 ? "no permission" : "not supported");
	if (proof)
		*proof = SKL_READY_PROBE_LOAD;
	return 0;
}
