/*
 * ADD: attach the dispatcher to the pod's netns, fill its bindings, add the
 * routes and reserved ports, pin everything — all or nothing. Each step
 * records what it did in `struct add` as it succeeds; on any failure
 * add_undo() takes back exactly that, newest first. The host routes come
 * last, after the commit: they draw the range's traffic to this node (a BGP
 * daemon announces them), so they exist only for a complete pod.
 */
#include "cni.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "netns.h"
#include "pod_teardown.h"
#include "portreserve.h"
#include "route_plan.h"
#include "rules.h"
#include "spare.h"
#include "state.h"

struct add {
	struct skl_cni_req *req;
	struct skl_pod_addrs pod;
	int lock_fd, netns_fd;
	uint64_t netns_cookie;
	char tmp[PATH_MAX]; /* "" until created */
	struct skl_dispatcher d;
	struct skl_record rec; /* what was added so far */
	bool committed;
};

#ifdef SKL_FAULT_INJECTION
/* Only in the test build's copy of this file (test/root/helper_sklookup_fi):
 * the shipped binaries have neither the hook nor the check. */
int (*skl_cni_fault_hook)(int step);

static int step_done(int step, struct skl_err *err)
{
	if (skl_cni_fault_hook && skl_cni_fault_hook(step))
		return skl_errf(err, SKL_CNI_INTERNAL, "injected failure after ADD step %d", step);
	return 0;
}
#else
static int step_done(int step, struct skl_err *err)
{
	(void)step;
	(void)err;
	return 0;
}
#endif

/* The record in the temporary directory (after the commit, in the state
 * directory) is written ahead of every change ADD makes outside its pins,
 * so whoever finds the directory of an ADD that was killed can undo
 * exactly that (skl_pod_remove_stale_tmp, or DEL). */
static int journal(struct add *a, struct skl_err *err)
{
	return skl_record_save_bound(&a->rec, a->committed ? a->req->state_dir : a->tmp,
				     a->d.prog_fd, err);
}

static int link_id(struct add *a, struct skl_err *err)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(a->d.link_fd, &info, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the link's id: %s", strerror(errno));
	a->rec.link_id = info.id;
	return 0;
}

/* Adds one route unless it exists already (then it is not ours to remove). */
static int add_route(struct add *a, struct skl_route **done, size_t *n_done,
		     const struct skl_route *r, struct skl_err *err)
{
	int ret;

	if (skl_record_add_route(done, n_done, r, err) || journal(a, err))
		return -1;
	ret = skl_route_add(r, err);
	if (ret == 0)
		return 0;
	/* Not added: not ours to undo, and the record says so. */
	(*n_done)--;
	if (ret < 0) {
		journal(a, NULL);
		return -1;
	}
	return journal(a, err);
}

/* Reserves the planned ports; the record names, ahead, those not reserved
 * yet, which are the ones this ADD adds. */
static int reserve_ports(struct add *a, const struct skl_port_range *plan, size_t n_plan,
			 struct skl_err *err)
{
	struct skl_port_range *now = NULL, *added = NULL;
	size_t n_now = 0, n_added = 0;
	int ret = -1;

	if (skl_reserved_ports_read(&now, &n_now, err) ||
	    skl_port_ranges_subtract(plan, n_plan, now, n_now, &a->rec.reserved, &a->rec.n_reserved,
				     err) ||
	    journal(a, err) || skl_reserved_ports_add(plan, n_plan, &added, &n_added, err))
		goto out;
	free(a->rec.reserved);
	a->rec.reserved = added;
	a->rec.n_reserved = n_added;
	added = NULL;
	ret = journal(a, err);
out:
	free(now);
	free(added);
	return ret;
}

/* The routes of kind (route_plan.h) for the pod's bindings, each recorded
 * ahead in *done. */
static int add_planned_routes(struct add *a, uint8_t kind, struct skl_route **done,
			      size_t *n_done, struct skl_err *err)
{
	struct skl_route *plan;
	size_t n;
	int ret = 0;

	if (skl_route_plan(&a->req->conf.bindings, &a->pod, kind, a->req->ifname, &plan, &n, err))
		return -1;
	for (size_t i = 0; i < n && !ret; i++)
		ret = add_route(a, done, n_done, &plan[i], err);
	free(plan);
	return ret;
}

