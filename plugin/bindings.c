/*
 * The bindings model: the values of a binding (ports, prefix, label), the
 * parsing of a "bindings" array, the pod-address expansion, and the listing
 * back to JSON. Conflicts are in conflicts.c, the reference precedence rule
 * in precedence.c.
 */
#include "bindings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVALID SKL_CNI_INVALID_CONFIG

#define PORT_SYNTAX "use \"N\" or \"N-M\" with 1 <= N <= M <= 65535"
#define PREFIX_SYNTAX                                                                      \
	"use \"ADDR/LEN\" such as \"192.0.2.0/24\" or \"2001:db8::/64\", or a bare address"
#define POD_PREFIXES ", or \"pod\", \"pod4\", \"pod6\" for the pod's own addresses"
#define FIELD_LIST "\"label\", \"protocol\", \"prefix\", \"ports\", \"missing\""

/* ------------------------------------------------------------------------
 * Message helpers
 */

/* Input bytes shown when a value is quoted in a message: enough to
 * recognise it, short enough to leave room for the fix. */
#define QUOTE_MAX 48

/* A value as it appears in a message: quoted, escaped, pure ASCII (the
 * message ends up in JSON, and a cut UTF-8 sequence would be invalid). */
struct quoted {
	char s[2 + QUOTE_MAX * 4 + sizeof("...")];
};

static const char *quote(struct quoted *q, const char *s)
{
	size_t o = 0, i;

	q->s[o++] = '"';
	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)sprintf(q->s + o, "\\x%02x", c);
		} else {
			q->s[o++] = (char)c;
		}
	}
	if (s[i]) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o++] = '"';
	q->s[o] = '\0';
	return q->s;
}

/* What a JSON value is, for "must be X, got Y" messages. */
struct described {
	char s[sizeof(struct quoted) + 16];
};

static const char *describe(struct described *d, const cJSON *item)
{
	struct quoted q;

	if (!item)
		snprintf(d->s, sizeof(d->s), "nothing");
	else if (cJSON_IsString(item) && item->valuestring)
		snprintf(d->s, sizeof(d->s), "a string (%s)", quote(&q, item->valuestring));
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

static int out_of_memory(struct skl_err *err, const char *where)
{
	return skl_errf(err, SKL_CNI_INTERNAL, "%s: out of memory", where);
}

/* ------------------------------------------------------------------------
 * Ports
 */

/*
 * Plain decimal only: digits, no sign, no spaces, no leading zero ("080"
 * reads as octal to some tools). Six digits are enough to tell a value
 * above 65535 from a port.
 */
static bool parse_decimal(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 6 || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool is_port(unsigned long v)
{
	return v >= SKL_PORT_MIN && v <= SKL_PORT_MAX;
}

int skl_port_range_parse(const char *s, struct skl_port_range *out, struct skl_err *err)
{
	unsigned long lo, hi;
	struct quoted q;
	const char *dash;
	size_t lo_len;

	if (!s)
		return skl_errf(err, INVALID, "no port given; " PORT_SYNTAX);
	dash = strchr(s, '-');
	if (!dash) {
		if (!parse_decimal(s, strlen(s), &lo) || !is_port(lo))
			return skl_errf(err, INVALID, "%s is not a port; " PORT_SYNTAX,
					quote(&q, s));
		hi = lo;
	} else {
		lo_len = (size_t)(dash - s);
		if (!parse_decimal(s, lo_len, &lo) ||
		    !parse_decimal(dash + 1, strlen(dash + 1), &hi) || !is_port(lo) || !is_port(hi))
			return skl_errf(err, INVALID, "%s is not a port range; " PORT_SYNTAX,
					quote(&q, s));
		if (lo > hi)
			return skl_errf(err, INVALID,
					"%s is not a port range (%lu > %lu); " PORT_SYNTAX,
					quote(&q, s), lo, hi);
	}
	out->lo = (__u16)lo;
	out->hi = (__u16)hi;
	return 0;
}

/* Binding order of ranges: lo ascending, hi descending, so a range comes
 * before the ranges nested in it. */
static int port_range_cmp(const void *a, const void *b)
{
	const struct skl_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return 0;
}

/* Sorts and drops exact duplicates; nested and adjacent ranges stay apart
 * because a narrower range changes precedence. Returns the new count. */
static size_t normalise_ports(struct skl_port_range *v, size_t n)
{
	size_t i, kept = 0;

	qsort(v, n, sizeof(*v), port_range_cmp);
	for (i = 0; i < n; i++) {
		if (kept && port_range_cmp(&v[kept - 1], &v[i]) == 0)
			continue;
		v[kept++] = v[i];
	}
	return kept;
}

/* ------------------------------------------------------------------------
 * Prefixes
 */

static void mask_addr(uint8_t addr[16], unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits < 8)
			addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, mapped, sizeof(mapped)) == 0;
}

