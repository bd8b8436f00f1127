#include "route_plan.h"

#include <stdlib.h>
#include <string.h>

static void route_for(const struct skl_binding_spec *b, uint8_t kind, struct skl_route *r)
{
	memset(r, 0, sizeof(*r));
	r->family = b->family;
	r->plen = b->plen;
	memcpy(r->addr, b->addr, 16);
	r->kind = kind;
}

static bool seen_prefix(const struct skl_route *v, size_t n, const struct skl_route *r)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == r->family && v[i].plen == r->plen &&
		    !memcmp(v[i].addr, r->addr, 16))
			return true;
	return false;
}

/* A /32 or /128 that is the pod's own address needs no route either way. */
static bool is_pod_address(const struct skl_pod_addrs *pod, const struct skl_route *r)
{
	for (size_t i = 0; i < pod->n; i++)
		if (pod->v[i].family == r->family &&
		    r->plen == (r->family == SKL_FAMILY_V4 ? 32 : 128) &&
		    !memcmp(pod->v[i].addr, r->addr, r->family == SKL_FAMILY_V4 ? 4 : 16))
			return true;
	return false;
}

static const uint8_t *pod_gateway(const struct skl_pod_addrs *pod, uint8_t family)
{
	for (size_t i = 0; i < pod->n; i++)
		if (pod->v[i].family == family)
			return pod->v[i].addr;
	return NULL;
}

int skl_route_plan(const struct skl_binding_set *set, const struct skl_pod_addrs *pod,
		   uint8_t kind, const char *ifname, struct skl_route **out, size_t *n,
		   struct skl_err *err)
{
	struct skl_route *v = calloc(set->n ? set->n : 1, sizeof(*v));

	*out = NULL;
	*n = 0;
	if (!v)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (size_t i = 0; i < set->n; i++) {
		const uint8_t *gw = pod_gateway(pod, set->v[i].family);
		struct skl_route r;

		route_for(&set->v[i], kind, &r);
		if (is_pod_address(pod, &r) || seen_prefix(v, *n, &r))
			continue;
		if (kind == SKL_ROUTE_VIA && !gw) {
			free(v);
			*n = 0;
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"routes.host: %s needs a route via the pod's IPv%c address, "
					"and prevResult has none on %s", set->v[i].where,
					set->v[i].family == SKL_FAMILY_V4 ? '4' : '6', ifname);
		}
		if (kind == SKL_ROUTE_VIA)
			memcpy(r.gw, gw, 16);
		v[(*n)++] = r;
	}
	*out = v;
	return 0;
}