static int add_pod_side(struct add *a, struct skl_err *err)
{
	const struct skl_binding_set *set = &a->req->conf.bindings;
	struct skl_port_range *served = NULL, *plan = NULL;
	size_t n_served = 0, n_plan = 0;
	uint16_t eph_lo, eph_hi;
	int saved, ret = -1;

	if (skl_netns_enter(a->netns_fd, &saved, err))
		return -1;
	for (size_t i = 0; i < set->n; i++)
		n_served += set->v[i].n_ports;
	served = calloc(n_served + 1, sizeof(*served));
	if (!served) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	n_served = 0;
	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->v[i].n_ports; k++)
			served[n_served++] = set->v[i].ports[k];
	if (skl_ephemeral_ports_read(&eph_lo, &eph_hi, err) ||
	    skl_reserved_ports_plan(served, n_served, eph_lo, eph_hi, &plan, &n_plan,
				    &a->rec.n_unreserved, err) ||
	    (n_plan && reserve_ports(a, plan, n_plan, err)) ||
	    step_done(SKL_STEP_RESERVE_PORTS, err))
		goto out;
	if (a->req->conf.routes_pod &&
	    add_planned_routes(a, SKL_ROUTE_LOCAL, &a->rec.pod_routes, &a->rec.n_pod_routes, err))
		goto out;
	if (step_done(SKL_STEP_POD_ROUTES, err))
		goto out;
	ret = 0;
out:
	free(served);
	free(plan);
	if (skl_netns_leave(saved, ret ? NULL : err))
		ret = -1;
	return ret;
}

static int add_host_routes(struct add *a, struct skl_err *err)
{
	if (!a->req->conf.routes_host)
		return 0;
	return add_planned_routes(a, SKL_ROUTE_VIA, &a->rec.host_routes, &a->rec.n_host_routes,
				  err);
}

static void add_undo(struct add *a)
{
	if (a->committed)
		return;
	for (size_t i = a->rec.n_host_routes; i-- > 0;)
		skl_route_del(&a->rec.host_routes[i], NULL);
	if (a->netns_fd >= 0 && (a->rec.n_pod_routes || a->rec.n_reserved)) {
		int saved;

		if (!skl_netns_enter(a->netns_fd, &saved, NULL)) {
			for (size_t i = a->rec.n_pod_routes; i-- > 0;)
				skl_route_del(&a->rec.pod_routes[i], NULL);
			if (a->rec.n_reserved)
				skl_reserved_ports_remove(a->rec.reserved, a->rec.n_reserved, NULL);
			skl_netns_leave(saved, NULL);
		}
	}
	/* Closing the link's last fd detaches it; unpinning drops the rest. */
	skl_dispatcher_close(&a->d);
	if (a->tmp[0]) {
		skl_state_remove(a->tmp, NULL);
	} else if (a->lock_fd >= 0) {
		/* The lock made the container and network directories. */
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", a->req->state_dir);
		for (int level = 0; level < 2; level++) {
			skl_state_parent(dir, dir, sizeof(dir), NULL);
			rmdir(dir);
		}
	}
}

static int prepare(struct add *a, struct skl_err *err)
{
	struct skl_cni_req *req = a->req;

	if (!req->conf.prev_result)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"prevResult: missing; sklookup is a chained plugin: list it after the "
				"plugin that creates the pod's interface (e.g. bridge) in a conflist");
	if (skl_cni_pod_bindings(req, &a->pod, err) ||
	    skl_bindings_check_conflicts(&req->conf.bindings, err) ||
	    skl_cni_open_netns(req->netns, &a->netns_fd, err) ||
	    skl_netns_cookie(a->netns_fd, &a->netns_cookie, err) ||
	    skl_netns_ino(a->netns_fd, &a->rec.netns_ino, err))
		return -1;
	return skl_bpffs_ensure(req->conf.bpffs_root, err);
}

/* A spare the node agent loaded ahead of time, if there is one for these
 * limits (spare.h): no verifier and no map creation on the pod's start. */
