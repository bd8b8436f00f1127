/* Unit tests of the node agent's result documents (plugin/lib/
 * pod_result_json.c, pod_status_json.c): the library's result structs
 * survive struct -> JSON -> struct unchanged, and a hostile or broken
 * answer is refused with a message, leaving nothing half-filled. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "agent_proto.h"

#include "pod_result_json.h"

static struct skl_registered sample_registered(void)
{
	struct skl_registered r = { .pid = 4242, .n = 2 };

	strcpy(r.label, "web");
	r.v[0] = (struct skl_registered_socket){ .user_fd = 3, .protocol = IPPROTO_TCP,
						 .family = AF_INET6, .v6only = false,
						 .cookie = UINT64_MAX - 1,
						 .slots = { true, true, false, false } };
	strcpy(r.v[0].name, "pid 4242 fd 3");
	strcpy(r.v[0].local, "[::]:8080");
	r.v[0].cleared[1] = (1ULL << 60) + 1; /* beyond a double's 53 bits */
	r.v[1] = (struct skl_registered_socket){ .user_fd = 9, .protocol = IPPROTO_UDP,
						 .family = AF_INET, .cookie = 77,
						 .slots = { false, false, true, false } };
	strcpy(r.v[1].name, "udp://127.0.0.1:53");
	strcpy(r.v[1].local, "127.0.0.1:53");
	return r;
}