static int not_a_prefix(struct skl_err *err, const char *s, const char *also)
{
	struct quoted q;

	return skl_errf(err, INVALID, "%s is not an IPv4 or IPv6 prefix; " PREFIX_SYNTAX "%s",
			quote(&q, s), also);
}

/* ::ffff:a.b.c.d/96+n is the IPv4 prefix a.b.c.d/n: only that spelling is
 * accepted, so that a prefix has one family. */
static int mapped_error(struct skl_err *err, const char *s, const uint8_t raw[16],
			unsigned int plen)
{
	uint8_t v4[16] = {0};
	char suggestion[64];
	struct quoted q;

	memcpy(v4, raw + 12, 4);
	mask_addr(v4, plen - 96);
	skl_prefix_format(SKL_FAMILY_V4, (uint8_t)(plen - 96), v4, suggestion, sizeof(suggestion));
	return skl_errf(err, INVALID,
			"%s is an IPv4-mapped IPv6 address; write the IPv4 prefix \"%s\"",
			quote(&q, s), suggestion);
}

static int host_bits_error(struct skl_err *err, const char *s, uint8_t family, unsigned int plen,
			   const uint8_t masked[16], const char *host)
{
	char network[64];
	struct quoted q, h;

	skl_prefix_format(family, (uint8_t)plen, masked, network, sizeof(network));
	return skl_errf(err, INVALID,
			"%s has host bits set; use \"%s\" for the network, or %s for the one address",
			quote(&q, s), network, quote(&h, host));
}

/* skl_prefix_parse, with `also` naming further accepted forms in the
 * syntax message (the pod keywords, for a binding's prefix). */
static int parse_prefix(const char *s, const char *also, uint8_t *family, uint8_t *plen,
			uint8_t addr[16], struct skl_err *err)
{
	uint8_t raw[16] = {0}, masked[16];
	char host[INET6_ADDRSTRLEN];
	unsigned long len, max;
	struct quoted q;
	const char *slash;
	size_t host_len;
	bool v6;

	if (!s)
		return skl_errf(err, INVALID, "no prefix given; " PREFIX_SYNTAX "%s", also);
	slash = strchr(s, '/');
	host_len = slash ? (size_t)(slash - s) : strlen(s);
	if (host_len == 0 || host_len >= sizeof(host))
		return not_a_prefix(err, s, also);
	memcpy(host, s, host_len);
	host[host_len] = '\0';
	v6 = strchr(host, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, raw) != 1)
		return not_a_prefix(err, s, also);

	max = v6 ? 128 : 32;
	len = max;
	if (slash && (!parse_decimal(slash + 1, strlen(slash + 1), &len) || len > max))
		return skl_errf(err, INVALID, "%s has an invalid prefix length; use /0 to /%lu for %s",
				quote(&q, s), max, v6 ? "IPv6" : "IPv4");
	if (v6 && is_v4_mapped(raw) && len >= 96)
		return mapped_error(err, s, raw, (unsigned int)len);

	memcpy(masked, raw, sizeof(masked));
	mask_addr(masked, (unsigned int)len);
	if (memcmp(masked, raw, sizeof(raw)) != 0)
		return host_bits_error(err, s, v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4,
				       (unsigned int)len, masked, host);

	*family = v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	*plen = (uint8_t)len;
	memcpy(addr, masked, sizeof(masked));
	return 0;
}

int skl_prefix_parse(const char *s, uint8_t *family, uint8_t *plen, uint8_t addr[16],
		     struct skl_err *err)
{
	return parse_prefix(s, "", family, plen, addr, err);
}

void skl_prefix_format(uint8_t family, uint8_t plen, const uint8_t addr[16], char *buf,
		       size_t len)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (family == SKL_FAMILY_V4 || family == SKL_FAMILY_V6)
		inet_ntop(family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, addr, text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, plen);
}

/* ------------------------------------------------------------------------
 * Labels
 */

