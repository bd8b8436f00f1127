/* DEL: undo what ADD recorded and remove the state. Succeeds when there is
 * nothing left to delete, when the netns is gone, and when repeated. */
#include "cni.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "pod_teardown.h"
#include "route_plan.h"
#include "routes.h"
#include "state.h"

/* Deletes the routes of kind that ADD would add for this config and that
 * carry the plugin's protocol, in the current netns. */
static void remove_planned_routes(struct skl_cni_req *req, const struct skl_pod_addrs *pod,
				  uint8_t kind)
{
	struct skl_route *plan;
	size_t n;

	if (skl_route_plan(&req->conf.bindings, pod, kind, req->ifname, &plan, &n, NULL))
		return;
	for (size_t i = 0; i < n; i++)
		skl_route_del_ours(&plan[i], NULL);
	free(plan);
}

/* The kernel holds no record of the attachment: its bpffs was unmounted
 * for good, with the pins, or ADD never ran. The routes ADD would have added for this
 * config (DEL gets the same config, prevResult included) that carry the
 * plugin's route protocol are its own: remove them, best effort. A host
 * route goes via the pod's address, which no other pod holds before this
 * DEL's IPAM releases it. */
static void remove_unrecorded_routes(const struct skl_cni_req *req)
{
	struct skl_cni_req full = *req;
	struct skl_pod_addrs pod;
	char *json = cJSON_PrintUnformatted(req->conf.doc);
	int netns_fd, saved;

	/* DEL parses only what locates the state; the routes need it all. A
	 * config ADD would refuse has no routes of ADD's to remove. */
	if (!json || skl_netconf_parse(json, false, &full.conf, NULL)) {
		free(json);
		return;
	}
	free(json);
	if ((full.conf.routes_host || full.conf.routes_pod) && full.conf.prev_result &&
	    !skl_cni_pod_bindings(&full, &pod, NULL)) {
		if (full.conf.routes_host)
			remove_planned_routes(&full, &pod, SKL_ROUTE_VIA);
		if (full.conf.routes_pod && full.netns && *full.netns &&
		    !skl_cni_open_netns(full.netns, &netns_fd, NULL)) {
			if (!skl_netns_enter(netns_fd, &saved, NULL)) {
				remove_planned_routes(&full, &pod, SKL_ROUTE_LOCAL);
				skl_netns_leave(saved, NULL);
			}
			close(netns_fd);
		}
	}
	skl_netconf_free(&full.conf);
}

int skl_cni_del(struct skl_cni_req *req, struct skl_err *err)
{
	char container[PATH_MAX];
	int lock_fd = -1, ret;

	if (skl_state_parent(req->state_dir, container, sizeof(container), err))
		return -1;
	/* Nothing was ever added, or bpffs is not mounted there (any more):
	 * only the kernel can tell. Taking the lock would create the
	 * directories. */
	if (!skl_state_exists(container)) {
		ret = skl_pod_teardown_unreachable(req->state_dir, req->netns, err);
		if (ret < 0)
			return -1;
		/* No record anywhere: the attachment is gone with its bpffs. */
		if (ret == 0)
			remove_unrecorded_routes(req);
		return 0;
	}
	if (skl_state_lock(req->state_dir, &lock_fd, err))
		return -1;
	ret = skl_pod_remove(req->state_dir, req->netns, err);
	skl_state_unlock(lock_fd);
	return ret;
}
