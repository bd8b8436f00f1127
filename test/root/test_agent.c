/*
 * The node agent (sklookup-ctl agent) with the real binaries. Pods A and B
 * are network namespaces of their own whose state lives under a scratch
 * bpffs root; the agent runs in the test's own netns on the default socket
 * /run/sklookup/agent.sock, inside a private mount namespace whose /run is a
 * fresh tmpfs (the host's /run is never touched, and the client's fallback
 * to the default socket is what runs). Clients run inside a pod as uid and
 * gid 65534 with no capabilities and no bpffs mount, like a pod's container
 * with `capabilities: drop: [ALL]`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "agent_fixture.h"
#include "dispatch_fixture.h"
#include "monitor.h"
#include "netpod.h"
#include "record.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"
#include "testbin.h"
#include "testnet.h"

#define SOCK AGENTFIX_SOCK
#define SOCK_DIR AGENTFIX_SOCK_DIR
#define AGENT_LOG AGENTFIX_LOG
#define MAX_CHILDREN 4
#define MAX_FDS 32

/* Pod A serves web (IPv4 and IPv6) and api; pod B has a web of its own and
 * dns, a label A does not have. */
static const char pod_a_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"8000-8999\"]},"
	" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8::/64\","
	"  \"ports\": [\"80\"]},"
	" {\"label\": \"api\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/24\","
	"  \"ports\": [\"9000\"]}]";
static const char pod_b_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\"]},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"198.51.100.0/24\","
	"  \"ports\": [\"53\"]}]";

static char ctl_path[PATH_MAX], helper_path[PATH_MAX];
static int node_netns = -1; /* the test's own netns while a test runs in a pod's */

struct env {
	char root[PATH_MAX];
	struct netpod a, b, c;
	bool have_c;
	pid_t agent;
	struct child children[MAX_CHILDREN];
	int n_children;
	int fds[MAX_FDS];
	int n_fds;
	bool done; /* the test ran to its end; else teardown shows the agent's log (as
		      it does always with SKL_TEST_AGENT_LOG set) */
};

/* Outcome of one sklookup-ctl run. */
struct run {
	int status;
	char out[16384];
	char err[4096];
};

/* Removes from a direct status its release line (text) or member (JSON):
 * the agent's answer (protocol version 2) has no field for the release,
 * since the previous release's clients refuse unknown fields. */
static void drop_release(char *out)
{
	char *line = strstr(out, "made by ");
	char *end;

	if (!line)
		line = strstr(out, "\"release\":");
	if (!line)
		return;
	while (line > out && line[-1] != '\n')
		line--;
	end = strchr(line, '\n');
	end = end ? end + 1 : line + strlen(line);
	memmove(line, end, strlen(end) + 1);
}

/* ---- fixtures ---- */

/* The whole suite runs in a netns and a mount namespace of its own, the
 * latter with a private tmpfs on /run for the agent's socket. */
static int group_setup(void **state)
{
	(void)state;
	testbin_path(helper_path, sizeof(helper_path), "test/root/helper_lfd_server");
	if (access(helper_path, X_OK)) {
		fprintf(stderr, "build %s first\n", helper_path);
		return -1;
	}
	if (agentfix_group_setup())
		return -1;
	snprintf(ctl_path, sizeof(ctl_path), "%s", agentfix_ctl_path());
	return 0;
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->a.netns = e->b.netns = e->c.netns = -1;
	assert_int_equal(testnet_bpffs_tmpdir(e->root, sizeof(e->root)), 0);
	netpod_create(&e->a, e->root, "cidA", pod_a_bindings);
	netpod_create(&e->b, e->root, "cidB", pod_b_bindings);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	int ret;

	if (node_netns >= 0) {
		assert_int_equal(setns(node_netns, CLONE_NEWNET), 0);
		close(node_netns);
		node_netns = -1;
	}
	for (int i = 0; i < e->n_children; i++) {
		if (!e->children[i].pid)
			continue;
		kill(e->children[i].pid, SIGKILL);
		child_finish(&e->children[i], NULL, 0, NULL, 0, 1000);
	}
	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
	}
	if (!e->done || getenv("SKL_TEST_AGENT_LOG"))
		agentfix_show_log();
	for (int i = 0; i < e->n_fds; i++)
		close(e->fds[i]);
	netpod_destroy(&e->a);
	netpod_destroy(&e->b);
	if (e->have_c)
		netpod_destroy(&e->c);
	ret = testnet_rm_rf_bpffs(e->root);
	if (testnet_run("rm -rf " SOCK_DIR " " AGENT_LOG))
		ret = -1;
	free(e);
	return ret;
}

static int keep(struct env *e, int fd)
{
	assert_true(fd >= 0);
	assert_true(e->n_fds < MAX_FDS);
	e->fds[e->n_fds++] = fd;
	return fd;
}

static struct child *track(struct env *e)
{
	assert_true(e->n_children < MAX_CHILDREN);
	return &e->children[e->n_children++];
}

/* Splits a command line at spaces into argv after ctl_path. */
static void split(char *line, char **argv, int max)
{
	int n = 0;

	argv[n++] = ctl_path;
	for (char *tok = strtok(line, " "); tok && n < max - 1; tok = strtok(NULL, " "))
		argv[n++] = tok;
	argv[n] = NULL;
}

