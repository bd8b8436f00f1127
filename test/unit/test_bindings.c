/* Unit tests of the bindings model (plugin/lib/bindings.h): parsing, validation
 * messages, pod expansion, conflicts, precedence and the JSON listing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Helpers
 */

static int parse_text(const char *text, const char *where, struct skl_binding_set *set,
		      struct skl_err *err)
{
	cJSON *json = cJSON_Parse(text);
	int rc;

	if (!json)
		fail_msg("test JSON does not parse: %s", text);
	rc = skl_bindings_parse(json, where, set, err);
	cJSON_Delete(json);
	return rc;
}

static void parse_ok(const char *text, struct skl_binding_set *set)
{
	struct skl_err err = {0};

	if (parse_text(text, NULL, set, &err) != 0)
		fail_msg("parse of %s failed: %s", text, err.msg);
}

static void assert_contains(const char *msg, const char *needle)
{
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void assert_starts_with(const char *msg, const char *head)
{
	if (strncmp(msg, head, strlen(head)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", msg, head);
}

static void assert_invalid_config(int rc, const struct skl_err *err)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, SKL_CNI_INVALID_CONFIG);
}

static void addr_of(const char *text, uint8_t *family, uint8_t addr[16])
{
	bool v6 = strchr(text, ':') != NULL;

	memset(addr, 0, 16);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, addr) != 1)
		fail_msg("bad test address %s", text);
	*family = v6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
}

static void assert_ports(const struct skl_binding_spec *b, const struct skl_port_range *want,
			 size_t n)
{
	size_t i;

	assert_int_equal(b->n_ports, n);
	for (i = 0; i < n; i++) {
		if (b->ports[i].lo != want[i].lo || b->ports[i].hi != want[i].hi)
			fail_msg("%s: range %zu is %u-%u, want %u-%u", b->where, i, b->ports[i].lo,
				 b->ports[i].hi, want[i].lo, want[i].hi);
	}
}

static void assert_binding_equal(const struct skl_binding_spec *a, const struct skl_binding_spec *b,
				 bool compare_where)
{
	assert_string_equal(a->label, b->label);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->plen, b->plen);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
	assert_int_equal(a->missing_pass, b->missing_pass);
	assert_ports(a, b->ports, b->n_ports);
	if (compare_where)
		assert_string_equal(a->where, b->where);
}

static void assert_sets_equal(const struct skl_binding_set *a, const struct skl_binding_set *b,
			      bool compare_where)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_binding_equal(&a->v[i], &b->v[i], compare_where);
}

/* A concrete binding for tests that build sets directly. */
static struct skl_binding_spec spec(const char *label, uint8_t proto, const char *prefix,
				    struct skl_port_range *ports, size_t n_ports)
{
	struct skl_binding_spec b = {0};
	struct skl_err err = {0};

	snprintf(b.label, sizeof(b.label), "%s", label);
	b.proto = proto;
	b.kind = SKL_PREFIX_CIDR;
	if (skl_prefix_parse(prefix, &b.family, &b.plen, b.addr, &err))
		fail_msg("bad test prefix %s: %s", prefix, err.msg);
	b.ports = ports;
	b.n_ports = n_ports;
	return b;
}

static void append_ok(struct skl_binding_set *set, struct skl_binding_spec *b)
{
	struct skl_err err = {0};

	snprintf(b->where, sizeof(b->where), "bindings[%zu]", set->n);
	if (skl_bindings_append(set, b, &err))
		fail_msg("append failed: %s", err.msg);
}

#define GOOD "{\"label\":\"web\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.0/24\"}"

/* ------------------------------------------------------------------------
 * Ports
 */

static void test_port_parse_valid(void **state)
{
	static const struct {
		const char *s;
		unsigned int lo, hi;
	} cases[] = {
		{"1", 1, 1},         {"80", 80, 80},           {"65535", 65535, 65535},
		{"1-65535", 1, 65535}, {"5-5", 5, 5},          {"8000-8999", 8000, 8999},
		{"1-2", 1, 2},       {"65534-65535", 65534, 65535}, {"10", 10, 10},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct skl_port_range r = {0, 0};
		struct skl_err err = {0};

		if (skl_port_range_parse(cases[i].s, &r, &err) != 0)
			fail_msg("\"%s\" rejected: %s", cases[i].s, err.msg);
		assert_int_equal(r.lo, cases[i].lo);
		assert_int_equal(r.hi, cases[i].hi);
	}
}

