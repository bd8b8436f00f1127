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

#if defined(__SANITIZE_ADDRESS__)
#define ALLOCATOR_REPLACED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOCATOR_REPLACED 0
#endif
#endif
#ifndef ALLOCATOR_REPLACED
#define ALLOCATOR_REPLACED 1
#endif

/* ------------------------------------------------------------------------
 * A counting allocator with one injected failure
 */

static long live;        /* allocations not yet freed */
static long calls;       /* allocation calls since arming */
static long fail_at;     /* the call that fails, 0: none */

#if ALLOCATOR_REPLACED
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static bool injected_failure(void)
{
	if (fail_at && ++calls == fail_at) {
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *malloc(size_t size)
{
	void *p = injected_failure() ? NULL : __libc_malloc(size);

	live += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = injected_failure() ? NULL : __libc_calloc(n, size);

	live += p != NULL;
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p;

	if (injected_failure())
		return NULL;
	p = __libc_realloc(old, size);
	live += (p != NULL) - (old != NULL);
	return p;
}

void *reallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, n * size);
}

void free(void *p)
{
	live -= p != NULL;
	__libc_free(p);
}
#endif

static void arm(long n)
{
	calls = 0;
	fail_at = n;
}

/* True when the armed failure was reached. */
static bool disarm(void)
{
	bool reached = fail_at && calls >= fail_at;

	fail_at = 0;
	return reached;
}

/* Whether every entry point of the replacement is the one in use: probed
 * once, because valgrind intercepts some of them in the executable. */
static bool replacement_works;

static bool probe_replacement(void)
{
	/* through volatile pointers, so the compiler cannot elide the calls */
	void *(*volatile do_malloc)(size_t) = malloc;
	void *(*volatile do_calloc)(size_t, size_t) = calloc;
	void *(*volatile do_realloc)(void *, size_t) = realloc;
	void (*volatile do_free)(void *) = free;
	long live_before = live;
	void *p, *q, *r;

	arm(1);
	p = do_malloc(1);
	arm(1);
	q = do_calloc(1, 1);
	arm(1);
	r = do_realloc(NULL, 1);
	fail_at = 0;
	if (p || q || r) {
		do_free(p);
		do_free(q);
		do_free(r);
		return false;
	}
	p = do_malloc(1);
	if (live != live_before + 1) {
		do_free(p);
		return false;
	}
	do_free(p);
	return live == live_before;
}

static int group_setup(void **state)
{
	(void)state;
	replacement_works = ALLOCATOR_REPLACED && probe_replacement();
	if (!replacement_works)
		print_message("allocator replacement not in effect here: skipping\n");
	return 0;
}

static void require_replaced_allocator(void)
{
	if (!replacement_works)
		skip();
}

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
	require_replaced_allocator();
	json = cJSON_Parse(three);
	assert_non_null(json);
	for (n = 1;; n++) {
		struct skl_binding_set set = {0};
		struct skl_err err = {0};
		long before;
		bool reached;
		int rc;

		full_set(&set);
		before = live;
		arm(n);
		rc = skl_bindings_parse(json, NULL, &set, &err);
		reached = disarm();
		if (!reached) {
			assert_int_equal(rc, 0);
			assert_int_equal(set.n, 11);
			skl_bindings_free(&set);
			break;
		}
		assert_out_of_memory(rc, &err);
		assert_full_set_intact(&set);
		assert_int_equal(live, before);
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
	require_replaced_allocator();
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
		before = live;
		arm(n);
		rc = skl_bindings_resolve_pod(&set, &pod, &err);
		reached = disarm();
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
		assert_int_equal(live, before);
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
	require_replaced_allocator();
	parse_ok(three, &set);
	for (n = 1;; n++) {
		struct skl_err err = {0};
		long before = live;
		bool reached;
		int rc;

		arm(n);
		rc = skl_bindings_check_conflicts(&set, &err);
		reached = disarm();
		assert_int_equal(live, before);
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
	require_replaced_allocator();
	parse_ok(three, &set);
	for (n = 1;; n++) {
		long before = live;
		bool reached;
		cJSON *json;

		arm(n);
		json = skl_bindings_to_json(&set);
		reached = disarm();
		if (!reached) {
			assert_non_null(json);
			assert_int_equal(cJSON_GetArraySize(json), 3);
			cJSON_Delete(json);
			break;
		}
		assert_null(json);
		assert_int_equal(live, before);
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
	require_replaced_allocator();
	full_set(&set);
	for (n = 1;; n++) {
		struct skl_err err = {0};
		long before = live;
		bool reached;
		int rc;

		arm(n);
		rc = skl_bindings_append(&set, &set.v[0], &err);
		reached = disarm();
		if (!reached) {
			assert_int_equal(rc, 0);
			assert_int_equal(set.n, 9);
			break;
		}
		assert_out_of_memory(rc, &err);
		assert_full_set_intact(&set);
		assert_int_equal(live, before);
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

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
