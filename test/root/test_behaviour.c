/*
 * Dispatcher behaviour beyond the precedence matrix, each test in its own
 * fresh netns: pass-through to ordinary sockets, "missing" drop and pass,
 * closed sockets, dual-stack sockets, the same-netns rule, counters,
 * another sk_lookup program in the same netns (both attach orders), pinned
 * state, atomic replacement with stable ids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "dispatch_fixture.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "testnet.h"

struct env {
	int saved_netns;
	struct skl_dispatcher d;
	int fds[16];
	int n_fds;
	int link_fd;
	char pin_dir[256];
};

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	skl_dispatcher_init(&e->d);
	e->link_fd = -1;
	assert_int_equal(testnet_unshare_netns(&e->saved_netns), 0);
	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	int ret;

	for (int i = 0; i < e->n_fds; i++)
		close(e->fds[i]);
	if (e->link_fd >= 0)
		close(e->link_fd);
	skl_dispatcher_close(&e->d);
	if (e->pin_dir[0])
		testnet_rm_rf_bpffs(e->pin_dir);
	ret = testnet_restore_netns(e->saved_netns);
	free(e);
	return ret;
}

static int env_server(struct env *e, int type, const char *addr, uint16_t port, bool v6only)
{
	int fd = fixture_server(type, addr, port, v6only);

	assert_true(e->n_fds < 16);
	e->fds[e->n_fds++] = fd;
	return fd;
}

static void env_bindings(struct env *e, const char *json)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };

	fixture_parse(json, &set);
	if (skl_rules_apply(&e->d, &set, &err))
		fail_msg("apply: %s", err.msg);
	skl_bindings_free(&set);
}

static void env_register(struct env *e, const char *label, int fd)
{
	struct skl_err err = { 0 };
	uint32_t id;

	if (skl_label_lookup(&e->d, label, &id, &err) || skl_socket_register(&e->d, id, fd, &err))
		fail_msg("register %s: %s", label, err.msg);
}

static uint64_t label_counter(struct env *e, const char *label, int which)
{
	uint64_t c[SKL_C_COUNT];
	struct skl_err err = { 0 };
	uint32_t id;

	if (skl_label_lookup(&e->d, label, &id, &err))
		fail_msg("%s", err.msg);
	fixture_counters(&e->d, SKL_COUNTERS_LABEL, id, c);
	return c[which];
}

/* A packet no binding matches reaches an ordinary bound socket. */
static void no_match_passes_to_bound_socket(void **state)
{
	struct env *e = *state;
	int web, plain_tcp, plain_udp;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/25\"},"
			" {\"label\": \"web\", \"protocol\": \"udp\", \"prefix\": \"192.0.2.0/25\"}]");
	web = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "web", web);
	plain_tcp = env_server(e, SOCK_STREAM, "192.0.2.200", 80, true);
	plain_udp = env_server(e, SOCK_DGRAM, "192.0.2.200", 53, true);

	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.200", 80, &plain_tcp, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "192.0.2.200", 53, &plain_udp, 1), 0);
	/* Inside the prefix the binding overrides the ordinary lookup. */
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.5", 80, &web, 1), 0);
}

/* A binding shadows even an exact bind(); with "missing": "drop" traffic for
 * a label without socket is refused, with "pass" it reaches the bound one. */
static void missing_drop_and_pass(void **state)
{
	struct env *e = *state;
	int dropped, passed;
	struct probe_result r;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"strict\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.10\"},"
			" {\"label\": \"lenient\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.11\","
			"  \"missing\": \"pass\"},"
			" {\"label\": \"lenient\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::11\","
			"  \"missing\": \"pass\"}]");
	dropped = env_server(e, SOCK_STREAM, "192.0.2.10", 80, true);
	passed = env_server(e, SOCK_STREAM, "192.0.2.11", 80, true);

	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.10", 80, &dropped, 1), -1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.11", 80, &passed, 1), 0);
	fixture_test_run(e->d.prog_fd, IPPROTO_TCP, "192.0.2.10", 80, &r);
	assert_int_equal(r.verdict, PROBE_DROP);
	fixture_test_run(e->d.prog_fd, IPPROTO_UDP, "2001:db8::11", 53, &r);
	assert_int_equal(r.verdict, PROBE_PASS);
	assert_int_equal(r.cookie, 0);
	assert_int_equal(label_counter(e, "strict", SKL_C_DROP_NO_SOCKET), 2);
	assert_int_equal(label_counter(e, "lenient", SKL_C_PASSED_NO_SOCKET), 2);
	assert_int_equal(label_counter(e, "lenient", SKL_C_ASSIGNED), 0);
}

