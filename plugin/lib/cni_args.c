/* CNI_ARGS, read strictly (cni_args.h). */
#include "cni_args.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FIX "CNI_ARGS is KEY=VALUE pairs separated by ';' (e.g. IgnoreUnknown=1;K8S_POD_NAME=web)"

enum key {
	K_IGNORE_UNKNOWN,
	K_NAMESPACE,
	K_NAME,
	K_UID,
	K_INFRA_CONTAINER_ID,
	K_COUNT,
	K_UNKNOWN = K_COUNT,
};

static const char *const key_names[K_COUNT] = {
	[K_IGNORE_UNKNOWN] = "IgnoreUnknown",
	[K_NAMESPACE] = "K8S_POD_NAMESPACE",
	[K_NAME] = "K8S_POD_NAME",
	[K_UID] = "K8S_POD_UID",
	[K_INFRA_CONTAINER_ID] = "K8S_POD_INFRA_CONTAINER_ID",
};

/* One pair, pointing into the input. */
struct pair {
	size_t index; /* 1-based, for messages */
	const char *key, *value;
	size_t key_len, value_len;
};

static int fail(struct skl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct skl_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = SKL_CNI_INVALID_ENV;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool printable(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Splits pair text [p, p + n) at its one '='. */
static int split_pair(const char *p, size_t n, struct pair *out, struct skl_err *err)
{
	const char *eq = memchr(p, '=', n);

	if (n == 0)
		return fail(err, "CNI_ARGS: pair %zu is empty (\";;\", or a ';' at the start or end); "
			    FIX, out->index);
	for (size_t i = 0; i < n; i++)
		if (!printable(p[i]))
			return fail(err, "CNI_ARGS: pair %zu holds byte 0x%02x at offset %zu: only "
				    "printable ASCII is allowed; " FIX,
				    out->index, (unsigned char)p[i], i);
	if (!eq)
		return fail(err, "CNI_ARGS: pair %zu (\"%.*s\") has no '='; " FIX, out->index,
			    (int)(n < 64 ? n : 64), p);
	out->key = p;
	out->key_len = (size_t)(eq - p);
	out->value = eq + 1;
	out->value_len = n - out->key_len - 1;
	if (!out->key_len)
		return fail(err, "CNI_ARGS: pair %zu has an empty key (\"=...\"); " FIX, out->index);
	if (out->key_len > SKL_CNI_ARGS_KEY_MAX)
		return fail(err, "CNI_ARGS: the key of pair %zu is %zu bytes, more than "
			    SKL_STR(SKL_CNI_ARGS_KEY_MAX), out->index, out->key_len);
	for (size_t i = 0; i < out->key_len; i++)
		if (!key_char(p[i]))
			return fail(err, "CNI_ARGS: the key \"%.*s\" (pair %zu) holds '%c': a key is "
				    "made of [A-Za-z0-9_.-]", (int)out->key_len, p, out->index, p[i]);
	if (memchr(out->value, '=', out->value_len))
		return fail(err, "CNI_ARGS: the value of %.*s holds a second '=': a value cannot "
			    "hold '=' or ';'", (int)out->key_len, p);
	if (out->value_len > SKL_CNI_ARGS_VALUE_MAX)
		return fail(err, "CNI_ARGS: the value of %.*s is %zu bytes, more than "
			    SKL_STR(SKL_CNI_ARGS_VALUE_MAX), (int)out->key_len, p, out->value_len);
	return 0;
}

static enum key key_of(const struct pair *p)
{
	for (int k = 0; k < K_COUNT; k++)
		if (strlen(key_names[k]) == p->key_len && !memcmp(key_names[k], p->key, p->key_len))
			return (enum key)k;
	return K_UNKNOWN;
}

static int take_ignore_unknown(const struct pair *p, bool *ignore, struct skl_err *err)
{
	char v[8];

	if (p->value_len >= sizeof(v))
		goto bad;
	memcpy(v, p->value, p->value_len);
	v[p->value_len] = 0;
	if (!strcasecmp(v, "1") || !strcasecmp(v, "true")) {
		*ignore = true;
		return 0;
	}
	if (!strcasecmp(v, "0") || !strcasecmp(v, "false")) {
		*ignore = false;
		return 0;
	}
bad:
	return fail(err, "CNI_ARGS: IgnoreUnknown must be 1, true, 0 or false, not \"%.*s\"",
		    (int)(p->value_len < 16 ? p->value_len : 16), p->value);
}

/* A recorded part: empty is unknown; otherwise 1..max of [A-Za-z0-9_.-]. */
static int take_part(const struct pair *p, char *out, size_t max, struct skl_err *err)
{
	char v[SKL_CNI_ARGS_VALUE_MAX + 1];

	memcpy(v, p->value, p->value_len);
	v[p->value_len] = 0;
	if (v[0] && !skl_pod_identity_value_valid(v, max))
		return fail(err, "CNI_ARGS: %.*s must be at most %zu bytes of [A-Za-z0-9_.-] (a "
			    "Kubernetes name), not \"%.48s%s\" (%zu bytes)",
			    (int)p->key_len, p->key, max, v, p->value_len > 48 ? "..." : "",
			    p->value_len);
	memcpy(out, v, p->value_len + 1);
	return 0;
}

static int take(const struct pair *p, enum key k, struct skl_pod_identity *id, bool *ignore,
		struct skl_err *err)
{
	switch (k) {
	case K_IGNORE_UNKNOWN:
		return take_ignore_unknown(p, ignore, err);
	case K_NAMESPACE:
		return take_part(p, id->ns, SKL_POD_NAMESPACE_MAX, err);
	case K_NAME:
		return take_part(p, id->name, SKL_POD_NAME_MAX, err);
	case K_UID:
		return take_part(p, id->uid, SKL_POD_UID_MAX, err);
	default:
		return 0; /* tolerated (K8S_POD_INFRA_CONTAINER_ID) or unknown: checked later */
	}
}

static int parse(const char *s, size_t len, struct skl_pod_identity *id, struct skl_err *err)
{
	struct pair pairs[SKL_CNI_ARGS_MAX_PAIRS];
	size_t n = 0, unknown = SKL_CNI_ARGS_MAX_PAIRS;
	bool ignore = false;

	if (len > SKL_CNI_ARGS_MAX)
		return fail(err, "CNI_ARGS is %zu bytes, more than " SKL_STR(SKL_CNI_ARGS_MAX), len);
	if (memchr(s, 0, len))
		return fail(err, "CNI_ARGS holds a NUL byte; " FIX);
	for (size_t at = 0; len && at <= len;) {
		const char *semi = memchr(s + at, ';', len - at);
		size_t end = semi ? (size_t)(semi - s) : len;
		enum key k;

		if (n == SKL_CNI_ARGS_MAX_PAIRS)
			return fail(err, "CNI_ARGS has more than " SKL_STR(SKL_CNI_ARGS_MAX_PAIRS)
				    " pairs");
		pairs[n].index = n + 1;
		if (split_pair(s + at, end - at, &pairs[n], err))
			return -1;
		for (size_t i = 0; i < n; i++)
			if (pairs[i].key_len == pairs[n].key_len &&
			    !memcmp(pairs[i].key, pairs[n].key, pairs[n].key_len))
				return fail(err, "CNI_ARGS: the key %.*s is given twice (pairs %zu and "
					    "%zu); give each key once", (int)pairs[n].key_len,
					    pairs[n].key, i + 1, n + 1);
		k = key_of(&pairs[n]);
		if (k == K_UNKNOWN && unknown == SKL_CNI_ARGS_MAX_PAIRS)
			unknown = n;
		if (take(&pairs[n], k, id, &ignore, err))
			return -1;
		n++;
		at = end + 1;
	}
	if (unknown < n && !ignore)
		return fail(err, "CNI_ARGS: unknown key %.*s; sklookup knows IgnoreUnknown, "
			    "K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID and "
			    "K8S_POD_INFRA_CONTAINER_ID (a runtime that passes other keys adds "
			    "IgnoreUnknown=1)", (int)pairs[unknown].key_len, pairs[unknown].key);
	return 0;
}

int skl_cni_args_parse(const char *s, size_t len, struct skl_pod_identity *id,
		       struct skl_err *err)
{
	memset(id, 0, sizeof(*id));
	if (parse(s, len, id, err)) {
		memset(id, 0, sizeof(*id));
		return -1;
	}
	return 0;
}