static void test_port_parse_invalid(void **state)
{
	/* input, and how the message quotes it */
	static const struct {
		const char *s, *quoted;
	} cases[] = {
		{"0", "\"0\""},           {"65536", "\"65536\""},     {"70000", "\"70000\""},
		{"999999", "\"999999\""}, {"1234567", "\"1234567\""}, {"10-5", "\"10-5\""},
		{"-5", "\"-5\""},         {"5-", "\"5-\""},           {"-", "\"-\""},
		{" 5", "\" 5\""},         {"5 ", "\"5 \""},           {"5x", "\"5x\""},
		{"", "\"\""},             {"+5", "\"+5\""},           {"080", "\"080\""},
		{"00", "\"00\""},         {"0-5", "\"0-5\""},         {"5-0", "\"5-0\""},
		{"5-65536", "\"5-65536\""}, {"1-2-3", "\"1-2-3\""},   {"5--6", "\"5--6\""},
		{"0x10", "\"0x10\""},     {"5 - 6", "\"5 - 6\""},     {"8080-80", "\"8080-80\""},
		{"\t5", "\"\\x095\""},    {"5\n", "\"5\\x0a\""},      {"80-080", "\"80-080\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct skl_port_range r = {7, 7};
		struct skl_err err = {0};

		assert_invalid_config(skl_port_range_parse(cases[i].s, &r, &err), &err);
		assert_contains(err.msg, cases[i].quoted);
		assert_contains(err.msg, "1 <= N <= M <= 65535");
		/* the output is untouched on error */
		assert_int_equal(r.lo, 7);
		assert_int_equal(r.hi, 7);
	}
}

static void test_port_parse_messages(void **state)
{
	struct skl_port_range r;
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(skl_port_range_parse("70000", &r, &err), &err);
	assert_string_equal(err.msg,
			    "\"70000\" is not a port; use \"N\" or \"N-M\" with 1 <= N <= M <= 65535");
	assert_invalid_config(skl_port_range_parse("10-5", &r, &err), &err);
	assert_string_equal(err.msg, "\"10-5\" is not a port range (10 > 5); use \"N\" or \"N-M\" "
				     "with 1 <= N <= M <= 65535");
	assert_invalid_config(skl_port_range_parse("1-99999", &r, &err), &err);
	assert_starts_with(err.msg, "\"1-99999\" is not a port range; ");
	assert_invalid_config(skl_port_range_parse(NULL, &r, &err), &err);
	assert_contains(err.msg, "no port given");
}

/* ------------------------------------------------------------------------
 * Prefixes
 */

static void test_prefix_parse_valid(void **state)
{
	static const struct {
		const char *s;
		uint8_t family, plen;
		uint8_t addr[16];
	} cases[] = {
		{"192.0.2.0/24", SKL_FAMILY_V4, 24, {192, 0, 2, 0}},
		{"192.0.2.1", SKL_FAMILY_V4, 32, {192, 0, 2, 1}},
		{"192.0.2.1/32", SKL_FAMILY_V4, 32, {192, 0, 2, 1}},
		{"192.0.2.128/25", SKL_FAMILY_V4, 25, {192, 0, 2, 128}},
		{"10.0.0.0/8", SKL_FAMILY_V4, 8, {10}},
		{"0.0.0.0/0", SKL_FAMILY_V4, 0, {0}},
		{"255.255.255.255", SKL_FAMILY_V4, 32, {255, 255, 255, 255}},
		{"2001:db8::/64", SKL_FAMILY_V6, 64, {0x20, 0x01, 0x0d, 0xb8}},
		{"2001:DB8::/32", SKL_FAMILY_V6, 32, {0x20, 0x01, 0x0d, 0xb8}},
		{"2001:db8:8000::/33", SKL_FAMILY_V6, 33, {0x20, 0x01, 0x0d, 0xb8, 0x80}},
		{"2001:db8::1", SKL_FAMILY_V6, 128,
		 {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"::/0", SKL_FAMILY_V6, 0, {0}},
		{"::1", SKL_FAMILY_V6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"fe80::/10", SKL_FAMILY_V6, 10, {0xfe, 0x80}},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t family = 99, plen = 99, addr[16];
		struct skl_err err = {0};

		memset(addr, 0xee, sizeof(addr));
		if (skl_prefix_parse(cases[i].s, &family, &plen, addr, &err) != 0)
			fail_msg("\"%s\" rejected: %s", cases[i].s, err.msg);
		assert_int_equal(family, cases[i].family);
		assert_int_equal(plen, cases[i].plen);
		assert_memory_equal(addr, cases[i].addr, 16);
	}
}

static void test_prefix_parse_invalid(void **state)
{
	/* input, how the message quotes it, and what else it must say */
	static const struct {
		const char *s, *quoted, *says;
	} cases[] = {
		{"192.0.2.5/24", "\"192.0.2.5/24\"", "use \"192.0.2.0/24\" for the network"},
		{"192.0.2.129/25", "\"192.0.2.129/25\"", "\"192.0.2.128/25\""},
		{"10.1.2.3/8", "\"10.1.2.3/8\"", "\"10.0.0.0/8\""},
		{"2001:db8::1/64", "\"2001:db8::1/64\"", "\"2001:db8::/64\""},
		{"2001:db8:ffff::/32", "\"2001:db8:ffff::/32\"", "\"2001:db8::/32\""},
		{"::ffff:192.0.2.1", "\"::ffff:192.0.2.1\"", "write the IPv4 prefix \"192.0.2.1/32\""},
		{"::ffff:192.0.2.0/120", "\"::ffff:192.0.2.0/120\"", "\"192.0.2.0/24\""},
		{"::ffff:192.0.2.7/120", "\"::ffff:192.0.2.7/120\"", "\"192.0.2.0/24\""},
		{"::ffff:0:0/96", "\"::ffff:0:0/96\"", "\"0.0.0.0/0\""},
		{"", "\"\"", "not an IPv4 or IPv6 prefix"},
		{"/24", "\"/24\"", "not an IPv4 or IPv6 prefix"},
		{"192.0.2.0/", "\"192.0.2.0/\"", "invalid prefix length"},
		{"192.0.2.0/33", "\"192.0.2.0/33\"", "use /0 to /32 for IPv4"},
		{"2001:db8::/129", "\"2001:db8::/129\"", "use /0 to /128 for IPv6"},
		{"192.0.2.0/024", "\"192.0.2.0/024\"", "invalid prefix length"},
		{"192.0.2.0/-1", "\"192.0.2.0/-1\"", "invalid prefix length"},
		{"192.0.2.0/ 24", "\"192.0.2.0/ 24\"", "invalid prefix length"},
		{"192.0.2.0/24/8", "\"192.0.2.0/24/8\"", "invalid prefix length"},
		{"192.0.2.0 /24", "\"192.0.2.0 /24\"", "not an IPv4 or IPv6 prefix"},
		{" 192.0.2.0/24", "\" 192.0.2.0/24\"", "not an IPv4 or IPv6 prefix"},
		{"192.0.2", "\"192.0.2\"", "not an IPv4 or IPv6 prefix"},
		{"256.0.0.0", "\"256.0.0.0\"", "not an IPv4 or IPv6 prefix"},
		{"hello", "\"hello\"", "use \"ADDR/LEN\""},
		{"pod", "\"pod\"", "not an IPv4 or IPv6 prefix"},
		{"fe80::1%eth0", "\"fe80::1%eth0\"", "not an IPv4 or IPv6 prefix"},
		{"2001:db8::g", "\"2001:db8::g\"", "not an IPv4 or IPv6 prefix"},
		{"1:2:3:4:5:6:7:8:9", "\"1:2:3:4:5:6:7:8:9\"", "not an IPv4 or IPv6 prefix"},
		{"1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20",
		 "\"1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:...\"",
		 "not an IPv4 or IPv6 prefix"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t family = 99, plen = 99, addr[16], untouched[16];
		struct skl_err err = {0};

		memset(addr, 0xee, sizeof(addr));
		memset(untouched, 0xee, sizeof(untouched));
		assert_invalid_config(skl_prefix_parse(cases[i].s, &family, &plen, addr, &err),
				      &err);
		assert_contains(err.msg, cases[i].quoted);
		assert_contains(err.msg, cases[i].says);
		/* the generic parser does not offer the binding-only keywords */
		assert_null(strstr(err.msg, "pod4"));
		assert_int_equal(family, 99);
		assert_int_equal(plen, 99);
		assert_memory_equal(addr, untouched, 16);
	}
}

static void test_prefix_host_bits_message(void **state)
{
	uint8_t family, plen, addr[16];
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(skl_prefix_parse("192.0.2.5/24", &family, &plen, addr, &err), &err);
	assert_string_equal(err.msg, "\"192.0.2.5/24\" has host bits set; use \"192.0.2.0/24\" for "
				     "the network, or \"192.0.2.5\" for the one address");
}

static void test_prefix_format(void **state)
{
	static const struct {
		uint8_t family, plen;
		uint8_t addr[16];
		const char *want;
	} cases[] = {
		{SKL_FAMILY_V4, 24, {192, 0, 2, 0}, "192.0.2.0/24"},
		{SKL_FAMILY_V4, 32, {10, 1, 2, 3}, "10.1.2.3/32"},
		{SKL_FAMILY_V4, 0, {0}, "0.0.0.0/0"},
		{SKL_FAMILY_V6, 64, {0x20, 0x01, 0x0d, 0xb8}, "2001:db8::/64"},
		{SKL_FAMILY_V6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "::1/128"},
		{SKL_FAMILY_V6, 0, {0}, "::/0"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[64];

		skl_prefix_format(cases[i].family, cases[i].plen, cases[i].addr, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_prefix_parse_format_round_trip(void **state)
{
	static const struct {
		const char *in, *canonical;
	} cases[] = {
		{"192.0.2.0/24", "192.0.2.0/24"},   {"192.0.2.1", "192.0.2.1/32"},
		{"2001:DB8::/32", "2001:db8::/32"}, {"2001:0db8:0000::1", "2001:db8::1/128"},
		{"0.0.0.0/0", "0.0.0.0/0"},         {"fd00:10:244:1::/64", "fd00:10:244:1::/64"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t family, plen, addr[16], family2, plen2, addr2[16];
		struct skl_err err = {0};
		char buf[64];

		assert_int_equal(skl_prefix_parse(cases[i].in, &family, &plen, addr, &err), 0);
		skl_prefix_format(family, plen, addr, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].canonical);
		assert_int_equal(skl_prefix_parse(buf, &family2, &plen2, addr2, &err), 0);
		assert_int_equal(family2, family);
		assert_int_equal(plen2, plen);
		assert_memory_equal(addr2, addr, 16);
	}
}

/* ------------------------------------------------------------------------
 * Labels
 */

static void test_label_valid(void **state)
{
	static const char *const good[] = {
		"a", "web", "A-b_c.d", "0", "9lives", "x-", "a.", "a_",
		"abcdefghijklmnopqrstuvwxyz012345", /* 32 */
	};
	static const char *const bad[] = {
		"", "-web", ".web", "_web", "we b", "w\303\251b", "web!", "web/1", "web:",
		"abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
		"a\tb", "web\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (!skl_label_valid(good[i]))
			fail_msg("\"%s\" should be a valid label", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (skl_label_valid(bad[i]))
			fail_msg("\"%s\" should not be a valid label", bad[i]);
	assert_false(skl_label_valid(NULL));
}

/* ------------------------------------------------------------------------
 * Parsing
 */

static void test_parse_design_example(void **state)
{
	static const struct skl_port_range web_ports[] = {{80, 80}, {443, 443}, {8000, 8999}};
	static const struct skl_port_range dns_ports[] = {{53, 53}};
	static const struct skl_port_range all_ports[] = {{1, 65535}};
	static const uint8_t web_addr[16] = {192, 0, 2, 0};
	static const uint8_t dns_addr[16] = {0x20, 0x01, 0x0d, 0xb8};
	static const uint8_t zero[16] = {0};
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("["
		 "{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\", "
		 "\"ports\": [\"80\", \"443\", \"8000-8999\"]},"
		 "{\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::/64\", "
		 "\"ports\": [\"53\"]},"
		 "{\"label\": \"proxy\", \"protocol\": \"tcp\", \"prefix\": \"pod\", "
		 "\"missing\": \"pass\"}"
		 "]",
		 &set);
	assert_int_equal(set.n, 3);

	assert_string_equal(set.v[0].label, "web");
	assert_int_equal(set.v[0].proto, IPPROTO_TCP);
	assert_int_equal(set.v[0].kind, SKL_PREFIX_CIDR);
	assert_int_equal(set.v[0].family, SKL_FAMILY_V4);
	assert_int_equal(set.v[0].plen, 24);
	assert_memory_equal(set.v[0].addr, web_addr, 16);
	assert_false(set.v[0].missing_pass);
	assert_ports(&set.v[0], web_ports, 3);
	assert_string_equal(set.v[0].where, "bindings[0]");

	assert_string_equal(set.v[1].label, "dns");
	assert_int_equal(set.v[1].proto, IPPROTO_UDP);
	assert_int_equal(set.v[1].kind, SKL_PREFIX_CIDR);
	assert_int_equal(set.v[1].family, SKL_FAMILY_V6);
	assert_int_equal(set.v[1].plen, 64);
	assert_memory_equal(set.v[1].addr, dns_addr, 16);
	assert_ports(&set.v[1], dns_ports, 1);
	assert_string_equal(set.v[1].where, "bindings[1]");

	assert_string_equal(set.v[2].label, "proxy");
	assert_int_equal(set.v[2].proto, IPPROTO_TCP);
	assert_int_equal(set.v[2].kind, SKL_PREFIX_POD);
	assert_memory_equal(set.v[2].addr, zero, 16);
	assert_true(set.v[2].missing_pass);
	assert_ports(&set.v[2], all_ports, 1);
	assert_string_equal(set.v[2].where, "bindings[2]");
	skl_bindings_free(&set);
}

static void test_parse_prefix_kinds(void **state)
{
	static const uint8_t host[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"pod4\"},"
		 "{\"label\":\"b\",\"protocol\":\"tcp\",\"prefix\":\"pod6\"},"
		 "{\"label\":\"c\",\"protocol\":\"tcp\",\"prefix\":\"pod\"},"
		 "{\"label\":\"d\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.1\"},"
		 "{\"label\":\"e\",\"protocol\":\"tcp\",\"prefix\":\"2001:db8::1\"}]",
		 &set);
	assert_int_equal(set.n, 5);
	assert_int_equal(set.v[0].kind, SKL_PREFIX_POD4);
	assert_int_equal(set.v[1].kind, SKL_PREFIX_POD6);
	assert_int_equal(set.v[2].kind, SKL_PREFIX_POD);
	assert_int_equal(set.v[3].kind, SKL_PREFIX_CIDR);
	assert_int_equal(set.v[3].family, SKL_FAMILY_V4);
	assert_int_equal(set.v[3].plen, 32);
	assert_int_equal(set.v[4].family, SKL_FAMILY_V6);
	assert_int_equal(set.v[4].plen, 128);
	assert_memory_equal(set.v[4].addr, host, 16);
	skl_bindings_free(&set);
}

static void test_parse_missing_values(void **state)
{
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"udp\",\"prefix\":\"10.0.0.0/8\"},"
		 "{\"label\":\"b\",\"protocol\":\"udp\",\"prefix\":\"10.0.0.0/8\",\"missing\":\"drop\"},"
		 "{\"label\":\"c\",\"protocol\":\"udp\",\"prefix\":\"10.0.0.0/8\",\"missing\":\"pass\"}]",
		 &set);
	assert_int_equal(set.n, 3);
	assert_false(set.v[0].missing_pass);
	assert_false(set.v[1].missing_pass);
	assert_true(set.v[2].missing_pass);
	assert_int_equal(set.v[0].proto, IPPROTO_UDP);
	skl_bindings_free(&set);
}

static void test_parse_ports_sorted_deduplicated(void **state)
{
	static const struct skl_port_range want[] = {
		{1, 65535}, {1, 1000}, {80, 90}, {80, 80}, {443, 443},
	};
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\","
		 "\"ports\":[\"443\",\"80\",\"1-1000\",\"80\",\"1-65535\",\"80-90\",\"443\"]}]",
		 &set);
	assert_int_equal(set.n, 1);
	assert_ports(&set.v[0], want, ARRAY_SIZE(want));
	skl_bindings_free(&set);
}

static void test_parse_ports_not_merged(void **state)
{
	/* adjacent and nested ranges stay apart: a nested one wins its ports */
	static const struct skl_port_range want[] = {{1, 10}, {5, 10}, {11, 20}};
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\","
		 "\"ports\":[\"11-20\",\"5-10\",\"1-10\"]}]",
		 &set);
	assert_ports(&set.v[0], want, ARRAY_SIZE(want));
	skl_bindings_free(&set);
}

static void test_parse_explicit_all_ports_is_default(void **state)
{
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\","
		 "\"ports\":[\"1-65535\"]}," GOOD "]",
		 &set);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.v[0].n_ports, 1);
	assert_int_equal(set.v[1].n_ports, 1);
	assert_int_equal(set.v[0].ports[0].lo, set.v[1].ports[0].lo);
	assert_int_equal(set.v[0].ports[0].hi, set.v[1].ports[0].hi);
	assert_int_equal(set.v[1].ports[0].lo, 1);
	assert_int_equal(set.v[1].ports[0].hi, 65535);
	skl_bindings_free(&set);
}

static void test_parse_appends_with_where(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	parse_ok("[" GOOD "]", &set);
	assert_int_equal(parse_text("[" GOOD "," GOOD "]", "runtimeConfig.bindings", &set, &err), 0);
	assert_int_equal(parse_text("[]", "annotation sklookup.dev/bindings", &set, &err), 0);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.v[0].where, "bindings[0]");
	assert_string_equal(set.v[1].where, "runtimeConfig.bindings[0]");
	assert_string_equal(set.v[2].where, "runtimeConfig.bindings[1]");
	assert_string_equal(set.v[2].label, "web");
	skl_bindings_free(&set);
}

static void test_parse_long_where_keeps_index(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};
	char where[101];
	size_t len;

	(void)state;
	memset(where, 'x', 100);
	where[100] = '\0';
	assert_int_equal(parse_text("[" GOOD "," GOOD "]", where, &set, &err), 0);
	len = strlen(set.v[1].where);
	assert_int_equal(len, sizeof(set.v[1].where) - 1);
	assert_string_equal(set.v[1].where + len - 3, "[1]");
	skl_bindings_free(&set);
}

static void test_parse_empty_array(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(parse_text("[]", NULL, &set, &err), 0);
	assert_int_equal(set.n, 0);
	skl_bindings_free(&set);
}

#define E(label, rest) "{\"label\":" label ",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\"" rest "}"
#define EP(ports) "{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\",\"ports\":" ports "}"
#define EX(prefix) "{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":" prefix "}"
#define EPROTO(proto) "{\"label\":\"a\",\"protocol\":" proto ",\"prefix\":\"10.0.0.0/8\"}"

/* Every validation error of a binding: the message starts with the entry
 * path, names the field and quotes the offending value. */
static const struct parse_error_case {
	const char *json, *where, *start, *field, *value;
} parse_errors[] = {
	/* the array */
	{"{\"label\":\"a\"}", NULL, "bindings: ", "array", "an object"},
	{"\"[]\"", "annotation sklookup.dev/bindings", "annotation sklookup.dev/bindings: ",
	 "array", "a string (\"[]\")"},
	/* entries */
	{"[" GOOD ",5]", NULL, "bindings[1]: ", "object", "a number (5)"},
	{"[" GOOD ",\"web\"]", NULL, "bindings[1]: ", "object", "a string (\"web\")"},
	{"[[]]", NULL, "bindings[0]: ", "object", "an array"},
	{"[null]", NULL, "bindings[0]: ", "object", "null"},
	/* fields */
	{"[" E("\"a\"", ",\"lable\":\"b\"") "]", NULL, "bindings[0]: ", "unknown field",
	 "\"lable\""},
	{"[" E("\"a\"", ",\"Label\":\"b\"") "]", NULL, "bindings[0]: ", "unknown field",
	 "\"Label\""},
	{"[" E("\"a\"", ",\"port\":[\"80\"]") "]", NULL, "bindings[0]: ", "\"ports\"", "\"port\""},
	{"[" E("\"a\"", ",\"label\":\"b\"") "]", NULL, "bindings[0]: ", "\"label\"",
	 "appears twice"},
	/* label */
	{"[{\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\"}]", NULL, "bindings[0]: ", "\"label\"",
	 "is missing"},
	{"[" E("5", "") "]", NULL, "bindings[0].label: ", "string", "a number (5)"},
	{"[" E("null", "") "]", NULL, "bindings[0].label: ", "string", "null"},
	{"[" E("\"\"", "") "]", NULL, "bindings[0].label: ", "1 to 32 characters", "\"\""},
	{"[" E("\"abcdefghijklmnopqrstuvwxyz0123456\"", "") "]", NULL, "bindings[0].label: ",
	 "not a valid label", "\"abcdefghijklmnopqrstuvwxyz0123456\""},
	{"[" E("\"-web\"", "") "]", NULL, "bindings[0].label: ", "not a valid label", "\"-web\""},
	{"[" E("\"we b\"", "") "]", NULL, "bindings[0].label: ", "not a valid label", "\"we b\""},
	{"[" E("\"w\\u00e9b\"", "") "]", NULL, "bindings[0].label: ", "not a valid label",
	 "\"w\\xc3\\xa9b\""},
	/* protocol */
	{"[{\"label\":\"a\",\"prefix\":\"10.0.0.0/8\"}]", NULL, "bindings[0]: ", "\"protocol\"",
	 "is missing"},
	{"[" EPROTO("6") "]", NULL, "bindings[0].protocol: ", "string", "a number (6)"},
	{"[" EPROTO("\"sctp\"") "]", NULL, "bindings[0].protocol: ", "\"tcp\" or \"udp\"",
	 "\"sctp\""},
	{"[" EPROTO("\"TCP\"") "]", NULL, "bindings[0].protocol: ", "\"tcp\" or \"udp\"",
	 "\"TCP\""},
	/* prefix */
	{"[{\"label\":\"a\",\"protocol\":\"tcp\"}]", NULL, "bindings[0]: ", "\"prefix\"",
	 "is missing"},
	{"[" EX("[\"10.0.0.0/8\"]") "]", NULL, "bindings[0].prefix: ", "string", "an array"},
	{"[" EX("\"garbage\"") "]", NULL, "bindings[0].prefix: ", "\"pod4\"", "\"garbage\""},
	{"[" EX("\"POD\"") "]", NULL, "bindings[0].prefix: ", "\"pod\"", "\"POD\""},
	{"[" EX("\"192.0.2.5/24\"") "]", NULL, "bindings[0].prefix: ", "\"192.0.2.0/24\"",
	 "\"192.0.2.5/24\""},
	{"[" EX("\"::ffff:192.0.2.1\"") "]", NULL, "bindings[0].prefix: ", "\"192.0.2.1/32\"",
	 "\"::ffff:192.0.2.1\""},
	{"[" EX("\"192.0.2.0/33\"") "]", NULL, "bindings[0].prefix: ", "prefix length",
	 "\"192.0.2.0/33\""},
	/* ports */
	{"[" EP("\"80\"") "]", NULL, "bindings[0].ports: ", "array", "a string (\"80\")"},
	{"[" EP("{}") "]", NULL, "bindings[0].ports: ", "array", "an object"},
	{"[" EP("[]") "]", NULL, "bindings[0].ports: ", "empty", "omit \"ports\""},
	{"[" EP("[\"80\",443]") "]", NULL, "bindings[0].ports[1]: ", "a number (443)",
	 "write \"443\""},
	{"[" EP("[null]") "]", NULL, "bindings[0].ports[0]: ", "must be a string", "null"},
	{"[" EP("[\"80\",\"70000\"]") "]", NULL, "bindings[0].ports[1]: ",
	 "1 <= N <= M <= 65535", "\"70000\""},
	{"[" EP("[\"10-5\"]") "]", NULL, "bindings[0].ports[0]: ", "10 > 5", "\"10-5\""},
	{"[" EP("[\"0\"]") "]", NULL, "bindings[0].ports[0]: ", "is not a port", "\"0\""},
	{"[" EP("[\"080\"]") "]", NULL, "bindings[0].ports[0]: ", "is not a port", "\"080\""},
	/* missing */
	{"[" E("\"a\"", ",\"missing\":true") "]", NULL, "bindings[0].missing: ", "string", "true"},
	{"[" E("\"a\"", ",\"missing\":\"reject\"") "]", NULL, "bindings[0].missing: ",
	 "\"drop\"", "\"reject\""},
	/* an error in a later entry, under another name */
	{"[" GOOD "," GOOD "," EPROTO("\"icmp\"") "]", "runtimeConfig.bindings",
	 "runtimeConfig.bindings[2].protocol: ", "\"udp\"", "\"icmp\""},
};

static void test_parse_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(parse_errors); i++) {
		const struct parse_error_case *c = &parse_errors[i];
		struct skl_binding_set set = {0};
		struct skl_err err = {0};
		struct skl_binding_spec *before;
		size_t cap;

		/* a set that already holds a binding keeps it, unchanged */
		parse_ok("[{\"label\":\"keep\",\"protocol\":\"udp\",\"prefix\":\"2001:db8::/64\","
			 "\"ports\":[\"53\"]}]",
			 &set);
		before = set.v;
		cap = set.cap;
		if (parse_text(c->json, c->where, &set, &err) != -1 ||
		    err.code != SKL_CNI_INVALID_CONFIG || strncmp(err.msg, c->start, strlen(c->start)) ||
		    !strstr(err.msg, c->field) || !strstr(err.msg, c->value))
			fail_msg("case %zu, %s: got code %d, \"%s\"; want it to start with \"%s\" and "
				 "name %s and %s",
				 i, c->json, err.code, err.msg, c->start, c->field, c->value);
		assert_int_equal(set.n, 1);
		assert_ptr_equal(set.v, before);
		assert_int_equal(set.cap, cap);
		assert_string_equal(set.v[0].label, "keep");
		assert_string_equal(set.v[0].where, "bindings[0]");
		assert_int_equal(set.v[0].n_ports, 1);
		assert_int_equal(set.v[0].ports[0].lo, 53);
		skl_bindings_free(&set);
	}
}

