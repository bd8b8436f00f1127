/*
 * The node agent against hostile clients, with the real agent and real
 * pods (network namespaces with a dispatcher each, as ADD leaves them).
 * Pod A attacks; pod B is a well-behaved pod whose register, from an
 * unprivileged sklookup-ctl inside it, must be answered within a second
 * whatever A does. One test per finding of the security review, then all
 * the attacks at once with B's latency measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "agent_fixture.h"
#include "netpod.h"
#include "pod_teardown.h"
#include "testnet.h"

#define LATENCY_LIMIT_MS 1000
#define LINGER_S 3600
#define ATTACK_PORT 7070

static const char pod_a_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\"]}]";
static const char pod_b_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\"]}]";
static const char status_req[] = "{\"version\": 2, \"verb\": \"status\"}";

struct env {
	char root[PATH_MAX];
	struct netpod a, b;
	pid_t agent;
	pid_t traced; /* the agent under strace (e->agent is strace): not our child */
	pid_t attacker;
	int web_b;   /* pod B's listener, registered by its own sklookup-ctl */
	int listen_a; /* pod A's listener that never accepts: lingering peers */
	bool done;
};

static int group_setup(void **state)
{
	(void)state;
	return agentfix_group_setup();
}

/* Inside pod p, a TCP listener on 127.0.0.1:port that is never accepted
 * from, with a small receive buffer: a peer's data stays unsent. */
static int stuck_listener(const struct netpod *p, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int saved = agentfix_enter_netns(p->netns), one = 1, small = 4096;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	agentfix_leave_netns(saved);
	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1024), 0);
	return fd;
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->a.netns = e->b.netns = -1;
	e->web_b = e->listen_a = -1;
	assert_int_equal(testnet_bpffs_tmpdir(e->root, sizeof(e->root)), 0);
	netpod_create(&e->a, e->root, "cidA", pod_a_bindings);
	netpod_create(&e->b, e->root, "cidB", pod_b_bindings);
	e->web_b = netpod_server(&e->b, SOCK_STREAM, "0.0.0.0", 8080, false);
	e->listen_a = stuck_listener(&e->a, ATTACK_PORT);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	int ret;

	if (e->attacker > 0) {
		kill(e->attacker, SIGKILL);
		waitpid(e->attacker, NULL, 0);
	}
	if (e->traced > 0)
		kill(e->traced, SIGKILL); /* strace would leave it running */
	if (e->agent > 0)
		agentfix_stop(e->agent, SIGKILL, 5000, NULL);
	if (!e->done || getenv("SKL_TEST_AGENT_LOG"))
		agentfix_show_log();
	if (e->web_b >= 0)
		close(e->web_b);
	if (e->listen_a >= 0)
		close(e->listen_a);
	netpod_destroy(&e->a);
	netpod_destroy(&e->b);
	ret = testnet_rm_rf_bpffs(e->root);
	agentfix_clean();
	free(e);
	return ret;
}

/* Pod B's own sklookup-ctl, unprivileged, registers its listener through
 * the agent; returns how long it took (ms), failing the test unless it
 * succeeded. */
static uint64_t pod_b_register(struct env *e)
{
	char *argv[] = { (char *)agentfix_ctl_path(), (char *)"--agent", (char *)AGENTFIX_SOCK,
			 (char *)"register", (char *)"web", NULL };
	struct child_opts o = { .pod = &e->b, .unprivileged = true, .fd3 = e->web_b };
	char out[4096], err[4096];
	uint64_t start = agentfix_now_ms();
	int status = child_run(&o, out, sizeof(out), err, sizeof(err), argv);
	uint64_t took = agentfix_now_ms() - start;

	if (status != 0)
		fail_msg("pod B's register failed after %llu ms (exit %d): %s",
			 (unsigned long long)took, status, err);
	return took;
}

static void expect_pod_b_served(struct env *e)
{
	uint64_t took = pod_b_register(e);

	if (took >= LATENCY_LIMIT_MS)
		fail_msg("pod B's register took %llu ms", (unsigned long long)took);
}

