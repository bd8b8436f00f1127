/* STATUS: can this node serve an ADD? bpffs at bpffsRoot, and a kernel that
 * lets this process load sk_lookup programs (node_ready.h: cheap once a
 * pod is in place, since runtimes ask every few seconds). */
#include "cni.h"

#include "node_ready.h"
#include "state.h"

int skl_cni_status(struct skl_cni_req *req, struct skl_err *err)
{
	/* Mounts bpffs only when it is not mounted yet. */
	if (skl_bpffs_ensure(req->conf.bpffs_root, err)) {
		err->code = SKL_CNI_NOT_AVAILABLE;
		skl_err_prefix(err, "bpffs");
		return -1;
	}
	return skl_node_ready(req->conf.bpffs_root, NULL, err);
}