static void test_parse_not_json_array(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(skl_bindings_parse(NULL, "bindings", &set, &err), &err);
	assert_string_equal(err.msg, "bindings: must be a JSON array of bindings, got nothing");
	assert_int_equal(set.n, 0);
}

static void test_parse_messages_escaped_and_bounded(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};
	char json[2048], label[1001];

	(void)state;
	/* a quote and a newline in the value are escaped, not copied */
	assert_invalid_config(parse_text("[" E("\"a\\\"b\\nc\"", "") "]", NULL, &set, &err), &err);
	assert_string_equal(err.msg,
			    "bindings[0].label: \"a\\\"b\\x0ac\" is not a valid label; use 1 to 32 "
			    "characters of [A-Za-z0-9_.-] starting with a letter or digit");

	/* a huge value is cut so that the fix still fits */
	memset(label, 'L', 1000);
	label[1000] = '\0';
	snprintf(json, sizeof(json), "[" E("\"%s\"", "") "]", label);
	assert_invalid_config(parse_text(json, NULL, &set, &err), &err);
	assert_starts_with(err.msg, "bindings[0].label: \"LLLL");
	assert_contains(err.msg, "LLL...\" is not a valid label");
	assert_contains(err.msg, "starting with a letter or digit");
	assert_true(strlen(err.msg) < 300);
	assert_int_equal(set.n, 0);
}

