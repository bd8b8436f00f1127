/* Allocation failures while the write-ahead record is turned into text:
 * every allocation is made to fail in turn; the result must be NULL (the
 * save then fails) or the whole record, never a record that silently lacks
 * a route DEL would then leave behind, and nothing may leak.
 *
 * The allocator is replaced in this binary as in test_bindings_oom.c (cJSON
 * allocates through it); where another allocator wins (AddressSanitizer,
 * valgrind) the tests are skipped. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "record.h"

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

static void route(struct skl_route *r, int kind, uint8_t last)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->family = SKL_FAMILY_V4;
	r->plen = 32;
	r->addr[0] = 203;
	r->addr[1] = 0;
	r->addr[2] = 113;
	r->addr[3] = last;
	r->gw[0] = 198;
	r->gw[1] = 51;
	r->gw[2] = 100;
	r->gw[3] = 10;
}

static void sample(struct skl_record *rec, struct skl_route *pod, struct skl_route *host,
		   struct skl_port_range *reserved)
{
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->state_dir, sizeof(rec->state_dir), "/sys/fs/bpf/sklookup/net/cid/eth0");
	rec->link_id = 42;
	rec->netns_ino = 4026531840u;
	for (int i = 0; i < 3; i++)
		route(&pod[i], SKL_ROUTE_LOCAL, (uint8_t)(1 + i));
	for (int i = 0; i < 2; i++)
		route(&host[i], SKL_ROUTE_VIA, (uint8_t)(100 + i));
	reserved[0] = (struct skl_port_range){ .lo = 8000, .hi = 8999 };
	reserved[1] = (struct skl_port_range){ .lo = 9500, .hi = 9500 };
	rec->pod_routes = pod;
	rec->n_pod_routes = 3;
	rec->host_routes = host;
	rec->n_host_routes = 2;
	rec->reserved = reserved;
	rec->n_reserved = 2;
}

static int array_size(const cJSON *doc, const char *key)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, key));
}

/* The text holds every part of the sample. */
static void assert_complete(const char *text)
{
	cJSON *doc = cJSON_Parse(text);

	assert_non_null(doc);
	assert_int_equal(array_size(doc, "podRoutes"), 3);
	assert_int_equal(array_size(doc, "hostRoutes"), 2);
	assert_int_equal(array_size(doc, "reservedPorts"), 2);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "stateDir"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "linkId"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "netnsIno"));
	cJSON_Delete(doc);
}

static void test_record_text_every_allocation_fails(void **state)
{
	struct skl_route pod[3], host[2];
	struct skl_port_range reserved[2];
	struct skl_record rec;
	long total, live_before;
	char *text;

	(void)state;
	require_replaced_allocator();
	sample(&rec, pod, host, reserved);
	arm(LONG_MAX); /* counts the allocations of one complete run */
	text = skl_record_text(&rec);
	total = calls;
	disarm();
	assert_non_null(text);
	assert_complete(text);
	free(text);
	assert_true(total > 10);
	for (long n = 1; n <= total; n++) {
		live_before = live;
		arm(n);
		text = skl_record_text(&rec);
		assert_true(disarm());
		if (text) {
			assert_complete(text);
			free(text);
		}
		if (live != live_before)
			fail_msg("allocation %ld of %ld failing leaked %ld blocks", n, total,
				 live - live_before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_text_every_allocation_fails),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