/* Closing a registered socket empties its slot: "no socket" from then on. */
static void closed_socket_is_no_socket(void **state)
{
	struct env *e = *state;
	int srv, fallback;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
			"  \"ports\": [\"80\"]},"
			" {\"label\": \"b\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/24\","
			"  \"ports\": [\"80\"], \"missing\": \"pass\"}]");
	srv = fixture_server(SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "a", srv);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &srv, 1), 0);
	close(srv);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, NULL, 0), -1);
	assert_int_equal(label_counter(e, "a", SKL_C_ASSIGNED), 1);
	assert_int_equal(label_counter(e, "a", SKL_C_DROP_NO_SOCKET), 1);

	srv = fixture_server(SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "b", srv);
	close(srv);
	fallback = env_server(e, SOCK_STREAM, "198.51.100.1", 80, true);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.1", 80, &fallback, 1), 0);
	assert_int_equal(label_counter(e, "b", SKL_C_PASSED_NO_SOCKET), 1);
}

/* An IPv6 socket that is not v6only serves IPv4 bindings; a v6only one
 * fills only the IPv6 slot, so IPv4 traffic for the label is refused. */
static void dual_stack_socket(void **state)
{
	struct env *e = *state;
	int dual, v6only;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"dual\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
			" {\"label\": \"dual\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8::/64\"},"
			" {\"label\": \"only6\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/24\"},"
			" {\"label\": \"only6\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8:1::/64\"}]");
	dual = env_server(e, SOCK_STREAM, "::", 0, false);
	v6only = env_server(e, SOCK_STREAM, "::1", 0, true);
	env_register(e, "dual", dual);
	env_register(e, "only6", v6only);

	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.7", 443, &dual, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "2001:db8::7", 443, &dual, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "2001:db8:1::7", 443, &v6only, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.7", 443, &v6only, 1), -1);
	assert_int_equal(label_counter(e, "only6", SKL_C_DROP_NO_SOCKET), 1);
}

/* A socket of another netns is refused at registration. */
static void socket_from_other_netns_refused(void **state)
{
	struct env *e = *state;
	struct skl_err err = { 0 };
	int here, foreign, back;
	uint32_t id;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"}]");
	assert_int_equal(skl_label_lookup(&e->d, "web", &id, &err), 0);

	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(here >= 0);
	assert_int_equal(skl_netns_enter(e->saved_netns, &back, &err), 0);
	foreign = fixture_server(SOCK_STREAM, "127.0.0.1", 0, true);
	assert_int_equal(skl_netns_leave(back, &err), 0);
	close(here);

	assert_int_equal(skl_socket_register(&e->d, id, foreign, &err), -1);
	assert_non_null(strstr(err.msg, "another network namespace"));
	close(foreign);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, NULL, 0), -1);
}

/* Sockets the dispatcher cannot use are refused with the reason. */
static void unusable_sockets_refused(void **state)
{
	struct env *e = *state;
	struct skl_err err = { 0 };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;
	uint32_t id;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"}]");
	assert_int_equal(skl_label_lookup(&e->d, "web", &id, &err), 0);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(skl_socket_register(&e->d, id, fd, &err), -1);
	assert_non_null(strstr(err.msg, "not listening"));
	close(fd);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(skl_socket_register(&e->d, id, fd, &err), -1);
	assert_non_null(strstr(err.msg, "not bound"));
	len = fixture_addr("127.0.0.1", 9, &ss);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(skl_socket_register(&e->d, id, fd, &err), -1);
	assert_non_null(strstr(err.msg, "connected"));
	close(fd);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(skl_socket_register(&e->d, id, fd, &err), -1);
	assert_non_null(strstr(err.msg, "not an IPv4 or IPv6 socket"));
	close(fd);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(skl_socket_register(&e->d, id, fd, &err), -1);
	assert_non_null(strstr(err.msg, "not a socket"));
	close(fd);
}