/* ------------------------------------------------------------------------
 * Pod addresses
 */

static struct skl_pod_addrs pod_addrs(const char *const *addrs, size_t n)
{
	struct skl_pod_addrs pod = {0};
	size_t i;

	for (i = 0; i < n; i++)
		addr_of(addrs[i], &pod.v[i].family, pod.v[i].addr);
	pod.n = n;
	return pod;
}

static void test_resolve_pod_expands_in_place(void **state)
{
	static const char *const addrs[] = {"10.0.0.5", "fd00::5", "10.0.0.6"};
	static const struct skl_port_range web_ports[] = {{80, 80}, {443, 443}};
	struct skl_pod_addrs pod = pod_addrs(addrs, ARRAY_SIZE(addrs));
	struct skl_binding_set set = {0};
	struct skl_err err = {0};
	const struct {
		const char *label, *where, *addr;
	} want[] = {
		{"a", "bindings[0]", NULL},
		{"b", "bindings[1] (pod 10.0.0.5)", "10.0.0.5"},
		{"b", "bindings[1] (pod fd00::5)", "fd00::5"},
		{"b", "bindings[1] (pod 10.0.0.6)", "10.0.0.6"},
		{"c", "bindings[2]", NULL},
		{"d", "bindings[3] (pod 10.0.0.5)", "10.0.0.5"},
		{"d", "bindings[3] (pod 10.0.0.6)", "10.0.0.6"},
		{"e", "bindings[4] (pod fd00::5)", "fd00::5"},
	};
	size_t i;

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.0/24\"},"
		 "{\"label\":\"b\",\"protocol\":\"udp\",\"prefix\":\"pod\",\"ports\":[\"443\",\"80\"],"
		 "\"missing\":\"pass\"},"
		 "{\"label\":\"c\",\"protocol\":\"tcp\",\"prefix\":\"2001:db8::/64\"},"
		 "{\"label\":\"d\",\"protocol\":\"tcp\",\"prefix\":\"pod4\"},"
		 "{\"label\":\"e\",\"protocol\":\"tcp\",\"prefix\":\"pod6\"}]",
		 &set);
	assert_int_equal(skl_bindings_resolve_pod(&set, &pod, &err), 0);
	assert_int_equal(set.n, ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const struct skl_binding_spec *b = &set.v[i];

		assert_string_equal(b->label, want[i].label);
		assert_string_equal(b->where, want[i].where);
		assert_int_equal(b->kind, SKL_PREFIX_CIDR);
		if (want[i].addr) {
			uint8_t family, addr[16];

			addr_of(want[i].addr, &family, addr);
			assert_int_equal(b->family, family);
			assert_int_equal(b->plen, family == SKL_FAMILY_V6 ? 128 : 32);
			assert_memory_equal(b->addr, addr, 16);
		}
	}
	/* the pod binding's other fields are kept */
	for (i = 1; i <= 3; i++) {
		assert_int_equal(set.v[i].proto, IPPROTO_UDP);
		assert_true(set.v[i].missing_pass);
		assert_ports(&set.v[i], web_ports, 2);
	}
	assert_int_equal(set.v[0].plen, 24);
	assert_int_equal(set.v[4].plen, 64);
	assert_false(set.v[5].missing_pass);
	skl_bindings_free(&set);
}

