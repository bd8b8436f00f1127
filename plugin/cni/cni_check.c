/* CHECK: the link is attached to this netns, the maps hold exactly the
 * bindings the config asks for, and the recorded routes and reserved ports
 * are in place. */
#include "cni.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "portreserve.h"
#include "rules.h"
#include "state.h"

#define SKL_CNI_CHECK_FAILED 100 /* plugin-specific: the attachment is not as ADD left it */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The bindings of a set as sorted canonical strings, to compare as sets. */
static char **canonical(const struct skl_binding_set *set)
{
	cJSON *arr = skl_bindings_to_json(set), *b;
	char **v = calloc(set->n + 1, sizeof(*v));
	size_t i = 0;

	if (!arr || !v) {
		cJSON_Delete(arr);
		free(v);
		return NULL;
	}
	cJSON_ArrayForEach(b, arr) {
		cJSON_DeleteItemFromObjectCaseSensitive(b, "where");
		v[i++] = cJSON_PrintUnformatted(b);
	}
	qsort(v, i, sizeof(*v), cmp_str);
	cJSON_Delete(arr);
	return v;
}

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int check_bindings(const struct skl_dispatcher *d, const struct skl_binding_set *want,
			  struct skl_err *err)
{
	struct skl_binding_set got;
	char **a = NULL, **b = NULL;
	uint32_t *ids;
	int ret = -1;

	if (skl_rules_read(d, &got, &ids, err))
		return -1;
	a = canonical(want);
	b = canonical(&got);
	if (!a || !b) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; a[i] || b[i]; i++)
		if (!a[i] || !b[i] || strcmp(a[i], b[i])) {
			skl_errf(err, SKL_CNI_CHECK_FAILED,
				 "bindings: the dispatcher holds %s where the config asks for %s; run "
				 "'sklookup-ctl bindings list' to see them, or re-create the pod",
				 b[i] ? b[i] : "nothing more", a[i] ? a[i] : "nothing more");
			goto out;
		}
	ret = 0;
out:
	free_strings(a);
	free_strings(b);
	free(ids);
	skl_bindings_free(&got);
	return ret;
}

/* Each recorded route is there as ADD added it: to the pod, with the
 * plugin's protocol (a BGP daemon that exports protocol 173 announces
 * exactly those, README "How traffic for a range reaches the pod"). */
static int check_routes(const struct skl_route *v, size_t n, const char *where,
			struct skl_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char text[SKL_ROUTE_STR_MAX];
		struct skl_route_holder h;

		if (skl_route_holder(&v[i], &h, err))
			return -1;
		skl_route_format(&v[i], text, sizeof(text));
		if (!h.found)
			return skl_errf(err, SKL_CNI_CHECK_FAILED,
					"route \"%s\" is missing in the %s; re-create the pod "
					"(DEL and ADD) to restore it",
					text, where);
		if (!h.same)
			return skl_errf(err, SKL_CNI_CHECK_FAILED,
					"route \"%s\" is missing in the %s: a foreign route (%s) "
					"took its prefix, so the range's traffic does not reach the "
					"pod; remove that route and re-create the pod",
					text, where, h.text);
		if (h.protocol != SKL_ROUTE_PROTOCOL)
			return skl_errf(err, SKL_CNI_CHECK_FAILED,
					"route \"%s\" in the %s has protocol %u, not the plugin's "
					"%u: something replaced it (and a BGP export of protocol %u "
					"no longer announces it); re-create the pod",
					text, where, h.protocol, SKL_ROUTE_PROTOCOL,
					SKL_ROUTE_PROTOCOL);
	}
	return 0;
}

static int check_reserved(const struct skl_record *rec, struct skl_err *err)
{
	struct skl_port_range *now = NULL, *missing = NULL;
	size_t n_now = 0, n_missing = 0;
	int ret = -1;

	if (!rec->n_reserved)
		return 0;
	if (skl_reserved_ports_read(&now, &n_now, err) ||
	    skl_port_ranges_subtract(rec->reserved, rec->n_reserved, now, n_now, &missing,
				     &n_missing, err))
		goto out;
	if (n_missing) {
		skl_errf(err, SKL_CNI_CHECK_FAILED,
			 "ports %u-%u are no longer in the pod's net.ipv4.ip_local_reserved_ports",
			 missing[0].lo, missing[0].hi);
		goto out;
	}
	ret = 0;
out:
	free(now);
	free(missing);
	return ret;
}

static int check_pod_side(int netns_fd, const struct skl_record *rec, struct skl_err *err)
{
	int saved, ret;

	if (skl_netns_enter(netns_fd, &saved, err))
		return -1;
	ret = check_routes(rec->pod_routes, rec->n_pod_routes, "pod's netns", err) ||
	      check_reserved(rec, err);
	if (skl_netns_leave(saved, ret ? NULL : err))
		return -1;
	return ret ? -1 : 0;
}

int skl_cni_check(struct skl_cni_req *req, struct skl_err *err)
{
	struct skl_dispatcher d;
	struct skl_pod_addrs pod;
	struct skl_record rec = { 0 };
	uint64_t link_ino, netns_ino;
	int netns_fd = -1, ret = -1;

	skl_dispatcher_init(&d);
	if (!req->conf.prev_result)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"prevResult: missing; CHECK needs the result of ADD");
	if (skl_cni_pod_bindings(req, &pod, err) ||
	    skl_cni_open_netns(req->netns, &netns_fd, err))
		goto out;
	if (!skl_state_exists(req->state_dir)) {
		if (!skl_netconf_wants_dispatcher(&req->conf))
			ret = 0; /* "attach": "when-bound", and ADD had nothing to attach */
		else if (!skl_bpffs_is_mounted(req->conf.bpffs_root))
			skl_errf(err, SKL_CNI_CHECK_FAILED,
				 "no sklookup state at %s: bpffs is not mounted at bpffsRoot %s (was it "
				 "unmounted?), so the state of pods added there is out of reach; "
				 "re-create the pod", req->state_dir, req->conf.bpffs_root);
		else
			skl_errf(err, SKL_CNI_CHECK_FAILED,
				 "no sklookup state at %s: ADD did not run for this attachment, or it "
				 "was deleted", req->state_dir);
		goto out;
	}
	if (skl_dispatcher_open(&d, req->state_dir, err) ||
	    skl_dispatcher_link_netns(&d, &link_ino, err) ||
	    skl_netns_ino(netns_fd, &netns_ino, err) ||
	    skl_record_load(req->state_dir, &rec, err))
		goto out;
	if (link_ino != netns_ino) {
		skl_errf(err, SKL_CNI_CHECK_FAILED,
			 link_ino ? "the dispatcher is attached to netns inode %llu, not to CNI_NETNS "
				    "(inode %llu)"
				  : "the dispatcher is detached: its netns is gone (was %llu; CNI_NETNS "
				    "is inode %llu)",
			 (unsigned long long)(link_ino ? link_ino : rec.netns_ino),
			 (unsigned long long)netns_ino);
		goto out;
	}
	if (check_bindings(&d, &req->conf.bindings, err) ||
	    check_routes(rec.host_routes, rec.n_host_routes, "host netns", err) ||
	    check_pod_side(netns_fd, &rec, err))
		goto out;
	ret = 0;
out:
	skl_record_free(&rec);
	skl_dispatcher_close(&d);
	if (netns_fd >= 0)
		close(netns_fd);
	return ret;
}
