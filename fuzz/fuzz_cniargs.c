/*
 * libFuzzer target: CNI_ARGS (skl_cni_args_parse), the raw bytes as given,
 * NULs included. Checked against a small reference written from the grammar
 * in cni_args.h: the same inputs are accepted, with the same identity; a
 * refusal is SKL_CNI_INVALID_ENV with a printable message (a control byte
 * of the input is never echoed); what is accepted is within the bounds and
 * parses back from its canonical form to the same identity.
 */
#include <stdbool.h>
#include <strings.h>

#include "cni_args.h"
#include "fuzz.h"

static bool ref_value_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '=' || s[i] == ';')
			return false;
	return n <= SKL_CNI_ARGS_VALUE_MAX;
}

static bool ref_key_ok(const char *s, size_t n)
{
	if (n < 1 || n > SKL_CNI_ARGS_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", s[i]) ||
		    !s[i])
			return false;
	return true;
}

static bool ref_part(const char *v, size_t n, size_t max, char *out)
{
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", v[i]) ||
		    !v[i])
			return false;
	memcpy(out, v, n);
	out[n] = 0;
	return true;
}

/* The reference: split on every ';', then on the one '='. */
static bool reference(const char *s, size_t len, struct skl_pod_identity *id)
{
	const char *keys[SKL_CNI_ARGS_MAX_PAIRS];
	size_t key_lens[SKL_CNI_ARGS_MAX_PAIRS], n = 0;
	bool ignore = false, unknown = false;

	memset(id, 0, sizeof(*id));
	if (len > SKL_CNI_ARGS_MAX)
		return false;
	if (!len)
		return true;
	for (size_t start = 0, i = 0; i <= len; i++) {
		const char *p = s + start, *eq;
		size_t plen = i - start, klen;

		if (i < len && s[i] != ';')
			continue;
		start = i + 1;
		if (n == SKL_CNI_ARGS_MAX_PAIRS)
			return false;
		eq = memchr(p, '=', plen);
		if (!eq)
			return false;
		klen = (size_t)(eq - p);
		if (!ref_key_ok(p, klen) || !ref_value_ok(eq + 1, plen - klen - 1))
			return false;
		for (size_t k = 0; k < n; k++)
			if (key_lens[k] == klen && !memcmp(keys[k], p, klen))
				return false;
		keys[n] = p;
		key_lens[n++] = klen;
#define IS(name) (klen == strlen(name) && !memcmp(p, name, klen))
		if (IS("IgnoreUnknown")) {
			char v[8] = "";

			if (plen - klen - 1 >= sizeof(v))
				return false;
			memcpy(v, eq + 1, plen - klen - 1);
			if (!strcasecmp(v, "1") || !strcasecmp(v, "true"))
				ignore = true;
			else if (strcasecmp(v, "0") && strcasecmp(v, "false"))
				return false;
		} else if (IS("K8S_POD_NAMESPACE")) {
			if (!ref_part(eq + 1, plen - klen - 1, SKL_POD_NAMESPACE_MAX, id->ns))
				return false;
		} else if (IS("K8S_POD_NAME")) {
			if (!ref_part(eq + 1, plen - klen - 1, SKL_POD_NAME_MAX, id->name))
				return false;
		} else if (IS("K8S_POD_UID")) {
			if (!ref_part(eq + 1, plen - klen - 1, SKL_POD_UID_MAX, id->uid))
				return false;
		} else if (!IS("K8S_POD_INFRA_CONTAINER_ID")) {
			unknown = true;
		}
#undef IS
	}
	return !unknown || ignore;
}

static bool same(const struct skl_pod_identity *a, const struct skl_pod_identity *b)
{
	return !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name) && !strcmp(a->uid, b->uid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skl_pod_identity id, want, again;
	struct skl_err err = { 0 };
	bool ok = skl_cni_args_parse((const char *)data, size, &id, &err) == 0;
	bool ref = reference((const char *)data, size, &want);
	char canon[1024];

	FUZZ_CHECK(ok == ref, "the parser says %s, the reference %s", ok ? "valid" : err.msg,
		   ref ? "valid" : "invalid");
	if (!ok) {
		fuzz_check_err(&err, "skl_cni_args_parse");
		FUZZ_CHECK(err.code == SKL_CNI_INVALID_ENV, "code %d", err.code);
		for (const char *c = err.msg; *c; c++)
			FUZZ_CHECK(*c >= 0x20 && *c <= 0x7e, "the message holds byte 0x%02x",
				   (unsigned char)*c);
		FUZZ_CHECK(!id.ns[0] && !id.name[0] && !id.uid[0], "a refusal left an identity");
		return 0;
	}
	FUZZ_CHECK(same(&id, &want), "identity %s/%s/%s, the reference %s/%s/%s", id.ns, id.name,
		   id.uid, want.ns, want.name, want.uid);
	snprintf(canon, sizeof(canon), "K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_UID=%s", id.ns,
		 id.name, id.uid);
	FUZZ_CHECK(skl_cni_args_parse(canon, strlen(canon), &again, &err) == 0 && same(&id, &again),
		   "\"%s\" does not parse back", canon);
	return 0;
}