static void test_resolve_pod_missing_family(void **state)
{
	static const char *const only_v6[] = {"fd00::5"};
	static const char *const only_v4[] = {"10.0.0.5"};
	static const struct {
		const char *prefix;
		const char *const *addrs;
		size_t n;
		const char *says;
	} cases[] = {
		{"pod4", only_v6, 1, "IPv4"},
		{"pod6", only_v4, 1, "IPv6"},
		{"pod", only_v4, 0, "the pod's addresses"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct skl_pod_addrs pod = pod_addrs(cases[i].addrs, cases[i].n);
		struct skl_binding_set set = {0};
		struct skl_err err = {0};
		char json[256], quoted[16];

		snprintf(json, sizeof(json),
			 "[" GOOD ",{\"label\":\"p\",\"protocol\":\"tcp\",\"prefix\":\"%s\"}]",
			 cases[i].prefix);
		parse_ok(json, &set);
		assert_invalid_config(skl_bindings_resolve_pod(&set, &pod, &err), &err);
		assert_starts_with(err.msg, "bindings[1].prefix: ");
		snprintf(quoted, sizeof(quoted), "\"%s\"", cases[i].prefix);
		assert_contains(err.msg, quoted);
		assert_contains(err.msg, cases[i].says);
		/* unchanged */
		assert_int_equal(set.n, 2);
		assert_int_equal(set.v[0].kind, SKL_PREFIX_CIDR);
		assert_int_not_equal(set.v[1].kind, SKL_PREFIX_CIDR);
		assert_string_equal(set.v[1].where, "bindings[1]");
		skl_bindings_free(&set);
	}
}

static void test_resolve_pod_null_addrs(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	/* without pod bindings there is nothing to resolve */
	parse_ok("[" GOOD "]", &set);
	assert_int_equal(skl_bindings_resolve_pod(&set, NULL, &err), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.v[0].where, "bindings[0]");
	/* with one, no addresses is an error */
	parse_ok("[{\"label\":\"p\",\"protocol\":\"tcp\",\"prefix\":\"pod\"}]", &set);
	assert_invalid_config(skl_bindings_resolve_pod(&set, NULL, &err), &err);
	assert_int_equal(set.n, 2);
	skl_bindings_free(&set);
}

static void test_resolve_pod_long_where(void **state)
{
	static const char *const addrs[] = {"fd00:1234:5678:9abc:def0:1234:5678:9abc"};
	static const char origin[] = "annotation sklookup.dev/bindings[0]";
	struct skl_pod_addrs pod = pod_addrs(addrs, 1);
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(parse_text("[{\"label\":\"p\",\"protocol\":\"tcp\",\"prefix\":\"pod6\"}]",
				    "annotation sklookup.dev/bindings", &set, &err),
			 0);
	assert_int_equal(skl_bindings_resolve_pod(&set, &pod, &err), 0);
	assert_int_equal(set.n, 1);
	/* cut at the end, the entry path kept whole */
	assert_int_equal(strlen(set.v[0].where), sizeof(set.v[0].where) - 1);
	assert_starts_with(set.v[0].where, origin);
	assert_starts_with(set.v[0].where + strlen(origin), " (pod fd00:1234:");
	skl_bindings_free(&set);
}

static void test_resolve_pod_duplicate_addresses(void **state)
{
	static const char *const addrs[] = {"10.0.0.5", "10.0.0.5", "fd00::5", "fd00::5"};
	struct skl_pod_addrs pod = pod_addrs(addrs, ARRAY_SIZE(addrs));
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	parse_ok("[{\"label\":\"p\",\"protocol\":\"tcp\",\"prefix\":\"pod\"}]", &set);
	assert_int_equal(skl_bindings_resolve_pod(&set, &pod, &err), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.v[0].family, SKL_FAMILY_V4);
	assert_int_equal(set.v[1].family, SKL_FAMILY_V6);
	assert_int_equal(skl_bindings_check_conflicts(&set, &err), 0);
	skl_bindings_free(&set);
}

/* ------------------------------------------------------------------------
 * Conflicts
 */

static int check_text(const char *json, struct skl_err *err)
{
	struct skl_binding_set set = {0};
	int rc;

	parse_ok(json, &set);
	rc = skl_bindings_check_conflicts(&set, err);
	skl_bindings_free(&set);
	return rc;
}

#define B(label, proto, prefix, ports)                                                     \
	"{\"label\":\"" label "\",\"protocol\":\"" proto "\",\"prefix\":\"" prefix          \
	"\",\"ports\":[" ports "]}"

static void test_conflict_partial_overlap_across_bindings(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(check_text("[" B("web", "tcp", "192.0.2.0/24", "\"8000-8999\"") ","
					 B("api", "tcp", "192.0.2.0/24", "\"8500-9500\"") "]",
					 &err),
			      &err);
	assert_string_equal(err.msg,
			    "bindings[0] (label \"web\") and bindings[1] (label \"api\"): tcp "
			    "192.0.2.0/24 ports 8000-8999 and 8500-9500 overlap on 8500-8999 without "
			    "one containing the other; make one range contain the other, or split "
			    "them so that they do not overlap");

	/* named in config order, each with its own range */
	assert_invalid_config(check_text("[" GOOD "," B("api", "tcp", "192.0.2.0/24", "\"8500-9500\"") ","
					 B("web", "tcp", "192.0.2.0/24", "\"80\",\"8000-8999\"") "]",
					 &err),
			      &err);
	assert_starts_with(err.msg, "bindings[1] (label \"api\") and bindings[2] (label \"web\"): "
				    "tcp 192.0.2.0/24 ports 8500-9500 and 8000-8999 overlap");
}

static void test_conflict_partial_overlap_within_binding(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(
		check_text("[" GOOD "," B("web", "udp", "2001:db8::/64", "\"5-20\",\"1-10\"") "]", &err),
		&err);
	assert_string_equal(err.msg, "bindings[1] (label \"web\"): udp 2001:db8::/64 ports 1-10 and "
				     "5-20 overlap on 5-10 without one containing the other; make "
				     "one range contain the other, or split them so that they do "
				     "not overlap");
}

static void test_conflict_touching_and_adjacent(void **state)
{
	struct skl_err err = {0};

	(void)state;
	/* sharing one port is an overlap */
	assert_invalid_config(check_text("[" B("a", "tcp", "10.0.0.0/8", "\"1-10\"") ","
					 B("b", "tcp", "10.0.0.0/8", "\"10-20\"") "]",
					 &err),
			      &err);
	assert_contains(err.msg, "overlap on 10 without");
	/* adjacent is not */
	assert_int_equal(check_text("[" B("a", "tcp", "10.0.0.0/8", "\"1-10\"") ","
				    B("b", "tcp", "10.0.0.0/8", "\"11-20\"") "]",
				    &err),
			 0);
}

static void test_conflict_identical_different_labels(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(check_text("[" B("web", "tcp", "192.0.2.0/24", "\"80\"") "," GOOD ","
					 B("api", "tcp", "192.0.2.0/24", "\"443\",\"80\"") "]",
					 &err),
			      &err);
	assert_string_equal(err.msg, "bindings[0] (label \"web\") and bindings[2] (label \"api\"): "
				     "both bind tcp 192.0.2.0/24 ports 80, and a packet can go to "
				     "one label only; remove one of them or change its ports or "
				     "prefix");
}

static void test_conflict_identical_different_missing(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(
		check_text("[{\"label\":\"web\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.0/24\","
			   "\"missing\":\"pass\"}," GOOD "]",
			   &err),
		&err);
	assert_string_equal(err.msg, "bindings[0] (label \"web\", missing \"pass\") and bindings[1] "
				     "(label \"web\", missing \"drop\"): both bind tcp 192.0.2.0/24 "
				     "ports 1-65535 with a different \"missing\"; give both the same "
				     "\"missing\"");
}

static void test_conflict_allowed_cases(void **state)
{
	static const char *const ok[] = {
		/* identical range, same label and missing: a duplicate */
		"[" GOOD "," GOOD "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"80\"") "," B("a", "tcp", "10.0.0.0/8",
								 "\"80\",\"1-100\"") "]",
		/* nested across bindings and within one */
		"[" GOOD "," B("api", "tcp", "192.0.2.0/24", "\"80\"") "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"1-100\",\"10-50\",\"20-30\",\"60-70\"") "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"1-100\"") "," B("b", "tcp", "10.0.0.0/8",
								   "\"10-50\",\"60-70\"") ","
		B("c", "tcp", "10.0.0.0/8", "\"20-30\",\"50\"") "]",
		/* partial overlaps in different groups never conflict */
		"[" B("a", "tcp", "10.0.0.0/8", "\"1-10\"") "," B("b", "udp", "10.0.0.0/8",
								  "\"5-20\"") "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"1-10\"") "," B("b", "tcp", "10.0.0.0/16",
								  "\"5-20\"") "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"1-10\"") "," B("b", "tcp", "11.0.0.0/8",
								  "\"5-20\"") "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"1-10\"") "," B("b", "tcp", "a00::/8",
								  "\"5-20\"") "]",
		"[" B("a", "tcp", "10.0.0.0/8", "\"80\"") "," B("b", "udp", "10.0.0.0/8",
								"\"80\"") "]",
		/* unresolved pod bindings are not concrete yet */
		("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"pod\",\"ports\":[\"1-10\"]},"
		 "{\"label\":\"b\",\"protocol\":\"tcp\",\"prefix\":\"pod\",\"ports\":[\"5-20\"]}]"),
		"[]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		struct skl_err err = {0};

		if (check_text(ok[i], &err) != 0)
			fail_msg("case %zu rejected: %s", i, err.msg);
	}
}

