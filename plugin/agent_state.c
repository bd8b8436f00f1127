/* The node agent's view of the pods' state directories under bpffsRoot. */
#include "agent.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dispatch_abi.h"
#include "dispatcher.h"
#include "state.h"

/* Temporary directories of an ADD in progress start with ':' (state.h). */
static bool is_state_name(const char *name)
{
	return name[0] != '.' && name[0] != ':';
}

/* Calls fn for each state subdirectory of dir, down depth more levels. */
static int walk(const char *dir, int depth, int (*fn)(const char *dir, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int stop = 0;

	while (d && !stop && (e = readdir(d))) {
		char path[PATH_MAX];

		if (!is_state_name(e->d_name) || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		stop = depth ? walk(path, depth - 1, fn, arg) : fn(path, arg);
	}
	if (d)
		closedir(d);
	return stop;
}

void skl_agent_each_state(const char *root, int (*fn)(const char *dir, void *arg), void *arg)
{
	/* Nothing under a root someone else could have prepared is a pod's
	 * (the reaper logs why, skl_agent_reconcile). */
	if (skl_bpffs_check_root(root, NULL))
		return;
	walk(root, 2, fn, arg); /* NETWORK / CONTAINER / IFNAME */
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

int skl_agent_state_cookie(const char *dir, uint64_t *cookie)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), zero = 0;
	struct skl_config cfg;
	int fd = open_pin(dir, skl_map_pin_names[SKL_MAP_CONFIG]), ret = -1;

	if (fd < 0)
		return -1;
	/* A map of another layout (or per-CPU) would be read past cfg. */
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_ARRAY &&
	    info.value_size == sizeof(cfg) &&
	    !bpf_map_lookup_elem(fd, &zero, &cfg)) {
		*cookie = cfg.netns_cookie;
		ret = 0;
	}
	close(fd);
	return ret;
}

int skl_agent_state_netns_ino(const char *dir, uint64_t *ino)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = open_pin(dir, SKL_PIN_LINK), ret;

	if (fd < 0)
		return -1;
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (ret || info.type != BPF_LINK_TYPE_NETNS)
		return -1;
	*ino = info.netns.netns_ino;
	return 0;
}