static void test_registered_round_trip(void **state)
{
	struct skl_registered in = sample_registered(), out;
	struct skl_err err = { 0 };
	char *text = skl_registered_encode(&in);

	(void)state;
	assert_non_null(text);
	if (skl_registered_decode(text, &out, &err))
		fail_msg("%s: %s", text, err.msg);
	free(text);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void test_unregistered_round_trip(void **state)
{
	struct skl_unregistered in = { .protocol = 0, .removed = { 5, 5, 0, 1ULL << 62 } }, out;
	struct skl_err err = { 0 };
	char *text;

	(void)state;
	strcpy(in.label, "dns");
	for (int p = 0; p < 3; p++) {
		in.protocol = p == 0 ? 0 : p == 1 ? IPPROTO_TCP : IPPROTO_UDP;
		text = skl_unregistered_encode(&in);
		assert_non_null(text);
		if (skl_unregistered_decode(text, &out, &err))
			fail_msg("%s: %s", text, err.msg);
		free(text);
		assert_memory_equal(&in, &out, sizeof(in));
	}
}

/* A status with two labels, two bindings and a shadowed listener. */
static void sample_status(struct skl_pod_status *st)
{
	cJSON *arr = cJSON_Parse("[{\"protocol\": \"tcp\", \"prefix\": \"10.0.0.0/8\", \"ports\": "
				 "[\"80\", \"8000-8999\"], \"label\": \"web\"}, {\"protocol\": "
				 "\"udp\", \"prefix\": \"2001:db8::/32\", \"label\": \"dns\", "
				 "\"missing\": \"pass\"}]");
	struct skl_err err = { 0 };

	memset(st, 0, sizeof(*st));
	assert_non_null(arr);
	assert_int_equal(skl_bindings_parse(arr, "bindings", &st->bindings, &err), 0);
	cJSON_Delete(arr);
	strcpy(st->state_dir, "/sys/fs/bpf/sklookup/net/c1/eth0");
	st->netns_ino = 4026532000ULL;
	st->prog_id = 77;
	st->totals[0] = 10;
	st->totals[1] = (1ULL << 55) + 3;
	st->n_labels = 2;
	st->labels = calloc(2, sizeof(*st->labels));
	st->labels[0] = (struct skl_status_label){ .id = 0, .cookie = { 4097, 4097, 0, 0 } };
	strcpy(st->labels[0].name, "web");
	strcpy(st->labels[0].local[0], "tcp [::]:8080");
	st->labels[0].counters[3] = 12;
	st->labels[1] = (struct skl_status_label){ .id = 5 };
	strcpy(st->labels[1].name, "dns");
	st->binding_ids = calloc(2, sizeof(*st->binding_ids));
	st->binding_counters = calloc(2, sizeof(*st->binding_counters));
	st->binding_ids[1] = 3;
	st->binding_counters[1][SKL_C_COUNT - 1] = UINT64_MAX;
	st->sockets_visible = true;
	st->n_shadowed = 1;
	st->shadowed = calloc(1, sizeof(*st->shadowed));
	strcpy(st->shadowed[0].socket, "tcp 10.0.0.1:80");
	st->shadowed[0].cookie = 5000;
	strcpy(st->shadowed[0].label, "web");
}

static void test_status_round_trip(void **state)
{
	struct skl_pod_status in, out;
	struct skl_err err = { 0 };
	char *text, *again;

	(void)state;
	sample_status(&in);
	text = skl_pod_status_encode(&in, SKL_AGENT_VERSION);
	assert_non_null(text);
	if (skl_pod_status_decode(text, &out, &err))
		fail_msg("%s: %s", text, err.msg);
	assert_string_equal(out.state_dir, in.state_dir);
	assert_true(out.netns_ino == in.netns_ino);
	assert_int_equal(out.prog_id, 77);
	assert_memory_equal(out.totals, in.totals, sizeof(in.totals));
	assert_int_equal(out.n_labels, 2);
	assert_memory_equal(out.labels, in.labels, 2 * sizeof(*in.labels));
	assert_int_equal(out.bindings.n, 2);
	assert_string_equal(out.bindings.v[1].label, "dns");
	assert_true(out.bindings.v[1].missing_pass);
	assert_memory_equal(out.binding_ids, in.binding_ids, 2 * sizeof(*in.binding_ids));
	assert_memory_equal(out.binding_counters, in.binding_counters,
			    2 * sizeof(*in.binding_counters));
	assert_true(out.sockets_visible);
	assert_int_equal(out.n_shadowed, 1);
	assert_memory_equal(out.shadowed, in.shadowed, sizeof(*in.shadowed));
	/* And the same document again: nothing lost or added. */
	again = skl_pod_status_encode(&out, SKL_AGENT_VERSION);
	assert_string_equal(text, again);
	free(text);
	free(again);
	skl_pod_status_free(&in);
	skl_pod_status_free(&out);
}

/* Replaces the first occurrence of from by to in a copy of text. */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	if (!at)
		fail_msg("<%s> not in <%s>", from, text);
	out = malloc(strlen(text) + strlen(to) + 1);
	assert_non_null(out);
	sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void expect_registered_refused(const char *text, const char *why)
{
	struct skl_registered r;
	struct skl_err err = { 0 };
	static const struct skl_registered zero;

	if (!skl_registered_decode(text, &r, &err))
		fail_msg("accepted: %s", text);
	if (!strstr(err.msg, why))
		fail_msg("error <%s> lacks <%s> for %s", err.msg, why, text);
	assert_memory_equal(&r, &zero, sizeof(r));
}

static void test_hostile_registered_refused(void **state)
{
	struct skl_registered in = sample_registered();
	char *good = skl_registered_encode(&in), *bad;
	static const char *const edits[][3] = {
		{ "\"pid\":4242", "\"pid\":4242,\"path\":\"/\"", "unknown field \"path\"" },
		{ "\"pid\":4242", "\"pid\":4242,\"pid\":1", "more than once" },
		{ "\"label\":\"web\"", "\"label\":\"--help\"", "not a label" },
		{ "\"pid\":4242", "\"pid\":-1", "not a process id" },
		{ "\"cookie\":\"77\"", "\"cookie\":77", "wrong type" },
		{ "\"cookie\":\"77\"", "\"cookie\":\"077\"", "wrong type" },
		{ "\"cookie\":\"77\"", "\"cookie\":\"18446744073709551616\"", "wrong type" },
		{ "\"cookie\":\"77\"", "\"cookie\":\"-1\"", "wrong type" },
		{ "\"local\":\"127.0.0.1:53\"", "\"local\":\"\\u001b]0;pwned\\u0007\"", "wrong type" },
		{ "\"fd\":9", "\"fd\":9.5", "wrong type" },
		{ "\"protocol\":\"udp\"", "\"protocol\":\"sctp\"", "not tcp or udp" },
		{ "\"family\":\"ipv4\"", "\"family\":\"unix\"", "not ipv4 or ipv6" },
		{ "[false,false,true,false]", "[false,false,true]", "wrong type or size" },
		{ "\"sockets\":[", "\"sockets\":[{},{},{},", "not an array of 1 to 4" },
		{ "\"sockets\":[", "\"x\":[", "unknown field \"x\"" },
	};

	(void)state;
	assert_non_null(good);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		bad = edit(good, edits[i][0], edits[i][1]);
		expect_registered_refused(bad, edits[i][2]);
		free(bad);
	}
	expect_registered_refused("[]", "not an object");
	expect_registered_refused("nonsense", "not JSON");
	expect_registered_refused("{\"label\":\"web\",\"pid\":0,\"sockets\":[]}", "1 to 4");
	free(good);
}

static void expect_status_refused(const char *text, const char *why)
{
	struct skl_pod_status st;
	struct skl_err err = { 0 };

	if (!skl_pod_status_decode(text, &st, &err))
		fail_msg("accepted: %s", text);
	if (!strstr(err.msg, why))
		fail_msg("error <%s> lacks <%s> for %s", err.msg, why, text);
	assert_null(st.labels);
	assert_null(st.bindings.v);
	assert_null(st.shadowed);
}