static void test_conflict_nesting_chain(void **state)
{
	struct skl_err err = {0};

	(void)state;
	/* 40-60 is inside 1-100 but crosses 10-50, which is still open */
	assert_invalid_config(check_text("[" B("a", "tcp", "10.0.0.0/8", "\"1-100\"") ","
					 B("b", "tcp", "10.0.0.0/8", "\"10-50\"") ","
					 B("c", "tcp", "10.0.0.0/8", "\"20-30\"") ","
					 B("d", "tcp", "10.0.0.0/8", "\"40-60\"") "]",
					 &err),
			      &err);
	assert_starts_with(err.msg, "bindings[1] (label \"b\") and bindings[3] (label \"d\"): tcp "
				    "10.0.0.0/8 ports 10-50 and 40-60 overlap on 40-50");
}

static void test_conflict_after_clean_group(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_invalid_config(check_text("[" B("a", "udp", "10.0.0.0/8", "\"1-100\",\"5\"") ","
					 B("b", "tcp", "10.0.0.0/8", "\"1-100\"") ","
					 B("c", "udp", "10.0.0.0/8", "\"90-110\"") "]",
					 &err),
			      &err);
	assert_starts_with(err.msg, "bindings[0] (label \"a\") and bindings[2] (label \"c\"): udp "
				    "10.0.0.0/8 ports 1-100 and 90-110");
}

static void test_conflict_after_pod_resolution(void **state)
{
	static const char *const addrs[] = {"10.0.0.5"};
	struct skl_pod_addrs pod = pod_addrs(addrs, 1);
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	parse_ok("[{\"label\":\"a\",\"protocol\":\"tcp\",\"prefix\":\"pod\",\"ports\":[\"1-10\"]},"
		 "{\"label\":\"b\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.5\",\"ports\":[\"5-20\"]}]",
		 &set);
	assert_int_equal(skl_bindings_check_conflicts(&set, &err), 0);
	assert_int_equal(skl_bindings_resolve_pod(&set, &pod, &err), 0);
	assert_invalid_config(skl_bindings_check_conflicts(&set, &err), &err);
	assert_starts_with(err.msg, "bindings[0] (pod 10.0.0.5) (label \"a\") and bindings[1] "
				    "(label \"b\"): tcp 10.0.0.5/32 ports 1-10 and 5-20");
	skl_bindings_free(&set);
}

#define BIG 100000

/* Ranges that nest or are disjoint: every port, then aligned pairs, then
 * aligned quadruples. */
static struct skl_port_range big_range(size_t i)
{
	size_t k;

	if (i < 65535)
		return (struct skl_port_range){(__u16)(i + 1), (__u16)(i + 1)};
	k = i - 65535;
	if (k < 32767)
		return (struct skl_port_range){(__u16)(2 * k + 1), (__u16)(2 * k + 2)};
	k -= 32767;
	return (struct skl_port_range){(__u16)(4 * k + 1), (__u16)(4 * k + 4)};
}

static void test_conflict_100000_bindings_one_group(void **state)
{
	struct skl_binding_set set = {0};
	struct skl_err err = {0};
	struct skl_port_range r;
	struct skl_binding_spec b;
	size_t i;

	(void)state;
	for (i = 0; i < BIG; i++) {
		char label[16];

		/* a scrambled order, so that the check has to sort */
		r = big_range(i * 7919 % BIG);
		snprintf(label, sizeof(label), "l%zu", i % 1000);
		b = spec(label, IPPROTO_TCP, "192.0.2.0/24", &r, 1);
		append_ok(&set, &b);
	}
	assert_int_equal(set.n, BIG);
	assert_int_equal(skl_bindings_check_conflicts(&set, &err), 0);

	/* one more that crosses 1-2 and 3-4 */
	r = (struct skl_port_range){2, 3};
	b = spec("bad", IPPROTO_TCP, "192.0.2.0/24", &r, 1);
	append_ok(&set, &b);
	assert_invalid_config(skl_bindings_check_conflicts(&set, &err), &err);
	assert_contains(err.msg, "bindings[100000] (label \"bad\")");
	assert_contains(err.msg, "ports 1-2 and 2-3 overlap on 2");
	skl_bindings_free(&set);
}

