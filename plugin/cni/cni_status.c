/* STATUS: can this node serve an ADD? bpffs at bpffsRoot, and a kernel that
 * lets this process load sk_lookup programs. */
#include "cni.h"

#include <bpf/libbpf.h>

#include "state.h"

int skl_cni_status(struct skl_cni_req *req, struct skl_err *err)
{
	int ret;

	if (skl_bpffs_ensure(req->conf.bpffs_root, err)) {
		err->code = SKL_CNI_NOT_AVAILABLE;
		skl_err_prefix(err, "bpffs");
		return -1;
	}
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_LOOKUP, NULL);
	if (ret != 1)
		return skl_errf(err, SKL_CNI_NOT_AVAILABLE,
				"the kernel does not let this process load BPF sk_lookup programs "
				"(%s): run the plugin as root (CAP_BPF, CAP_NET_ADMIN) on Linux 5.9 "
				"or later", ret < 0 ? "no permission" : "not supported");
	return 0;
}
