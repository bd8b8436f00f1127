/*
 * The direct summary (dispatch_abi.h) on the real kernel: a (family,
 * protocol) whose bindings are one prefix with one port range is answered
 * from the config entry, without the search. Each probe runs twice, through
 * BPF_PROG_TEST_RUN and as real traffic, at both ends of the range and the
 * prefix and just outside them; then the set changes at run time to one the
 * summary cannot answer, and back, and the answers must not change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dispatch_fixture.h"
#include "rules.h"
#include "sockets.h"
#include "testnet.h"

/* a: TCP over v4, b: UDP over v6; one prefix and one range each. */
static const char *const one_range =
	"[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
	"  \"ports\": [\"8000-8099\"]},"
	" {\"label\": \"b\", \"protocol\": \"udp\", \"prefix\": \"2001:db8:5::/64\","
	"  \"ports\": [\"53\"]}]";
/* The same, and a second TCP v4 prefix: that tree needs the search. */
static const char *const two_prefixes =
	"[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
	"  \"ports\": [\"8000-8099\"]},"
	" {\"label\": \"b\", \"protocol\": \"udp\", \"prefix\": \"2001:db8:5::/64\","
	"  \"ports\": [\"53\"]},"
	" {\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.128/25\","
	"  \"ports\": [\"9000\"]}]";

enum { SERVER_A, SERVER_B, N_SERVERS };

static struct {
	int saved_netns;
	struct skl_dispatcher d;
	int tcp[N_SERVERS], udp[N_SERVERS];
} t;

struct probe {
	int proto;
	const char *addr;
	uint16_t port;
	int server; /* -1: no socket selected */
};

/* Every probe of the one-range set: the ends of the range and the prefix,
 * and one step outside each; the other family and protocol. */
static const struct probe probes[] = {
	{ IPPROTO_TCP, "203.0.113.0", 8000, SERVER_A },
	{ IPPROTO_TCP, "203.0.113.255", 8099, SERVER_A },
	{ IPPROTO_TCP, "203.0.113.7", 8050, SERVER_A },
	{ IPPROTO_TCP, "203.0.113.7", 7999, -1 },
	{ IPPROTO_TCP, "203.0.113.7", 8100, -1 },
	{ IPPROTO_TCP, "198.51.100.7", 8000, -1 },
	{ IPPROTO_UDP, "203.0.113.7", 8000, -1 },
	{ IPPROTO_UDP, "2001:db8:5::9", 53, SERVER_B },
	{ IPPROTO_UDP, "2001:db8:5:0:ffff:ffff:ffff:ffff", 53, SERVER_B },
	{ IPPROTO_UDP, "2001:db8:5::9", 52, -1 },
	{ IPPROTO_UDP, "2001:db8:5::9", 54, -1 },
	{ IPPROTO_UDP, "2001:db8:6::9", 53, -1 },
	{ IPPROTO_TCP, "2001:db8:5::9", 53, -1 },
};

static void apply(const char *json)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };

	fixture_parse(json, &set);
	if (skl_rules_apply(&t.d, &set, &err))
		fail_msg("apply: %s", err.msg);
	skl_bindings_free(&set);
}

/* Whether the active generation answers (family, proto) from its summary. */
static bool is_direct(int v6, int udp)
{
	struct skl_config cfg;
	struct skl_err err = { 0 };

	if (skl_dispatcher_config(&t.d, &cfg, &err))
		fail_msg("config: %s", err.msg);
	return cfg.summary[skl_lengths_key(cfg.active_gen & 1, v6, udp)].direct_ports !=
	       SKL_INLINE_NONE;
}

static void check_probes(void)
{
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		const int *servers = p->proto == IPPROTO_UDP ? t.udp : t.tcp;
		struct probe_result r;

		fixture_test_run(t.d.prog_fd, p->proto, p->addr, p->port, &r);
		assert_int_equal(r.verdict, PROBE_PASS);
		if (p->server >= 0)
			assert_int_equal(r.cookie, fixture_cookie(servers[p->server]));
		else
			assert_int_equal(r.cookie, 0);
		/* Nothing else listens in this netns: what no socket takes is refused. */
		assert_int_equal(fixture_deliver(p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM,
						 p->addr, p->port, servers, N_SERVERS),
				 p->server);
	}
}

static int setup(void **state)
{
	static const char *const labels[N_SERVERS] = { "a", "b" };
	struct skl_err err = { 0 };

	(void)state;
	assert_int_equal(testnet_unshare_netns(&t.saved_netns), 0);
	assert_int_equal(testnet_run("ip route add local 203.0.113.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	fixture_dispatcher(&t.d, NULL);
	apply(one_range);
	for (int s = 0; s < N_SERVERS; s++) {
		uint32_t id;

		t.tcp[s] = fixture_server(SOCK_STREAM, "::", 0, false);
		t.udp[s] = fixture_server(SOCK_DGRAM, "::", 0, false);
		if (skl_label_lookup(&t.d, labels[s], &id, &err) ||
		    skl_socket_register(&t.d, id, t.tcp[s], &err) ||
		    skl_socket_register(&t.d, id, t.udp[s], &err))
			fail_msg("register %s: %s", labels[s], err.msg);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int s = 0; s < N_SERVERS; s++) {
		if (t.tcp[s] > 0)
			close(t.tcp[s]);
		if (t.udp[s] > 0)
			close(t.udp[s]);
	}
	skl_dispatcher_close(&t.d);
	return testnet_restore_netns(t.saved_netns);
}

/* One prefix and one range per (family, protocol): both answered by their
 * summaries, every end right. */
static void one_range_is_direct(void **state)
{
	(void)state;
	assert_true(is_direct(0, 0));
	assert_true(is_direct(1, 1));
	assert_false(is_direct(0, 1));
	assert_false(is_direct(1, 0));
	check_probes();
}

/* A second prefix for TCP over v4 moves that tree to the search, the other
 * stays direct; the probes answer as before (the new prefix's port 9000
 * aside), and removing it makes the tree direct again. */
static void change_at_run_time(void **state)
{
	struct probe_result r;

	(void)state;
	apply(two_prefixes);
	assert_false(is_direct(0, 0));
	assert_true(is_direct(1, 1));
	check_probes();
	fixture_test_run(t.d.prog_fd, IPPROTO_TCP, "198.51.100.200", 9000, &r);
	assert_int_equal(r.cookie, fixture_cookie(t.tcp[SERVER_A]));
	apply(one_range);
	assert_true(is_direct(0, 0));
	check_probes();
	fixture_test_run(t.d.prog_fd, IPPROTO_TCP, "198.51.100.200", 9000, &r);
	assert_int_equal(r.cookie, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_range_is_direct),
		cmocka_unit_test(change_at_run_time),
	};

	return cmocka_run_group_tests_name("direct summary", tests, setup, teardown);
}