static int load_dispatcher(struct add *a, struct skl_err *err)
{
	struct skl_cni_req *req = a->req;
	int took = skl_spare_take(req->conf.bpffs_root, &req->conf.limits, a->tmp, err);

	if (took < 0)
		return -1;
	if (took)
		return skl_dispatcher_open_spare(&a->d, a->tmp, a->netns_cookie, err);
	return skl_dispatcher_load(&a->d, &req->conf.limits, a->netns_cookie, err);
}

static int run_steps(struct add *a, struct skl_err *err)
{
	struct skl_cni_req *req = a->req;

	/* The record names its state directory and link, so that DEL finds
	 * them through the kernel when bpffs is unmounted under the pod. */
	snprintf(a->rec.state_dir, sizeof(a->rec.state_dir), "%s", req->state_dir);
	a->rec.pod = req->pod;
	if (skl_state_lock(req->state_dir, &a->lock_fd, err) || step_done(SKL_STEP_LOCK, err))
		return -1;
	/* The temporary directory first: it keeps the container directory
	 * alive while stale state next to it is removed. */
	if (skl_state_mktemp(req->state_dir, a->tmp, sizeof(a->tmp), err))
		return -1;
	skl_pod_remove_stale_tmp(req->state_dir, a->tmp, req->netns);
	if (skl_pod_teardown(req->state_dir, req->netns, err) ||
	    step_done(SKL_STEP_STALE_STATE, err) || step_done(SKL_STEP_TMPDIR, err))
		return -1;
	if (load_dispatcher(a, err) || step_done(SKL_STEP_LOAD, err) ||
	    skl_rules_apply(&a->d, &req->conf.bindings, err) || step_done(SKL_STEP_BINDINGS, err) ||
	    skl_dispatcher_attach(&a->d, a->netns_fd, err) || link_id(a, err) ||
	    step_done(SKL_STEP_ATTACH, err) ||
	    skl_dispatcher_pin(&a->d, a->tmp, err) || journal(a, err) ||
	    step_done(SKL_STEP_PIN, err))
		return -1;
	if (add_pod_side(a, err) || journal(a, err) || step_done(SKL_STEP_RECORD, err) ||
	    skl_state_commit(a->tmp, req->state_dir, err))
		return -1;
	a->committed = true;
	a->tmp[0] = 0;
	if (step_done(SKL_STEP_COMMIT, err) || add_host_routes(a, err) ||
	    step_done(SKL_STEP_HOST_ROUTES, err)) {
		/* The state is in place now: take it back as DEL would (host
		 * routes first). */
		skl_pod_teardown(req->state_dir, req->netns, NULL);
		return -1;
	}
	return 0;
}

/* "attach": "when-bound" and a pod without bindings: nothing of ours goes
 * into it. State an earlier ADD left for this attachment is taken back as
 * DEL would, so the pod is what this ADD asks for. */
static int add_nothing(struct add *a, struct skl_err *err)
{
	struct skl_cni_req *req = a->req;

	if (!skl_state_exists(req->state_dir))
		return 0;
	if (skl_state_lock(req->state_dir, &a->lock_fd, err))
		return -1;
	return skl_pod_teardown(req->state_dir, req->netns, err);
}

int skl_cni_add(struct skl_cni_req *req, struct skl_err *err)
{
	struct add a = { .req = req, .lock_fd = -1, .netns_fd = -1 };
	int ret = -1;

	skl_dispatcher_init(&a.d);
	if (prepare(&a, err))
		goto out;
	if (!skl_netconf_wants_dispatcher(&req->conf)) {
		if (add_nothing(&a, err))
			goto out;
	} else if (run_steps(&a, err)) {
		add_undo(&a);
		goto out;
	}
	req->result = cJSON_Duplicate(req->conf.prev_result, 1);
	if (!req->result) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		skl_pod_teardown(req->state_dir, req->netns, NULL);
		goto out;
	}
	/* The result is prevResult unchanged, in the config's version. */
	cJSON_DeleteItemFromObjectCaseSensitive(req->result, "cniVersion");
	cJSON_AddStringToObject(req->result, "cniVersion", req->conf.cni_version);
	ret = 0;
out:
	skl_dispatcher_close(&a.d);
	skl_record_free(&a.rec);
	if (a.netns_fd >= 0)
		close(a.netns_fd);
	skl_state_unlock(a.lock_fd);
	return ret;
}
