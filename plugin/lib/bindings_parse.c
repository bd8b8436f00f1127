/*
 * A "bindings" JSON array in: every entry checked field by field, with
 * messages that name the entry, the field and the fix.
 */
#include "bindings_internal.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POD_PREFIXES ", or \"pod\", \"pod4\", \"pod6\" for the pod's own addresses"
#define FIELD_LIST "\"label\", \"protocol\", \"prefix\", \"ports\", \"missing\""

/* What a JSON value is, for "must be X, got Y" messages. */
struct described {
	char s[sizeof(struct skl_quoted) + 16];
};

static const char *describe(struct described *d, const cJSON *item)
{
	struct skl_quoted q;

	if (!item)
		snprintf(d->s, sizeof(d->s), "nothing");
	else if (cJSON_IsString(item) && item->valuestring)
		snprintf(d->s, sizeof(d->s), "a string (%s)", skl_quote(&q, item->valuestring));
	else if (cJSON_IsNumber(item))
		snprintf(d->s, sizeof(d->s), "a number (%.15g)", item->valuedouble);
	else if (cJSON_IsTrue(item))
		snprintf(d->s, sizeof(d->s), "true");
	else if (cJSON_IsFalse(item))
		snprintf(d->s, sizeof(d->s), "false");
	else if (cJSON_IsNull(item))
		snprintf(d->s, sizeof(d->s), "null");
	else if (cJSON_IsArray(item))
		snprintf(d->s, sizeof(d->s), "an array");
	else if (cJSON_IsObject(item))
		snprintf(d->s, sizeof(d->s), "an object");
	else
		snprintf(d->s, sizeof(d->s), "an invalid JSON value");
	return d->s;
}

static const char *const binding_fields[] = {"label", "protocol", "prefix", "ports", "missing"};
#define N_BINDING_FIELDS (sizeof(binding_fields) / sizeof(binding_fields[0]))

/* Unknown and repeated fields (JSON allows repeats; cJSON would silently
 * use the first). Names are case-sensitive. */
static int check_fields(const cJSON *obj, const char *where, struct skl_err *err)
{
	unsigned int seen = 0;
	const cJSON *field;
	struct skl_quoted q;
	size_t i;

	cJSON_ArrayForEach(field, obj) {
		const char *name = field->string ? field->string : "";

		for (i = 0; i < N_BINDING_FIELDS; i++)
			if (strcmp(name, binding_fields[i]) == 0)
				break;
		if (i == N_BINDING_FIELDS)
			return skl_errf(err, INVALID, "%s: unknown field %s; the fields are " FIELD_LIST,
					where, skl_quote(&q, name));
		if (seen & (1u << i))
			return skl_errf(err, INVALID,
					"%s: field \"%s\" appears twice; give it once", where,
					binding_fields[i]);
		seen |= 1u << i;
	}
	return 0;
}

/* The string value of an optional field, or NULL when it is absent. */
static int string_field(const cJSON *obj, const char *name, const char *where, const char **out,
			struct skl_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	struct described d;

	*out = NULL;
	if (!item)
		return 0;
	if (!cJSON_IsString(item) || !item->valuestring)
		return skl_errf(err, INVALID, "%s.%s: must be a string, got %s", where, name,
				describe(&d, item));
	*out = item->valuestring;
	return 0;
}

static int parse_label(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const char *label;
	struct skl_quoted q;

	if (string_field(obj, "label", b->where, &label, err))
		return -1;
	if (!label)
		return skl_errf(err, INVALID,
				"%s: \"label\" is missing; name the sockets that serve this binding, "
				"e.g. \"label\": \"web\"",
				b->where);
	if (!skl_label_valid(label))
		return skl_errf(err, INVALID,
				"%s.label: %s is not a valid label; use 1 to " SKL_STR(SKL_LABEL_MAX)
				" characters of [A-Za-z0-9_.-] starting with a letter or digit",
				b->where, skl_quote(&q, label));
	memcpy(b->label, label, strlen(label) + 1);
	return 0;
}

static int parse_protocol(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const char *proto;
	struct skl_quoted q;

	if (string_field(obj, "protocol", b->where, &proto, err))
		return -1;
	if (!proto)
		return skl_errf(err, INVALID, "%s: \"protocol\" is missing; use \"tcp\" or \"udp\"",
				b->where);
	if (strcmp(proto, "tcp") == 0)
		b->proto = IPPROTO_TCP;
	else if (strcmp(proto, "udp") == 0)
		b->proto = IPPROTO_UDP;
	else
		return skl_errf(err, INVALID, "%s.protocol: %s is not supported; use \"tcp\" or \"udp\"",
				b->where, skl_quote(&q, proto));
	return 0;
}

static int parse_prefix_field(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const char *prefix;

	if (string_field(obj, "prefix", b->where, &prefix, err))
		return -1;
	if (!prefix)
		return skl_errf(err, INVALID,
				"%s: \"prefix\" is missing; " PREFIX_SYNTAX POD_PREFIXES, b->where);
	if (strcmp(prefix, "pod") == 0) {
		b->kind = SKL_PREFIX_POD;
	} else if (strcmp(prefix, "pod4") == 0) {
		b->kind = SKL_PREFIX_POD4;
	} else if (strcmp(prefix, "pod6") == 0) {
		b->kind = SKL_PREFIX_POD6;
	} else {
		b->kind = SKL_PREFIX_CIDR;
		if (skl_prefix_parse_also(prefix, POD_PREFIXES, &b->family, &b->plen, b->addr, err)) {
			skl_err_prefix(err, "%s.prefix", b->where);
			return -1;
		}
	}
	return 0;
}

