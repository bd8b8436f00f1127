/*
 * Root tests of routes.c and portreserve.c against the real kernel. Each test
 * runs in a fresh anonymous netns (the fixture restores the original one even
 * when a test fails); links are created only inside it and vanish with it.
 * Addresses: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32,
 * loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "skl_asserts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bindings.h"
#include "netns.h"
#include "portreserve.h"
#include "routes.h"
#include "testnet.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define R(l, h) ((struct skl_port_range){ .lo = (l), .hi = (h) })

/* A veth pair inside the test netns, for routes via a gateway. */
#define VETH_SETUP                                                                 \
	"ip link add skl-rt0 type veth peer name skl-rt1 && "                      \
	"ip addr add 198.51.100.1/24 dev skl-rt0 && "                              \
	"ip -6 addr add 2001:db8:1::1/64 dev skl-rt0 nodad && "                    \
	"ip link set skl-rt0 up && ip link set skl-rt1 up"

struct fixture {
	int saved_netns; /* the netns the suite started in */
};

/* ------------------------------------------------------------------------
 * Fixtures and helpers
 */

static int enter_fresh_netns(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (testnet_unshare_netns(&f->saved_netns) < 0) {
		fprintf(stderr, "cannot enter a new netns: %s\n", strerror(errno));
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int restore_netns(void **state)
{
	struct fixture *f = *state;
	int rc = testnet_restore_netns(f->saved_netns);

	if (rc < 0)
		fprintf(stderr, "cannot return to the original netns: %s\n", strerror(errno));
	free(f);
	return rc;
}

static struct skl_route local_route(const char *prefix)
{
	struct skl_route r = { .kind = SKL_ROUTE_LOCAL };
	struct skl_err err = {0};

	if (skl_prefix_parse(prefix, &r.family, &r.plen, r.addr, &err) < 0)
		fail_msg("bad test prefix: %s", err.msg);
	return r;
}

static struct skl_route via_route(const char *prefix, const char *gw)
{
	struct skl_route r = local_route(prefix);

	r.kind = SKL_ROUTE_VIA;
	if (inet_pton(r.family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, gw, r.gw) != 1)
		fail_msg("bad test gateway %s", gw);
	return r;
}

static bool route_exists(const struct skl_route *r)
{
	struct skl_err err = {0};
	bool exists = false;

	assert_ok(skl_route_exists(r, &exists, &err), err);
	return exists;
}

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

static socklen_t sockaddr_make(union sockaddr_any *sa, int family, const char *addr,
			       uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET6) {
		sa->v6.sin6_family = AF_INET6;
		sa->v6.sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sa->v6.sin6_addr), 1);
		return sizeof(sa->v6);
	}
	sa->v4.sin_family = AF_INET;
	sa->v4.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &sa->v4.sin_addr), 1);
	return sizeof(sa->v4);
}

/* A TCP listener on the wildcard address and a kernel-chosen port. */
static int tcp_listener(int family, uint16_t *port)
{
	union sockaddr_any sa;
	socklen_t len = sockaddr_make(&sa, family, family == AF_INET6 ? "::" : "0.0.0.0", 0);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, &sa.sa, len), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, &sa.sa, &len), 0);
	*port = ntohs(family == AF_INET6 ? sa.v6.sin6_port : sa.v4.sin_port);
	return fd;
}

/* connect() to addr:port; 0 or the errno. */
static int tcp_connect_errno(int family, const char *addr, uint16_t port)
{
	union sockaddr_any sa;
	socklen_t len = sockaddr_make(&sa, family, addr, port);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;

	assert_true(fd >= 0);
	if (connect(fd, &sa.sa, len) < 0)
		e = errno;
	close(fd);
	return e;
}

/* The listener accepts a connection to addr (not bound anywhere) only once
 * the local route for it is in place. */
static void assert_local_route_delivers(int family, const char *prefix, const char *addr)
{
	struct skl_route r = local_route(prefix);
	struct skl_err err = {0};
	union sockaddr_any served;
	socklen_t len = sizeof(served);
	char local[INET6_ADDRSTRLEN];
	uint16_t port;
	int lfd = tcp_listener(family, &port), cfd;

	assert_int_not_equal(tcp_connect_errno(family, addr, port), 0);
	assert_ok(skl_route_add(&r, &err), err);
	assert_int_equal(tcp_connect_errno(family, addr, port), 0);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(getsockname(cfd, &served.sa, &len), 0);
	if (family == AF_INET6)
		inet_ntop(family, &served.v6.sin6_addr, local, sizeof(local));
	else
		inet_ntop(family, &served.v4.sin_addr, local, sizeof(local));
	assert_string_equal(local, addr);
	close(cfd);
	close(lfd);
}

