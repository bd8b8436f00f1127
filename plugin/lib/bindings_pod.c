/*
 * Pod prefixes: "pod", "pod4" and "pod6" bindings become one /32 or /128
 * binding per address the pod has.
 */
#include "bindings_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool pod_kind_wants(enum skl_prefix_kind kind, uint8_t family)
{
	switch (kind) {
	case SKL_PREFIX_POD:
		return family == SKL_FAMILY_V4 || family == SKL_FAMILY_V6;
	case SKL_PREFIX_POD4:
		return family == SKL_FAMILY_V4;
	case SKL_PREFIX_POD6:
		return family == SKL_FAMILY_V6;
	default:
		return false;
	}
}

/* n, trusted no further than the array it counts */
static size_t pod_addr_count(const struct skl_pod_addrs *pod)
{
	const size_t max = sizeof(((struct skl_pod_addrs *)0)->v) / sizeof(pod->v[0]);

	if (!pod)
		return 0;
	return pod->n < max ? pod->n : max;
}

/* prevResult may list an address twice (two interfaces); one binding each. */
static bool pod_addr_seen_before(const struct skl_pod_addrs *pod, size_t j)
{
	size_t k;

	for (k = 0; k < j; k++)
		if (pod->v[k].family == pod->v[j].family &&
		    memcmp(pod->v[k].addr, pod->v[j].addr, sizeof(pod->v[k].addr)) == 0)
			return true;
	return false;
}

static int no_pod_address(const struct skl_binding_spec *b, struct skl_err *err)
{
	switch (b->kind) {
	case SKL_PREFIX_POD4:
		return skl_errf(err, INVALID,
				"%s.prefix: \"pod4\" means the pod's IPv4 addresses, but the pod has "
				"none in prevResult; use \"pod6\" or \"pod\", or a CIDR",
				b->where);
	case SKL_PREFIX_POD6:
		return skl_errf(err, INVALID,
				"%s.prefix: \"pod6\" means the pod's IPv6 addresses, but the pod has "
				"none in prevResult; use \"pod4\" or \"pod\", or a CIDR",
				b->where);
	default:
		return skl_errf(err, INVALID,
				"%s.prefix: \"pod\" means the pod's addresses, but prevResult has "
				"none; put a plugin that assigns them before sklookup in the chain, "
				"or use a CIDR",
				b->where);
	}
}

/* "bindings[1] (pod 192.0.2.10)", from e's copy of the pod binding's where.
 * A too long one is cut at the end: the entry path in front is what every
 * message starts with. */
static void add_pod_where(struct skl_binding_spec *e, const char *addr)
{
	size_t used = strnlen(e->where, sizeof(e->where) - 1);

	snprintf(e->where + used, sizeof(e->where) - used, " (pod %s)", addr);
}

/* Appends one /32 or /128 binding per matching pod address. */
static int expand_pod_binding(struct skl_binding_set *out, const struct skl_binding_spec *b,
			      const struct skl_pod_addrs *pod, struct skl_err *err)
{
	size_t j, n = pod_addr_count(pod), added = 0;

	for (j = 0; j < n; j++) {
		struct skl_binding_spec *e;
		char text[INET6_ADDRSTRLEN] = "?";
		uint8_t family = pod->v[j].family;

		if (!pod_kind_wants(b->kind, family) || pod_addr_seen_before(pod, j))
			continue;
		if (skl_bindings_append(out, b, err))
			return -1;
		e = &out->v[out->n - 1];
		e->kind = SKL_PREFIX_CIDR;
		e->family = family;
		e->plen = family == SKL_FAMILY_V6 ? SKL_PLEN_MAX_V6 : SKL_PLEN_MAX_V4;
		memset(e->addr, 0, sizeof(e->addr));
		memcpy(e->addr, pod->v[j].addr, family == SKL_FAMILY_V6 ? SKL_ADDR_BYTES : SKL_V4_BYTES);
		inet_ntop(family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, e->addr, text,
			  sizeof(text));
		add_pod_where(e, text);
		added++;
	}
	return added ? 0 : no_pod_address(b, err);
}

static bool has_pod_bindings(const struct skl_binding_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].kind != SKL_PREFIX_CIDR)
			return true;
	return false;
}

/* Builds the resolved set aside and swaps it in, so that an error leaves
 * set as it was. */
int skl_bindings_resolve_pod(struct skl_binding_set *set, const struct skl_pod_addrs *pod,
			     struct skl_err *err)
{
	struct skl_binding_set out = {0};
	size_t i;

	if (!has_pod_bindings(set))
		return 0;
	for (i = 0; i < set->n; i++) {
		const struct skl_binding_spec *b = &set->v[i];
		int rc = b->kind == SKL_PREFIX_CIDR ? skl_bindings_append(&out, b, err)
						    : expand_pod_binding(&out, b, pod, err);

		if (rc) {
			skl_bindings_free(&out);
			return -1;
		}
	}
	skl_bindings_free(set);
	*set = out;
	return 0;
}
