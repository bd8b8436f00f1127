/* DEL: undo what ADD recorded and remove the state. Succeeds when there is
 * nothing left to delete, when the netns is gone, and when repeated. */
#include "cni.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

int skl_cni_del(struct skl_cni_req *req, struct skl_err *err)
{
	char container[PATH_MAX], network[PATH_MAX];
	int lock_fd = -1, ret;

	snprintf(container, sizeof(container), "%s", req->state_dir);
	*strrchr(container, '/') = 0;
	snprintf(network, sizeof(network), "%s", container);
	*strrchr(network, '/') = 0;
	/* Nothing was ever added, or bpffs is not mounted there (any more):
	 * only the kernel can tell. Taking the lock would create the
	 * directories. */
	if (!skl_state_exists(container))
		return skl_cni_teardown_unreachable(req->state_dir, req->netns, err);
	if (skl_state_lock(req->state_dir, &lock_fd, err))
		return -1;
	skl_cni_remove_stale_tmp(req->state_dir, NULL, req->netns);
	ret = skl_cni_teardown(req->state_dir, req->netns, err);
	/* Left empty by a stale temporary directory alone. */
	rmdir(container);
	rmdir(network);
	skl_state_unlock(lock_fd);
	return ret;
}
