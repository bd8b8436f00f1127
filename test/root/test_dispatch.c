/*
 * The dispatcher on the real kernel, in a fresh netns per group: the
 * precedence matrix (nested prefixes x nested port ranges x all ports, v4
 * and v6, TCP and UDP), each case checked twice — BPF_PROG_TEST_RUN on the
 * loaded program and real connect()/sendto() to registered sockets.
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

/* Labels with sockets come first: their index is the index of the server. */
static const char *const labels[] = { "wide", "r24", "p24", "r25", "h32", "h32all", "other" };
#define N_SERVED (int)(sizeof(labels) / sizeof(labels[0]))

/* The same layout in both families: v4 prefix, v6 prefix. */
static const char *const binding_rows[][4] = {
	/* label, v4 prefix, v6 prefix, extra JSON */
	{ "wide", "192.0.2.0/24", "2001:db8:1::/64", "" },
	{ "r24", "192.0.2.0/24", "2001:db8:1::/64", ", \"ports\": [\"8000-8999\"]" },
	{ "p24", "192.0.2.0/24", "2001:db8:1::/64", ", \"ports\": [\"8080\"]" },
	{ "r25", "192.0.2.128/25", "2001:db8:1:0:8000::/65",
	  ", \"ports\": [\"8000-8999\", \"9000-9099\"]" },
	{ "h32", "192.0.2.200", "2001:db8:1:0:c800::1", ", \"ports\": [\"443\"]" },
	{ "h32all", "192.0.2.201/32", "2001:db8:1:0:c800::2/128", "" },
	{ "nosock", "192.0.2.64/26", "2001:db8:1:0:4000::/66", ", \"ports\": [\"7000-7099\"]" },
	{ "nosockpass", "192.0.2.64/26", "2001:db8:1:0:4000::/66",
	  ", \"ports\": [\"7100\"], \"missing\": \"pass\"" },
	{ "other", "198.51.100.0/24", "2001:db8:2::/64", ", \"ports\": [\"80\"]" },
};

struct matrix_case {
	const char *addr4, *addr6;
	uint16_t port;
	const char *label; /* NULL: no socket selected */
	int verdict;
};

static const struct matrix_case cases[] = {
	{ "192.0.2.10", "2001:db8:1::a", 80, "wide", PROBE_PASS },
	{ "192.0.2.10", "2001:db8:1::a", 8000, "r24", PROBE_PASS },
	{ "192.0.2.10", "2001:db8:1::a", 8080, "p24", PROBE_PASS },
	{ "192.0.2.10", "2001:db8:1::a", 8999, "r24", PROBE_PASS },
	{ "192.0.2.10", "2001:db8:1::a", 9000, "wide", PROBE_PASS },
	{ "192.0.2.130", "2001:db8:1:0:8000::82", 8080, "r25", PROBE_PASS },
	{ "192.0.2.130", "2001:db8:1:0:8000::82", 9050, "r25", PROBE_PASS },
	{ "192.0.2.130", "2001:db8:1:0:8000::82", 80, "wide", PROBE_PASS },
	{ "192.0.2.200", "2001:db8:1:0:c800::1", 443, "h32", PROBE_PASS },
	{ "192.0.2.200", "2001:db8:1:0:c800::1", 8080, "r25", PROBE_PASS },
	{ "192.0.2.201", "2001:db8:1:0:c800::2", 22, "h32all", PROBE_PASS },
	{ "192.0.2.201", "2001:db8:1:0:c800::2", 8080, "h32all", PROBE_PASS },
	{ "192.0.2.70", "2001:db8:1:0:4000::46", 7050, NULL, PROBE_DROP },
	{ "192.0.2.70", "2001:db8:1:0:4000::46", 7100, NULL, PROBE_PASS },
	{ "192.0.2.70", "2001:db8:1:0:4000::46", 7101, "wide", PROBE_PASS },
	{ "198.51.100.7", "2001:db8:2::7", 80, "other", PROBE_PASS },
	{ "198.51.100.7", "2001:db8:2::7", 81, NULL, PROBE_PASS },
	{ "203.0.113.1", "2001:db8:3::1", 80, NULL, PROBE_PASS },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* servers[udp][v6][label] */
struct matrix {
	int saved_netns;
	struct skl_dispatcher d;
	int servers[2][2][N_SERVED];
	uint64_t cookies[2][2][N_SERVED];
};

static struct matrix m;

struct matrix_test {
	const struct matrix_case *c;
	int udp, v6;
	char name[96];
};

static char *bindings_json(void)
{
	size_t cap = 8192, len = 0;
	char *json = malloc(cap);

	assert_non_null(json);
	len += (size_t)snprintf(json + len, cap - len, "[");
	for (int udp = 0; udp <= 1; udp++)
		for (int v6 = 0; v6 <= 1; v6++)
			for (size_t r = 0; r < sizeof(binding_rows) / sizeof(binding_rows[0]); r++)
				len += (size_t)snprintf(
					json + len, cap - len,
					"%s{\"label\": \"%s\", \"protocol\": \"%s\", \"prefix\": \"%s\"%s}",
					len > 1 ? ", " : "", binding_rows[r][0], udp ? "udp" : "tcp",
					binding_rows[r][1 + v6], binding_rows[r][3]);
	snprintf(json + len, cap - len, "]");
	assert_true(len < cap - 2);
	return json;
}

static int matrix_setup(void **state)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };
	char *json = bindings_json();

	(void)state;
	assert_int_equal(testnet_unshare_netns(&m.saved_netns), 0);
	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 203.0.113.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	fixture_dispatcher(&m.d, NULL);
	fixture_parse(json, &set);
	free(json);
	if (skl_rules_apply(&m.d, &set, &err))
		fail_msg("apply: %s", err.msg);
	skl_bindings_free(&set);

	for (int udp = 0; udp <= 1; udp++)
		for (int v6 = 0; v6 <= 1; v6++)
			for (int l = 0; l < N_SERVED; l++) {
				int fd = fixture_server(udp ? SOCK_DGRAM : SOCK_STREAM,
							v6 ? "::1" : "127.0.0.1", 0, true);
				uint32_t id;

				m.servers[udp][v6][l] = fd;
				m.cookies[udp][v6][l] = fixture_cookie(fd);
				if (skl_label_lookup(&m.d, labels[l], &id, &err) ||
				    skl_socket_register(&m.d, id, fd, &err))
					fail_msg("register %s: %s", labels[l], err.msg);
			}
	return 0;
}

