/* Unit tests of the pure parts of plugin/lib/portreserve.h: the kernel's list
 * syntax, range arithmetic and the reservation plan. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portreserve.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define R(l, h) ((struct skl_port_range){ .lo = (l), .hi = (h) })

/* The ephemeral range of a new netns. */
#define EPH_LO 32768
#define EPH_HI 60999

/* ------------------------------------------------------------------------
 * Helpers
 */

static void assert_contains(const char *msg, const char *needle)
{
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

/* Checks that v, n formats as `want` (a list is compared by its text). */
static void assert_ranges(const struct skl_port_range *v, size_t n, const char *want)
{
	struct skl_err err = {0};
	char *text;

	if (skl_reserved_ports_format(v, n, &text, &err) != 0)
		fail_msg("format failed: %s", err.msg);
	if (strcmp(text, want) != 0) {
		print_error("got \"%s\", want \"%s\"\n", text, want);
		free(text);
		fail();
	}
	free(text);
	if (n == 0)
		assert_null(v);
}

/* Parses s, which must be valid, and checks the result's text. */
static void assert_parses_to(const char *s, const char *want)
{
	struct skl_port_range *v = NULL;
	struct skl_err err = {0};
	size_t n = 99;

	if (skl_reserved_ports_parse(s, &v, &n, &err) != 0)
		fail_msg("parse of \"%s\" failed: %s", s, err.msg);
	assert_ranges(v, n, want);
	free(v);
}

static void assert_parse_fails(const char *s)
{
	struct skl_port_range sentinel, *v = &sentinel;
	struct skl_err err = {0};
	size_t n = 99;

	if (skl_reserved_ports_parse(s, &v, &n, &err) != -1)
		fail_msg("parse of \"%s\" succeeded", s);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(err.code, SKL_CNI_INTERNAL);
	assert_contains(err.msg, "net.ipv4.ip_local_reserved_ports");
	assert_contains(err.msg, "1000-2000,3000");
}

static void assert_subtract(const struct skl_port_range *a, size_t na,
			    const struct skl_port_range *b, size_t nb, const char *want)
{
	struct skl_port_range *out = NULL;
	struct skl_err err = {0};
	size_t n = 99;

	if (skl_port_ranges_subtract(a, na, b, nb, &out, &n, &err) != 0)
		fail_msg("subtract failed: %s", err.msg);
	assert_ranges(out, n, want);
	free(out);
}

/* Plans served for the default ephemeral range; checks the result and the
 * number of skipped ranges. */
static void assert_plan(const struct skl_port_range *served, size_t n_served, const char *want,
			size_t want_skipped)
{
	struct skl_port_range *add = NULL;
	struct skl_err err = {0};
	size_t n_add = 99, skipped = 99;

	if (skl_reserved_ports_plan(served, n_served, EPH_LO, EPH_HI, &add, &n_add, &skipped,
				    &err) != 0)
		fail_msg("plan failed: %s", err.msg);
	assert_ranges(add, n_add, want);
	assert_int_equal(skipped, want_skipped);
	free(add);
}

/* ------------------------------------------------------------------------
 * The kernel's syntax
 */

static void test_parse_empty(void **state)
{
	(void)state;
	assert_parses_to("", "");
	assert_parses_to("\n", ""); /* what a new netns prints */
}

static void test_parse_kernel_output(void **state)
{
	(void)state;
	assert_parses_to("1000-2000,3000\n", "1000-2000,3000");
	assert_parses_to("0\n", "0");
	assert_parses_to("65535", "65535");
	assert_parses_to("0-65535", "0-65535");
}

static void test_parse_format_round_trip(void **state)
{
	static const char *const lists[] = {
		"1", "1,3,5", "80,443,8000-8999", "100-200,300-400,65535", "0,2-3,5-65535",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		assert_parses_to(lists[i], lists[i]);
}

static void test_parse_sorts_and_merges(void **state)
{
	(void)state;
	assert_parses_to("5,3,4,1-2", "1-5"); /* what the kernel itself prints */
	assert_parses_to("10-20,15-30,31,40", "10-31,40");
	assert_parses_to("1-10,2-3", "1-10");
	assert_parses_to("7,7,7", "7");
	assert_parses_to("65535,65534,0", "0,65534-65535");
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"1,,2", ",1", "1,", "-5", "5-", "5-3", "65536", "1-65536", "99999999999",
		"1 2", "a", "1-2-3", " 1", "1;2", "1-a", "+1", "0x10",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_parse_fails(bad[i]);
}

static void test_parse_error_names_the_text(void **state)
{
	struct skl_port_range *v;
	struct skl_err err = {0};
	size_t n;

	(void)state;
	assert_int_equal(skl_reserved_ports_parse("80,,443", &v, &n, &err), -1);
	assert_contains(err.msg, "\"80,,443\"");
	assert_contains(err.msg, "offset 3");
}

static void test_format_keeps_order(void **state)
{
	const struct skl_port_range v[] = { R(3000, 3000), R(1000, 2000), R(0, 0) };
	char *text;

	(void)state;
	assert_int_equal(skl_reserved_ports_format(v, ARRAY_SIZE(v), &text, NULL), 0);
	assert_string_equal(text, "3000,1000-2000,0");
	free(text);
	assert_int_equal(skl_reserved_ports_format(NULL, 0, &text, NULL), 0);
	assert_string_equal(text, "");
	free(text);
}

/* The longest list the kernel can hold: every other port. */
static void test_round_trip_longest_list(void **state)
{
	struct skl_port_range *v = calloc(32768, sizeof(*v)), *back;
	struct skl_err err = {0};
	size_t n_back;
	char *text;

	(void)state;
	assert_non_null(v);
	for (unsigned int i = 0; i < 32768; i++)
		v[i] = R(2 * i, 2 * i);
	assert_int_equal(skl_reserved_ports_format(v, 32768, &text, &err), 0);
	assert_true(strlen(text) > 190000);
	assert_int_equal(skl_reserved_ports_parse(text, &back, &n_back, &err), 0);
	assert_int_equal(n_back, 32768);
	assert_memory_equal(back, v, 32768 * sizeof(*v));
	free(back);
	free(text);
	free(v);
}

static void test_ephemeral_parse(void **state)
{
	static const char *const bad[] = {
		"", "32768", "60999 32768", "1 2 3", "x y", "70000 80000", "1-2", "1\t",
	};
	struct skl_err err = {0};
	uint16_t lo = 0, hi = 0;

	(void)state;
	assert_int_equal(skl_ephemeral_ports_parse("32768\t60999\n", &lo, &hi, &err), 0);
	assert_int_equal(lo, 32768);
	assert_int_equal(hi, 60999);
	assert_int_equal(skl_ephemeral_ports_parse("1024 1024", &lo, &hi, &err), 0);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 1024);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (skl_ephemeral_ports_parse(bad[i], &lo, &hi, &err) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_contains(err.msg, "net.ipv4.ip_local_port_range");
	}
}

/* ------------------------------------------------------------------------
 * Range arithmetic
 */

static void test_normalize(void **state)
{
	struct skl_port_range v[] = { R(65535, 65535), R(0, 65534), R(10, 20) };
	struct skl_port_range w[] = { R(30, 40), R(1, 5), R(6, 9), R(41, 41), R(43, 50) };
	size_t n = ARRAY_SIZE(v), m = ARRAY_SIZE(w);

	(void)state;
	skl_port_ranges_normalize(v, &n);
	assert_ranges(v, n, "0-65535");
	skl_port_ranges_normalize(w, &m);
	assert_ranges(w, m, "1-9,30-41,43-50");
	m = 0;
	skl_port_ranges_normalize(NULL, &m);
	assert_int_equal(m, 0);
}

static void test_subtract(void **state)
{
	const struct skl_port_range a[] = { R(1, 100) };
	const struct skl_port_range holes[] = { R(10, 20), R(50, 50) };
	const struct skl_port_range two[] = { R(1, 10), R(20, 30) };
	const struct skl_port_range across[] = { R(5, 25) };
	const struct skl_port_range all[] = { R(0, 65535) };
	const struct skl_port_range top[] = { R(65530, 65535) };
	const struct skl_port_range last[] = { R(65535, 65535) };
	const struct skl_port_range zero[] = { R(0, 0) };

	(void)state;
	assert_subtract(a, 1, holes, 2, "1-9,21-49,51-100");
	assert_subtract(a, 1, NULL, 0, "1-100");
	assert_subtract(NULL, 0, a, 1, "");
	assert_subtract(a, 1, all, 1, "");
	assert_subtract(two, 2, across, 1, "1-4,26-30");
	assert_subtract(across, 1, two, 2, "11-19");
	assert_subtract(top, 1, last, 1, "65530-65534");
	assert_subtract(all, 1, zero, 1, "1-65535");
	assert_subtract(all, 1, last, 1, "0-65534");
	assert_subtract(holes, 2, a, 1, "");
}

/* ------------------------------------------------------------------------
 * Plan
 */

static void test_plan_outside_ephemeral_range(void **state)
{
	const struct skl_port_range served[] = { R(80, 80), R(443, 443), R(8000, 8999),
						 R(61000, 65535) };

	(void)state;
	assert_plan(served, ARRAY_SIZE(served), "", 0);
	assert_plan(NULL, 0, "", 0);
}

static void test_plan_clips(void **state)
{
	const struct skl_port_range low[] = { R(30000, 40000) };
	const struct skl_port_range high[] = { R(50000, 65535) };
	const struct skl_port_range one[] = { R(40000, 40000) };
	const struct skl_port_range edges[] = { R(EPH_LO, EPH_LO), R(EPH_HI, EPH_HI) };

	(void)state;
	assert_plan(low, 1, "32768-40000", 0);
	assert_plan(high, 1, "50000-60999", 0);
	assert_plan(one, 1, "40000", 0);
	assert_plan(edges, 2, "32768,60999", 0);
}

static void test_plan_multiple_ranges(void **state)
{
	const struct skl_port_range served[] = {
		R(59999, 61000), R(50000, 50000), R(33001, 34000), R(30000, 33000),
		R(80, 80), R(50000, 50000),
	};

	(void)state;
	assert_plan(served, ARRAY_SIZE(served), "32768-34000,50000,59999-60999", 0);
}

static void test_plan_never_reserves_everything(void **state)
{
	const struct skl_port_range all[] = { R(1, 65535) };
	const struct skl_port_range exact[] = { R(EPH_LO, EPH_HI) };
	const struct skl_port_range all_and_one[] = { R(40000, 40000), R(1, 65535), R(80, 80) };

	(void)state;
	assert_plan(all, 1, "", 1);
	assert_plan(exact, 1, "", 1);
	/* The other ranges are still reserved. */
	assert_plan(all_and_one, ARRAY_SIZE(all_and_one), "40000", 1);
}

static void test_plan_ranges_that_together_cover_everything(void **state)
{
	const struct skl_port_range halves[] = { R(80, 80), R(1, 40000), R(40001, 65535) };
	const struct skl_port_range almost[] = { R(1, 40000), R(40002, 65535) };

	(void)state;
	assert_plan(halves, ARRAY_SIZE(halves), "", 2);
	/* One port left free is enough. */
	assert_plan(almost, ARRAY_SIZE(almost), "32768-40000,40002-60999", 0);
}

static void test_plan_empty_ephemeral_range(void **state)
{
	const struct skl_port_range served[] = { R(1, 65535) };
	struct skl_port_range *add = NULL;
	size_t n_add = 99, skipped = 99;

	(void)state;
	assert_int_equal(skl_reserved_ports_plan(served, 1, 2000, 1000, &add, &n_add, &skipped,
						 NULL),
			 0);
	assert_null(add);
	assert_int_equal(n_add, 0);
	assert_int_equal(skipped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_kernel_output),
		cmocka_unit_test(test_parse_format_round_trip),
		cmocka_unit_test(test_parse_sorts_and_merges),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_error_names_the_text),
		cmocka_unit_test(test_format_keeps_order),
		cmocka_unit_test(test_round_trip_longest_list),
		cmocka_unit_test(test_ephemeral_parse),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_subtract),
		cmocka_unit_test(test_plan_outside_ephemeral_range),
		cmocka_unit_test(test_plan_clips),
		cmocka_unit_test(test_plan_multiple_ranges),
		cmocka_unit_test(test_plan_never_reserves_everything),
		cmocka_unit_test(test_plan_ranges_that_together_cover_everything),
		cmocka_unit_test(test_plan_empty_ephemeral_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