/* Counters per binding, per label and in total move with real traffic. */
static void counters_follow_traffic(void **state)
{
	struct env *e = *state;
	uint64_t c[SKL_C_COUNT];
	int srv;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
			"  \"ports\": [\"80\"]},"
			" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
			"  \"ports\": [\"443\"]}]");
	srv = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "web", srv);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.9", 80, &srv, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.9", 443, &srv, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.9", 80, NULL, 0), -1);

	assert_int_equal(label_counter(e, "web", SKL_C_MATCHED), 4);
	assert_int_equal(label_counter(e, "web", SKL_C_ASSIGNED), 4);
	/* The first binding in id order is the port-80 one. */
	fixture_counters(&e->d, SKL_COUNTERS_BINDING, 0, c);
	assert_int_equal(c[SKL_C_ASSIGNED], 3);
	fixture_counters(&e->d, SKL_COUNTERS_BINDING, 1, c);
	assert_int_equal(c[SKL_C_ASSIGNED], 1);
}

/* A second sk_lookup program that drops one port: the kernel runs both, a
 * selection by a program that passed survives a drop by another, and a drop
 * without a selection refuses the packet — in either attach order. */
static int drop_port_prog(uint16_t port)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = offsetof(struct bpf_sk_lookup, local_port) },
		{ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 2, .imm = port },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_DROP },
		{ .code = BPF_JMP | BPF_EXIT },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_LOOKUP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SK_LOOKUP, "drop_port", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);

	if (fd < 0)
		fail_msg("loading the drop program: %s", strerror(errno));
	return fd;
}

static void compose(struct env *e, bool dispatcher_first)
{
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int prog = drop_port_prog(80);
	int srv, plain80, plain81;

	assert_true(ns >= 0);
	if (dispatcher_first)
		fixture_dispatcher(&e->d, NULL);
	e->link_fd = bpf_link_create(prog, ns, BPF_SK_LOOKUP, NULL);
	assert_true(e->link_fd >= 0);
	if (!dispatcher_first)
		fixture_dispatcher(&e->d, NULL);
	close(prog);
	close(ns);

	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
			"  \"ports\": [\"80\"]}]");
	srv = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "web", srv);
	plain80 = env_server(e, SOCK_STREAM, "198.51.100.1", 80, true);
	plain81 = env_server(e, SOCK_STREAM, "198.51.100.1", 81, true);

	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.5", 80, &srv, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.1", 80, &plain80, 1), -1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.1", 81, &plain81, 1), 0);
}

static void compose_dispatcher_first(void **state)
{
	compose(*state, true);
}

static void compose_dispatcher_second(void **state)
{
	compose(*state, false);
}

/* Pinned state opens again with the same bindings; the link reports the
 * netns it serves. */
