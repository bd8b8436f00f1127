/* GC: remove the state of every attachment of this network that is not in
 * cni.dev/valid-attachments, and temporary directories of ADDs that died.
 * Keeps going after an error and reports the first one. */
#include "cni.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int collect_container(const char *container, const struct valid *v, struct skl_err *err)
{
	char path[PATH_MAX + 256], probe[PATH_MAX + 300];
	struct dirent *e;
	int lock_fd, ret = 0;
	DIR *d;

	/* Any child path will do: the lock is on the container directory. */
	if ((size_t)snprintf(probe, sizeof(probe), "%s/x", container) >= sizeof(probe))
		return skl_errf(err, SKL_CNI_INTERNAL, "path too long: %s", container);
	if (skl_state_lock(probe, &lock_fd, err))
		return -1;
	d = opendir(container);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", container, e->d_name) >= sizeof(path))
			continue;
		if (e->d_name[0] == ':') {
			/* A temporary directory: its ADD died (we hold its lock). Its
			 * record names what it did, in the pod's netns too, which
			 * teardown finds through the link while the netns lives. */
			skl_cni_teardown(path, NULL, NULL);
		} else if (!is_valid(v, path) && skl_cni_teardown(path, NULL, ret ? NULL : err)) {
			ret = -1;
		}
	}
	if (d)
		closedir(d);
	rmdir(container);
	skl_state_unlock(lock_fd);
	return ret;
}

int skl_cni_gc(struct skl_cni_req *req, struct skl_err *err)
{
	char network[PATH_MAX], container[PATH_MAX + 256];
	struct valid v = { 0 };
	struct dirent *e;
	int ret = 0;
	DIR *d;

	if (valid_paths(req, &v, err) ||
	    skl_state_path(network, sizeof(network), req->conf.bpffs_root, req->conf.name, "x",
			   "x", err)) {
		free(v.path);
		return -1;
	}
	*strrchr(network, '/') = 0;
	*strrchr(network, '/') = 0;
	d = opendir(network);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(container, sizeof(container), "%s/%s", network, e->d_name) >=
		    sizeof(container))
			continue;
		if (collect_container(container, &v, ret ? NULL : err))
			ret = -1;
	}
	if (d)
		closedir(d);
	rmdir(network);
	free(v.path);
	return ret;
}
