/* What the CNI verbs share: the pod's bindings, its netns. */
#include "cni.h"

#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"

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
		if (err) {
			err->code = SKL_CNI_INVALID_ENV;
			skl_err_prefix(err, "CNI_NETNS");
		}
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
