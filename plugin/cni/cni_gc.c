/* GC: remove the state of every attachment of this network that is not in
 * cni.dev/valid-attachments, and temporary directories of ADDs that died.
 * Keeps going after an error and reports the first one. */
#include "cni.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pod_teardown.h"
#include "state.h"

struct valid {
	size_t n;
	char (*path)[PATH_MAX];
};

static int valid_paths(const struct skl_cni_req *req, struct valid *v, struct skl_err *err)
{
	const cJSON *a;
	size_t i = 0;

	v->n = 0;
	v->path = calloc((size_t)cJSON_GetArraySize(req->conf.valid_attachments) + 1,
			 sizeof(*v->path));
	if (!v->path)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	cJSON_ArrayForEach(a, req->conf.valid_attachments) {
		const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "containerID"));
		const char *ifname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "ifname"));

		if (!cid || !ifname)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"cni.dev/valid-attachments[%zu]: needs \"containerID\" and "
					"\"ifname\" strings", i);
		/* An ID no ADD could have used has no state to keep. */
		if (!skl_state_path(v->path[v->n], PATH_MAX, req->conf.bpffs_root, req->conf.name,
				    cid, ifname, NULL))
			v->n++;
		i++;
	}
	return 0;
}

static bool is_valid(const struct valid *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->path[i], path))
			return true;
	return false;
}

struct collect {
	const struct valid *valid;
	struct skl_err *err; /* the first failure's; NULL once one was reported */
	int ret;
};

/* One state directory of a locked container, or a temporary directory of
 * an ADD that died (we hold its lock): its record names what it did, in
 * the pod's netns too, which teardown finds through the link while the
 * netns lives. */
static int collect_state(const struct skl_state_visit *v, void *arg)
{
	struct collect *c = arg;

	if (v->temporary) {
		skl_pod_teardown(v->dir, NULL, NULL);
	} else if (!is_valid(c->valid, v->dir) && skl_pod_teardown(v->dir, NULL, c->err)) {
		c->ret = -1;
		c->err = NULL;
	}
	return 0;
}

static int collect_container(const struct skl_state_visit *container, void *arg)
{
	struct collect *c = arg, inside = { .valid = c->valid, .err = c->err };
	char probe[PATH_MAX + 300];
	int lock_fd;

	/* Any child path will do: the lock is on the container directory. */
	if ((size_t)snprintf(probe, sizeof(probe), "%s/x", container->dir) >= sizeof(probe)) {
		skl_errf(c->err, SKL_CNI_INTERNAL, "path too long: %s", container->dir);
	} else if (!skl_state_lock(probe, &lock_fd, c->err)) {
		skl_state_walk(container->dir, SKL_STATE_FROM_CONTAINER,
			       SKL_STATE_WALK_TEMPORARIES, collect_state, &inside);
		rmdir(container->dir);
		skl_state_unlock(lock_fd);
		if (!inside.ret)
			return 0;
	}
	c->ret = -1;
	c->err = NULL;
	return 0;
}

int skl_cni_gc(struct skl_cni_req *req, struct skl_err *err)
{
	char network[PATH_MAX];
	struct valid v = { 0 };
	struct collect c = { .valid = &v, .err = err };

	if (valid_paths(req, &v, err) ||
	    skl_state_path(network, sizeof(network), req->conf.bpffs_root, req->conf.name, "x",
			   "x", err) ||
	    skl_state_parent(network, network, sizeof(network), err) ||
	    skl_state_parent(network, network, sizeof(network), err)) {
		free(v.path);
		return -1;
	}
	/* Containers: one level below the network directory. */
	skl_state_walk(network, SKL_STATE_FROM_CONTAINER, 0, collect_container, &c);
	rmdir(network);
	free(v.path);
	return c.ret;
}