static void pinned_state_round_trip(void **state)
{
	const char *json = "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
			   " \"ports\": [\"80\", \"8000-8999\"]},"
			   " {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"2001:db8::/64\","
			   " \"ports\": [\"53\"], \"missing\": \"pass\"}]";
	struct env *e = *state;
	struct skl_binding_set want, got;
	cJSON *want_json, *got_json;
	struct skl_dispatcher opened;
	struct skl_err err = { 0 };
	uint64_t ino, here_ino;
	char *a, *b;
	uint32_t *ids;
	int here;

	assert_int_equal(testnet_bpffs_tmpdir(e->pin_dir, sizeof(e->pin_dir)), 0);
	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, json);
	if (skl_dispatcher_pin(&e->d, e->pin_dir, &err) ||
	    skl_dispatcher_open(&opened, e->pin_dir, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(skl_rules_read(&opened, &got, &ids, &err), 0);
	fixture_parse(json, &want);
	want_json = skl_bindings_to_json(&want);
	got_json = skl_bindings_to_json(&got);
	a = cJSON_PrintUnformatted(want_json);
	b = cJSON_PrintUnformatted(got_json);
	cJSON_Delete(want_json);
	cJSON_Delete(got_json);
	assert_string_equal(a, b);

	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_int_equal(skl_netns_ino(here, &here_ino, &err), 0);
	assert_int_equal(skl_dispatcher_link_netns(&opened, &ino, &err), 0);
	assert_int_equal(ino, here_ino);
	assert_int_equal(opened.limits.bindings, SKL_LIMIT_BINDINGS_DEFAULT);
	close(here);
	free(a);
	free(b);
	free(ids);
	skl_bindings_free(&want);
	skl_bindings_free(&got);
	skl_dispatcher_close(&opened);
}

/* When the netns dies the pinned link stays but reports netns_ino 0. */
static void link_of_dead_netns_reports_zero(void **state)
{
	struct env *e = *state;
	struct skl_dispatcher opened;
	struct skl_err err = { 0 };
	uint64_t ino = 1;
	pid_t child;
	int status;

	assert_int_equal(testnet_bpffs_tmpdir(e->pin_dir, sizeof(e->pin_dir)), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct skl_dispatcher d;
		uint64_t cookie;
		int ns;

		if (unshare(CLONE_NEWNET))
			_exit(1);
		ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (ns < 0 || skl_netns_cookie(ns, &cookie, &err) ||
		    skl_dispatcher_load(&d, &(struct skl_limits){ 8, 8, 8 }, cookie, &err) ||
		    skl_dispatcher_attach(&d, ns, &err) || skl_dispatcher_pin(&d, e->pin_dir, &err))
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (skl_dispatcher_open(&opened, e->pin_dir, &err))
		fail_msg("%s", err.msg);
	/* The netns is torn down asynchronously. */
	for (int i = 0; i < 200 && ino; i++) {
		assert_int_equal(skl_dispatcher_link_netns(&opened, &ino, &err), 0);
		if (ino)
			usleep(10000);
	}
	assert_int_equal(ino, 0);
	skl_dispatcher_close(&opened);
}

/* Replacing the set keeps the ids (and counters) of bindings that stay,
 * frees the others, and the new set is what dispatches. */
static void replace_keeps_ids_of_unchanged_bindings(void **state)
{
	struct env *e = *state;
	struct skl_binding_set got;
	struct skl_err err = { 0 };
	uint64_t c[SKL_C_COUNT];
	uint32_t *ids;
	int srv;

	fixture_dispatcher(&e->d, NULL);
	env_bindings(e, "[{\"label\": \"keep\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
			" {\"label\": \"gone\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/24\"}]");
	srv = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "keep", srv);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &srv, 1), 0);

	env_bindings(e, "[{\"label\": \"new\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/25\"},"
			" {\"label\": \"keep\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"}]");
	assert_int_equal(skl_rules_read(&e->d, &got, &ids, &err), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(ids[0], 0);
	assert_string_equal(got.v[0].label, "keep");
	/* Id 1 ("gone") was still in force while the new set was written. */
	assert_int_equal(ids[1], 2);
	assert_string_equal(got.v[1].label, "new");
	fixture_counters(&e->d, SKL_COUNTERS_BINDING, 0, c);
	assert_int_equal(c[SKL_C_ASSIGNED], 1);
	fixture_counters(&e->d, SKL_COUNTERS_BINDING, 2, c);
	assert_int_equal(c[SKL_C_MATCHED], 0);
	/* "gone" has no binding and no socket left: its label is freed. */
	assert_int_equal(skl_label_lookup(&e->d, "gone", &ids[0], &err), -1);
	free(ids);
	skl_bindings_free(&got);

	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &srv, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.200", 80, NULL, 0), -1);
	/* Only one generation stays reachable: the other's search roots are
	 * cleared. */
	{
		struct skl_search_node node;
		struct skl_config cfg;
		int n_active = 0, n_other = 0;

		assert_int_equal(skl_dispatcher_config(&e->d, &cfg, &err), 0);
		for (uint32_t k = 0; k < SKL_SEARCH_ROOTS; k++) {
			assert_int_equal(bpf_map_lookup_elem(e->d.map_fd[SKL_MAP_SEARCH], &k,
							     &node), 0);
			if (node.tag && k / SKL_SEARCH_TREES == cfg.active_gen)
				n_active++;
			else if (node.tag)
				n_other++;
		}
		assert_true(n_active > 0);
		assert_int_equal(n_other, 0);
	}
}

