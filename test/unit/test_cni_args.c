/*
 * CNI_ARGS (cni_args.h): what containerd, podman and plain libcni send is
 * taken, and every hostile form is refused with SKL_CNI_INVALID_ENV, a
 * message naming CNI_ARGS and the key, and no identity left behind. Also
 * the pod identity's JSON (record, agent answer) and display forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cni_args.h"
#include "pod_identity.h"

#define CONTAINERD                                                                            \
	"IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-5d78c9869d-x7k2p;" \
	"K8S_POD_INFRA_CONTAINER_ID=6f0c1ed9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c;" \
	"K8S_POD_UID=0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"

static int parse(const char *s, struct skl_pod_identity *id, struct skl_err *err)
{
	return skl_cni_args_parse(s, strlen(s), id, err);
}

static void assert_nameless(const struct skl_pod_identity *id)
{
	assert_string_equal(id->ns, "");
	assert_string_equal(id->name, "");
	assert_string_equal(id->uid, "");
}

/* Refused with code 4, the message holding every needle, nothing kept, and
 * no byte of the message outside printable ASCII. */
static void refused_len(const char *s, size_t len, const char *const *needles)
{
	struct skl_pod_identity id;
	struct skl_err err = { 0 };

	memset(&id, 'x', sizeof(id));
	if (skl_cni_args_parse(s, len, &id, &err) == 0)
		fail_msg("accepted: \"%.80s\"", s);
	assert_int_equal(err.code, SKL_CNI_INVALID_ENV);
	assert_non_null(strstr(err.msg, "CNI_ARGS"));
	for (size_t i = 0; needles && needles[i]; i++)
		if (!strstr(err.msg, needles[i]))
			fail_msg("message \"%s\" lacks \"%s\"", err.msg, needles[i]);
	for (const char *c = err.msg; *c; c++)
		assert_true(*c >= 0x20 && *c <= 0x7e);
	assert_nameless(&id);
}

static void refused(const char *s, const char *const *needles)
{
	refused_len(s, strlen(s), needles);
}