static void test_conflict_100000_duplicates(void **state)
{
	struct skl_port_range r = {1000, 2000};
	struct skl_binding_set set = {0};
	struct skl_err err = {0};
	struct skl_binding_spec b;
	size_t i;

	(void)state;
	b = spec("same", IPPROTO_UDP, "2001:db8::/64", &r, 1);
	for (i = 0; i < BIG; i++)
		append_ok(&set, &b);
	assert_int_equal(skl_bindings_check_conflicts(&set, &err), 0);
	b = spec("other", IPPROTO_UDP, "2001:db8::/64", &r, 1);
	append_ok(&set, &b);
	assert_invalid_config(skl_bindings_check_conflicts(&set, &err), &err);
	assert_contains(err.msg, "bindings[0] (label \"same\") and bindings[100000] (label "
				 "\"other\"): both bind udp 2001:db8::/64 ports 1000-2000");
	skl_bindings_free(&set);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool same_group(const struct skl_binding_spec *a, const struct skl_binding_spec *b)
{
	return a->proto == b->proto && a->family == b->family && a->plen == b->plen &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

static bool ranges_conflict(const struct skl_binding_spec *a, struct skl_port_range x,
			    const struct skl_binding_spec *b, struct skl_port_range y)
{
	bool x_in_y = y.lo <= x.lo && x.hi <= y.hi, y_in_x = x.lo <= y.lo && y.hi <= x.hi;

	if (x.lo == y.lo && x.hi == y.hi)
		return strcmp(a->label, b->label) != 0 || a->missing_pass != b->missing_pass;
	return x.lo <= y.hi && y.lo <= x.hi && !x_in_y && !y_in_x;
}

/* The rules of DESIGN.md pair by pair, O(n^2). */
static bool reference_conflict(const struct skl_binding_set *set)
{
	size_t i, j, p, q;

	for (i = 0; i < set->n; i++)
		for (j = i; j < set->n; j++) {
			const struct skl_binding_spec *a = &set->v[i], *b = &set->v[j];

			if (!same_group(a, b))
				continue;
			for (p = 0; p < a->n_ports; p++)
				for (q = i == j ? p + 1 : 0; q < b->n_ports; q++)
					if (ranges_conflict(a, a->ports[p], b, b->ports[q]))
						return true;
		}
	return false;
}

static void test_conflict_matches_pairwise_reference(void **state)
{
	static const char *const prefixes[] = {"10.0.0.0/8", "10.0.0.0/16", "a00::/8"};
	size_t round, conflicts = 0, clean = 0;
	uint32_t seed = 12345;

	(void)state;
	for (round = 0; round < 5000; round++) {
		struct skl_binding_set set = {0};
		size_t i, n = 1 + xorshift(&seed) % 6;
		struct skl_err err = {0};
		bool want;
		int rc;

		for (i = 0; i < n; i++) {
			struct skl_port_range ports[3];
			size_t k, n_ports = 1 + xorshift(&seed) % 3;
			struct skl_binding_spec b;

			for (k = 0; k < n_ports; k++) {
				ports[k].lo = (__u16)(1 + xorshift(&seed) % 12);
				ports[k].hi = (__u16)(ports[k].lo + xorshift(&seed) % 6);
			}
			b = spec(xorshift(&seed) % 2 ? "a" : "b",
				 xorshift(&seed) % 4 ? IPPROTO_TCP : IPPROTO_UDP,
				 prefixes[xorshift(&seed) % ARRAY_SIZE(prefixes)], ports, n_ports);
			b.missing_pass = xorshift(&seed) % 4 == 0;
			append_ok(&set, &b);
		}
		want = reference_conflict(&set);
		rc = skl_bindings_check_conflicts(&set, &err);
		if (rc != (want ? -1 : 0))
			fail_msg("round %zu: check says %d, reference says %s (%s)", round, rc,
				 want ? "conflict" : "clean", err.msg);
		if (want)
			assert_int_equal(err.code, SKL_CNI_INVALID_CONFIG);
		conflicts += want;
		clean += !want;
		skl_bindings_free(&set);
	}
	/* both outcomes were exercised */
	assert_true(conflicts > 500);
	assert_true(clean > 500);
}

/* ------------------------------------------------------------------------
 * Precedence
 */

static const char precedence_set[] =
	"["
	B("wide8", "tcp", "10.0.0.0/8", "\"1-65535\"") ","          /* 0 */
	B("port80-8", "tcp", "10.0.0.0/8", "\"80\"") ","            /* 1 */
	B("wide16", "tcp", "10.1.0.0/16", "\"1-65535\"") ","        /* 2 */
	B("range16", "tcp", "10.1.0.0/16", "\"8000-8999\"") ","     /* 3 */
	B("one16", "tcp", "10.1.0.0/16", "\"8080\"") ","            /* 4 */
	B("host", "tcp", "10.1.2.3", "\"1-65535\"") ","             /* 5 */
	B("dns", "udp", "10.0.0.0/8", "\"53\"") ","                 /* 6 */
	B("v6wide", "tcp", "2001:db8::/32", "\"1-65535\"") ","      /* 7 */
	B("v6narrow", "tcp", "2001:db8:1::/48", "\"443\"") ","      /* 8 */
	B("ssh-any", "tcp", "0.0.0.0/0", "\"22\"") ","              /* 9 */
	B("multi", "tcp", "172.16.0.0/12", "\"1-1000\",\"100-200\",\"150\"") "," /* 10 */
	B("multi", "tcp", "172.16.0.0/12", "\"100-200\"") ","       /* 11 */
	B("podb", "tcp", "pod", "\"1-65535\"") ","                  /* 12 */
	B("v6any", "udp", "::/0", "\"1-65535\"")                    /* 13 */
	"]";

static void test_resolve_precedence_table(void **state)
{
	static const struct {
		uint8_t proto;
		const char *addr;
		uint16_t port;
		uint32_t want;
	} cases[] = {
		/* equal prefix: the narrowest port range */
		{IPPROTO_TCP, "10.2.0.1", 80, 1},
		{IPPROTO_TCP, "10.2.0.1", 81, 0},
		{IPPROTO_TCP, "10.255.255.255", 65535, 0},
		{IPPROTO_TCP, "10.1.0.1", 8080, 4},
		{IPPROTO_TCP, "10.1.0.1", 8081, 3},
		{IPPROTO_TCP, "10.1.0.1", 8000, 3},
		{IPPROTO_TCP, "10.1.0.1", 8999, 3},
		{IPPROTO_TCP, "10.1.0.1", 7999, 2},
		{IPPROTO_TCP, "10.1.0.1", 9000, 2},
		/* longest prefix beats a narrower port */
		{IPPROTO_TCP, "10.1.0.1", 80, 2},
		{IPPROTO_TCP, "10.1.2.3", 8080, 5},
		{IPPROTO_TCP, "10.1.2.4", 8080, 4},
		{IPPROTO_TCP, "10.1.255.255", 1, 2},
		{IPPROTO_TCP, "10.2.0.1", 22, 0},
		{IPPROTO_TCP, "11.0.0.1", 22, 9},
		{IPPROTO_TCP, "11.0.0.1", 80, SKL_NONE},
		/* protocols are apart */
		{IPPROTO_UDP, "10.2.0.1", 53, 6},
		{IPPROTO_UDP, "10.2.0.1", 54, SKL_NONE},
		{IPPROTO_TCP, "10.2.0.1", 53, 0},
		{IPPROTO_UDP, "10.1.2.3", 8080, SKL_NONE},
		/* IPv6 */
		{IPPROTO_TCP, "2001:db8:1::1", 443, 8},
		{IPPROTO_TCP, "2001:db8:1::1", 444, 7},
		{IPPROTO_TCP, "2001:db8:2::1", 443, 7},
		{IPPROTO_TCP, "2001:db9::1", 443, SKL_NONE},
		{IPPROTO_UDP, "2001:db8::1", 53, 13},
		/* families are apart: a00::1 starts with the bytes of 10.0.0.0/8 */
		{IPPROTO_TCP, "a00::1", 80, SKL_NONE},
		{IPPROTO_UDP, "10.3.0.1", 5353, SKL_NONE},
		/* nested ranges of one binding; a full tie goes to the first binding */
		{IPPROTO_TCP, "172.16.0.1", 150, 10},
		{IPPROTO_TCP, "172.16.0.1", 120, 10},
		{IPPROTO_TCP, "172.16.0.1", 500, 10},
		{IPPROTO_TCP, "172.16.0.1", 1001, SKL_NONE},
		{IPPROTO_TCP, "172.31.255.255", 150, 10},
		{IPPROTO_TCP, "172.32.0.0", 150, SKL_NONE},
	};
	struct skl_binding_set set = {0};
	size_t i;

	(void)state;
	parse_ok(precedence_set, &set);
	assert_int_equal(set.n, 14);
	assert_int_equal(skl_bindings_check_conflicts(&set, NULL), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t family, addr[16];
		uint32_t got;

		addr_of(cases[i].addr, &family, addr);
		got = skl_bindings_resolve(&set, cases[i].proto, family, addr, cases[i].port);
		if (got != cases[i].want)
			fail_msg("%s %s port %u: got %u, want %u",
				 cases[i].proto == IPPROTO_TCP ? "tcp" : "udp", cases[i].addr,
				 cases[i].port, got, cases[i].want);
	}
	skl_bindings_free(&set);
}

static void test_resolve_empty_and_pod_only(void **state)
{
	struct skl_binding_set set = {0};
	uint8_t family, addr[16];

	(void)state;
	addr_of("10.0.0.5", &family, addr);
	assert_int_equal(skl_bindings_resolve(&set, IPPROTO_TCP, family, addr, 80), SKL_NONE);
	parse_ok("[{\"label\":\"p\",\"protocol\":\"tcp\",\"prefix\":\"pod\"}]", &set);
	assert_int_equal(skl_bindings_resolve(&set, IPPROTO_TCP, family, addr, 80), SKL_NONE);
	skl_bindings_free(&set);
}

/* ------------------------------------------------------------------------
 * JSON listing, append, free
 */

static char *to_json_text(const struct skl_binding_set *set)
{
	cJSON *json = skl_bindings_to_json(set);
	char *text;

	assert_non_null(json);
	text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	assert_non_null(text);
	return text;
}

static const char listing_input[] =
	"[{\"label\":\"web\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.1\","
	"\"ports\":[\"443\",\"80\",\"8000-8999\",\"80\"]},"
	"{\"label\":\"all\",\"protocol\":\"udp\",\"prefix\":\"2001:DB8::/32\",\"ports\":[\"1-65535\"],"
	"\"missing\":\"drop\"},"
	"{\"label\":\"proxy\",\"protocol\":\"tcp\",\"prefix\":\"pod\",\"missing\":\"pass\"},"
	"{\"label\":\"p4\",\"protocol\":\"udp\",\"prefix\":\"pod4\",\"ports\":[\"53\",\"1-65535\"]},"
	"{\"label\":\"p6\",\"protocol\":\"tcp\",\"prefix\":\"pod6\",\"ports\":[\"1-65535\",\"5-5\"]},"
	"{\"label\":\"net\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\",\"ports\":[\"1-65534\"]}]";

static void test_to_json_syntax(void **state)
{
	struct skl_binding_set set = {0};
	char *text;

	(void)state;
	parse_ok(listing_input, &set);
	text = to_json_text(&set);
	assert_string_equal(
		text,
		"[{\"label\":\"web\",\"protocol\":\"tcp\",\"prefix\":\"192.0.2.1/32\","
		"\"ports\":[\"80\",\"443\",\"8000-8999\"]},"
		"{\"label\":\"all\",\"protocol\":\"udp\",\"prefix\":\"2001:db8::/32\"},"
		"{\"label\":\"proxy\",\"protocol\":\"tcp\",\"prefix\":\"pod\",\"missing\":\"pass\"},"
		"{\"label\":\"p4\",\"protocol\":\"udp\",\"prefix\":\"pod4\",\"ports\":[\"1-65535\",\"53\"]},"
		"{\"label\":\"p6\",\"protocol\":\"tcp\",\"prefix\":\"pod6\",\"ports\":[\"1-65535\",\"5\"]},"
		"{\"label\":\"net\",\"protocol\":\"tcp\",\"prefix\":\"10.0.0.0/8\",\"ports\":[\"1-65534\"]}]");
	cJSON_free(text);
	skl_bindings_free(&set);
}

static void round_trip(const struct skl_binding_set *set)
{
	struct skl_binding_set again = {0};
	char *text = to_json_text(set);

	parse_ok(text, &again);
	assert_sets_equal(&again, set, false);
	cJSON_free(text);
	skl_bindings_free(&again);
}

static void test_to_json_round_trip(void **state)
{
	static const char *const addrs[] = {"10.0.0.5", "fd00::5"};
	struct skl_pod_addrs pod = pod_addrs(addrs, ARRAY_SIZE(addrs));
	struct skl_binding_set set = {0};
	struct skl_err err = {0};

	(void)state;
	parse_ok(listing_input, &set);
	round_trip(&set);
	assert_int_equal(skl_bindings_resolve_pod(&set, &pod, &err), 0);
	assert_int_equal(set.n, 7);
	round_trip(&set);
	skl_bindings_free(&set);
	parse_ok(precedence_set, &set);
	round_trip(&set);
	skl_bindings_free(&set);
}

static void test_to_json_empty(void **state)
{
	struct skl_binding_set set = {0};
	char *text;

	(void)state;
	text = to_json_text(&set);
	assert_string_equal(text, "[]");
	cJSON_free(text);
}

static void test_append_deep_copies(void **state)
{
	struct skl_port_range ports[2] = {{1, 100}, {50, 60}};
	struct skl_binding_set set = {0};
	struct skl_err err = {0};
	struct skl_binding_spec b = spec("copy", IPPROTO_UDP, "2001:db8::/64", ports, 2);

	(void)state;
	snprintf(b.where, sizeof(b.where), "annotation");
	assert_int_equal(skl_bindings_append(&set, &b, &err), 0);
	ports[0].lo = 7;
	assert_int_equal(set.n, 1);
	assert_ptr_not_equal(set.v[0].ports, ports);
	assert_int_equal(set.v[0].ports[0].lo, 1);
	assert_int_equal(set.v[0].ports[1].hi, 60);
	assert_string_equal(set.v[0].where, "annotation");
	assert_string_equal(set.v[0].label, "copy");
	assert_int_equal(set.v[0].plen, 64);

	b.n_ports = 0;
	b.ports = NULL;
	assert_int_equal(skl_bindings_append(&set, &b, &err), 0);
	assert_int_equal(set.n, 2);
	assert_null(set.v[1].ports);
	skl_bindings_free(&set);
}

static void test_free_resets(void **state)
{
	struct skl_binding_set set = {0};

	(void)state;
	parse_ok("[" GOOD "," GOOD "]", &set);
	skl_bindings_free(&set);
	assert_int_equal(set.n, 0);
	assert_int_equal(set.cap, 0);
	assert_null(set.v);
	skl_bindings_free(&set);
	skl_bindings_free(NULL);
	/* reusable after free */
	parse_ok("[" GOOD "]", &set);
	assert_int_equal(set.n, 1);
	skl_bindings_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_parse_valid),
		cmocka_unit_test(test_port_parse_invalid),
		cmocka_unit_test(test_port_parse_messages),
		cmocka_unit_test(test_prefix_parse_valid),
		cmocka_unit_test(test_prefix_parse_invalid),
		cmocka_unit_test(test_prefix_host_bits_message),
		cmocka_unit_test(test_prefix_format),
		cmocka_unit_test(test_prefix_parse_format_round_trip),
		cmocka_unit_test(test_label_valid),
		cmocka_unit_test(test_parse_design_example),
		cmocka_unit_test(test_parse_prefix_kinds),
		cmocka_unit_test(test_parse_missing_values),
		cmocka_unit_test(test_parse_ports_sorted_deduplicated),
		cmocka_unit_test(test_parse_ports_not_merged),
		cmocka_unit_test(test_parse_explicit_all_ports_is_default),
		cmocka_unit_test(test_parse_appends_with_where),
		cmocka_unit_test(test_parse_long_where_keeps_index),
		cmocka_unit_test(test_parse_empty_array),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_not_json_array),
		cmocka_unit_test(test_parse_messages_escaped_and_bounded),
		cmocka_unit_test(test_resolve_pod_expands_in_place),
		cmocka_unit_test(test_resolve_pod_missing_family),
		cmocka_unit_test(test_resolve_pod_null_addrs),
		cmocka_unit_test(test_resolve_pod_long_where),
		cmocka_unit_test(test_resolve_pod_duplicate_addresses),
		cmocka_unit_test(test_conflict_partial_overlap_across_bindings),
		cmocka_unit_test(test_conflict_partial_overlap_within_binding),
		cmocka_unit_test(test_conflict_touching_and_adjacent),
		cmocka_unit_test(test_conflict_identical_different_labels),
		cmocka_unit_test(test_conflict_identical_different_missing),
		cmocka_unit_test(test_conflict_allowed_cases),
		cmocka_unit_test(test_conflict_nesting_chain),
		cmocka_unit_test(test_conflict_after_clean_group),
		cmocka_unit_test(test_conflict_after_pod_resolution),
		cmocka_unit_test(test_conflict_100000_bindings_one_group),
		cmocka_unit_test(test_conflict_100000_duplicates),
		cmocka_unit_test(test_conflict_matches_pairwise_reference),
		cmocka_unit_test(test_resolve_precedence_table),
		cmocka_unit_test(test_resolve_empty_and_pod_only),
		cmocka_unit_test(test_to_json_syntax),
		cmocka_unit_test(test_to_json_round_trip),
		cmocka_unit_test(test_to_json_empty),
		cmocka_unit_test(test_append_deep_copies),
		cmocka_unit_test(test_free_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
