/* The node agent's view of the pods' state directories under bpffsRoot. */
#include "agent_state.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dispatch_abi.h"
#include "dispatcher.h"
#include "state.h"

struct each {
	int (*fn)(const char *dir, void *arg);
	void *arg;
};

static int visit(const struct skl_state_visit *v, void *arg)
{
	const struct each *e = arg;

	return e->fn(v->dir, e->arg);
}

void skl_agent_each_state(const char *root, int (*fn)(const char *dir, void *arg), void *arg)
{
	struct each e = { .fn = fn, .arg = arg };

	/* Nothing under a root someone else could have prepared is a pod's
	 * (the reaper logs why, skl_agent_reconcile). */
	if (skl_bpffs_check_root(root, NULL))
		return;
	skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, visit, &e);
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* Every layout keeps the netns cookie where the first one had it: the
 * agent finds a pod of another release too, and tells its client what to
 * run rather than "no dispatcher". */
#define CONFIG_MAX 4096

int skl_agent_state_cookie(const char *dir, uint64_t *cookie)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), zero = 0;
	uint64_t value[CONFIG_MAX / sizeof(uint64_t)];
	size_t at = offsetof(struct skl_config, netns_cookie);
	int fd = open_pin(dir, skl_map_pin_names[SKL_MAP_CONFIG]), ret = -1;

	if (fd < 0)
		return -1;
	/* A value larger than the buffer (or per-CPU) would be read past it. */
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_ARRAY &&
	    info.value_size >= at + sizeof(*cookie) && info.value_size <= sizeof(value) &&
	    !bpf_map_lookup_elem(fd, &zero, value)) {
		memcpy(cookie, (const char *)value + at, sizeof(*cookie));
		ret = 0;
	}
	close(fd);
	return ret;
}