static int parse_missing(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const char *missing;
	struct skl_quoted q;

	if (string_field(obj, "missing", b->where, &missing, err))
		return -1;
	if (!missing || strcmp(missing, "drop") == 0)
		b->missing_pass = false;
	else if (strcmp(missing, "pass") == 0)
		b->missing_pass = true;
	else
		return skl_errf(err, INVALID,
				"%s.missing: %s is not accepted; use \"drop\" (the default: refuse "
				"the packet while the label has no socket) or \"pass\" (leave it to "
				"the normal lookup)",
				b->where, skl_quote(&q, missing));
	return 0;
}

/* A number where a port string belongs: say how to write it. */
static int port_not_string(const struct skl_binding_spec *b, size_t i, const cJSON *item,
			   struct skl_err *err)
{
	char hint[32] = "";
	struct described d;

	if (cJSON_IsNumber(item) && item->valuedouble >= SKL_PORT_MIN &&
	    item->valuedouble <= SKL_PORT_MAX && item->valuedouble == (int)item->valuedouble)
		snprintf(hint, sizeof(hint), "; write \"%d\"", (int)item->valuedouble);
	return skl_errf(err, INVALID, "%s.ports[%zu]: must be a string \"N\" or \"N-M\", got %s%s",
			b->where, i, describe(&d, item), hint);
}

static int parse_port_list(const cJSON *list, struct skl_binding_spec *b, struct skl_err *err)
{
	struct skl_port_range *ranges;
	const cJSON *item;
	size_t n = 0, i = 0;

	cJSON_ArrayForEach(item, list)
		n++;
	if (n == 0)
		return skl_errf(err, INVALID,
				"%s.ports: the list is empty; list at least one \"N\" or \"N-M\", or "
				"omit \"ports\" for all ports",
				b->where);
	ranges = reallocarray(NULL, n, sizeof(*ranges));
	if (!ranges)
		return skl_bindings_oom(err, b->where);
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item) || !item->valuestring) {
			free(ranges);
			return port_not_string(b, i, item, err);
		}
		if (skl_port_range_parse(item->valuestring, &ranges[i], err)) {
			free(ranges);
			skl_err_prefix(err, "%s.ports[%zu]", b->where, i);
			return -1;
		}
		i++;
	}
	b->n_ports = skl_port_ranges_normalise(ranges, n);
	b->ports = ranges;
	return 0;
}

static int parse_ports(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "ports");
	struct described d;

	if (list && !cJSON_IsArray(list))
		return skl_errf(err, INVALID,
				"%s.ports: must be an array of strings such as [\"80\", "
				"\"8000-8999\"], got %s",
				b->where, describe(&d, list));
	if (list)
		return parse_port_list(list, b, err);

	b->ports = malloc(sizeof(*b->ports));
	if (!b->ports)
		return skl_bindings_oom(err, b->where);
	b->ports[0] = (struct skl_port_range){.lo = SKL_PORT_MIN, .hi = SKL_PORT_MAX};
	b->n_ports = 1;
	return 0;
}

/* Fills b (zeroed, with its where set). Only the last step allocates, so
 * an error leaves nothing to free. */
static int parse_binding(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	struct described d;

	if (!cJSON_IsObject(obj))
		return skl_errf(err, INVALID, "%s: must be an object with fields " FIELD_LIST ", got %s",
				b->where, describe(&d, obj));
	if (check_fields(obj, b->where, err) || parse_label(obj, b, err) ||
	    parse_protocol(obj, b, err) || parse_prefix_field(obj, b, err) ||
	    parse_missing(obj, b, err))
		return -1;
	return parse_ports(obj, b, err);
}

/* "<where>[i]", cutting where rather than the index if it is too long. */
static void set_entry_where(struct skl_binding_spec *b, const char *where, size_t i)
{
	char index[32];
	int room;

	snprintf(index, sizeof(index), "[%zu]", i);
	room = (int)(sizeof(b->where) - 1 - strlen(index));
	snprintf(b->where, sizeof(b->where), "%.*s%s", room, where, index);
}

int skl_bindings_parse(const cJSON *array, const char *where, struct skl_binding_set *set,
		       struct skl_err *err)
{
	struct skl_binding_set parsed = {0};
	const cJSON *entry;
	struct described d;
	size_t n = 0;

	if (!where)
		where = "bindings";
	if (!cJSON_IsArray(array))
		return skl_errf(err, INVALID, "%s: must be a JSON array of bindings, got %s", where,
				describe(&d, array));
	cJSON_ArrayForEach(entry, array)
		n++;
	if (skl_bindings_reserve(&parsed, n))
		return skl_bindings_oom(err, where);
	cJSON_ArrayForEach(entry, array) {
		struct skl_binding_spec *b = &parsed.v[parsed.n];

		*b = (struct skl_binding_spec){0};
		set_entry_where(b, where, parsed.n);
		if (parse_binding(entry, b, err)) {
			skl_bindings_free(&parsed);
			return -1;
		}
		parsed.n++;
	}
	return skl_bindings_move_all(set, &parsed, where, err);
}
