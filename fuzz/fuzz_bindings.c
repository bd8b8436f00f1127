/*
 * libFuzzer target: a "bindings" array (config, runtimeConfig or the pod
 * annotation: all three go through skl_bindings_parse) and what ADD does
 * with it before the kernel: pod prefixes resolved, conflicts checked,
 * tables compiled. Properties, each an abort():
 *  - the compiled tables pick the same binding as the reference precedence
 *    rule (check_compiled.c);
 *  - skl_compile succeeds exactly when the conflict check does (it runs the
 *    same check; anything else failing would be a compiler bug);
 *  - the listing, skl_bindings_to_json (`sklookup-ctl bindings`), parses
 *    back to the same bindings;
 *  - a failed parse leaves the set as it was, and says why.
 */
#include <arpa/inet.h>

#include "bindings.h"
#include "check_compiled.h"
#include "compile.h"
#include "fuzz.h"

/* Bindings probed per input: enough for the sets a fuzzer builds. */
#define MAX_PROBED 16

/* The pod: two IPv4 addresses (one listed twice, as prevResult may) and an
 * IPv6 one, so pod/pod4/pod6 expand to several bindings. */
static void pod_addrs(struct skl_pod_addrs *pod)
{
	static const char *const addrs[] = { "192.0.2.10", "2001:db8::10", "198.51.100.1",
					     "192.0.2.10" };

	memset(pod, 0, sizeof(*pod));
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		int v6 = strchr(addrs[i], ':') != NULL;

		pod->v[i].family = v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
		inet_pton(v6 ? AF_INET6 : AF_INET, addrs[i], pod->v[i].addr);
		pod->n++;
	}
}

static bool same_binding(const struct skl_binding_spec *a, const struct skl_binding_spec *b)
{
	if (strcmp(a->label, b->label) || a->proto != b->proto || a->kind != b->kind ||
	    a->missing_pass != b->missing_pass || a->n_ports != b->n_ports)
		return false;
	if (a->kind == SKL_PREFIX_CIDR &&
	    (a->family != b->family || a->plen != b->plen || memcmp(a->addr, b->addr, 16)))
		return false;
	return memcmp(a->ports, b->ports, a->n_ports * sizeof(*a->ports)) == 0;
}

/* The listing must be valid config that means the same bindings. */
static void check_round_trip(const struct skl_binding_set *set)
{
	struct skl_binding_set again = { 0 };
	struct skl_err err = { 0 };
	cJSON *json = skl_bindings_to_json(set);
	char *text;

	FUZZ_CHECK(json != NULL, "skl_bindings_to_json failed");
	text = cJSON_PrintUnformatted(json);
	FUZZ_CHECK(skl_bindings_parse(json, "bindings", &again, &err) == 0,
		   "the listing %s does not parse back: %s", text ? text : "?", err.msg);
	FUZZ_CHECK(again.n == set->n, "listing has %zu bindings, set %zu", again.n, set->n);
	for (size_t i = 0; i < set->n; i++)
		FUZZ_CHECK(same_binding(&set->v[i], &again.v[i]),
			   "binding %zu differs after the listing %s", i, text ? text : "?");
	free(text);
	cJSON_Delete(json);
	skl_bindings_free(&again);
}

static void compile_and_check(const struct skl_binding_set *set)
{
	struct skl_err conflict_err = { 0 }, compile_err = { 0 };
	struct skl_compiled c;
	int conflicts = skl_bindings_check_conflicts(set, &conflict_err);
	int compiled = skl_compile(set, &c, &compile_err);

	if (conflicts) {
		fuzz_check_err(&conflict_err, "skl_bindings_check_conflicts");
		FUZZ_CHECK(compiled != 0, "skl_compile accepted a set with a conflict: %s",
			   conflict_err.msg);
		fuzz_check_err(&compile_err, "skl_compile");
		return;
	}
	FUZZ_CHECK(compiled == 0, "skl_compile failed on a set without conflicts: %s",
		   compile_err.msg);
	fuzz_check_compiled(set, &c, MAX_PROBED);
	skl_compiled_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skl_binding_set set = { 0 };
	struct skl_pod_addrs pod;
	struct skl_err err = { 0 };
	char *text = fuzz_cstring(data, size);
	cJSON *doc = cJSON_Parse(text);

	free(text);
	if (!doc)
		return 0;
	if (skl_bindings_parse(doc, "bindings", &set, &err)) {
		fuzz_check_err(&err, "skl_bindings_parse");
		FUZZ_CHECK(set.n == 0 && set.v == NULL, "a failed parse changed the set");
		cJSON_Delete(doc);
		return 0;
	}
	cJSON_Delete(doc);
	check_round_trip(&set);
	pod_addrs(&pod);
	memset(&err, 0, sizeof(err));
	if (skl_bindings_resolve_pod(&set, &pod, &err)) {
		fuzz_check_err(&err, "skl_bindings_resolve_pod");
	} else {
		check_round_trip(&set); /* as read back from a dispatcher's maps */
		compile_and_check(&set);
	}
	skl_bindings_free(&set);
	return 0;
}
