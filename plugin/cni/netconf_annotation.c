/*
 * Bindings from the pod annotation: parsed like the config's, then held to
 * the network's annotations policy (allowedPrefixes, allowedPorts) once pod
 * prefixes are resolved, since a pod controls them.
 */
#include "netconf.h"

#include <string.h>

#include "compile.h"

static bool prefix_contains(const struct skl_binding_spec *outer, const struct skl_binding_spec *b)
{
	uint8_t masked[SKL_ADDR_BYTES];

	if (outer->family != b->family || outer->plen > b->plen)
		return false;
	memcpy(masked, b->addr, SKL_ADDR_BYTES);
	skl_prefix_mask(masked, b->family, outer->plen);
	return !memcmp(masked, outer->addr, SKL_ADDR_BYTES);
}

static bool ports_allowed(const struct skl_netconf *c, const struct skl_port_range *r)
{
	/* The allowed list may be several ranges; a range must sit in one. */
	for (size_t i = 0; i < c->n_allowed_ports; i++)
		if (c->allowed_ports[i].lo <= r->lo && r->hi <= c->allowed_ports[i].hi)
			return true;
	return false;
}

static int check_policy(const struct skl_netconf *c, const struct skl_binding_set *allowed,
			const struct skl_binding_spec *b, struct skl_err *err)
{
	char buf[SKL_PREFIX_STR_MAX];
	bool inside = false;

	for (size_t i = 0; i < allowed->n && !inside; i++)
		inside = prefix_contains(&allowed->v[i], b);
	skl_prefix_format(b->family, b->plen, b->addr, buf, sizeof(buf));
	if (!inside)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s (label \"%s\"): prefix %s is outside annotations.allowedPrefixes "
				"of network \"%s\"; ask for a prefix inside them", b->where, b->label,
				buf, c->name);
	for (size_t k = 0; k < b->n_ports; k++)
		if (!ports_allowed(c, &b->ports[k]))
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s (label \"%s\"): ports %u-%u are outside "
					"annotations.allowedPorts of network \"%s\" (privileged ports "
					"would bypass CAP_NET_BIND_SERVICE); list allowed ports in "
					"\"ports\"", b->where, b->label, b->ports[k].lo, b->ports[k].hi,
					c->name);
	return 0;
}

int skl_netconf_add_annotation(struct skl_netconf *c, const struct skl_pod_addrs *pod,
			       struct skl_err *err)
{
	struct skl_binding_set set = { 0 }, allowed = { 0 };
	const char *where = "annotation " SKL_ANNOTATION_BINDINGS;
	cJSON *doc;
	int ret = -1;

	if (!c->annotation)
		return 0;
	if (!c->annotations_allow)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s: network \"%s\" does not take bindings from pod annotations; set "
				"\"annotations\": {\"allow\": true} in its sklookup entry, or remove "
				"the annotation", where, c->name);
	doc = cJSON_Parse(c->annotation);
	if (!doc || !cJSON_IsArray(doc)) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "%s: must hold a JSON array of bindings, e.g. [{\"label\": \"web\", "
			 "\"protocol\": \"tcp\", \"prefix\": \"pod\", \"ports\": [\"8080\"]}]", where);
		goto out;
	}
	for (size_t i = 0; i < c->allowed_prefixes.n; i++)
		if (skl_bindings_append(&allowed, &c->allowed_prefixes.v[i], err))
			goto out;
	if (skl_bindings_parse(doc, where, &set, err) ||
	    skl_bindings_resolve_pod(&set, pod, err) ||
	    skl_bindings_resolve_pod(&allowed, pod, err))
		goto out;
	for (size_t i = 0; i < set.n; i++)
		if (check_policy(c, &allowed, &set.v[i], err))
			goto out;
	for (size_t i = 0; i < set.n; i++)
		if (skl_bindings_append(&c->bindings, &set.v[i], err))
			goto out;
	ret = 0;
out:
	cJSON_Delete(doc);
	skl_bindings_free(&set);
	skl_bindings_free(&allowed);
	return ret;
}