static void assert_reserved(const char *want)
{
	struct skl_port_range *v;
	struct skl_err err = {0};
	char *text;
	size_t n;

	assert_ok(skl_reserved_ports_read(&v, &n, &err), err);
	assert_ok(skl_reserved_ports_format(v, n, &text, &err), err);
	free(v);
	if (strcmp(text, want) != 0) {
		print_error("reserved ports are \"%s\", want \"%s\"\n", text, want);
		free(text);
		fail();
	}
	free(text);
}

static void assert_ranges_text(const struct skl_port_range *v, size_t n, const char *want)
{
	struct skl_err err = {0};
	char *text;

	assert_ok(skl_reserved_ports_format(v, n, &text, &err), err);
	if (strcmp(text, want) != 0) {
		print_error("ranges are \"%s\", want \"%s\"\n", text, want);
		free(text);
		fail();
	}
	free(text);
}

/* ------------------------------------------------------------------------
 * Local routes
 */

static void assert_local_route_cycle(const char *prefix, const char *show_cmd)
{
	struct skl_route r = local_route(prefix);
	struct skl_err err = {0};

	assert_false(route_exists(&r));
	assert_int_equal(skl_route_add(&r, &err), 0);
	assert_true(route_exists(&r));
	assert_int_equal(testnet_run("%s | grep -q '^local %s dev lo '", show_cmd, prefix), 0);
	assert_int_equal(skl_route_add(&r, &err), 1); /* EEXIST: there, but not ours */
	assert_ok(skl_route_del(&r, &err), err);
	assert_false(route_exists(&r));
	assert_int_equal(testnet_run("%s | grep -q '^local %s '", show_cmd, prefix), 1);
}

static void test_local_route_v4(void **state)
{
	(void)state;
	assert_local_route_cycle("192.0.2.0/24", "ip route show table local");
}

static void test_local_route_v6(void **state)
{
	(void)state;
	assert_local_route_cycle("2001:db8::/64", "ip -6 route show table local");
}

static void test_local_route_delivers_v4(void **state)
{
	(void)state;
	assert_local_route_delivers(AF_INET, "192.0.2.0/24", "192.0.2.77");
}

static void test_local_route_delivers_v6(void **state)
{
	(void)state;
	assert_local_route_delivers(AF_INET6, "2001:db8::/64", "2001:db8::77");
}

/* exists() wants the exact prefix, table and type. */
static void test_exists_is_exact(void **state)
{
	struct skl_route r = local_route("192.0.2.0/24"), longer = local_route("192.0.2.0/25");
	struct skl_route shorter = local_route("192.0.2.0/23"), via = r;
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(testnet_run("ip route add 192.0.2.0/24 dev lo"), 0); /* table main */
	assert_false(route_exists(&r));
	assert_int_equal(skl_route_add(&r, &err), 0);
	assert_true(route_exists(&r));
	assert_false(route_exists(&longer));
	assert_false(route_exists(&shorter));
	via.kind = SKL_ROUTE_VIA;
	assert_false(route_exists(&via));
}

/* EEXIST for a different route to the same prefix is an error, not 1: the
 * caller must not believe its route is in place. */
static void test_add_over_a_different_route_fails(void **state)
{
	struct skl_route r = local_route("192.0.2.0/24");
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(testnet_run("ip route add unicast 192.0.2.0/24 dev lo table local"), 0);
	assert_int_equal(skl_route_add(&r, &err), -1);
	assert_int_equal(err.code, SKL_CNI_INTERNAL);
	assert_msg_contains(&err, "adding route \"local 192.0.2.0/24 dev lo\": File exists");
	assert_msg_contains(&err, "a different route");
	assert_false(route_exists(&r));
}

static void test_del_missing_route_succeeds(void **state)
{
	const struct skl_route routes[] = {
		local_route("192.0.2.0/24"),
		local_route("2001:db8::/64"),
		via_route("203.0.113.0/24", "198.51.100.2"),
		via_route("2001:db8:203::/64", "2001:db8:1::2"),
	};
	struct skl_err err = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		assert_ok(skl_route_del(&routes[i], &err), err);
		assert_ok(skl_route_del(&routes[i], &err), err);
	}
}

