/* What the CNI verbs share: the pod's bindings, its netns, tearing down. */
#include "cni.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dispatcher.h"
#include "netns.h"
#include "portreserve.h"
#include "state.h"

int skl_cni_pod_bindings(struct skl_cni_req *req, struct skl_pod_addrs *pod,
			 struct skl_err *err)
{
	struct skl_netconf *c = &req->conf;

	if (skl_netconf_pod_addrs(c, req->ifname, pod, err) ||
	    skl_bindings_resolve_pod(&c->bindings, pod, err) ||
	    skl_netconf_add_annotation(c, pod, err))
		return -1;
	return 0;
}

int skl_cni_open_netns(const char *path, int *fd, struct skl_err *err)
{
	struct stat mine, theirs;

	if (skl_netns_open(path, fd, err)) {
		err->code = SKL_CNI_INVALID_ENV;
		skl_err_prefix(err, "CNI_NETNS");
		return -1;
	}
	if (stat("/proc/self/ns/net", &mine) == 0 && fstat(*fd, &theirs) == 0 &&
	    mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) {
		close(*fd);
		*fd = -1;
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"CNI_NETNS: %s is the plugin's own network namespace (the host's); "
				"give the pod's", path);
	}
	return 0;
}

/* The netns at path, if it is the one the record was made for. */
static int recorded_netns(const char *path, uint64_t ino)
{
	struct skl_err ignored;
	uint64_t actual;
	int fd;

	if (!path || !ino || skl_netns_open(path, &fd, &ignored))
		return -1;
	if (skl_netns_ino(fd, &actual, &ignored) || actual != ino) {
		close(fd);
		return -1;
	}
	return fd;
}

static int undo_pod_side(const struct skl_record *rec, int netns_fd, struct skl_err *err)
{
	int saved, ret = 0;

	if (skl_netns_enter(netns_fd, &saved, err))
		return -1;
	for (size_t i = 0; i < rec->n_pod_routes; i++)
		if (skl_route_del(&rec->pod_routes[i], err))
			ret = -1;
	if (rec->n_reserved && skl_reserved_ports_remove(rec->reserved, rec->n_reserved, err))
		ret = -1;
	if (skl_netns_leave(saved, ret ? NULL : err))
		ret = -1;
	return ret;
}

/* Unpinning only lets the kernel release the link later; detaching it
 * first means no packet meets this pod's dispatcher once DEL returns. */
static void detach_link(const char *state_dir)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", state_dir, SKL_PIN_LINK);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	bpf_link_detach(fd);
	close(fd);
}

int skl_cni_teardown(const char *state_dir, const char *netns_path, struct skl_err *err)
{
	struct skl_record rec;
	int netns_fd, ret = 0;

	if (!skl_state_exists(state_dir))
		return 0;
	/* Without a readable record there is nothing to undo but the pins. */
	if (!skl_record_load(state_dir, &rec, NULL)) {
		for (size_t i = 0; i < rec.n_host_routes; i++)
			if (skl_route_del(&rec.host_routes[i], err))
				ret = -1;
		netns_fd = recorded_netns(netns_path, rec.netns_ino);
		if (netns_fd >= 0) {
			if (undo_pod_side(&rec, netns_fd, err))
				ret = -1;
			close(netns_fd);
		}
		skl_record_free(&rec);
	}
	if (ret)
		return -1;
	detach_link(state_dir);
	return skl_state_remove(state_dir, err);
}

void skl_cni_remove_stale_tmp(const char *state_dir, const char *keep, const char *netns_path)
{
	char container[PATH_MAX], prefix[64], path[PATH_MAX + 256];
	const char *ifname = strrchr(state_dir, '/') + 1;
	struct dirent *e;
	DIR *d;

	snprintf(container, sizeof(container), "%.*s", (int)(ifname - 1 - state_dir), state_dir);
	snprintf(prefix, sizeof(prefix), ":tmp-%s-", ifname);
	d = opendir(container);
	if (!d)
		return;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", container, e->d_name);
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && (!keep || strcmp(path, keep)))
			skl_cni_teardown(path, netns_path, NULL);
	}
	closedir(d);
}