/* ASCII only, whatever the locale. */
static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool skl_label_valid(const char *label)
{
	size_t i;

	if (!label || !is_alnum(label[0]))
		return false;
	for (i = 1; label[i]; i++) {
		if (i >= SKL_LABEL_MAX)
			return false;
		if (!is_alnum(label[i]) && label[i] != '_' && label[i] != '.' && label[i] != '-')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Sets
 */

static int set_reserve(struct skl_binding_set *set, size_t extra)
{
	struct skl_binding_spec *v;
	size_t need, cap;

	if (extra > SIZE_MAX - set->n)
		return -1;
	need = set->n + extra;
	if (need <= set->cap)
		return 0;
	cap = set->cap ? set->cap : 8;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	v = reallocarray(set->v, cap, sizeof(*v));
	if (!v)
		return -1;
	set->v = v;
	set->cap = cap;
	return 0;
}

int skl_bindings_append(struct skl_binding_set *dst, const struct skl_binding_spec *b,
			struct skl_err *err)
{
	struct skl_port_range *ports = NULL;

	if (b->n_ports) {
		ports = reallocarray(NULL, b->n_ports, sizeof(*ports));
		if (!ports)
			return out_of_memory(err, b->where);
		memcpy(ports, b->ports, b->n_ports * sizeof(*ports));
	}
	if (set_reserve(dst, 1)) {
		free(ports);
		return out_of_memory(err, b->where);
	}
	dst->v[dst->n] = *b;
	dst->v[dst->n].ports = ports;
	dst->n++;
	return 0;
}

void skl_bindings_free(struct skl_binding_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		free(set->v[i].ports);
	free(set->v);
	set->v = NULL;
	set->n = 0;
	set->cap = 0;
}

/* Moves every binding of src onto the end of dst (port arrays change
 * owner) and empties src. dst is unchanged on failure. */
static int set_move_all(struct skl_binding_set *dst, struct skl_binding_set *src,
			const char *where, struct skl_err *err)
{
	if (set_reserve(dst, src->n)) {
		skl_bindings_free(src);
		return out_of_memory(err, where);
	}
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	*src = (struct skl_binding_set){0};
	return 0;
}

/* ------------------------------------------------------------------------
 * Parsing one binding
 */

static const char *const binding_fields[] = {"label", "protocol", "prefix", "ports", "missing"};
#define N_BINDING_FIELDS (sizeof(binding_fields) / sizeof(binding_fields[0]))

/* Unknown and repeated fields (JSON allows repeats; cJSON would silently
 * use the first). Names are case-sensitive. */
static int check_fields(const cJSON *obj, const char *where, struct skl_err *err)
{
	unsigned int seen = 0;
	const cJSON *field;
	struct quoted q;
	size_t i;

	cJSON_ArrayForEach(field, obj) {
		const char *name = field->string ? field->string : "";

		for (i = 0; i < N_BINDING_FIELDS; i++)
			if (strcmp(name, binding_fields[i]) == 0)
				break;
		if (i == N_BINDING_FIELDS)
			return skl_errf(err, INVALID, "%s: unknown field %s; the fields are " FIELD_LIST,
					where, quote(&q, name));
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
	struct quoted q;

	if (string_field(obj, "label", b->where, &label, err))
		return -1;
	if (!label)
		return skl_errf(err, INVALID,
				"%s: \"label\" is missing; name the sockets that serve this binding, "
				"e.g. \"label\": \"web\"",
				b->where);
	if (!skl_label_valid(label))
		return skl_errf(err, INVALID,
				"%s.label: %s is not a valid label; use 1 to 32 characters of "
				"[A-Za-z0-9_.-] starting with a letter or digit",
				b->where, quote(&q, label));
	memcpy(b->label, label, strlen(label) + 1);
	return 0;
}

static int parse_protocol(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const char *proto;
	struct quoted q;

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
				b->where, quote(&q, proto));
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
		if (parse_prefix(prefix, POD_PREFIXES, &b->family, &b->plen, b->addr, err)) {
			skl_err_prefix(err, "%s.prefix", b->where);
			return -1;
		}
	}
	return 0;
}

static int parse_missing(const cJSON *obj, struct skl_binding_spec *b, struct skl_err *err)
{
	const char *missing;
	struct quoted q;

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
				b->where, quote(&q, missing));
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
		return out_of_memory(err, b->where);
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
	b->n_ports = normalise_ports(ranges, n);
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
		return out_of_memory(err, b->where);
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
	if (set_reserve(&parsed, n))
		return out_of_memory(err, where);
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
	return set_move_all(set, &parsed, where, err);
}

/* ------------------------------------------------------------------------
 * Pod addresses
 */

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
		e->plen = family == SKL_FAMILY_V6 ? 128 : 32;
		memset(e->addr, 0, sizeof(e->addr));
		memcpy(e->addr, pod->v[j].addr, family == SKL_FAMILY_V6 ? 16 : 4);
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

/* ------------------------------------------------------------------------
 * Back to JSON
 */

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
	char prefix[64];
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