static int matrix_teardown(void **state)
{
	(void)state;
	for (int udp = 0; udp <= 1; udp++)
		for (int v6 = 0; v6 <= 1; v6++)
			for (int l = 0; l < N_SERVED; l++)
				if (m.servers[udp][v6][l] > 0)
					close(m.servers[udp][v6][l]);
	skl_dispatcher_close(&m.d);
	return testnet_restore_netns(m.saved_netns);
}

static int label_index(const char *label)
{
	for (int l = 0; l < N_SERVED; l++)
		if (!strcmp(labels[l], label))
			return l;
	fail_msg("no server for label %s", label);
	return -1;
}

static void matrix_case(void **state)
{
	const struct matrix_test *t = *state;
	const char *addr = t->v6 ? t->c->addr6 : t->c->addr4;
	int want = t->c->label ? label_index(t->c->label) : -1;
	struct probe_result r;
	int got;

	fixture_test_run(m.d.prog_fd, t->udp ? IPPROTO_UDP : IPPROTO_TCP, addr, t->c->port, &r);
	assert_int_equal(r.verdict, t->c->verdict);
	assert_int_equal(r.cookie, want >= 0 ? m.cookies[t->udp][t->v6][want] : 0);

	/* Nothing else listens in this netns: what no socket takes is refused. */
	got = fixture_deliver(t->udp ? SOCK_DGRAM : SOCK_STREAM, addr, t->c->port,
			      m.servers[t->udp][t->v6], N_SERVED);
	assert_int_equal(got, want);
}

int main(void)
{
	static struct matrix_test tests[4 * N_CASES];
	static struct CMUnitTest units[4 * N_CASES];
	size_t n = 0;

	for (int udp = 0; udp <= 1; udp++)
		for (int v6 = 0; v6 <= 1; v6++)
			for (size_t i = 0; i < N_CASES; i++, n++) {
				const struct matrix_case *c = &cases[i];

				tests[n] = (struct matrix_test){ .c = c, .udp = udp, .v6 = v6 };
				snprintf(tests[n].name, sizeof(tests[n].name), "%s%s %s:%u -> %s (%s)",
					 udp ? "udp" : "tcp", v6 ? "6" : "4", v6 ? c->addr6 : c->addr4,
					 c->port, c->label ? c->label : "no socket",
					 c->verdict == PROBE_PASS ? "pass" : "drop");
				units[n] = (struct CMUnitTest){ .name = tests[n].name,
								.test_func = matrix_case,
								.initial_state = &tests[n] };
			}
	return _cmocka_run_group_tests("precedence matrix", units, n, matrix_setup,
				       matrix_teardown);
}
