/*
 * 100,000 bindings in one dispatcher: v6 hosts with single ports, ranges
 * and all ports under nested shorter prefixes, and v4 hosts. Random probes
 * (hits, fall-backs to shorter prefixes, misses) run through the loaded
 * program must agree with the reference precedence rule, and a sample gets
 * real connections.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dispatch_fixture.h"
#include "rules.h"
#include "sockets.h"
#include "testnet.h"

#define N_HOSTS 99000
#define N_LABELS 16

struct scale {
	int saved_netns;
	struct skl_dispatcher d;
	struct skl_binding_set set;
	int servers[N_LABELS];
	uint64_t cookies[N_LABELS];
};

static struct scale sc;

static void add(const char *label, uint8_t proto, const char *prefix, uint8_t plen, uint16_t lo,
		uint16_t hi)
{
	struct skl_port_range range = { lo, hi };
	struct skl_binding_spec b = { .proto = proto, .kind = SKL_PREFIX_CIDR, .plen = plen,
				      .n_ports = 1, .ports = &range };
	struct skl_err err;

	snprintf(b.label, sizeof(b.label), "%s", label);
	snprintf(b.where, sizeof(b.where), "bindings[%zu]", sc.set.n);
	if (inet_pton(AF_INET, prefix, b.addr) == 1) {
		b.family = SKL_FAMILY_V4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, prefix, b.addr), 1);
		b.family = SKL_FAMILY_V6;
	}
	assert_int_equal(skl_bindings_append(&sc.set, &b, &err), 0);
}

static void host_addr(uint32_t i, char *buf, size_t len)
{
	snprintf(buf, len, "2001:db8:a::%x:%x", i >> 16, i & 0xffff);
}

static void build_set(void)
{
	char label[8], addr[64];

	/* Shorter prefixes the hosts fall back to. */
	add("l0", IPPROTO_TCP, "2001:db8:a::", 64, 1, 65535);
	add("l1", IPPROTO_TCP, "2001:db8:a::", 96, 8000, 8999);
	add("l2", IPPROTO_TCP, "2001:db8:a::1:0", 112, 443, 443);
	add("l3", IPPROTO_TCP, "192.0.2.0", 24, 1, 65535);
	add("l4", IPPROTO_TCP, "198.51.100.0", 25, 1000, 1999);
	for (uint32_t i = 0; i < N_HOSTS; i++) {
		uint16_t lo = (uint16_t)(1 + i % 20000);

		snprintf(label, sizeof(label), "l%u", i % N_LABELS);
		host_addr(i, addr, sizeof(addr));
		switch (i % 3) {
		case 0:
			add(label, IPPROTO_TCP, addr, 128, lo, lo);
			break;
		case 1:
			add(label, IPPROTO_TCP, addr, 128, lo, (uint16_t)(lo + 100));
			break;
		default:
			add(label, IPPROTO_TCP, addr, 128, 1, 65535);
		}
	}
	for (uint32_t i = 0; i < 256; i++) {
		snprintf(label, sizeof(label), "l%u", i % N_LABELS);
		snprintf(addr, sizeof(addr), "192.0.2.%u", i);
		add(label, IPPROTO_TCP, addr, 32, (uint16_t)(100 + i), (uint16_t)(100 + i));
		snprintf(addr, sizeof(addr), "198.51.100.%u", i);
		add(label, IPPROTO_TCP, addr, 32, 2000, (uint16_t)(2000 + i));
	}
	for (uint32_t i = 0; i < 1000 - 2 * 256 - 5; i++) {
		snprintf(label, sizeof(label), "l%u", i % N_LABELS);
		host_addr(N_HOSTS + i, addr, sizeof(addr));
		add(label, IPPROTO_UDP, addr, 128, 53, 53);
	}
	assert_int_equal(sc.set.n, 100000);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int scale_setup(void **state)
{
	struct skl_limits limits = { .bindings = 100000, .labels = N_LABELS,
				     .port_ranges = 100000 };
	struct skl_err err = { 0 };
	double t0;

	(void)state;
	assert_int_equal(testnet_unshare_netns(&sc.saved_netns), 0);
	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	build_set();
	fixture_dispatcher(&sc.d, &limits);
	t0 = now();
	if (skl_rules_apply(&sc.d, &sc.set, &err))
		fail_msg("apply: %s", err.msg);
	print_message("loaded %zu bindings in %.2f s\n", sc.set.n, now() - t0);
	for (int l = 0; l < N_LABELS; l++) {
		char label[8];
		uint32_t id;

		snprintf(label, sizeof(label), "l%d", l);
		sc.servers[l] = fixture_server(SOCK_STREAM, "::", 0, false);
		sc.cookies[l] = fixture_cookie(sc.servers[l]);
		if (skl_label_lookup(&sc.d, label, &id, &err) ||
		    skl_socket_register(&sc.d, id, sc.servers[l], &err))
			fail_msg("register %s: %s", label, err.msg);
	}
	return 0;
}