static void run_ctl(const struct child_opts *o, struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Runs sklookup-ctl with a printf-formatted command line. */
static void run_ctl(const struct child_opts *o, struct run *r, const char *fmt, ...)
{
	char line[2048], *argv[40];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	split(line, argv, 40);
	r->status = child_run(o, r->out, sizeof(r->out), r->err, sizeof(r->err), argv);
}

static void spawn_ctl(struct child *c, const struct child_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void spawn_ctl(struct child *c, const struct child_opts *o, const char *fmt, ...)
{
	char line[2048], *argv[40];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	split(line, argv, 40);
	child_spawn(c, o, argv);
}

static bool agent_answers(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = SOCK };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && !connect(fd, (struct sockaddr *)&addr, sizeof(addr));

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Starts the agent in the test's netns, its stdout and stderr appended to
 * AGENT_LOG, and waits until it answers. */
static void agent_start(struct env *e, const char *grace, const char *interval)
{
	char *argv[] = { ctl_path,    (char *)"--bpffs-root", e->root,  (char *)"agent",
			 (char *)"--socket", (char *)SOCK,    (char *)"--grace", (char *)grace,
			 (char *)"--interval", (char *)interval, NULL };
	uint64_t deadline = agentfix_now_ms() + 5000;

	fflush(NULL);
	e->agent = fork();
	assert_true(e->agent >= 0);
	if (e->agent == 0) {
		int log = open(AGENT_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
		    dup2(log, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	while (!agent_answers()) {
		if (agentfix_now_ms() > deadline || waitpid(e->agent, NULL, WNOHANG) == e->agent) {
			e->agent = 0;
			fail_msg("the agent did not start");
		}
		agentfix_sleep_ms(20);
	}
}

/* Stops the agent with sig; returns its exit status (-1: killed). */
static int agent_stop(struct env *e, int sig)
{
	int status;

	assert_true(e->agent > 0);
	status = agentfix_stop(e->agent, sig, 5000, NULL);
	e->agent = 0;
	return status;
}

static void expect_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

/* A pod's container as the issue describes it: no privileges at all. */
static const struct child_opts *in_pod_unprivileged(const struct netpod *p, int fd3)
{
	static struct child_opts o;

	o = (struct child_opts){ .pod = p, .unprivileged = true, .fd3 = fd3 };
	return &o;
}

static const struct child_opts *in_pod_as_root(const struct netpod *p, int fd3)
{
	static struct child_opts o;

	o = (struct child_opts){ .pod = p, .fd3 = fd3 };
	return &o;
}

/* The process really has nothing: ids 65534, every capability set empty,
 * no_new_privs, no bpffs among its mounts, and the agent's directory
 * mounted read-only. */
static void expect_unprivileged(pid_t pid)
{
	static const char *const want[] = {
		"Uid:\t65534\t65534\t65534\t65534", "Gid:\t65534\t65534\t65534\t65534",
		"CapInh:\t0000000000000000",        "CapPrm:\t0000000000000000",
		"CapEff:\t0000000000000000",        "CapBnd:\t0000000000000000",
		"CapAmb:\t0000000000000000",        "NoNewPrivs:\t1",
	};
	char path[64], text[8192] = "";
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		expect_contains(text, want[i]);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	assert_null(strstr(text, " - bpf "));
	expect_contains(text, " " SOCK_DIR " ro,"); /* the agent's directory, read-only */
}

static void register_in(struct netpod *p, const char *label, int fd)
{
	struct skl_err err = { 0 };
	uint32_t id;

	if (skl_label_lookup(&p->d, label, &id, &err) || skl_socket_register(&p->d, id, fd, &err))
		fail_msg("register %s: %s", label, err.msg);
}

static void expect_no_sockets(const struct netpod *p, const char *label)
{
	for (int slot = 0; slot < SKL_SOCKET_SLOTS; slot++)
		assert_int_equal(netpod_slot_cookie(p, label, slot), 0);
}

/* ---- the raw protocol, as a client that does not play by the rules ---- */

static int raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = SOCK };
	struct timeval timeout = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Reads an answer: its exit status, its error in r->err, output in r->out;
 * -1 when the agent closed without one. */
static int raw_answer(int fd, struct run *r)
{
	char *buf = malloc(SKL_AGENT_MAX_RECORD + 1);
	size_t used = 0;

	assert_non_null(buf);
	r->out[0] = r->err[0] = 0;
	r->status = -1;
	for (;;) {
		struct skl_agent_answer a;
		struct skl_err err = { 0 };
		size_t n_fds;
		int fds[SKL_AGENT_MAX_FDS];

		if (skl_agent_recv(fd, buf, SKL_AGENT_MAX_RECORD + 1, fds, SKL_AGENT_MAX_FDS,
				   &n_fds, 0, &err) <= 0)
			break;
		assert_int_equal(n_fds, 0);
		assert_int_equal(skl_agent_answer_decode(buf, &a, &err), 0);
		if (a.done) {
			r->status = a.exit_status;
			if (a.exit_status)
				snprintf(r->err, sizeof(r->err), "%s", err.msg);
			break;
		}
		assert_true(used + a.out_len < sizeof(r->out));
		memcpy(r->out + used, a.out, a.out_len + 1);
		used += a.out_len;
		skl_agent_answer_free(&a);
	}
	free(buf);
	return r->status;
}

/* Sends one record of any bytes with any number of fds, more than the
 * protocol allows. */
static void raw_send(int conn, const char *text, size_t len, const int *fds, size_t n_fds)
{
	assert_int_equal(agentfix_raw_send(conn, text, len, fds, n_fds), 0);
}

/* Sends one record on a new connection and reads the answer. */
static int raw_request(const char *text, size_t len, const int *fds, size_t n_fds,
		       struct run *r)
{
	int conn = raw_connect(), status;

	raw_send(conn, text, len, fds, n_fds);
	status = raw_answer(conn, r);
	close(conn);
	return status;
}

static int raw_text(const char *text, const int *fds, size_t n_fds, struct run *r)
{
	return raw_request(text, strlen(text), fds, n_fds, r);
}

/* ---- tests ---- */

/* The case: a process without any privilege inside pod A starts
 * its server under "sklookup-ctl exec" (which finds no bpffs and uses the
 * agent's default socket), and traffic to the whole range reaches it; pod
 * B is untouched. */
static void test_exec_unprivileged_serves_traffic(void **state)
{
	struct env *e = *state;
	struct child_opts o = { .pod = &e->a, .unprivileged = true, .fd3 = -1,
				.stdin_pipe = true };
	struct child *srv = track(e);
	char line[256];

	agent_start(e, "600", "60");
	spawn_ctl(srv, &o, "exec --label web --listen tcp://[::]:8080 -- %s 30", helper_path);
	assert_true(child_read_line(srv, line, sizeof(line), 10000));
	assert_string_equal(line, "ready 1\n");
	expect_unprivileged(srv->pid);

	assert_int_equal(netpod_fetch(&e->a, "192.0.2.7", 80, line, sizeof(line)), 0);
	assert_string_equal(line, "web 192.0.2.7:80\n");
	assert_int_equal(netpod_fetch(&e->a, "192.0.2.200", 8123, line, sizeof(line)), 0);
	assert_string_equal(line, "web 192.0.2.200:8123\n");
	assert_int_equal(netpod_fetch(&e->a, "2001:db8::5", 80, line, sizeof(line)), 0);
	assert_string_equal(line, "web [2001:db8::5]:80\n");
	assert_true(agentfix_log_has("uid 65534: register web: ok (" ));
	assert_true(agentfix_log_has(e->a.dir));

	/* Pod B's web got nothing: its traffic is still refused. */
	expect_no_sockets(&e->b, "web");
	assert_int_equal(netpod_fetch(&e->b, "192.0.2.7", 80, line, sizeof(line)), -1);

	/* The socket belongs to the server: when it exits, the label is empty. */
	assert_int_equal(child_finish(srv, NULL, 0, NULL, 0, 5000), 0);
	expect_no_sockets(&e->a, "web");
	e->done = true;
}

/* Gives pod p a record naming it, as ADD writes one from containerd's
 * CNI_ARGS (status reads the name from there). */
static void name_pod(const struct netpod *p, const char *ns, const char *name)
{
	struct skl_record rec = { .netns_ino = 1 };
	struct skl_err err = { 0 };

	snprintf(rec.state_dir, sizeof(rec.state_dir), "%s", p->dir);
	snprintf(rec.pod.ns, sizeof(rec.pod.ns), "%s", ns);
	snprintf(rec.pod.name, sizeof(rec.pod.name), "%s", name);
	snprintf(rec.pod.uid, sizeof(rec.pod.uid), "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
	if (skl_record_save(&rec, p->dir, &err))
		fail_msg("record: %s", err.msg);
}

struct same_case {
	const char *args;
	int fd3; /* 0: none, 1: dual-stack listener, 2: bound UDP, 3: TCP not listening */
	bool reregister; /* put the listener back before each run */
	int status;
};

/* Every outcome through the agent is the direct path's, byte for byte:
 * stdout, stderr and exit status (direct: root in the pod with bpffs;
 * agent: no privileges). */
static void test_same_output_as_direct(void **state)
{
	static const struct same_case cases[] = {
		{ "register web", 1, false, 0 },
		{ "--json register web", 1, false, 0 },
		{ "register web", 2, false, 1 },
		{ "register web", 3, false, 1 },
		{ "register nosuch", 1, false, 1 },
		{ "register web --fd 9", 0, false, 1 },
		{ "register", 0, false, 2 },
		{ "unregister web", 0, true, 0 },
		{ "--json unregister web --protocol tcp", 0, true, 0 },
		{ "unregister web --protocol udp", 0, true, 0 },
		{ "unregister nosuch", 0, false, 1 },
		{ "unregister web --protocol sctp", 0, false, 2 },
		{ "status", 0, true, 0 },
		{ "--json status", 0, true, 0 },
		{ "status extra", 0, false, 2 },
		{ "exec --label nosuch --listen tcp://[::]:8081 -- /bin/true", 0, false, 1 },
		{ "exec --label web -- /bin/true", 0, false, 2 },
	};
	struct env *e = *state;
	int fds[4] = { -1 };
	struct run direct, agent;

	fds[1] = keep(e, netpod_server(&e->a, SOCK_STREAM, "::", 8080, false));
	fds[2] = keep(e, netpod_server(&e->a, SOCK_DGRAM, "0.0.0.0", 5353, false));
	fds[3] = keep(e, netpod_socket(&e->a, AF_INET, SOCK_STREAM));
	name_pod(&e->a, "shop", "cart-1");
	agent_start(e, "600", "60");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct same_case *c = &cases[i];

		if (c->reregister)
			register_in(&e->a, "web", fds[1]);
		run_ctl(in_pod_as_root(&e->a, fds[c->fd3]), &direct, "--bpffs-root %s %s", e->root,
			c->args);
		drop_release(direct.out);
		if (c->reregister)
			register_in(&e->a, "web", fds[1]);
		run_ctl(in_pod_unprivileged(&e->a, fds[c->fd3]), &agent, "--agent %s %s", SOCK,
			c->args);
		if (direct.status != c->status || agent.status != c->status ||
		    strcmp(direct.out, agent.out) || strcmp(direct.err, agent.err))
			fail_msg("%s: direct exit %d, stdout\n%s\nstderr\n%s\nagent exit %d, "
				 "stdout\n%s\nstderr\n%s",
				 c->args, direct.status, direct.out, direct.err, agent.status,
				 agent.out, agent.err);
	}
	/* The pod's name came through the agent too. */
	run_ctl(in_pod_unprivileged(&e->a, -1), &agent, "--agent %s status", SOCK);
	expect_contains(agent.out, "pod shop/cart-1 (uid 0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9)\n");
	/* A command the agent does not run is a usage error. */
	run_ctl(in_pod_unprivileged(&e->a, -1), &agent, "--agent %s trace tcp 192.0.2.1:80", SOCK);
	assert_int_equal(agent.status, 2);
	expect_contains(agent.err, "does not work through the node agent");
	e->done = true;
}

/* From pod A nothing reaches pod B: no option or field names a pod, a
 * label only B has is unknown, and B's own socket passed through A is
 * refused. */
static void test_pod_b_unreachable(void **state)
{
	static const char *const naming_b[] = {
		"{\"version\": 2, \"verb\": \"status\", \"container\": \"cidB\"}",
		"{\"version\": 2, \"verb\": \"status\", \"netns\": \"/proc/1/ns/net\"}",
		"{\"version\": 2, \"verb\": \"unregister\", \"label\": \"web\", \"stateDir\": "
		"\"/sys/fs/bpf/sklookup/net/cidB/eth0\"}",
		"{\"version\": 2, \"verb\": \"register\", \"label\": \"web\", \"sockets\": "
		"[{\"fd\": 3, \"name\": \"fd 3\"}], \"bpffsRoot\": \"/tmp\"}",
	};
	struct env *e = *state;
	int udp_a = keep(e, netpod_server(&e->a, SOCK_DGRAM, "0.0.0.0", 5353, false));
	int web_a = keep(e, netpod_server(&e->a, SOCK_STREAM, "0.0.0.0", 8080, false));
	int web_b = keep(e, netpod_server(&e->b, SOCK_STREAM, "0.0.0.0", 8080, false));
	int proof_a = keep(e, netpod_socket(&e->a, AF_INET, SOCK_DGRAM));
	struct run r;

	agent_start(e, "600", "60");
	run_ctl(in_pod_unprivileged(&e->a, udp_a), &r, "--agent %s register dns", SOCK);
	assert_int_equal(r.status, 1);
	expect_contains(r.err, "label \"dns\" is not used by any binding of this pod");
	expect_no_sockets(&e->b, "dns");

	run_ctl(in_pod_unprivileged(&e->a, web_a), &r, "--agent %s --container cidB register web",
		SOCK);
	assert_int_equal(r.status, 2);
	run_ctl(in_pod_unprivileged(&e->a, -1), &r, "--agent %s --netns /proc/1/ns/net status",
		SOCK);
	assert_int_equal(r.status, 2);
	run_ctl(in_pod_unprivileged(&e->a, -1), &r, "--agent %s --network net --ifname eth0 status",
		SOCK);
	assert_int_equal(r.status, 2);
	for (size_t i = 0; i < sizeof(naming_b) / sizeof(naming_b[0]); i++) {
		int fds[2] = { proof_a, web_a };
		size_t n = strstr(naming_b[i], "\"register\"") ? 2 : 1;

		assert_int_equal(raw_text(naming_b[i], fds, n, &r), 1);
		expect_contains(r.err, "unknown field");
	}

	/* B's own listener, handed to a process in A, is not A's to register. */
	run_ctl(in_pod_unprivileged(&e->a, web_b), &r, "--agent %s register web", SOCK);
	assert_int_equal(r.status, 1);
	expect_contains(r.err, "belongs to another network namespace than the pod's");
	expect_no_sockets(&e->a, "web");
	expect_no_sockets(&e->b, "web");

	/* A's own listener lands in A's map and nowhere else. */
	run_ctl(in_pod_unprivileged(&e->a, web_a), &r, "--agent %s register web", SOCK);
	assert_int_equal(r.status, 0);
	assert_int_equal(netpod_slot_cookie(&e->a, "web", 0), fixture_cookie(web_a));
	expect_no_sockets(&e->b, "web");
	run_ctl(in_pod_unprivileged(&e->a, -1), &r, "--agent %s --json status", SOCK);
	assert_int_equal(r.status, 0);
	expect_contains(r.out, e->a.dir);
	assert_null(strstr(r.out, "cidB"));
	e->done = true;
}

/* A socket of the host's netns, inherited by a process in pod A, is
 * refused: the pod is the one of the process's own fresh socket. */
static void test_host_socket_refused(void **state)
{
	struct env *e = *state;
	int host = keep(e, fixture_server(SOCK_STREAM, "127.0.0.1", 0, false));
	struct run r;

	agent_start(e, "600", "60");
	run_ctl(in_pod_unprivileged(&e->a, host), &r, "--agent %s register web", SOCK);
	assert_int_equal(r.status, 1);
	expect_contains(r.err, "fd 3: the socket belongs to another network namespace than the "
			       "pod's");
	expect_no_sockets(&e->a, "web");

	/* From the host netns itself there is no pod at all. */
	run_ctl(&(struct child_opts){ .fd3 = host }, &r, "--agent %s register web", SOCK);
	assert_int_equal(r.status, 3);
	expect_contains(r.err, "no sklookup dispatcher for this network namespace");
	e->done = true;
}

/* Connects to pod A's range for run_ms, counting what the server answered
 * and what failed; reports "ok N failed M" on the pipe. */
static pid_t start_traffic(struct env *e, int run_ms, int *report)
{
	int pipefd[2];
	pid_t pid;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t end = agentfix_now_ms() + (uint64_t)run_ms;
		unsigned ok = 0, failed = 0;
		char line[128], want[64], addr[32];

		for (unsigned i = 0; agentfix_now_ms() < end; i++) {
			snprintf(addr, sizeof(addr), "192.0.2.%u", 1 + i % 250);
			snprintf(want, sizeof(want), "web %s:%u\n", addr, 8000 + i % 1000);
			if (!netpod_fetch(&e->a, addr, (uint16_t)(8000 + i % 1000), line,
					  sizeof(line)) &&
			    !strcmp(line, want))
				ok++;
			else
				failed++;
		}
		dprintf(pipefd[1], "ok %u failed %u\n", ok, failed);
		_exit(0);
	}
	close(pipefd[1]);
	*report = pipefd[0];
	return pid;
}

/* The agent is not on the data path: killed with SIGKILL in the middle of
 * traffic, not one connection fails; restarted (over the socket file the
 * killed one left), it finds the registration in place and serves again. */
static void test_agent_restart_keeps_traffic(void **state)
{
	struct env *e = *state;
	struct child_opts o = { .pod = &e->a, .unprivileged = true, .fd3 = -1,
				.stdin_pipe = true };
	struct child *srv = track(e);
	int api = keep(e, netpod_server(&e->a, SOCK_STREAM, "0.0.0.0", 9000, false));
	unsigned ok = 0, failed = 0;
	char line[256], cookie[32];
	struct run r;
	int report, status;
	pid_t traffic;
	FILE *f;

	agent_start(e, "600", "60");
	spawn_ctl(srv, &o, "exec --label web --listen tcp://0.0.0.0:8080 -- %s 60", helper_path);
	assert_true(child_read_line(srv, line, sizeof(line), 10000));
	assert_string_equal(line, "ready 1\n");
	snprintf(cookie, sizeof(cookie), "%llu",
		 (unsigned long long)netpod_slot_cookie(&e->a, "web", 0));

	traffic = start_traffic(e, 3000, &report);
	agentfix_sleep_ms(700);
	assert_int_equal(agent_stop(e, SIGKILL), -1);
	agentfix_sleep_ms(500);
	assert_int_equal(access(SOCK, F_OK), 0); /* left behind by the killed agent */
	agent_start(e, "600", "60");

	/* Nothing was lost, and new requests work. */
	run_ctl(in_pod_unprivileged(&e->a, -1), &r, "--json status");
	assert_int_equal(r.status, 0);
	expect_contains(r.out, cookie);
	run_ctl(in_pod_unprivileged(&e->a, api), &r, "register api");
	assert_int_equal(r.status, 0);
	assert_int_equal(netpod_slot_cookie(&e->a, "api", 0), fixture_cookie(api));

	assert_int_equal(waitpid(traffic, &status, 0), traffic);
	f = fdopen(report, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "ok %u failed %u", &ok, &failed), 2);
	fclose(f);
	print_message("traffic while the agent was killed and restarted: %u ok, %u failed\n", ok,
		      failed);
	assert_int_equal(failed, 0);
	assert_true(ok >= 50);
	assert_int_equal(child_finish(srv, NULL, 0, NULL, 0, 5000), 0);
	e->done = true;
}

/* The state of a pod whose netns is gone and that no DEL removed goes once
 * the grace period has passed, and only then; live pods stay. */
static void test_stale_state_reaped(void **state)
{
	struct env *e = *state;
	char container[PATH_MAX];
	uint64_t deadline, ino = 1;

	netpod_create(&e->c, e->root, "cidC", pod_b_bindings);
	e->have_c = true;
	snprintf(container, sizeof(container), "%.3000s/net/cidC", e->root);
	agent_start(e, "3600", "1");
	netpod_release(&e->c);
	for (deadline = agentfix_now_ms() + 10000; ino && agentfix_now_ms() < deadline; agentfix_sleep_ms(50))
		assert_int_equal(skl_state_link_netns(e->c.dir, &ino, NULL), 0);
	assert_int_equal(ino, 0);

	/* Within the grace period it stays. */
	agentfix_sleep_ms(2500);
	assert_int_equal(access(e->c.dir, F_OK), 0);
	assert_int_equal(agent_stop(e, SIGTERM), 0);

	agent_start(e, "1", "1");
	for (deadline = agentfix_now_ms() + 10000; !access(container, F_OK) && agentfix_now_ms() < deadline;)
		agentfix_sleep_ms(100);
	assert_int_not_equal(access(container, F_OK), 0);
	assert_int_equal(access(e->a.dir, F_OK), 0);
	assert_int_equal(access(e->b.dir, F_OK), 0);
	assert_true(agentfix_log_has("reconcile: removed"));
	assert_true(agentfix_log_has(e->c.dir));
	e->done = true;
}

/* Clients that do not play by the rules get a clear refusal, are cut off,
 * or are held to their share; the agent keeps serving the others. */
static void test_hostile_clients(void **state)
{
	struct env *e = *state;
	int proof = keep(e, netpod_socket(&e->a, AF_INET, SOCK_DGRAM));
	int six[6] = { proof, proof, proof, proof, proof, proof }, pipefd[2], idle[5];
	const char *status_req = "{\"version\": 2, \"verb\": \"status\"}";
	char *big = malloc(5000);
	int refused = 0, served = 0;
	uint64_t start;
	struct run r;
	char byte;

	assert_non_null(big);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	keep(e, pipefd[0]);
	keep(e, pipefd[1]);
	agent_start(e, "600", "60");
	/* The client runs in pod A, as its proof says (the agent refuses a
	 * proof from another netns than the client's). */
	node_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(node_netns >= 0);
	assert_int_equal(setns(e->a.netns, CLONE_NEWNET), 0);

	assert_int_equal(raw_text("not json", &proof, 1, &r), 1);
	expect_contains(r.err, "not a JSON object");
	assert_int_equal(raw_text("{\"version\": 1, \"verb\": \"status\"}", &proof, 1, &r), 1);
	expect_contains(r.err, "protocol version");
	assert_int_equal(raw_text(status_req, NULL, 0, &r), 1);
	expect_contains(r.err, "status needs 1 fd (");
	assert_int_equal(raw_text(status_req, six, 6, &r), 1);
	expect_contains(r.err, "more than 5 fds");
	memset(big, ' ', 4999);
	big[0] = '{';
	big[4998] = '}';
	big[4999] = 0;
	assert_int_equal(raw_text(big, &proof, 1, &r), 1);
	expect_contains(r.err, "larger than 4096 bytes");
	free(big);
	assert_int_equal(raw_text(status_req, &pipefd[0], 1, &r), 1);
	expect_contains(r.err, "its first fd is not a socket");
	assert_int_equal(raw_text("{\"version\": 2, \"verb\": \"register\", \"label\": \"web\", "
				  "\"sockets\": [{\"fd\": 3, \"name\": \"fd 3\"}]}",
				  &proof, 1, &r),
			 1);
	expect_contains(r.err, "register needs 2 fds");
	assert_int_equal(raw_text("{\"version\": 2, \"verb\": \"unregister\", \"label\": \"-rf\"}",
				  &proof, 1, &r),
			 1);
	expect_contains(r.err, "\"label\" must be a label");
	assert_int_equal(raw_text("{\"version\": 2, \"verb\": \"register\", \"label\": \"web\", "
				  "\"sockets\": [{\"fd\": 3, \"name\": \"fd\\n3\"}]}",
				  six, 2, &r),
			 1);
	expect_contains(r.err, "printable");

	/* A client that connects and says nothing holds up no one, and is cut
	 * off after the deadline. */
	idle[0] = raw_connect();
	start = agentfix_now_ms();
	assert_int_equal(raw_text(status_req, &proof, 1, &r), 0);
	assert_true(agentfix_now_ms() - start < 1000);
	assert_int_equal(recv(idle[0], &byte, 1, 0), 0);
	assert_true(agentfix_now_ms() - start >= 4000 && agentfix_now_ms() - start < 9000);
	close(idle[0]);

	/* At most four connections at once per client. */
	for (int i = 0; i < 4; i++)
		idle[i] = raw_connect();
	idle[4] = raw_connect();
	assert_int_equal(raw_answer(idle[4], &r), 1);
	expect_contains(r.err, "busy with this client's other requests");
	for (int i = 0; i < 5; i++)
		close(idle[i]);

	/* A burst of requests from one pod is cut down to its share (a full
	 * bucket after the pause: 20 at once, then 10 a second)... */
	agentfix_sleep_ms(2100);
	for (int i = 0; i < 200 && !refused; i++) {
		if (raw_text(status_req, &proof, 1, &r) == 0)
			served++;
		else if (strstr(r.err, "too many requests from this pod"))
			refused++;
		else
			fail_msg("%s", r.err);
	}
	assert_true(served >= 20);
	assert_int_equal(refused, 1);
	/* ...and refilled a second later. */
	agentfix_sleep_ms(1100);
	assert_int_equal(raw_text(status_req, &proof, 1, &r), 0);
	assert_int_equal(kill(e->agent, 0), 0);
	e->done = true;
}

/* The command line, the socket's modes, a second agent, a stale or foreign
 * file at the path, and a clean stop on SIGTERM and SIGINT. */
static void test_agent_command(void **state)
{
	struct env *e = *state;
	struct child_opts host = { .fd3 = -1 };
	struct stat st;
	struct run r;
	int fd;

	run_ctl(&host, &r, "agent --help");
	assert_int_equal(r.status, 0);
	expect_contains(r.out, "usage: sklookup-ctl [--bpffs-root DIR] agent");
	run_ctl(&host, &r, "agent --grace");
	assert_int_equal(r.status, 2);
	run_ctl(&host, &r, "agent --interval 0");
	assert_int_equal(r.status, 2);
	run_ctl(&host, &r, "--bpffs-root %s agent --socket relative.sock", e->root);
	assert_int_equal(r.status, 2);
	run_ctl(&host, &r, "--container x agent");
	assert_int_equal(r.status, 2);

	agent_start(e, "600", "60");
	assert_int_equal(stat(SOCK_DIR, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(SOCK, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
	run_ctl(&host, &r, "--bpffs-root %s agent --socket %s", e->root, SOCK);
	assert_int_equal(r.status, 1);
	expect_contains(r.err, "another agent is listening on " SOCK);
	assert_int_equal(agent_stop(e, SIGTERM), 0);
	assert_int_not_equal(access(SOCK, F_OK), 0);
	assert_true(agentfix_log_has("stopping"));

	agent_start(e, "600", "60");
	assert_int_equal(agent_stop(e, SIGINT), 0);
	assert_int_not_equal(access(SOCK, F_OK), 0);

	fd = open(SOCK, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	run_ctl(&host, &r, "--bpffs-root %s agent --socket %s", e->root, SOCK);
	assert_int_equal(r.status, 1);
	expect_contains(r.err, "exists and is not a socket");
	unlink(SOCK);
	e->done = true;
}

/* ---- monitor through the agent ---- */

/* The ring in pod p's monitor slot, 0 when empty. */
static uint32_t slot_ring(const struct netpod *p, pid_t *owner)
{
	uint32_t id = 0;
	pid_t who = 0;

	assert_int_equal(skl_monitor_slot(p->d.map_fd[SKL_MAP_MONITOR], &id, &who), 0);
	if (owner)
		*owner = who;
	return id;
}

static void wait_slot(const struct netpod *p, bool full, int timeout_ms)
{
	uint64_t deadline = agentfix_now_ms() + (uint64_t)timeout_ms;

	while ((slot_ring(p, NULL) != 0) != full) {
		if (agentfix_now_ms() > deadline)
			fail_msg("pod %s: the monitor slot is still %s", p->dir,
				 full ? "empty" : "full");
		agentfix_sleep_ms(20);
	}
}

/* fixture_deliver from inside pod p. */
static int deliver_in(const struct netpod *p, int type, const char *addr, uint16_t port,
		      int server)
{
	int saved = agentfix_enter_netns(p->netns), hit;

	assert_true(saved >= 0);
	hit = fixture_deliver(type, addr, port, server >= 0 ? &server : NULL, server >= 0);
	agentfix_leave_netns(saved);
	return hit;
}

static cJSON *read_json_line(struct child *c)
{
	char line[2048];
	cJSON *e;

	if (!child_read_line(c, line, sizeof(line), 3000))
		fail_msg("the monitor printed nothing");
	e = cJSON_Parse(line);
	if (!e)
		fail_msg("not JSON: %s", line);
	return e;
}

static const char *jstr(const cJSON *e, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, key));

	return v ? v : "";
}

/* A process with no privileges in pod A sees its own pod's real decisions
 * through the agent (label names and socket cookies included), nothing of
 * pod B's; it runs again at once after it ended; a ring nobody reads any
 * more is taken out by the reconcile rounds; a node-side monitor is told
 * the pod is watched. */
static void test_monitor_through_agent(void **state)
{
	struct env *e = *state;
	struct child *mon = track(e);
	int web = keep(e, netpod_server(&e->a, SOCK_STREAM, "127.0.0.1", 0, false));
	int web_b = keep(e, netpod_server(&e->b, SOCK_STREAM, "127.0.0.1", 0, false));
	char out[4096], err[4096];
	uint32_t first;
	cJSON *ev[2];
	struct run r;

	register_in(&e->a, "web", web);
	register_in(&e->b, "web", web_b);
	agent_start(e, "3600", "1");
	spawn_ctl(mon, in_pod_unprivileged(&e->a, -1), "--agent %s monitor --json --count 2", SOCK);
	wait_slot(&e->a, true, 5000);
	assert_int_equal(slot_ring(&e->b, NULL), 0);
	assert_int_equal(deliver_in(&e->b, SOCK_STREAM, "192.0.2.9", 80, web_b), 0); /* not A's */
	assert_int_equal(deliver_in(&e->a, SOCK_STREAM, "192.0.2.7", 80, web), 0);
	assert_int_equal(deliver_in(&e->a, SOCK_STREAM, "192.0.2.7", 81, -1), -1);
	ev[0] = read_json_line(mon);
	ev[1] = read_json_line(mon);
	assert_int_equal(child_finish(mon, out, sizeof(out), err, sizeof(err), 5000), 0);
	assert_string_equal(jstr(ev[0], "destination"), "192.0.2.7");
	assert_string_equal(jstr(ev[0], "label"), "web");
	assert_string_equal(jstr(ev[0], "reason"), "assigned");
	assert_true(cJSON_GetObjectItemCaseSensitive(ev[0], "socket_cookie")->valuedouble ==
		    (double)fixture_cookie(web));
	assert_string_equal(jstr(ev[1], "reason"), "no-binding");
	assert_true(cJSON_GetObjectItemCaseSensitive(ev[1], "destination_port")->valueint == 81);
	cJSON_Delete(ev[0]);
	cJSON_Delete(ev[1]);
	assert_true(agentfix_log_has("uid 65534: monitor: ok ("));

	/* The ring stays until unread; the pod's next monitor takes over. */
	first = slot_ring(&e->a, NULL);
	assert_true(first != 0);
	run_ctl(in_pod_unprivileged(&e->a, -1), &r, "--agent %s monitor --json --duration 1", SOCK);
	assert_int_equal(r.status, 0);
	assert_true(slot_ring(&e->a, NULL) != first);

	/* On the node, the pod is watched (the agent's ring). */
	run_ctl(&(struct child_opts){ .fd3 = -1 }, &r,
		"--bpffs-root %s --container cidA monitor --duration 1", e->root);
	assert_int_equal(r.status, 1);
	expect_contains(r.err, "another monitor");

	/* Nobody reads it: events pile up, and a reconcile round takes it out. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(deliver_in(&e->a, SOCK_STREAM, "192.0.2.7", 80, web), 0);
	wait_slot(&e->a, false, 5000);
	/* Logged right after the slot was emptied. */
	for (int i = 0; i < 100 && !agentfix_log_has("took the monitor ring"); i++)
		agentfix_sleep_ms(20);
	assert_true(agentfix_log_has("took the monitor ring"));
	assert_int_equal(agent_stop(e, SIGTERM), 0);
	e->done = true;
}

/* Requests a client crafts: fields monitor does not take, fds it does not
 * take; and a client that asks and leaves without reading leaves no ring
 * that stays in use. */
static void test_monitor_hostile_requests(void **state)
{
	struct env *e = *state;
	static const char *const bad[] = {
		"{\"version\": 3, \"verb\": \"monitor\", \"label\": \"web\"}",
		"{\"version\": 3, \"verb\": \"monitor\", \"sockets\": []}",
		"{\"version\": 3, \"verb\": \"monitor\", \"verb\": \"monitor\"}",
		"{\"version\": 2, \"verb\": \"monitor\"}",
	};
	struct agentfix_answer *a = calloc(1, sizeof(*a));
	int web = keep(e, netpod_server(&e->a, SOCK_STREAM, "127.0.0.1", 0, false));
	int saved, proof[2], conn;
	const char *ok = "{\"version\": 3, \"verb\": \"monitor\"}";

	assert_non_null(a);
	register_in(&e->a, "web", web);
	agent_start(e, "3600", "1");
	saved = agentfix_enter_netns(e->a.netns);
	assert_true(saved >= 0);
	proof[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	proof[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(agentfix_raw_request(bad[i], proof, 1, a), 1);
		expect_contains(a->err, "bad request");
	}
	assert_int_equal(agentfix_raw_request(ok, proof, 2, a), 1);
	expect_contains(a->err, "needs 1 fd");
	/* Asks, and goes before the answer. */
	conn = agentfix_raw_connect(2000);
	assert_true(conn >= 0);
	assert_int_equal(agentfix_raw_send(conn, ok, strlen(ok), proof, 1), 0);
	close(conn);
	close(proof[0]);
	close(proof[1]);
	agentfix_leave_netns(saved);
	/* Whether the answer went out or not, the slot is free soon: at once
	 * when the send failed, else once the unread ring holds events. */
	for (int i = 0; i < 20 && slot_ring(&e->a, NULL); i++) {
		assert_int_equal(deliver_in(&e->a, SOCK_STREAM, "192.0.2.7", 80, web), 0);
		agentfix_sleep_ms(250);
	}
	assert_int_equal(slot_ring(&e->a, NULL), 0);
	free(a);
	assert_int_equal(agent_stop(e, SIGTERM), 0);
	e->done = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec_unprivileged_serves_traffic, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_same_output_as_direct, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_pod_b_unreachable, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_host_socket_refused, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_agent_restart_keeps_traffic, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_stale_state_reaped, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_clients, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_agent_command, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_monitor_through_agent, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_monitor_hostile_requests, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