static void test_hostile_status_refused(void **state)
{
	struct skl_pod_status in;
	char *good, *bad;
	static const char *const edits[][3] = {
		{ "\"programId\":77", "\"programId\":77,\"programId\":78", "more than once" },
		{ "\"programId\":77", "\"programId\":-77", "wrong type" },
		{ "\"bindingIds\":[0,3]", "\"bindingIds\":[0]", "do not match" },
		{ "\"bindingIds\":[0,3]", "\"bindingIds\":[0,\"3\"]", "not binding ids" },
		{ "\"prefix\":\"10.0.0.0/8\"", "\"prefix\":\"10.0.0.0/33\"", "bindings[0]" },
		{ "\"name\":\"web\"", "\"name\":\"w eb\"", "wrong type" },
		{ "\"tcp [::]:8080\"", "\"\\u001b[2J\"", "not 4 socket names" },
		{ "\"socketsVisible\":true", "\"socketsVisible\":1", "wrong type" },
		{ "\"totals\":[\"10\"", "\"totals\":[\"10\",\"1\"", "wrong type" },
		{ "\"shadowed\":[{", "\"shadowed\":[{\"extra\":1,", "unknown field \"extra\"" },
		{ "\"label\":\"web\"}]", "\"label\":\"\"}]", "wrong type" },
	};

	(void)state;
	sample_status(&in);
	good = skl_pod_status_encode(&in, SKL_AGENT_VERSION);
	assert_non_null(good);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		bad = edit(good, edits[i][0], edits[i][1]);
		expect_status_refused(bad, edits[i][2]);
		free(bad);
	}
	bad = edit(good, "\"stateDir\"", "\"labels\":[],\"stateDir\"");
	expect_status_refused(bad, "more than once");
	free(bad);
	expect_status_refused("{}", "lacks \"stateDir\"");
	free(good);
	skl_pod_status_free(&in);
}

/* The pod's name rides along when known, and only then: an answer about a
 * nameless pod is what an agent of the release before sent, and decodes. */
static void test_status_pod_identity(void **state)
{
	struct skl_pod_status in, out;
	struct skl_err err = { 0 };
	char *nameless, *text, *bad, *v2, pod[256];
	cJSON *doc;
	static const char *const hostile[][2] = {
		{ "{\"namespace\":\"shop\",\"name\":\"a/b\"}", "\"name\"" },
		{ "{\"name\":\"\\u001b[2J\"}", "\"name\"" },
		{ "{\"node\":\"x\"}", "unknown or repeated key" },
		{ "\"shop/cart-1\"", "not an object" },
	};

	(void)state;
	sample_status(&in);
	nameless = skl_pod_status_encode(&in, SKL_AGENT_VERSION);
	assert_null(strstr(nameless, "\"pod\""));
	assert_int_equal(skl_pod_status_decode(nameless, &out, &err), 0);
	assert_false(skl_pod_identity_known(&out.pod));
	skl_pod_status_free(&out);

	strcpy(in.pod.ns, "shop");
	strcpy(in.pod.name, "cart-1");
	strcpy(in.pod.uid, "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	text = skl_pod_status_encode(&in, SKL_AGENT_VERSION);
	if (skl_pod_status_decode(text, &out, &err))
		fail_msg("%s: %s", text, err.msg);
	assert_memory_equal(&out.pod, &in.pod, sizeof(in.pod));
	skl_pod_status_free(&out);
	/* A version 2 client (an older sklookup-ctl in a pod's image) knows no
	 * "pod" and two totals: the agent answers it as version 2 did. */
	v2 = skl_pod_status_encode(&in, 2);
	assert_null(strstr(v2, "\"pod\""));
	assert_non_null(strstr(v2, "\"totals\":[\""));
	assert_int_equal(skl_pod_status_decode(v2, &out, &err), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
				 (doc = cJSON_Parse(v2)), "totals")),
			 2);
	cJSON_Delete(doc);
	skl_pod_status_free(&out);
	free(v2);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(pod, sizeof(pod), "\"pod\":%s,\"stateDir\"", hostile[i][0]);
		bad = edit(nameless, "\"stateDir\"", pod);
		expect_status_refused(bad, hostile[i][1]);
		free(bad);
	}
	free(text);
	free(nameless);
	skl_pod_status_free(&in);
}

static void test_hostile_unregistered_refused(void **state)
{
	struct skl_unregistered u;
	struct skl_err err = { 0 };

	(void)state;
	assert_int_equal(skl_unregistered_decode("{\"label\":\"a\",\"protocol\":\"both\","
						 "\"removed\":[\"1\",\"0\",\"0\",\"0\"]}",
						 &u, &err), 0);
	assert_int_equal(skl_unregistered_decode("{\"label\":\"a\",\"protocol\":\"any\","
						 "\"removed\":[\"1\",\"0\",\"0\",\"0\"]}",
						 &u, &err), -1);
	assert_non_null(strstr(err.msg, "not tcp, udp or both"));
	assert_int_equal(skl_unregistered_decode("{\"label\":\"a\",\"protocol\":\"tcp\","
						 "\"removed\":[\"1\",\"0\",\"0\"]}",
						 &u, &err), -1);
	assert_non_null(strstr(err.msg, "not 4 cookies"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered_round_trip),
		cmocka_unit_test(test_unregistered_round_trip),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_hostile_registered_refused),
		cmocka_unit_test(test_hostile_status_refused),
		cmocka_unit_test(test_hostile_unregistered_refused),
		cmocka_unit_test(test_status_pod_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