static int scale_teardown(void **state)
{
	(void)state;
	for (int l = 0; l < N_LABELS; l++)
		if (sc.servers[l] > 0)
			close(sc.servers[l]);
	skl_dispatcher_close(&sc.d);
	skl_bindings_free(&sc.set);
	return testnet_restore_netns(sc.saved_netns);
}

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* A probe near the bindings: a bound host on or off its ports, an unbound
 * host of the /64, a host of the /112, v4 hosts, or an address no binding
 * covers. */
static void random_probe(uint64_t *s, char *addr, size_t len, uint16_t *port)
{
	uint32_t i = rnd(s) % N_HOSTS;

	switch (rnd(s) % 6) {
	case 0:
		host_addr(i, addr, len);
		*port = (uint16_t)(1 + i % 20000 + rnd(s) % 3);
		break;
	case 1:
		host_addr(i, addr, len);
		*port = (uint16_t)(rnd(s) % 2 ? 8000 + rnd(s) % 1000 : 443);
		break;
	case 2:
		host_addr(200000 + rnd(s) % 1000, addr, len);
		*port = (uint16_t)(1 + rnd(s) % 65535);
		break;
	case 3:
		snprintf(addr, len, "192.0.2.%u", rnd(s) % 256);
		*port = (uint16_t)(90 + rnd(s) % 300);
		break;
	case 4:
		snprintf(addr, len, "198.51.100.%u", rnd(s) % 256);
		*port = (uint16_t)(rnd(s) % 2 ? 1000 + rnd(s) % 1000 : 2000 + rnd(s) % 300);
		break;
	default:
		snprintf(addr, len, "2001:db8:b::%x", rnd(s) % 65536);
		*port = (uint16_t)(1 + rnd(s) % 65535);
	}
}

static uint64_t expected_cookie(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	uint8_t a[16] = { 0 }, family;
	uint32_t b;

	fixture_addr(addr, port, &ss);
	if (ss.ss_family == AF_INET) {
		memcpy(a, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		family = SKL_FAMILY_V4;
	} else {
		memcpy(a, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		family = SKL_FAMILY_V6;
	}
	b = skl_bindings_resolve(&sc.set, IPPROTO_TCP, family, a, port);
	return b == SKL_NONE ? 0 : sc.cookies[atoi(sc.set.v[b].label + 1)];
}

static void lookups_agree_with_reference(void **state)
{
	uint64_t seed = 0x243f6a8885a308d3ull;
	int hits = 0;

	(void)state;
	for (int n = 0; n < 3000; n++) {
		struct probe_result r;
		char addr[64];
		uint16_t port;
		uint64_t want;

		random_probe(&seed, addr, sizeof(addr), &port);
		want = expected_cookie(addr, port);
		fixture_test_run(sc.d.prog_fd, IPPROTO_TCP, addr, port, &r);
		if (r.verdict != PROBE_PASS || r.cookie != want)
			fail_msg("%s port %u: verdict %d cookie %llu, want pass cookie %llu", addr, port,
				 r.verdict, (unsigned long long)r.cookie, (unsigned long long)want);
		hits += want != 0;
	}
	assert_true(hits > 1000);
	assert_true(hits < 3000);
}

static void real_connections_agree(void **state)
{
	uint64_t seed = 0x13198a2e03707344ull;

	(void)state;
	for (int n = 0; n < 60; n++) {
		char addr[64];
		uint16_t port;
		uint64_t want;
		int got, want_index = -1;

		random_probe(&seed, addr, sizeof(addr), &port);
		want = expected_cookie(addr, port);
		for (int l = 0; l < N_LABELS; l++)
			if (want && sc.cookies[l] == want)
				want_index = l;
		got = fixture_deliver(SOCK_STREAM, addr, port, sc.servers, N_LABELS);
		if (got != want_index)
			fail_msg("%s port %u: reached %d, want %d", addr, port, got, want_index);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookups_agree_with_reference),
		cmocka_unit_test(real_connections_agree),
	};

	return cmocka_run_group_tests_name("100,000 bindings", tests, scale_setup, scale_teardown);
}