/* A set that does not fit leaves the dispatcher as it was. */
static void failed_apply_changes_nothing(void **state)
{
	struct env *e = *state;
	struct skl_binding_set set, got;
	struct skl_err err = { 0 };
	uint32_t *ids;
	int srv;

	fixture_dispatcher(&e->d, &(struct skl_limits){ .bindings = 2, .labels = 4,
							 .port_ranges = 8 });
	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"}]");
	srv = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "web", srv);
	fixture_parse("[{\"label\": \"a\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.1\"},"
		      " {\"label\": \"b\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.2\"},"
		      " {\"label\": \"c\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.3\"}]",
		      &set);
	assert_int_equal(skl_rules_apply(&e->d, &set, &err), -1);
	assert_non_null(strstr(err.msg, "limits.bindings"));
	skl_bindings_free(&set);

	assert_int_equal(skl_rules_read(&e->d, &got, &ids, &err), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.v[0].label, "web");
	assert_int_equal(skl_label_lookup(&e->d, "a", &ids[0], &err), -1);
	free(ids);
	skl_bindings_free(&got);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &srv, 1), 0);
}

/* A set whose prefix table (its prefixes and search markers) does not fit
 * the dispatcher is refused with an error naming limits.bindings, and the
 * set in force stays. 40 /96s under seven other v6 lengths each need two
 * markers (at /64 and /80) besides their own entry: three entries a
 * binding, where the table has room for about two (48 bindings: the 47
 * new ones and the one in force, whose id stays until the switch). */
static void prefix_table_overflow_is_refused(void **state)
{
	static const int singles[] = { 40, 48, 56, 64, 72, 80, 128 };
	struct env *e = *state;
	struct skl_binding_set set, got;
	struct skl_err err = { 0 };
	size_t len = 16384, at = 0;
	char *json = malloc(len);
	uint32_t *ids;
	int srv;

	assert_non_null(json);
	fixture_dispatcher(&e->d, &(struct skl_limits){ .bindings = 48, .labels = 4,
							 .port_ranges = 64 });
	env_bindings(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"}]");
	srv = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	env_register(e, "web", srv);
	at += (size_t)snprintf(json + at, len - at, "[");
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
		at += (size_t)snprintf(json + at, len - at,
				       "{\"label\": \"a\", \"protocol\": \"tcp\", "
				       "\"prefix\": \"2001:db8:ff00::/%d\"},", singles[i]);
	for (int k = 1; k <= 40; k++)
		at += (size_t)snprintf(json + at, len - at,
				       "{\"label\": \"a\", \"protocol\": \"tcp\", "
				       "\"prefix\": \"2001:db8:%x::/96\"}%s", k, k < 40 ? "," : "]");
	assert_true(at < len);
	fixture_parse(json, &set);
	free(json);
	assert_int_equal(set.n, 47);
	assert_int_equal(skl_rules_apply(&e->d, &set, &err), -1);
	if (!strstr(err.msg, "prefix entries"))
		fail_msg("%s", err.msg);
	assert_non_null(strstr(err.msg, "limits.bindings"));
	skl_bindings_free(&set);

	assert_int_equal(skl_rules_read(&e->d, &got, &ids, &err), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.v[0].label, "web");
	free(ids);
	skl_bindings_free(&got);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &srv, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_match_passes_to_bound_socket, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(missing_drop_and_pass, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(closed_socket_is_no_socket, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(dual_stack_socket, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(socket_from_other_netns_refused, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(unusable_sockets_refused, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(counters_follow_traffic, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(compose_dispatcher_first, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(compose_dispatcher_second, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(pinned_state_round_trip, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(link_of_dead_netns_reports_zero, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(replace_keeps_ids_of_unchanged_bindings, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(failed_apply_changes_nothing, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(prefix_table_overflow_is_refused, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests_name("dispatcher behaviour", tests, NULL, NULL);
}
