/* Allocation failures in the bindings model: every allocation of each
 * operation is made to fail in turn; the operation must report it, leave
 * its input as it was and leak nothing.
 *
 * The allocator is replaced in this binary (forwarding to glibc's own), so
 * these tests count allocations themselves. Where another allocator wins
 * (AddressSanitizer, valgrind), the replacement is not in effect and the
 * tests are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "failing_alloc.h"

/* ------------------------------------------------------------------------
 * Helpers
 */

static void parse_ok(const char *text, struct skl_binding_set *set)
{
	cJSON *json = cJSON_Parse(text);
	struct skl_err err = {0};

	assert_non_null(json);
	if (skl_bindings_parse(json, NULL, set, &err))
		fail_msg("parse of %s failed: %s", text, err.msg);
	cJSON_Delete(json);
}

/* Eight bindings: the set is full (cap 8), so adding one must grow it. */
static void full_set(struct skl_binding_set *set)
{
	int i;

	for (i = 0; i < 8; i++)
		parse_ok("[{\"label\":\"keep\",\"protocol\":\"udp\",\"prefix\":\"2001:db8::/64\","
			 "\"ports\":[\"53\"]}]",
			 set);
	assert_int_equal(set->n, 8);
	assert_int_equal(set->cap, 8);
}

static void assert_full_set_intact(const struct skl_binding_set *set)
{
	size_t i;

	assert_int_equal(set->n, 8);
	for (i = 0; i < set->n; i++) {
		assert_string_equal(set->v[i].label, "keep");
		assert_int_equal(set->v[i].n_ports, 1);
		assert_int_equal(set->v[i].ports[0].lo, 53);
	}
}

static void assert_out_of_memory(int rc, const struct skl_err *err)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, SKL_CNI_INTERNAL);
	if (!strstr(err->msg, "out of memory"))
		fail_msg("message \"%s\" does not say out of memory", err->msg);
}

/* ------------------------------------------------------------------------
 * Tests
 */

static const char three[] =
	"[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.0/24\",\"ports\":[\"80\",\"443\"]},"
	"{\"label\":\"b\",\"protocol\":\"tcp\",\"prefix\":\"pod\"},"
	"{\"label\":\"c\",\"protocol\":\"udp\",\"prefix\":\"2001:db8::/64\"}]";

static void test_parse_every_allocation_fails(void **state)
{
	long n, failures = 0;
	cJSON *json;

	(void)state;
	failing_alloc_require();
	json = cJSON_Parse(three);
	assert_non_null(json);
	for (n = 1;; n++) {
		struct skl_binding_set set = {0};
		struct skl_err err = {0};
		long before;
		bool reached;
		int rc;

		full_set(&set);
		before = failing_alloc_live;
		failing_alloc_arm(n);
		rc = skl_bindings_parse(json, NULL, &set, &err);
		reached = failing_alloc_disarm();
		if (!reached) {
			assert_int_equal(rc, 0);
			assert_int_equal(set.n, 11);
			skl_bindings_free(&set);
			break;
		}
		assert_out_of_memory(rc, &err);
		assert_full_set_intact(&set);
		assert_int_equal(failing_alloc_live, before);
		skl_bindings_free(&set);
		failures++;
	}
	/* the entries' port arrays and the set's growth */
	assert_true(failures >= 4);
	cJSON_Delete(json);
}

static void test_resolve_pod_every_allocation_fails(void **state)
{
	struct skl_pod_addrs pod = {.n = 2};
	long n, failures = 0;

	(void)state;
	failing_alloc_require();
	pod.v[0].family = SKL_FAMILY_V4;
	memcpy(pod.v[0].addr, (uint8_t[4]){10, 0, 0, 5}, 4);
	pod.v[1].family = SKL_FAMILY_V6;
	pod.v[1].addr[0] = 0xfd;
	pod.v[1].addr[15] = 5;
	for (n = 1;; n++) {
		struct skl_binding_set set = {0};
		struct skl_err err = {0};
		long before;
		bool reached;
		int rc;

		parse_ok(three, &set);
		before = failing_alloc_live;
		failing_alloc_arm(n);
		rc = skl_bindings_resolve_pod(&set, &pod, &err);
		reached = failing_alloc_disarm();
		if (!reached) {
			assert_int_equal(rc, 0);
			assert_int_equal(set.n, 4);
			skl_bindings_free(&set);
			break;
		}
		assert_out_of_memory(rc, &err);
		assert_int_equal(set.n, 3);
		assert_int_equal(set.v[1].kind, SKL_PREFIX_POD);
		assert_int_equal(set.v[0].n_ports, 2);
		assert_int_equal(failing_alloc_live, before);
		skl_bindings_free(&set);
		failures++;
	}
	assert_true(failures >= 4);
}

static void test_check_conflicts_allocation_fails(void **state)
{
	struct skl_binding_set set = {0};
	long n, failures = 0;

	(void)state;
	failing_alloc_require();
	parse_ok(three, &set);
	for (n = 1;; n++) {
		struct skl_err err = {0};
		long before = failing_alloc_live;
		bool reached;
		int rc;

		failing_alloc_arm(n);
		rc = skl_bindings_check_conflicts(&set, &err);
		reached = failing_alloc_disarm();
		assert_int_equal(failing_alloc_live, before);
		if (!reached) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, -1);
		assert_int_equal(err.code, SKL_CNI_INTERNAL);
		failures++;
	}
	assert_int_equal(failures, 2);
	skl_bindings_free(&set);
}

static void test_to_json_every_allocation_fails(void **state)
{
	struct skl_binding_set set = {0};
	long n, failures = 0;

	(void)state;
	failing_alloc_require();
	parse_ok(three, &set);
	for (n = 1;; n++) {
		long before = failing_alloc_live;
		bool reached;
		cJSON *json;

		failing_alloc_arm(n);
		json = skl_bindings_to_json(&set);
		reached = failing_alloc_disarm();
		if (!reached) {
			assert_non_null(json);
			assert_int_equal(cJSON_GetArraySize(json), 3);
			cJSON_Delete(json);
			break;
		}
		assert_null(json);
		assert_int_equal(failing_alloc_live, before);
		failures++;
	}
	assert_true(failures >= 10);
	skl_bindings_free(&set);
}

static void test_append_allocation_fails(void **state)
{
	struct skl_binding_set set = {0};
	long n, failures = 0;

	(void)state;
	failing_alloc_require();
	full_set(&set);
	for (n = 1;; n++) {
		struct skl_err err = {0};
		long before = failing_alloc_live;
		bool reached;
		int rc;

		failing_alloc_arm(n);
		rc = skl_bindings_append(&set, &set.v[0], &err);
		reached = failing_alloc_disarm();
		if (!reached) {
			assert_int_equal(rc, 0);
			assert_int_equal(set.n, 9);
			break;
		}
		assert_out_of_memory(rc, &err);
		assert_full_set_intact(&set);
		assert_int_equal(failing_alloc_live, before);
		failures++;
	}
	assert_int_equal(failures, 2);
	skl_bindings_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_every_allocation_fails),
		cmocka_unit_test(test_resolve_pod_every_allocation_fails),
		cmocka_unit_test(test_check_conflicts_allocation_fails),
		cmocka_unit_test(test_to_json_every_allocation_fails),
		cmocka_unit_test(test_append_allocation_fails),
	};

	return cmocka_run_group_tests(tests, failing_alloc_group_setup, NULL);
}
