/* The pod's lock, for every library function that changes its maps. */
#include "pod.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "netns.h"
#include "state.h"

static int link_id(int fd, uint32_t *id)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	*id = info.id;
	return 0;
}

/* True if the state directory still holds the link d opened. */
static bool still_ours(const struct skl_pod *pod)
{
	char path[PATH_MAX + 8];
	uint32_t opened, pinned;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", pod->state_dir, SKL_PIN_LINK);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	ret = link_id(fd, &pinned);
	close(fd);
	return !ret && !link_id(pod->d->link_fd, &opened) && opened == pinned;
}

int skl_pod_lock(const struct skl_pod *pod, int *lock_fd, struct skl_err *err)
{
	int wait_ms = pod->lock_wait_ms ? pod->lock_wait_ms : SKL_STATE_LOCK_WAIT_MS;

	if (skl_state_lock_existing(pod->state_dir, wait_ms, lock_fd, err))
		return -1;
	if (!still_ours(pod)) {
		skl_state_unlock(*lock_fd);
		*lock_fd = -1;
		return skl_errf(err, SKL_CNI_TRY_AGAIN_LATER,
				"the pod's state %s was deleted or re-created meanwhile; run the "
				"command again",
				pod->state_dir);
	}
	return 0;
}

int skl_pod_in_netns(const struct skl_pod *pod, int (*fn)(void *arg, struct skl_err *err),
		     void *arg, struct skl_err *err)
{
	uint64_t here = 0;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), saved, ret;

	if (self >= 0) {
		skl_netns_ino(self, &here, NULL);
		close(self);
	}
	if (!pod->netns_ino)
		return skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
				"the pod's network namespace is gone (its link is detached)");
	if (here == pod->netns_ino)
		return fn(arg, err);
	if (*pod->netns_fd < 0)
		*pod->netns_fd = skl_netns_find(pod->netns_ino);
	if (*pod->netns_fd < 0)
		return skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
				"cannot find the pod's network namespace (inode %llu); give --netns",
				(unsigned long long)pod->netns_ino);
	if (skl_netns_enter(*pod->netns_fd, &saved, err))
		return -1;
	ret = fn(arg, err);
	if (skl_netns_leave(saved, ret ? NULL : err))
		return -1;
	return ret;
}

