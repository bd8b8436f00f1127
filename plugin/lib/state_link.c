/*
 * Which netns a pod's sk_lookup link serves: the one reader of it, with
 * one set of checks, for every program that asks.
 */
#include "state.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dispatcher.h"

int skl_link_netns(int link_fd, uint64_t *ino, struct skl_err *err)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the link info: %s",
				strerror(errno));
	/* Anything else pinned as the link would be read as if it were one. */
	if (info.type != BPF_LINK_TYPE_NETNS || info.netns.attach_type != BPF_SK_LOOKUP)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"link %u is no sk_lookup link of a network namespace (type %u, "
				"attach type %u)", info.id, info.type, info.netns.attach_type);
	*ino = info.netns.netns_ino;
	return 0;
}

int skl_state_link_netns(const char *dir, uint64_t *ino, struct skl_err *err)
{
	char path[PATH_MAX];
	int fd, ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SKL_PIN_LINK) >= sizeof(path))
		return skl_errf(err, SKL_CNI_INTERNAL, "path %s/%s is too long", dir,
				SKL_PIN_LINK);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot open the pinned link %s: %s", path,
				strerror(errno));
	ret = skl_link_netns(fd, ino, err);
	close(fd);
	return ret;
}
