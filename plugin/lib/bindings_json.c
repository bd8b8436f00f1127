/*
 * A set of bindings out, as a JSON array in config syntax (for listings).
 */
#include "bindings.h"

#include <netinet/in.h>
#include <stdio.h>

static const char *prefix_keyword(enum skl_prefix_kind kind)
{
	switch (kind) {
	case SKL_PREFIX_POD:
		return "pod";
	case SKL_PREFIX_POD4:
		return "pod4";
	case SKL_PREFIX_POD6:
		return "pod6";
	default:
		return NULL;
	}
}

static bool all_ports(const struct skl_binding_spec *b)
{
	return b->n_ports == 1 && b->ports[0].lo == SKL_PORT_MIN && b->ports[0].hi == SKL_PORT_MAX;
}

static cJSON *ports_to_json(const struct skl_binding_spec *b)
{
	cJSON *list = cJSON_CreateArray();
	char text[16];
	size_t i;

	for (i = 0; list && i < b->n_ports; i++) {
		const struct skl_port_range *r = &b->ports[i];
		cJSON *item;

		if (r->lo == r->hi)
			snprintf(text, sizeof(text), "%u", r->lo);
		else
			snprintf(text, sizeof(text), "%u-%u", r->lo, r->hi);
		item = cJSON_CreateString(text);
		if (!item || !cJSON_AddItemToArray(list, item)) {
			cJSON_Delete(item);
			cJSON_Delete(list);
			return NULL;
		}
	}
	return list;
}

static bool add_binding_fields(cJSON *obj, const struct skl_binding_spec *b)
{
	const char *keyword = prefix_keyword(b->kind);
	char prefix[SKL_PREFIX_STR_MAX];
	cJSON *ports;

	if (keyword)
		snprintf(prefix, sizeof(prefix), "%s", keyword);
	else
		skl_prefix_format(b->family, b->plen, b->addr, prefix, sizeof(prefix));
	if (!cJSON_AddStringToObject(obj, "label", b->label) ||
	    !cJSON_AddStringToObject(obj, "protocol", b->proto == IPPROTO_UDP ? "udp" : "tcp") ||
	    !cJSON_AddStringToObject(obj, "prefix", prefix))
		return false;
	if (!all_ports(b)) {
		ports = ports_to_json(b);
		if (!ports || !cJSON_AddItemToObject(obj, "ports", ports)) {
			cJSON_Delete(ports);
			return false;
		}
	}
	return !b->missing_pass || cJSON_AddStringToObject(obj, "missing", "pass");
}

cJSON *skl_bindings_to_json(const struct skl_binding_set *set)
{
	cJSON *array = cJSON_CreateArray();
	size_t i;

	for (i = 0; array && i < set->n; i++) {
		cJSON *obj = cJSON_CreateObject();

		if (!obj || !add_binding_fields(obj, &set->v[i]) || !cJSON_AddItemToArray(array, obj)) {
			cJSON_Delete(obj);
			cJSON_Delete(array);
			return NULL;
		}
	}
	return array;
}
