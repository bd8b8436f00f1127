#include "dispatch_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netns.h"

#define DELIVER_TIMEOUT_MS 1500

void fixture_parse(const char *json, struct skl_binding_set *set)
{
	cJSON *doc = cJSON_Parse(json);
	struct skl_err err = { 0 };

	assert_non_null(doc);
	memset(set, 0, sizeof(*set));
	if (skl_bindings_parse(doc, "bindings", set, &err))
		fail_msg("parse: %s", err.msg);
	cJSON_Delete(doc);
}

void fixture_dispatcher(struct skl_dispatcher *d, const struct skl_limits *limits)
{
	struct skl_err err = { 0 };
	struct skl_limits defaults;
	uint64_t cookie;
	int ns;

	skl_limits_default(&defaults);
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(ns >= 0);
	if (skl_netns_cookie(ns, &cookie, &err) ||
	    skl_dispatcher_load(d, limits ? limits : &defaults, cookie, &err) ||
	    skl_dispatcher_attach(d, ns, &err))
		fail_msg("dispatcher: %s", err.msg);
	close(ns);
}

socklen_t fixture_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return sizeof(*in4);
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
		fail_msg("bad address %s", addr);
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return sizeof(*in6);
}

int fixture_server(int type, const char *addr, uint16_t port, bool v6only)
{
	struct sockaddr_storage ss;
	socklen_t len = fixture_addr(addr, port, &ss);
	int one = 1, v6 = v6only;
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	if (ss.ss_family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)), 0);
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail_msg("bind %s:%u: %s", addr, port, strerror(errno));
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 64), 0);
	return fd;
}

uint64_t fixture_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);
	return cookie;
}

void fixture_test_run(int prog_fd, int proto, const char *addr, uint16_t port,
		      struct probe_result *out)
{
	struct bpf_sk_lookup ctx = { 0 };
	struct sockaddr_storage ss;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));

	fixture_addr(addr, port, &ss);
	ctx.family = ss.ss_family;
	ctx.protocol = proto;
	ctx.local_port = port;
	if (ss.ss_family == AF_INET) {
		ctx.local_ip4 = ((struct sockaddr_in *)&ss)->sin_addr.s_addr;
		ctx.remote_ip4 = htonl(INADDR_LOOPBACK);
	} else {
		memcpy(ctx.local_ip6, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		ctx.remote_ip6[3] = htonl(1);
	}
	ctx.remote_port = htons(40000);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	out->verdict = (int)opts.retval;
	out->cookie = ctx.cookie;
}

static int ready_server(const int *servers, int n, int timeout_ms, int extra_fd,
			bool *extra_ready)
{
	struct pollfd pfd[65];

	assert_true(n < 64);
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = servers[i], .events = POLLIN };
	pfd[n] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
	*extra_ready = false;
	if (poll(pfd, (nfds_t)n + 1, timeout_ms) <= 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN)
			return i;
	*extra_ready = pfd[n].revents != 0;
	return -1;
}

/* The accepted connection keeps the address the client dialled (IPv4 on a
 * dual-stack socket shows as ::ffff:a.b.c.d). */
static void check_local_addr(int fd, const struct sockaddr_storage *want)
{
	const struct sockaddr_in6 *got6;
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&got, &len), 0);
	got6 = (const struct sockaddr_in6 *)&got;
	if (want->ss_family == AF_INET6) {
		assert_int_equal(got.ss_family, AF_INET6);
		assert_memory_equal(&got6->sin6_addr,
				    &((const struct sockaddr_in6 *)want)->sin6_addr, 16);
	} else if (got.ss_family == AF_INET6) {
		assert_true(IN6_IS_ADDR_V4MAPPED(&got6->sin6_addr));
		assert_memory_equal(&got6->sin6_addr.s6_addr[12],
				    &((const struct sockaddr_in *)want)->sin_addr, 4);
	} else {
		assert_int_equal(got.ss_family, AF_INET);
		assert_memory_equal(&((struct sockaddr_in *)&got)->sin_addr,
				    &((const struct sockaddr_in *)want)->sin_addr, 4);
	}
}

int fixture_deliver(int type, const char *addr, uint16_t port, const int *servers, int n)
{
	struct sockaddr_storage dst;
	socklen_t len = fixture_addr(addr, port, &dst);
	int client = socket(dst.ss_family, type | SOCK_CLOEXEC, 0);
	bool client_ready;
	int hit = -2;
	char byte = 'x';

	assert_true(client >= 0);
	if (connect(client, (struct sockaddr *)&dst, len)) {
		assert_int_equal(errno, ECONNREFUSED);
		close(client);
		return -1;
	}
	if (type == SOCK_DGRAM)
		assert_int_equal(send(client, &byte, 1, 0), 1);
	hit = ready_server(servers, n, DELIVER_TIMEOUT_MS, client, &client_ready);
	if (hit >= 0) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int conn;

		if (type == SOCK_STREAM) {
			conn = accept(servers[hit], (struct sockaddr *)&peer, &plen);
			assert_true(conn >= 0);
			check_local_addr(conn, &dst);
			close(conn);
		} else {
			assert_int_equal(recv(servers[hit], &byte, 1, 0), 1);
		}
	} else if (client_ready && type == SOCK_DGRAM) {
		assert_int_equal(recv(client, &byte, 1, 0), -1);
		assert_int_equal(errno, ECONNREFUSED);
		hit = -1;
	} else {
		hit = -2;
	}
	close(client);
	return hit;
}

void fixture_counters(const struct skl_dispatcher *d, enum skl_counter_owner owner, uint32_t id,
		      uint64_t out[SKL_C_COUNT])
{
	struct skl_err err = { 0 };

	if (skl_counters_read(d, owner, id, out, &err))
		fail_msg("reading counters: %s", err.msg);
}