/* ------------------------------------------------------------------------
 * Routes via a gateway
 */

static void assert_via_route_cycle(const char *prefix, const char *gw, const char *other_gw,
				   const char *show_cmd)
{
	struct skl_route r = via_route(prefix, gw), other = via_route(prefix, other_gw);
	struct skl_err err = {0};

	assert_int_equal(testnet_run(VETH_SETUP), 0);
	assert_false(route_exists(&r));
	assert_ok(skl_route_add(&r, &err), err);
	assert_true(route_exists(&r));
	assert_false(route_exists(&other));
	assert_int_equal(testnet_run("%s %s | grep -q '^%s via %s dev skl-rt0 '", show_cmd, prefix,
				     prefix, gw),
			 0);
	assert_int_equal(skl_route_add(&r, &err), 1);
	assert_ok(skl_route_del(&other, &err), err); /* a different gateway: not ours */
	assert_true(route_exists(&r));
	assert_ok(skl_route_del(&r, &err), err);
	assert_false(route_exists(&r));
	assert_int_equal(testnet_run("%s %s | grep -q .", show_cmd, prefix), 1);
}

static void test_via_route_v4(void **state)
{
	(void)state;
	assert_via_route_cycle("203.0.113.0/24", "198.51.100.2", "198.51.100.3", "ip route show");
}

static void test_via_route_v6(void **state)
{
	(void)state;
	assert_via_route_cycle("2001:db8:203::/64", "2001:db8:1::2", "2001:db8:1::3",
			       "ip -6 route show");
}

static void test_via_unreachable_gateway_fails(void **state)
{
	struct skl_route v4 = via_route("203.0.113.0/24", "198.51.100.99");
	struct skl_route v6 = via_route("2001:db8:203::/64", "2001:db8:1::99");
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_route_add(&v4, &err), -1);
	assert_int_equal(err.code, SKL_CNI_INTERNAL);
	assert_msg_contains(&err, "adding route \"203.0.113.0/24 via 198.51.100.99\": ");
	assert_msg_contains(&err, "gateway");
	assert_false(route_exists(&v4));

	assert_int_equal(skl_route_add(&v6, &err), -1);
	assert_msg_contains(&err, "adding route \"2001:db8:203::/64 via 2001:db8:1::99\": ");
	assert_false(route_exists(&v6));
}

/* ------------------------------------------------------------------------
 * Reserved ports
 */

static void test_reserved_ports_add_read_remove(void **state)
{
	const struct skl_port_range add[] = { R(50000, 50000), R(40000, 40010) };
	const struct skl_port_range drop[] = { R(40005, 40005), R(45000, 45000) };
	const struct skl_port_range all[] = { R(0, 65535) };
	struct skl_port_range *added;
	struct skl_err err = {0};
	size_t n_added;

	(void)state;
	assert_reserved(""); /* a new netns reserves nothing */
	assert_ok(skl_reserved_ports_add(add, ARRAY_SIZE(add), &added, &n_added, &err), err);
	assert_ranges_text(added, n_added, "40000-40010,50000");
	free(added);
	assert_reserved("40000-40010,50000");
	assert_int_equal(testnet_run("grep -qx '40000-40010,50000' " SKL_RESERVED_PORTS_PATH), 0);

	assert_ok(skl_reserved_ports_remove(drop, ARRAY_SIZE(drop), &err), err);
	assert_reserved("40000-40004,40006-40010,50000");
	assert_ok(skl_reserved_ports_remove(all, 1, &err), err);
	assert_reserved("");
	assert_ok(skl_reserved_ports_remove(all, 1, &err), err); /* nothing left: fine */
}

static void test_reserved_ports_added_excludes_reserved(void **state)
{
	const struct skl_port_range before[] = { R(40005, 40020) };
	const struct skl_port_range add[] = { R(40015, 40030), R(40000, 40010), R(40018, 40018) };
	struct skl_port_range *added;
	struct skl_err err = {0};
	size_t n_added;

	(void)state;
	assert_ok(skl_reserved_ports_write(before, 1, &err), err);
	assert_ok(skl_reserved_ports_add(add, ARRAY_SIZE(add), &added, &n_added, &err), err);
	assert_ranges_text(added, n_added, "40000-40004,40021-40030");
	assert_reserved("40000-40030");

	/* The undo removes only what the add added. */
	assert_ok(skl_reserved_ports_remove(added, n_added, &err), err);
	free(added);
	assert_reserved("40005-40020");

	assert_ok(skl_reserved_ports_add(before, 1, &added, &n_added, &err), err);
	assert_null(added);
	assert_int_equal(n_added, 0);
}

