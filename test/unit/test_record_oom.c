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
#include "failing_alloc.h"

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
	strcpy(rec->pod.ns, "shop");
	strcpy(rec->pod.name, "cart-1");
	strcpy(rec->pod.uid, "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
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
	assert_non_null(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "pod"), "uid"));
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
	failing_alloc_require();
	sample(&rec, pod, host, reserved);
	failing_alloc_arm(LONG_MAX); /* counts the allocations of one complete run */
	text = skl_record_text(&rec);
	total = failing_alloc_calls;
	failing_alloc_disarm();
	assert_non_null(text);
	assert_complete(text);
	free(text);
	assert_true(total > 10);
	for (long n = 1; n <= total; n++) {
		live_before = failing_alloc_live;
		failing_alloc_arm(n);
		text = skl_record_text(&rec);
		assert_true(failing_alloc_disarm());
		if (text) {
			assert_complete(text);
			free(text);
		}
		if (failing_alloc_live != live_before)
			fail_msg("allocation %ld of %ld failing leaked %ld blocks", n, total,
				 failing_alloc_live - live_before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_text_every_allocation_fails),
	};

	return cmocka_run_group_tests(tests, failing_alloc_group_setup, NULL);
}