/* A TCP socket in pod A with SO_LINGER of an hour and data its peer (the
 * stuck listener) never takes: its last close waits the hour. */
static int linger_socket(const struct netpod *a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(ATTACK_PORT) };
	struct linger l = { .l_onoff = 1, .l_linger = LINGER_S };
	int saved = agentfix_enter_netns(a->netns), small = 4096;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char junk[4096] = { 0 };
	struct pollfd p;

	agentfix_leave_netns(saved);
	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 1000 && send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0; i++)
		;
	/* Let the window close, then fill what opened. */
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	while (poll(&p, 1, 50) > 0 && send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return fd;
}

/* Runs fn in a child process inside pod A (the agent knows a client by its
 * process's netns) and returns its pid. */
static pid_t in_pod_a(struct env *e, int (*fn)(struct env *e, void *arg), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (agentfix_enter_netns(e->a.netns) < 0)
			_exit(120);
		_exit(fn(e, arg));
	}
	return pid;
}

static int wait_child(pid_t pid, int timeout_ms)
{
	uint64_t deadline = agentfix_now_ms() + (uint64_t)timeout_ms;
	int status = 0;
	pid_t got;

	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && agentfix_now_ms() < deadline)
		agentfix_sleep_ms(5);
	if (got != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- 1: repeated keys ---- */

/* "sockets" 30 times, each with four sockets: the agent wrote 120 sockets
 * into a request of four on its stack and died. */
static const char *repeated_sockets_request(void)
{
	static const char four[] = ", \"sockets\": [{\"fd\": 3, \"name\": \"x\"}, {\"fd\": 4, "
				   "\"name\": \"x\"}, {\"fd\": 5, \"name\": \"x\"}, {\"fd\": 6, "
				   "\"name\": \"x\"}]";
	static char text[SKL_AGENT_MAX_REQUEST];
	size_t len = (size_t)snprintf(text, sizeof(text),
				      "{\"version\": 2, \"verb\": \"register\", \"label\": \"web\"");

	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", four);
	snprintf(text + len, sizeof(text) - len, "}");
	return text;
}

static int send_repeated_sockets(struct env *e, void *arg)
{
	struct agentfix_answer *ans = arg;
	int proof = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int fds[5] = { proof, proof, proof, proof, proof };

	(void)e;
	agentfix_raw_request(repeated_sockets_request(), fds, 5, ans);
	return 0;
}

static void test_repeated_keys_refused(void **state)
{
	struct env *e = *state;
	struct agentfix_answer *ans = mmap(NULL, sizeof(*ans), PROT_READ | PROT_WRITE,
					   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(ans != MAP_FAILED);
	e->agent = agentfix_start(e->root, NULL);
	assert_int_equal(wait_child(in_pod_a(e, send_repeated_sockets, ans), 10000), 0);
	if (ans->status != 1 || !strstr(ans->err, "\"sockets\" appears more than once"))
		fail_msg("answer: exit %d \"%s\"; the agent %s", ans->status, ans->err,
			 kill(e->agent, 0) ? "is gone" : "runs");
	assert_int_equal(kill(e->agent, 0), 0);
	expect_pod_b_served(e);
	munmap(ans, sizeof(*ans));
	e->done = true;
}

/* ---- 2: a lingering socket released by the agent ---- */

/* A bad request, then a second record the agent never reads, carrying a
 * lingering socket: when the agent closes the connection, the kernel
 * releases that socket in the closer's context. The agent is stopped
 * (SIGSTOP) while both records are queued, or it could answer and close
 * before the second is sent; the socket's only reference is then the
 * queue's. */
static void send_linger_unread(struct env *e)
{
	int proof = netpod_socket(&e->a, AF_INET, SOCK_DGRAM);
	int linger = linger_socket(&e->a), conn;
	struct agentfix_answer ans;

	assert_true(linger >= 0);
	assert_int_equal(kill(e->agent, SIGSTOP), 0);
	conn = agentfix_raw_connect(10000);
	assert_true(conn >= 0);
	assert_int_equal(agentfix_raw_send(conn, "not json", 8, &proof, 1), 0);
	assert_int_equal(agentfix_raw_send(conn, "{}", 2, &linger, 1), 0);
	close(linger);
	close(proof);
	assert_int_equal(kill(e->agent, SIGCONT), 0);
	if (agentfix_raw_answer(conn, &ans) != 1)
		fail_msg("the bad request got exit %d: %s", ans.status, ans.err);
	close(conn);
}

static void test_linger_socket_blocks_no_one(void **state)
{
	struct env *e = *state;
	uint64_t took;

	e->agent = agentfix_start(e->root, NULL);
	send_linger_unread(e);
	agentfix_sleep_ms(100);
	expect_pod_b_served(e);
	expect_pod_b_served(e);
	/* And it stops at once on SIGTERM. */
	assert_int_equal(agentfix_stop(e->agent, SIGTERM, 5000, &took), 0);
	e->agent = 0;
	print_message("the agent stopped %llu ms after SIGTERM\n", (unsigned long long)took);
	assert_true(took < 2000);
	e->done = true;
}

/* ---- 3: zero-length records with fds ---- */

static int zero_length_flood(struct env *e, void *arg)
{
	int kinds[2], sent = 0;

	(void)e;
	(void)arg;
	if (pipe2(kinds, O_CLOEXEC))
		return 1;
	for (int i = 0; i < 4000; i++) {
		int conn = agentfix_raw_connect(2000);

		if (conn < 0)
			continue;
		sent += !agentfix_raw_send(conn, "", 0, kinds, 2);
		close(conn);
	}
	return sent >= 1000 ? 0 : 3;
}

static void test_zero_length_records_release_fds(void **state)
{
	struct env *e = *state;
	int before, after = 0;

	e->agent = agentfix_start(e->root, NULL);
	before = agentfix_count_fds(e->agent);
	assert_int_equal(wait_child(in_pod_a(e, zero_length_flood, NULL), 60000), 0);
	/* The releaser may still be at it: give it a moment. */
	for (int i = 0; i < 50; i++) {
		after = agentfix_count_fds(e->agent);
		if (after <= before + 16)
			break;
		agentfix_sleep_ms(20);
	}
	print_message("agent fds: %d before, %d after 4000 zero-length records with 2 fds\n",
		      before, after);
	if (after > before + 16)
		fail_msg("the agent kept %d fds", after - before);
	assert_true(agentfix_log_has("an empty record with 2 fds"));
	expect_pod_b_served(e);
	e->done = true;
}

/* ---- 4: clients whose process has exited ---- */

/* Each connection is made by a child that hands it over and exits: its
 * peer's netns is unknown to the agent. */
static int connect_and_exit(int via)
{
	pid_t pid = fork();
	int conn, status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		conn = agentfix_raw_connect(2000);
		_exit(conn < 0 || agentfix_raw_send(via, "x", 1, &conn, 1) ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/* Receives one fd sent by connect_and_exit; -1 when none came. */
static int receive_held(int via)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	int fd;

	if (recvmsg(via, &msg, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

/* 80 idle connections whose processes exited before the agent accepted
 * them (it is stopped while a batch of 15 is made: its backlog is 16). */
static void test_exited_clients_share_a_limit(void **state)
{
	struct env *e = *state;
	int pair[2], held[80], n = 0;

	e->agent = agentfix_start(e->root, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0);
	while (n < 80) {
		assert_int_equal(kill(e->agent, SIGSTOP), 0);
		for (int i = 0; i < 15 && n < 80; i++) {
			assert_int_equal(connect_and_exit(pair[0]), 0);
			held[n] = receive_held(pair[1]);
			assert_true(held[n++] >= 0);
		}
		assert_int_equal(kill(e->agent, SIGCONT), 0);
		agentfix_sleep_ms(50);
	}
	close(pair[0]);
	close(pair[1]);
	print_message("%d connections held from exited processes\n", n);
	expect_pod_b_served(e);
	assert_true(agentfix_log_has("from clients of unknown network namespace"));
	for (int i = 0; i < n; i++)
		close(held[i]);
	e->done = true;
}

/* ---- 5: a borrowed proof ---- */

static int borrowed_proof(struct env *e, void *arg)
{
	struct agentfix_answer *ans = arg;
	int proof_b = *(int *)ans->out; /* a socket of pod B, inherited */
	char text[256];

	(void)e;
	agentfix_raw_request(status_req, &proof_b, 1, &ans[0]);
	snprintf(text, sizeof(text),
		 "{\"version\": 2, \"verb\": \"unregister\", \"label\": \"web\"}");
	agentfix_raw_request(text, &proof_b, 1, &ans[1]);
	return 0;
}

static void test_borrowed_proof_refused(void **state)
{
	struct env *e = *state;
	struct agentfix_answer *ans = mmap(NULL, 2 * sizeof(*ans), PROT_READ | PROT_WRITE,
					   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int proof_b = netpod_socket(&e->b, AF_INET, SOCK_DGRAM);

	assert_true(ans != MAP_FAILED);
	memcpy(ans->out, &proof_b, sizeof(proof_b));
	e->agent = agentfix_start(e->root, NULL);
	pod_b_register(e);
	assert_int_not_equal(netpod_slot_cookie(&e->b, "web", 0), 0);
	assert_int_equal(wait_child(in_pod_a(e, borrowed_proof, ans), 10000), 0);
	for (int i = 0; i < 2; i++)
		if (ans[i].status != 1 ||
		    !strstr(ans[i].err, "another network namespace than the client's own"))
			fail_msg("%s with pod B's socket from pod A: exit %d \"%s\" %s",
				 i ? "unregister" : "status", ans[i].status, ans[i].err,
				 ans[i].out);
	/* B's registration is intact. */
	assert_int_not_equal(netpod_slot_cookie(&e->b, "web", 0), 0);
	close(proof_b);
	munmap(ans, 2 * sizeof(*ans));
	e->done = true;
}

/* ---- 6: the socket's mode ---- */

/* The process strace runs (its only child). */
static pid_t traced_child(pid_t strace)
{
	char path[64];
	int pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)strace, (int)strace);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

/* The agent runs under strace with bind's return delayed by 300 ms; in
 * that window the socket file is replaced by a symlink to a file of mode
 * 0600. A chmod of the path after bind would make that file 0666. */
static void test_socket_mode_not_set_through_symlink(void **state)
{
	static const char *const wrap[] = { "strace", "-f", "-qq", "-o", "/dev/null",
					    "-e", "trace=bind", "-e",
					    "inject=bind:delay_exit=300000", NULL };
	const char *target = "/run/sklookup-target", *tmp = "/run/sklookup/link";
	struct env *e = *state;
	uint64_t deadline;
	struct stat st;
	int fd;

	if (testnet_run("command -v strace >/dev/null"))
		fail_msg("strace is missing (scripts/install-deps.sh installs it)");
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(target, 0600), 0);
	fflush(NULL);
	e->agent = fork();
	assert_true(e->agent >= 0);
	if (e->agent == 0) {
		const char *argv[32];
		int n = 0, log = open(AGENTFIX_LOG, O_WRONLY | O_CREAT | O_APPEND, 0600);

		for (; wrap[n]; n++)
			argv[n] = wrap[n];
		argv[n++] = agentfix_ctl_path();
		argv[n++] = "--bpffs-root";
		argv[n++] = e->root;
		argv[n++] = "agent";
		argv[n++] = "--socket";
		argv[n++] = AGENTFIX_SOCK;
		argv[n] = NULL;
		dup2(log, 1);
		dup2(log, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (deadline = agentfix_now_ms() + 10000;
	     (lstat(AGENTFIX_SOCK, &st) || !S_ISSOCK(st.st_mode)) && agentfix_now_ms() < deadline;)
		agentfix_sleep_ms(1);
	assert_true(S_ISSOCK(st.st_mode));
	e->traced = traced_child(e->agent);
	assert_true(e->traced > 0);
	assert_int_equal(symlink(target, tmp), 0);
	assert_int_equal(rename(tmp, AGENTFIX_SOCK), 0);
	agentfix_sleep_ms(800);
	assert_int_equal(stat(target, &st), 0);
	unlink(target);
	if ((st.st_mode & 07777) != 0600)
		fail_msg("the agent changed %s (through the symlink at its socket) to %o",
			 target, st.st_mode & 07777);
	e->done = true;
}

/* ---- requests racing the pod's DEL ---- */

#define RACE_MS 1500
#define RACE_DEL_AFTER_MS 300

#define RACE_PACE_MS 50 /* under the agent's per-pod rate */

struct race_counts {
	int ok, gone, other, unanswered;
};

/* Pod A's register and status through the agent, back to back for RACE_MS,
 * while the test deletes the pod: every request gets an answer, exit 0
 * before the DEL and, after it, a refusal that says the pod is gone.
 * Counts go to a pipe. */
static int race_requests(struct env *e, void *arg)
{
	static const char reg[] = "{\"version\": 2, \"verb\": \"register\", \"label\": \"web\", "
				  "\"sockets\": [{\"fd\": 3, \"name\": \"fd 3\"}]}";
	int *pipe_w = arg, listener = netpod_server(&e->a, SOCK_STREAM, "0.0.0.0", 8081, false);
	uint64_t end = agentfix_now_ms() + RACE_MS;
	struct race_counts n = { 0 };

	for (unsigned i = 0; agentfix_now_ms() < end; i++) {
		struct agentfix_answer ans;
		int proof = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int fds[2] = { proof, listener };

		if (i % 2)
			agentfix_raw_request(status_req, fds, 1, &ans);
		else
			agentfix_raw_request(reg, fds, 2, &ans);
		close(proof);
		if (ans.status == 0)
			n.ok++;
		else if (ans.status < 0)
			n.unanswered++;
		else if (strstr(ans.err, "no sklookup dispatcher") || strstr(ans.err, "gone") ||
			 strstr(ans.err, "deleted"))
			n.gone++;
		else
			n.other++;
		agentfix_sleep_ms(RACE_PACE_MS);
	}
	return write(*pipe_w, &n, sizeof(n)) == sizeof(n) ? 0 : 1;
}

static void test_requests_racing_del(void **state)
{
	struct env *e = *state;
	struct skl_err err = { 0 };
	struct race_counts n = { 0 };
	int p[2];
	pid_t child;

	e->agent = agentfix_start(e->root, NULL);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	child = in_pod_a(e, race_requests, &p[1]);
	agentfix_sleep_ms(RACE_DEL_AFTER_MS);
	/* What DEL (and the agent's reaper) do to a pod's state. */
	assert_int_equal(skl_pod_remove(e->a.dir, NULL, &err), 0);
	assert_int_equal(wait_child(child, RACE_MS + 10000), 0);
	assert_int_equal(read(p[0], &n, sizeof(n)), (ssize_t)sizeof(n));
	close(p[0]);
	close(p[1]);
	print_message("racing DEL: %d ok, %d refused as gone, %d other, %d unanswered\n", n.ok,
		      n.gone, n.other, n.unanswered);
	assert_int_equal(n.unanswered, 0);
	assert_int_equal(n.other, 0);
	assert_true(n.ok > 0);   /* before the DEL */
	assert_true(n.gone > 0); /* after it */
	assert_int_equal(access(e->a.dir, F_OK), -1);
	expect_pod_b_served(e);
	assert_true(kill(e->agent, 0) == 0);
	e->done = true;
}

/* ---- everything at once ---- */

struct kinds {
	int fds[9];
	size_t n;
};

/* An fd of every kind: pipe, FIFO, epoll, memfd, unix socket, a socket
 * of pod B, a socket whose peer is gone, a TCP socket of pod A. */
static void make_kinds(struct env *e, struct kinds *k, int socket_b)
{
	int p[2], pair[2];

	k->n = 0;
	if (!pipe2(p, O_CLOEXEC)) {
		k->fds[k->n++] = p[0];
		k->fds[k->n++] = p[1];
	}
	unlink("/run/sklookup-attack.fifo");
	if (!mkfifo("/run/sklookup-attack.fifo", 0600))
		k->fds[k->n++] = open("/run/sklookup-attack.fifo", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	k->fds[k->n++] = epoll_create1(EPOLL_CLOEXEC);
	k->fds[k->n++] = memfd_create("attack", MFD_CLOEXEC);
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)) {
		k->fds[k->n++] = pair[0];
		close(pair[1]); /* its peer is gone */
	}
	k->fds[k->n++] = socket_b;
	k->fds[k->n++] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	k->fds[k->n++] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	(void)e;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* The attacker's own close of a lingering socket, when the agent closed
 * its copy first: ended by SIGALRM (no SA_RESTART) within 10 ms. */
static void close_interrupted(int fd)
{
	struct itimerval tick = { .it_value = { .tv_usec = 10000 },
				  .it_interval = { .tv_usec = 10000 } }, off = { 0 };

	setitimer(ITIMER_REAL, &tick, NULL);
	close(fd);
	setitimer(ITIMER_REAL, &off, NULL);
}

struct attack_counts {
	unsigned rounds, linger, refused, decoded;
};

/* A request sent again while the agent refuses it for this client's other
 * connections (its limits), so that it reaches the decoder. */
static void request_past_limits(const char *text, const int *fds, size_t n_fds,
				struct attack_counts *c)
{
	struct agentfix_answer ans;

	for (int i = 0; i < 50; i++) {
		agentfix_raw_request(text, fds, n_fds, &ans);
		if (!strstr(ans.err, "busy")) {
			c->decoded += ans.status == 1;
			return;
		}
		c->refused++;
		agentfix_sleep_ms(2);
	}
}

/* One round of every attack; connections that cannot be made (the agent's
 * limits) are counted as refused. */
static void attack_round(struct env *e, const struct kinds *k, int *idle, size_t n_idle,
			 struct attack_counts *c)
{
	static char big[8000];
	int proof = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), many[SKL_AGENT_RECV_FDS];
	int fds[16], linger;

	/* Slow clients that never send: new ones replace those dropped. */
	for (size_t i = 0; i < n_idle; i++) {
		if (idle[i] >= 0 && !(poll(&(struct pollfd){ .fd = idle[i], .events = POLLIN },
					   1, 0) > 0))
			continue;
		if (idle[i] >= 0)
			close(idle[i]);
		idle[i] = agentfix_raw_connect(100);
	}
	/* A lingering socket, direct and in an unread second record. */
	linger = linger_socket(&e->a);
	if (linger >= 0) {
		int conn = agentfix_raw_connect(500);

		fds[0] = proof;
		fds[1] = linger;
		if (conn >= 0 && !agentfix_raw_send(conn, status_req, strlen(status_req), fds, 2))
			c->linger++;
		close_interrupted(linger);
		if (conn >= 0)
			close(conn);
	}
	linger = linger_socket(&e->a);
	if (linger >= 0) {
		int conn = agentfix_raw_connect(500);

		if (conn >= 0 && !agentfix_raw_send(conn, "x", 1, &proof, 1) &&
		    !agentfix_raw_send(conn, "{}", 2, &linger, 1))
			c->linger++;
		close_interrupted(linger);
		if (conn >= 0)
			close(conn);
	}
	/* Zero-length records with an fd of every kind. */
	for (int i = 0; i < 10; i++) {
		int conn = agentfix_raw_connect(200);

		if (conn < 0) {
			c->refused++;
			continue;
		}
		agentfix_raw_send(conn, "", 0, k->fds, k->n);
		close(conn);
	}
	/* Repeated keys, every kind of fd in a status, the most fds a record
	 * can carry, truncated and oversized records. */
	request_past_limits(repeated_sockets_request(), (int[]){ proof, proof, proof, proof, proof },
			    5, c);
	fds[0] = proof;
	memcpy(fds + 1, k->fds, k->n * sizeof(int));
	request_past_limits(status_req, fds, 1 + k->n, c);
	for (int i = 0; i < SKL_AGENT_RECV_FDS; i++)
		many[i] = k->fds[i % k->n];
	request_past_limits(status_req, many, SKL_AGENT_RECV_FDS, c);
	request_past_limits("{\"version\": 2, \"verb\"", &proof, 1, c);
	memset(big, '{', sizeof(big) - 1);
	request_past_limits(big, fds, 1 + k->n, c);
	close(proof);
	c->rounds++;
}

struct attack_arg {
	int run_ms;
	int socket_b;
	struct attack_counts *counts; /* shared with the parent */
};

static int attack(struct env *e, void *argp)
{
	struct attack_arg *arg = argp;
	uint64_t end = agentfix_now_ms() + (uint64_t)arg->run_ms;
	int idle[2];
	struct kinds k;

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGALRM, &(struct sigaction){ .sa_handler = on_alarm }, NULL);
	for (size_t i = 0; i < 2; i++)
		idle[i] = -1;
	make_kinds(e, &k, arg->socket_b);
	while (agentfix_now_ms() < end)
		attack_round(e, &k, idle, 2, arg->counts);
	return 0;
}

static void test_pod_b_served_during_attacks(void **state)
{
	struct env *e = *state;
	struct attack_counts *counts = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct attack_arg arg = { .run_ms = 6000, .counts = counts };
	uint64_t worst = 0, total = 0, took;
	int n = 0, fds_before, fds_after = 0;

	assert_true(counts != MAP_FAILED);
	arg.socket_b = netpod_socket(&e->b, AF_INET, SOCK_DGRAM);
	e->agent = agentfix_start(e->root, NULL);
	fds_before = agentfix_count_fds(e->agent);
	e->attacker = in_pod_a(e, attack, &arg);
	agentfix_sleep_ms(500);
	while (waitpid(e->attacker, NULL, WNOHANG) == 0) {
		took = pod_b_register(e);
		worst = took > worst ? took : worst;
		total += took;
		n++;
		agentfix_sleep_ms(200);
	}
	e->attacker = 0;
	print_message("pod A attacked for %d ms: %u rounds, %u lingering sockets passed, %u "
		      "bad requests refused, %u connections refused for its limits; pod B's "
		      "register: %d answered, worst %llu ms, mean %llu ms\n",
		      arg.run_ms, counts->rounds, counts->linger, counts->decoded, counts->refused, n,
		      (unsigned long long)worst, n ? (unsigned long long)(total / n) : 0ull);
	assert_true(n >= 5);
	assert_true(counts->rounds >= 3 && counts->linger >= 2 && counts->decoded >= 10);
	if (worst >= LATENCY_LIMIT_MS)
		fail_msg("pod B's register took up to %llu ms during the attack",
			 (unsigned long long)worst);
	/* Nothing piled up, and SIGTERM stops it promptly. */
	for (int i = 0; i < 100; i++) {
		fds_after = agentfix_count_fds(e->agent);
		if (fds_after <= fds_before + 16)
			break;
		agentfix_sleep_ms(50);
	}
	print_message("agent fds: %d before, %d after\n", fds_before, fds_after);
	assert_true(fds_after <= fds_before + 16);
	assert_int_equal(agentfix_stop(e->agent, SIGTERM, 5000, &took), 0);
	e->agent = 0;
	assert_true(took < 2000);
	close(arg.socket_b);
	munmap(counts, sizeof(*counts));
	e->done = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_repeated_keys_refused, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_linger_socket_blocks_no_one, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_records_release_fds, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_exited_clients_share_a_limit, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_borrowed_proof_refused, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode_not_set_through_symlink,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_requests_racing_del, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_pod_b_served_during_attacks, env_setup,
						env_teardown),
	};

	if (getenv("SKL_TEST_FILTER")) /* e.g. SKL_TEST_FILTER='*linger*' */
		cmocka_set_test_filter(getenv("SKL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