/* A reserved port is never handed out as an ephemeral port. */
static void test_reserved_ports_take_effect(void **state)
{
	const struct skl_port_range served[] = { R(40000, 40000) };
	const struct skl_port_range whole[] = { R(1, 65535) };
	struct skl_port_range *add, *added;
	union sockaddr_any sa;
	socklen_t len = sockaddr_make(&sa, AF_INET, "127.0.0.1", 0);
	struct skl_err err = {0};
	size_t n_add, n_added, skipped;
	uint16_t lo, hi;
	int fd;

	(void)state;
	assert_int_equal(testnet_run("echo '40000 40001' > " SKL_EPHEMERAL_PORTS_PATH), 0);
	assert_ok(skl_ephemeral_ports_read(&lo, &hi, &err), err);
	assert_int_equal(lo, 40000);
	assert_int_equal(hi, 40001);

	assert_ok(skl_reserved_ports_plan(whole, 1, lo, hi, &add, &n_add, &skipped, &err), err);
	assert_int_equal(n_add, 0);
	assert_int_equal(skipped, 1);

	assert_ok(skl_reserved_ports_plan(served, 1, lo, hi, &add, &n_add, &skipped, &err), err);
	assert_ok(skl_reserved_ports_add(add, n_add, &added, &n_added, &err), err);
	free(add);
	assert_ranges_text(added, n_added, "40000");
	free(added);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, &sa.sa, len), 0);
	assert_int_equal(getsockname(fd, &sa.sa, &len), 0);
	close(fd);
	assert_int_equal(ntohs(sa.v4.sin_port), 40001);
}

/* Lists longer than a page: the kernel takes them in several writes. */
static void test_reserved_ports_long_list(void **state)
{
	size_t n = 25000, n_back;
	struct skl_port_range *v = calloc(n, sizeof(*v)), *back;
	struct skl_err err = {0};

	(void)state;
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = R(10000 + 2 * i, 10000 + 2 * i);
	assert_ok(skl_reserved_ports_write(v, n, &err), err);
	assert_ok(skl_reserved_ports_read(&back, &n_back, &err), err);
	assert_int_equal(n_back, n);
	assert_memory_equal(back, v, n * sizeof(*v));
	free(back);
	free(v);
	assert_ok(skl_reserved_ports_write(NULL, 0, &err), err);
	assert_reserved("");
}

/* Reads the reserved ports of the suite's original netns, as text. */
static char *original_netns_reserved(const struct fixture *f)
{
	struct skl_port_range *v;
	struct skl_err err = {0};
	char *text;
	size_t n;
	int inner;

	assert_ok(skl_netns_enter(f->saved_netns, &inner, &err), err);
	if (skl_reserved_ports_read(&v, &n, &err) < 0) {
		skl_netns_leave(inner, NULL);
		fail_msg("reading the original netns's reserved ports: %s", err.msg);
	}
	assert_ok(skl_netns_leave(inner, &err), err);
	assert_ok(skl_reserved_ports_format(v, n, &text, &err), err);
	free(v);
	return text;
}

static void test_reserved_ports_are_per_netns(void **state)
{
	const struct skl_port_range add[] = { R(40000, 40100), R(50123, 50123) };
	struct fixture *f = *state;
	struct skl_port_range *added;
	struct skl_err err = {0};
	char *before, *after;
	size_t n_added;

	before = original_netns_reserved(f);
	assert_ok(skl_reserved_ports_add(add, ARRAY_SIZE(add), &added, &n_added, &err), err);
	free(added);
	assert_reserved("40000-40100,50123");
	after = original_netns_reserved(f);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, enter_fresh_netns, restore_netns)
	const struct CMUnitTest tests[] = {
		T(test_local_route_v4),
		T(test_local_route_v6),
		T(test_local_route_delivers_v4),
		T(test_local_route_delivers_v6),
		T(test_exists_is_exact),
		T(test_add_over_a_different_route_fails),
		T(test_del_missing_route_succeeds),
		T(test_via_route_v4),
		T(test_via_route_v6),
		T(test_via_unreachable_gateway_fails),
		T(test_reserved_ports_add_read_remove),
		T(test_reserved_ports_added_excludes_reserved),
		T(test_reserved_ports_take_effect),
		T(test_reserved_ports_long_list),
		T(test_reserved_ports_are_per_netns),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