#define NEEDLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void containerd_args_recorded(void **state)
{
	struct skl_pod_identity id;
	struct skl_err err = { 0 };
	char shown[SKL_POD_DISPLAY_MAX];

	(void)state;
	assert_int_equal(parse(CONTAINERD, &id, &err), 0);
	assert_string_equal(id.ns, "kube-system");
	assert_string_equal(id.name, "coredns-5d78c9869d-x7k2p");
	assert_string_equal(id.uid, "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	skl_pod_identity_format(&id, shown, sizeof(shown));
	assert_string_equal(shown, "kube-system/coredns-5d78c9869d-x7k2p");
}

static void absent_and_partial_args(void **state)
{
	struct skl_pod_identity id;
	struct skl_err err = { 0 };
	char shown[SKL_POD_DISPLAY_MAX];

	(void)state;
	assert_int_equal(parse("", &id, &err), 0);
	assert_nameless(&id);
	skl_pod_identity_format(&id, shown, sizeof(shown));
	assert_string_equal(shown, "-");
	/* podman: a name only, among keys it asks us to ignore. */
	assert_int_equal(parse("IgnoreUnknown=1;K8S_POD_NAME=my_ctr;IP=10.88.0.5", &id, &err), 0);
	assert_string_equal(id.name, "my_ctr");
	skl_pod_identity_format(&id, shown, sizeof(shown));
	assert_string_equal(shown, "my_ctr");
	/* An empty value is no value (ocicni sends an empty uid). */
	assert_int_equal(parse("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=", &id, &err), 0);
	assert_string_equal(id.uid, "");
	/* IgnoreUnknown anywhere, in any case, as libcni reads it. */
	assert_int_equal(parse("Foo=bar;IgnoreUnknown=TRUE", &id, &err), 0);
	assert_int_equal(parse("IgnoreUnknown=true;Foo=bar", &id, &err), 0);
	/* The tolerated key alone. */
	assert_int_equal(parse("K8S_POD_INFRA_CONTAINER_ID=abc", &id, &err), 0);
	/* Values with spaces and punctuation, for keys not recorded. */
	assert_int_equal(parse("IgnoreUnknown=1;NOTE=a b:c/d", &id, &err), 0);
}

static void unknown_key_without_ignore_unknown(void **state)
{
	(void)state;
	refused("K8S_POD_NAME=a;Foo=bar", NEEDLES("unknown key Foo", "IgnoreUnknown=1"));
	refused("IgnoreUnknown=0;Foo=bar", NEEDLES("unknown key Foo"));
	refused("Foo=bar;IgnoreUnknown=false", NEEDLES("unknown key Foo"));
	/* Keys are case-sensitive. */
	refused("k8s_pod_name=a", NEEDLES("unknown key k8s_pod_name"));
	refused("IgnoreUnknown=yes", NEEDLES("IgnoreUnknown must be 1, true, 0 or false"));
	refused("IgnoreUnknown=", NEEDLES("IgnoreUnknown"));
}

static void repeated_keys(void **state)
{
	(void)state;
	refused("K8S_POD_NAME=a;K8S_POD_NAME=b", NEEDLES("K8S_POD_NAME is given twice", "pairs 1 and 2"));
	refused("IgnoreUnknown=1;Foo=1;Foo=2", NEEDLES("Foo is given twice"));
	refused("IgnoreUnknown=1;IgnoreUnknown=0", NEEDLES("IgnoreUnknown is given twice"));
	refused("K8S_POD_UID=;K8S_POD_UID=u", NEEDLES("K8S_POD_UID is given twice"));
}

static void malformed_pairs(void **state)
{
	(void)state;
	refused("K8S_POD_NAME", NEEDLES("pair 1", "has no '='", "KEY=VALUE"));
	refused("K8S_POD_NAME=a;K8S_POD_NAMESPACE", NEEDLES("pair 2", "no '='"));
	refused("=a", NEEDLES("pair 1", "empty key"));
	refused("K8S_POD_NAME=a=b", NEEDLES("K8S_POD_NAME", "second '='"));
	refused("K8S_POD_NAME=a;;K8S_POD_UID=b", NEEDLES("pair 2 is empty", "\";;\""));
	refused(";", NEEDLES("pair 1 is empty"));
	refused("K8S_POD_NAME=a;", NEEDLES("pair 2 is empty"));
	refused(";K8S_POD_NAME=a", NEEDLES("pair 1 is empty"));
	refused("K8S POD=a", NEEDLES("K8S POD", "[A-Za-z0-9_.-]"));
	refused("IgnoreUnknown=1;a/b=c", NEEDLES("a/b", "[A-Za-z0-9_.-]"));
}

static void control_and_nul_bytes(void **state)
{
	static const char nul[] = "K8S_POD_NAME=a\0;Foo=b";

	(void)state;
	refused_len(nul, sizeof(nul) - 1, NEEDLES("NUL"));
	refused("K8S_POD_NAME=a\x1b[2J", NEEDLES("pair 1", "byte 0x1b", "printable ASCII"));
	refused("K8S_POD_NAME=a\nK8S_POD_NAMESPACE=b", NEEDLES("byte 0x0a"));
	refused("K8S_POD_NAME=a\tb", NEEDLES("byte 0x09"));
	refused("K8S_POD_NAME=a\x7f", NEEDLES("byte 0x7f"));
	refused("K8S_POD_NAME=caf\xc3\xa9", NEEDLES("byte 0xc3"));
	refused("IgnoreUnknown=1;X\x01=1", NEEDLES("pair 2", "byte 0x01"));
}

static void recorded_values_checked(void **state)
{
	(void)state;
	refused("K8S_POD_NAME=a/b", NEEDLES("K8S_POD_NAME", "[A-Za-z0-9_.-]"));
	refused("K8S_POD_NAMESPACE=a b", NEEDLES("K8S_POD_NAMESPACE"));
	refused("K8S_POD_UID={x}", NEEDLES("K8S_POD_UID"));
	refused("K8S_POD_NAME=\"x\"", NEEDLES("K8S_POD_NAME"));
}

/* s = prefix + n copies of c + suffix (malloc'd). */
static char *repeat(const char *prefix, char c, size_t n, const char *suffix)
{
	size_t p = strlen(prefix), q = strlen(suffix);
	char *s = malloc(p + n + q + 1);

	assert_non_null(s);
	memcpy(s, prefix, p);
	memset(s + p, c, n);
	memcpy(s + p + n, suffix, q + 1);
	return s;
}

static void bounds(void **state)
{
	struct skl_pod_identity id;
	struct skl_err err = { 0 };
	char *s;

	(void)state;
	/* At the bounds: taken. */
	s = repeat("K8S_POD_NAME=", 'n', SKL_POD_NAME_MAX, ";K8S_POD_NAMESPACE=ns");
	assert_int_equal(parse(s, &id, &err), 0);
	assert_int_equal(strlen(id.name), SKL_POD_NAME_MAX);
	free(s);
	s = repeat("K8S_POD_UID=", 'u', SKL_POD_UID_MAX, "");
	assert_int_equal(parse(s, &id, &err), 0);
	free(s);
	s = repeat("IgnoreUnknown=1;", 'K', SKL_CNI_ARGS_KEY_MAX, "=v");
	assert_int_equal(parse(s, &id, &err), 0);
	free(s);
	/* One past: refused. */
	s = repeat("K8S_POD_NAME=", 'n', SKL_POD_NAME_MAX + 1, "");
	refused(s, NEEDLES("K8S_POD_NAME", "at most 253", "254 bytes"));
	free(s);
	s = repeat("K8S_POD_NAMESPACE=", 'n', SKL_POD_NAMESPACE_MAX + 1, "");
	refused(s, NEEDLES("K8S_POD_NAMESPACE"));
	free(s);
	s = repeat("K8S_POD_UID=", 'u', SKL_POD_UID_MAX + 1, "");
	refused(s, NEEDLES("K8S_POD_UID", "at most 128"));
	free(s);
	s = repeat("IgnoreUnknown=1;", 'K', SKL_CNI_ARGS_KEY_MAX + 1, "=v");
	refused(s, NEEDLES("pair 2", "65 bytes"));
	free(s);
	s = repeat("IgnoreUnknown=1;X=", 'v', SKL_CNI_ARGS_VALUE_MAX + 1, "");
	refused(s, NEEDLES("value of X", "1025 bytes"));
	free(s);
	/* A huge string is refused by its size before anything else. */
	s = repeat("IgnoreUnknown=1;X=", 'v', 1 << 20, "");
	refused(s, NEEDLES("more than 4096"));
	free(s);
}

static void too_many_pairs(void **state)
{
	struct skl_pod_identity id;
	struct skl_err err = { 0 };
	char s[1024] = "IgnoreUnknown=1";

	(void)state;
	for (int i = 1; i < SKL_CNI_ARGS_MAX_PAIRS; i++)
		snprintf(s + strlen(s), sizeof(s) - strlen(s), ";K%d=v", i);
	assert_int_equal(parse(s, &id, &err), 0);
	snprintf(s + strlen(s), sizeof(s) - strlen(s), ";K%d=v", SKL_CNI_ARGS_MAX_PAIRS);
	refused(s, NEEDLES("more than 32 pairs"));
}

static void identity_json_round_trip(void **state)
{
	struct skl_pod_identity id = { .ns = "default", .name = "web-0", .uid = "" }, back;
	struct skl_err err = { 0 };
	cJSON *o = skl_pod_identity_to_json(&id, false), *bad;

	(void)state;
	assert_non_null(o);
	assert_null(cJSON_GetObjectItem(o, "uid"));
	assert_int_equal(skl_pod_identity_from_json(o, "t", &back, &err), 0);
	assert_memory_equal(&id, &back, sizeof(id));
	cJSON_Delete(o);
	o = skl_pod_identity_to_json(&id, true);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "uid")));
	assert_int_equal(skl_pod_identity_from_json(o, "t", &back, &err), 0);
	assert_memory_equal(&id, &back, sizeof(id));
	cJSON_Delete(o);
	/* Strict: unknown or repeated keys, wrong types, bad values. */
	static const char *const hostile[] = {
		"[]", "{\"nom\":\"x\"}", "{\"name\":\"a\",\"name\":\"b\"}", "{\"name\":1}",
		"{\"name\":\"a/b\"}", "{\"name\":\"\"}", "{\"uid\":\"\\u001b[2J\"}",
	};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		bad = cJSON_Parse(hostile[i]);
		assert_non_null(bad);
		if (!skl_pod_identity_from_json(bad, "t", &back, &err))
			fail_msg("accepted %s", hostile[i]);
		cJSON_Delete(bad);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(containerd_args_recorded),
		cmocka_unit_test(absent_and_partial_args),
		cmocka_unit_test(unknown_key_without_ignore_unknown),
		cmocka_unit_test(repeated_keys),
		cmocka_unit_test(malformed_pairs),
		cmocka_unit_test(control_and_nul_bytes),
		cmocka_unit_test(recorded_values_checked),
		cmocka_unit_test(bounds),
		cmocka_unit_test(too_many_pairs),
		cmocka_unit_test(identity_json_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
