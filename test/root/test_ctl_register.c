/*
 * sklookup-ctl register, unregister and exec, run as the real binary against
 * a dispatcher set up as ADD sets it up (loaded, attached, pinned under a
 * scratch bpffs root), each test in a fresh netns: every socket source (fd 3,
 * --fd, LISTEN_FDS, --pid), every refusal, real traffic to many addresses and
 * ports, dual-stack sockets, a SO_REUSEPORT group, handover under load
 * without one refused connection, exec with a socket-activated server.
 */
#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "dispatch_fixture.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "testbin.h"
#include "testnet.h"

#define MAX_FDS 32
#define MAX_PROCS 8
#define MAX_ARGS 32
#define PROC_TIMEOUT_MS 30000

extern char **environ;

static char ctl_path[PATH_MAX], helper_path[PATH_MAX];

struct env {
	int saved_netns;
	struct skl_dispatcher d;
	char root[PATH_MAX]; /* --bpffs-root */
	int fds[MAX_FDS];
	int n_fds;
	pid_t procs[MAX_PROCS];
	int n_procs;
};

/* How to start sklookup-ctl: fds to pass (fd -> at), environment to add. */
struct spawn {
	struct {
		int fd, at;
	} pass[4];
	int n_pass;
	const char *env[4];   /* "NAME=VALUE" */
	bool listen_pid_self; /* LISTEN_PID=<the child's pid> */
	bool stdin_pipe;      /* stdin a pipe the caller writes (else /dev/null) */
};

struct proc {
	pid_t pid;
	int in, out, err; /* our ends of its stdin, stdout, stderr; -1: none */
};

struct result {
	int status; /* exit status; -1 when killed */
	char out[16384];
	char err[4096];
};

/* ---- fixtures ---- */

/* The binary of the build under test (testbin.h). */
static void find_binary(const char *rel, char *out, size_t len)
{
	testbin_path(out, len, rel);
}

static int group_setup(void **state)
{
	(void)state;
	find_binary("sklookup-ctl", ctl_path, sizeof(ctl_path));
	find_binary("test/root/helper_lfd_server", helper_path, sizeof(helper_path));
	if (access(ctl_path, X_OK) || access(helper_path, X_OK)) {
		fprintf(stderr, "build %s and %s first\n", ctl_path, helper_path);
		return -1;
	}
	return 0;
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	skl_dispatcher_init(&e->d);
	assert_int_equal(testnet_unshare_netns(&e->saved_netns), 0);
	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	assert_int_equal(testnet_bpffs_tmpdir(e->root, sizeof(e->root)), 0);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	int ret;

	for (int i = 0; i < e->n_procs; i++) {
		kill(e->procs[i], SIGKILL);
		waitpid(e->procs[i], NULL, 0);
	}
	for (int i = 0; i < e->n_fds; i++)
		if (e->fds[i] >= 0)
			close(e->fds[i]);
	skl_dispatcher_close(&e->d);
	ret = testnet_rm_rf_bpffs(e->root);
	if (testnet_restore_netns(e->saved_netns))
		ret = -1;
	free(e);
	return ret;
}

static void env_track(struct env *e, pid_t pid)
{
	assert_true(e->n_procs < MAX_PROCS);
	e->procs[e->n_procs++] = pid;
}

static void env_untrack(struct env *e, pid_t pid)
{
	for (int i = 0; i < e->n_procs; i++)
		if (e->procs[i] == pid)
			e->procs[i] = e->procs[--e->n_procs];
}

static int env_keep(struct env *e, int fd)
{
	assert_true(fd >= 0);
	assert_true(e->n_fds < MAX_FDS);
	e->fds[e->n_fds++] = fd;
	return fd;
}

/* The pod's state as ADD leaves it: dispatcher loaded for this netns,
 * bindings applied, attached, pinned at ROOT/net/cid/eth0. */
static void env_state(struct env *e, const char *bindings)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };
	char dir[PATH_MAX + 32];

	fixture_dispatcher(&e->d, NULL);
	fixture_parse(bindings, &set);
	if (skl_rules_apply(&e->d, &set, &err))
		fail_msg("apply: %s", err.msg);
	skl_bindings_free(&set);
	snprintf(dir, sizeof(dir), "%s/net", e->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/net/cid", e->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/net/cid/eth0", e->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (skl_dispatcher_pin(&e->d, dir, &err))
		fail_msg("pin: %s", err.msg);
}

static int env_server(struct env *e, int type, const char *addr, uint16_t port, bool v6only)
{
	return env_keep(e, fixture_server(type, addr, port, v6only));
}

/* A TCP listener with a deep backlog, in a SO_REUSEPORT group if asked. */
static int env_listener(struct env *e, const char *addr, uint16_t port, bool reuseport)
{
	struct sockaddr_storage ss;
	socklen_t len = fixture_addr(addr, port, &ss);
	int one = 1, fd = env_keep(e, socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));

	if (reuseport)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail_msg("bind %s:%u: %s", addr, port, strerror(errno));
	assert_int_equal(listen(fd, SOMAXCONN), 0);
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void label_cookies(struct env *e, const char *label, uint64_t cookies[SKL_SOCKET_SLOTS])
{
	struct skl_err err = { 0 };
	uint32_t id;

	if (skl_label_lookup(&e->d, label, &id, &err) ||
	    skl_socket_label_cookies(&e->d, id, cookies, &err))
		fail_msg("%s", err.msg);
}

static void assert_no_socket(struct env *e, const char *label)
{
	uint64_t cookies[SKL_SOCKET_SLOTS];

	label_cookies(e, label, cookies);
	for (int s = 0; s < SKL_SOCKET_SLOTS; s++)
		if (cookies[s])
			fail_msg("label %s still has a socket in slot %d", label, s);
}

/* ---- running sklookup-ctl ---- */

static int env_count(void)
{
	int n = 0;

	while (environ[n])
		n++;
	return n;
}

/* The environment for the child: ours without LISTEN_*, plus sp->env. */
static char **child_env(const struct spawn *sp, char *listen_pid)
{
	char **envp = calloc((size_t)env_count() + 8, sizeof(char *));
	int n = 0;

	assert_non_null(envp);
	for (int i = 0; environ[i]; i++)
		if (strncmp(environ[i], "LISTEN_", 7))
			envp[n++] = environ[i];
	for (int i = 0; i < 4 && sp->env[i]; i++)
		envp[n++] = (char *)sp->env[i];
	if (sp->listen_pid_self)
		envp[n++] = listen_pid;
	return envp;
}

/* In the child: stdio onto the pipes, passed fds onto their numbers. Only
 * async-signal-safe calls. */
static void child_exec(const struct spawn *sp, int in, int out, int err, char **argv,
		       char **envp, char *listen_pid)
{
	int moved[4];

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	/* Out of the way first, so that no dup2 below closes another of them. */
	for (int i = 0; i < sp->n_pass; i++)
		if ((moved[i] = fcntl(sp->pass[i].fd, F_DUPFD_CLOEXEC, 100)) < 0)
			_exit(126);
	for (int i = 0; i < sp->n_pass; i++)
		if (dup2(moved[i], sp->pass[i].at) < 0)
			_exit(126);
	if (sp->listen_pid_self) {
		/* "LISTEN_PID=" then the pid, written without stdio. */
		char digits[16];
		int n = 0, pid = (int)getpid(), at = 11;

		do {
			digits[n++] = (char)('0' + pid % 10);
			pid /= 10;
		} while (pid);
		while (n)
			listen_pid[at++] = digits[--n];
		listen_pid[at] = 0;
	}
	execve(argv[0], argv, envp);
	_exit(127);
}

static void pipe_pair(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
}

/* Starts program with args (NULL-terminated). */
static void spawn_program(struct env *e, const struct spawn *sp, const char *program,
			  const char *const *args, struct proc *p)
{
	char listen_pid[32] = "LISTEN_PID=";
	char *argv[MAX_ARGS + 4];
	int in[2], out[2], err[2], n = 0;
	char **envp = child_env(sp, listen_pid);
	pid_t pid;

	argv[n++] = (char *)program;
	for (int i = 0; args[i]; i++) {
		assert_true(n < MAX_ARGS);
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	if (sp->stdin_pipe) {
		pipe_pair(in);
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		in[1] = -1;
		assert_true(in[0] >= 0);
	}
	pipe_pair(out);
	pipe_pair(err);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_exec(sp, in[0], out[1], err[1], argv, envp, listen_pid);
	free(envp);
	env_track(e, pid);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	*p = (struct proc){ .pid = pid, .in = in[1], .out = out[0], .err = err[0] };
}

/* Starts sklookup-ctl --bpffs-root ROOT ARGS. */
static void spawn_ctl(struct env *e, const struct spawn *sp, const char *const *args,
		      struct proc *p)
{
	const char *all[MAX_ARGS + 1] = { "--bpffs-root", e->root };
	int n = 2;

	for (int i = 0; args[i]; i++) {
		assert_true(n < MAX_ARGS);
		all[n++] = args[i];
	}
	all[n] = NULL;
	spawn_program(e, sp, ctl_path, all, p);
}

static void drain(int *fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n = read(*fd, buf + *len, cap - 1 - *len);

	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	*len += (size_t)n;
	buf[*len] = 0;
}

/* Reads its stdout and stderr to the end and waits for it. */
static void finish(struct env *e, struct proc *p, struct result *r)
{
	size_t out_len = 0, err_len = 0;
	int status;

	r->out[0] = r->err[0] = 0;
	if (p->in >= 0)
		close(p->in);
	while (p->out >= 0 || p->err >= 0) {
		struct pollfd pfd[2] = { { .fd = p->out, .events = POLLIN },
					 { .fd = p->err, .events = POLLIN } };

		if (poll(pfd, 2, PROC_TIMEOUT_MS) <= 0)
			fail_msg("pid %d produced no output for %d ms", (int)p->pid,
				 PROC_TIMEOUT_MS);
		if (pfd[0].revents)
			drain(&p->out, r->out, sizeof(r->out), &out_len);
		if (pfd[1].revents)
			drain(&p->err, r->err, sizeof(r->err), &err_len);
	}
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	env_untrack(e, p->pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void run_ctl(struct env *e, const struct spawn *sp, struct result *r,
		    const char *const *args)
{
	static const struct spawn none = { .n_pass = 0 };
	struct proc p;

	spawn_ctl(e, sp ? sp : &none, args, &p);
	finish(e, &p, r);
}

#define CTL(e, sp, r, ...) run_ctl((e), (sp), (r), (const char *const[]){ __VA_ARGS__, NULL })

/* Spawn specs passing fds (parenthesised: they go into CTL's arguments). */
#define PASS1(fd, at) (&(struct spawn){ .pass = { { (fd), (at) } }, .n_pass = 1 })
#define PASS2(fd1, at1, fd2, at2)                                                        \
	(&(struct spawn){ .pass = { { (fd1), (at1) }, { (fd2), (at2) } }, .n_pass = 2 })
#define FD3(fd) PASS1(fd, 3)

static void expect_ok(const struct result *r)
{
	if (r->status != 0)
		fail_msg("sklookup-ctl exited %d: %s", r->status, r->err);
}

/* Exit status and a one-line error naming the cause. */
static void expect_fail(const struct result *r, int status, const char *needle)
{
	const char *nl = strchr(r->err, '\n');

	if (r->status != status || !strstr(r->err, needle))
		fail_msg("expected exit %d and <%s>; got %d, stdout <%s> stderr <%s>", status,
			 needle, r->status, r->out, r->err);
	assert_true(!strncmp(r->err, "sklookup-ctl: ", 14));
	assert_true(nl && nl[1] == 0);
}

static void expect_out(const struct result *r, const char *needle)
{
	if (!strstr(r->out, needle))
		fail_msg("stdout <%s> lacks <%s> (stderr <%s>)", r->out, needle, r->err);
}

/* ---- traffic ---- */

static const char *const range_addrs[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4",
					   "192.0.2.5" };
static const uint16_t range_ports[] = { 80, 443, 8080 };

/* Every address x port of the range reaches server. */
static void deliver_everywhere(int type, int server)
{
	for (size_t a = 0; a < sizeof(range_addrs) / sizeof(range_addrs[0]); a++)
		for (size_t p = 0; p < sizeof(range_ports) / sizeof(range_ports[0]); p++)
			if (fixture_deliver(type, range_addrs[a], range_ports[p], &server, 1) != 0)
				fail_msg("%s %s:%u did not reach the registered socket",
					 type == SOCK_STREAM ? "tcp" : "udp", range_addrs[a],
					 range_ports[p]);
}

/* Connects and reads one line (up to 2 s). */
static void tcp_line(const char *addr, uint16_t port, char *line, size_t len)
{
	struct timeval tv = { .tv_sec = 2 };
	struct sockaddr_storage ss;
	socklen_t sslen = fixture_addr(addr, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (connect(fd, (struct sockaddr *)&ss, sslen))
		fail_msg("connect %s:%u: %s", addr, port, strerror(errno));
	while (got + 1 < len && (n = read(fd, line + got, len - 1 - got)) > 0) {
		got += (size_t)n;
		if (line[got - 1] == '\n')
			break;
	}
	line[got] = 0;
	close(fd);
}

static const char web_tcp[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"443\", \"8080\"]}]";

static const char web_tcp_udp[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"443\", \"8080\"]},"
	" {\"label\": \"web\", \"protocol\": \"udp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"443\", \"8080\"]}]";

/* ---- sources ---- */

/* The socket on fd 3 serves every address and port of the label. */
static void register_from_fd3(void **state)
{
	struct env *e = *state;
	struct result r;
	int srv;

	env_state(e, web_tcp);
	srv = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &srv, 1), -1);
	CTL(e, FD3(srv), &r, "register", "web");
	expect_ok(&r);
	expect_out(&r, "registered fd 3 (tcp 127.0.0.1:");
	expect_out(&r, "for label web: tcp IPv4\n");
	deliver_everywhere(SOCK_STREAM, srv);
}

/* --fd N, for a TCP and then a UDP socket of one label: both serve. */
static void register_with_fd_option(void **state)
{
	struct env *e = *state;
	int tcp, udp;
	struct result r;

	env_state(e, web_tcp_udp);
	tcp = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	udp = env_server(e, SOCK_DGRAM, "127.0.0.1", 0, true);
	CTL(e, PASS1(tcp, 7), &r, "register", "web", "--fd", "7");
	expect_ok(&r);
	expect_out(&r, "registered fd 7 (tcp 127.0.0.1:");
	CTL(e, PASS1(udp, 9), &r, "register", "web", "--fd=9");
	expect_ok(&r);
	expect_out(&r, "for label web: udp IPv4\n");
	deliver_everywhere(SOCK_STREAM, tcp);
	deliver_everywhere(SOCK_DGRAM, udp);
	/* An fd the caller did not pass. */
	CTL(e, NULL, &r, "register", "web", "--fd", "9");
	expect_fail(&r, 1, "fd 9 is not open in the caller");
}

/* systemd's LISTEN_FDS: with LISTEN_FDNAMES only the fds named LABEL. */
static void register_from_listen_fds(void **state)
{
	struct env *e = *state;
	struct result r;
	int other, tcp, udp;
	cJSON *doc, *item;

	env_state(e, web_tcp_udp);
	other = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	tcp = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	udp = env_server(e, SOCK_DGRAM, "127.0.0.1", 0, true);
	struct spawn sp = { .pass = { { other, 3 }, { tcp, 4 }, { udp, 5 } },
			    .n_pass = 3,
			    .env = { "LISTEN_FDS=3", "LISTEN_FDNAMES=other:web:web" },
			    .listen_pid_self = true };

	CTL(e, &sp, &r, "register", "web");
	expect_ok(&r);
	expect_out(&r, "registered fd 4 (tcp");
	expect_out(&r, "registered fd 5 (udp");
	assert_null(strstr(r.out, "fd 3"));
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.4", 443, &tcp, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "192.0.2.4", 443, &udp, 1), 0);

	/* Without names every fd is for the label; --json gives an array. */
	sp.pass[0].fd = udp;
	sp.pass[1].fd = tcp;
	sp.n_pass = 2;
	sp.env[0] = "LISTEN_FDS=2";
	sp.env[1] = NULL;
	CTL(e, &sp, &r, "--json", "register", "web");
	expect_ok(&r);
	doc = cJSON_Parse(r.out);
	assert_true(cJSON_IsArray(doc));
	assert_int_equal(cJSON_GetArraySize(doc), 2);
	item = cJSON_GetArrayItem(doc, 0);
	assert_string_equal(cJSON_GetObjectItem(item, "protocol")->valuestring, "udp");
	cJSON_Delete(doc);

	/* No fd named LABEL. */
	sp.env[0] = "LISTEN_FDS=2";
	sp.env[1] = "LISTEN_FDNAMES=a:b";
	CTL(e, &sp, &r, "register", "web");
	expect_fail(&r, 1, "no fd in LISTEN_FDS is named \"web\" (LISTEN_FDNAMES=\"a:b\")");

	/* LISTEN_FDS of another process: fd 3 is the default, and not passed. */
	CTL(e, (&(struct spawn){ .env = { "LISTEN_FDS=1", "LISTEN_PID=1" } }), &r, "register",
	    "web");
	expect_fail(&r, 1, "fd 3 is not open in the caller");
}

/* A server process that listens on 127.0.0.1 and answers "child\n" to every
 * connection; *fd_out is its listener's fd number. */
static pid_t fork_server(struct env *e, int *fd_out)
{
	int p[2];
	pid_t pid;

	pipe_pair(p);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 64) ||
		    write(p[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(1);
		for (int i = 0; i < 1000; i++) {
			int conn = accept(fd, NULL, NULL);

			if (conn >= 0 && write(conn, "child\n", 6) != 6)
				_exit(1);
			close(conn);
		}
		_exit(0);
	}
	env_track(e, pid);
	close(p[1]);
	assert_int_equal(read(p[0], fd_out, sizeof(*fd_out)), sizeof(*fd_out));
	close(p[0]);
	return pid;
}

/* --pid PID --fd N takes the socket of a running server, which keeps it and
 * then gets the label's connections. */
static void register_from_running_process(void **state)
{
	struct env *e = *state;
	char pid_text[16], fd_text[16], line[64];
	struct result r;
	pid_t server, gone;
	int fd;

	env_state(e, web_tcp);
	server = fork_server(e, &fd);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)server);
	snprintf(fd_text, sizeof(fd_text), "%d", fd);
	CTL(e, NULL, &r, "register", "web", "--pid", pid_text, "--fd", fd_text);
	expect_ok(&r);
	expect_out(&r, "registered pid ");
	for (size_t a = 0; a < 5; a++) {
		tcp_line(range_addrs[a], 8080, line, sizeof(line));
		assert_string_equal(line, "child\n");
	}

	CTL(e, NULL, &r, "register", "web", "--pid", pid_text, "--fd", "99");
	expect_fail(&r, 1, "fd 99: pidfd_getfd: no such fd in that process");
	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, NULL, 0), gone);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)gone);
	CTL(e, NULL, &r, "register", "web", "--pid", pid_text, "--fd", "3");
	expect_fail(&r, 1, "pidfd_open: no such process");
	/* The server's socket is still registered and served. */
	tcp_line("192.0.2.9", 80, line, sizeof(line));
	assert_string_equal(line, "child\n");
}

/* ---- refusals ---- */

static const char refusal_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
	" {\"label\": \"six\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8::/64\"},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"53\"]}]";

static int foreign_listener(struct env *e)
{
	struct skl_err err = { 0 };
	int back, fd;

	if (skl_netns_enter(e->saved_netns, &back, &err))
		fail_msg("%s", err.msg);
	fd = fixture_server(SOCK_STREAM, "127.0.0.1", 0, true);
	if (skl_netns_leave(back, &err))
		fail_msg("%s", err.msg);
	return env_keep(e, fd);
}

/* Each refusal exits 1 with a one-line message naming the cause, and
 * registers nothing. */
static void refusals_name_the_cause(void **state)
{
	struct env *e = *state;
	struct sockaddr_storage ss;
	socklen_t len;
	struct result r;
	int fd, a, b;

	env_state(e, refusal_bindings);
	CTL(e, FD3(foreign_listener(e)), &r, "register", "web");
	expect_fail(&r, 1, "fd 3: the socket belongs to another network namespace");

	CTL(e, FD3(env_server(e, SOCK_DGRAM, "127.0.0.1", 0, true)), &r, "register", "web");
	expect_fail(&r, 1, "label web has only tcp bindings; this is a udp socket");

	CTL(e, FD3(env_server(e, SOCK_STREAM, "127.0.0.1", 0, true)), &r, "register", "six");
	expect_fail(&r, 1, "label six has only IPv6 tcp bindings; this is an IPv4 socket");

	CTL(e, FD3(env_server(e, SOCK_STREAM, "::1", 0, true)), &r, "register", "web");
	expect_fail(&r, 1, "label web has only IPv4 tcp bindings; this IPv6 socket is v6only");

	CTL(e, FD3(env_keep(e, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0))), &r, "register",
	    "web");
	expect_fail(&r, 1, "fd 3: the TCP socket is not listening");

	fd = env_keep(e, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	CTL(e, FD3(fd), &r, "register", "dns");
	expect_fail(&r, 1, "fd 3: the UDP socket is not bound");
	len = fixture_addr("127.0.0.1", 9, &ss);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	CTL(e, FD3(fd), &r, "register", "dns");
	expect_fail(&r, 1, "fd 3: the UDP socket is connected");

	CTL(e, FD3(env_server(e, SOCK_STREAM, "127.0.0.1", 0, true)), &r, "register", "nope");
	expect_fail(&r, 1, "label \"nope\" is not used by any binding");

	CTL(e, FD3(env_keep(e, open("/dev/null", O_RDONLY | O_CLOEXEC))), &r, "register", "web");
	expect_fail(&r, 1, "fd 3: not a socket");

	CTL(e, NULL, &r, "register", "web");
	expect_fail(&r, 1, "fd 3 is not open in the caller; pass the socket on fd 3");

	a = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);
	b = env_server(e, SOCK_STREAM, "::", 0, false);
	CTL(e, PASS2(a, 3, b, 4), &r, "register", "web", "--fd", "3", "--fd", "4");
	expect_fail(&r, 1, "fd 3 and fd 4 would both serve tcp IPv4 of label web");

	CTL(e, NULL, &r, "register");
	expect_fail(&r, 2, "register: give a LABEL");
	CTL(e, NULL, &r, "register", "web", "--fd", "x");
	expect_fail(&r, 2, "--fd \"x\" is not an fd number");
	CTL(e, NULL, &r, "register", "web", "--pid", "1");
	expect_fail(&r, 2, "--pid needs --fd N");

	assert_no_socket(e, "web");
	assert_no_socket(e, "six");
	assert_no_socket(e, "dns");
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, NULL, 0), -1);
}

/* ---- what registered sockets serve ---- */

/* A [::] socket that is not v6only serves a label's IPv4 bindings. */
static void dual_stack_socket_serves_ipv4(void **state)
{
	struct env *e = *state;
	struct result r;
	int dual;

	env_state(e, web_tcp);
	dual = env_server(e, SOCK_STREAM, "::", 0, false);
	CTL(e, FD3(dual), &r, "register", "web");
	expect_ok(&r);
	expect_out(&r, "(tcp [::]:");
	expect_out(&r, "for label web: tcp IPv4+IPv6\n");
	deliver_everywhere(SOCK_STREAM, dual);
}

/* One registered member of a SO_REUSEPORT group: the kernel spreads the
 * connections over the whole group. */
static void reuseport_group_shares_connections(void **state)
{
	struct env *e = *state;
	int group[2], hits[2] = { 0, 0 };
	struct result r;

	env_state(e, web_tcp);
	group[0] = env_listener(e, "127.0.0.1", 0, true);
	group[1] = env_listener(e, "127.0.0.1", local_port(group[0]), true);
	CTL(e, FD3(group[0]), &r, "register", "web");
	expect_ok(&r);
	for (int i = 0; i < 200; i++) {
		int hit = fixture_deliver(SOCK_STREAM, range_addrs[i % 5], 80, group, 2);

		assert_true(hit == 0 || hit == 1);
		hits[hit]++;
	}
	assert_true(hits[0] > 0);
	assert_true(hits[1] > 0);
}

/* ---- atomic handover ---- */

#define HANDOVER_MIN_CONNECTS 2000
#define HANDOVER_MAX_CONNECTS 20000

struct client_counts {
	int ok, refused, other;
};

/* Connects to the range until told to stop (after at least the minimum). */
static void client_loop(int stop_fd, int result_fd)
{
	struct client_counts c = { 0, 0, 0 };
	struct timeval tv = { .tv_sec = 3 };

	for (int n = 0; n < HANDOVER_MAX_CONNECTS; n++) {
		struct pollfd stop = { .fd = stop_fd, .events = POLLIN };
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
		int fd;

		if (n >= HANDOVER_MIN_CONNECTS && poll(&stop, 1, 0) != 0)
			break;
		sin.sin_addr.s_addr = htonl(0xc0000201 + (uint32_t)(n % 5)); /* 192.0.2.1.. */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			c.ok++;
		else if (errno == ECONNREFUSED)
			c.refused++;
		else
			c.other++;
		close(fd);
	}
	_exit(write(result_fd, &c, sizeof(c)) == sizeof(c) ? 0 : 1);
}

/* Accepts on both listeners until told to stop and nothing is left. */
static void accept_loop(const int *servers, int stop_fd, int result_fd)
{
	struct pollfd pfd[3] = { { .fd = servers[0], .events = POLLIN },
				 { .fd = servers[1], .events = POLLIN },
				 { .fd = stop_fd, .events = POLLIN } };
	int counts[2] = { 0, 0 };
	bool stopping = false;

	for (int round = 0; round < 10 * HANDOVER_MAX_CONNECTS; round++) {
		int n = poll(pfd, stopping ? 2 : 3, stopping ? 500 : 10000);

		if (n <= 0)
			break;
		stopping = stopping || pfd[2].revents;
		for (int i = 0; i < 2; i++) {
			int conn = (pfd[i].revents & POLLIN) ? accept(servers[i], NULL, NULL) : -1;

			if (conn >= 0) {
				counts[i]++;
				close(conn);
			}
		}
	}
	_exit(write(result_fd, counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
}

static pid_t fork_loop(struct env *e, int which, const int *servers, int stop[2], int result[2])
{
	pid_t pid;

	pipe_pair(stop);
	pipe_pair(result);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(stop[1]);
		if (which == 0)
			client_loop(stop[0], result[1]);
		accept_loop(servers, stop[0], result[1]);
	}
	env_track(e, pid);
	close(stop[0]);
	close(result[1]);
	return pid;
}

static void stop_and_collect(struct env *e, pid_t pid, int stop[2], int result[2], void *out,
			     size_t len)
{
	int status;

	close(stop[1]);
	assert_int_equal(read(result[0], out, len), (ssize_t)len);
	close(result[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	env_untrack(e, pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* While a client connects continuously, the label's socket is replaced
 * back and forth: no connection is refused, each lands on one of them. */
static void handover_refuses_no_connection(void **state)
{
	struct env *e = *state;
	int servers[2], client_stop[2], client_res[2], acc_stop[2], acc_res[2], counts[2];
	struct client_counts c;
	pid_t client, accepter;
	struct result r;

	env_state(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
		     "  \"ports\": [\"80\"]}]");
	servers[0] = env_listener(e, "127.0.0.1", 0, false);
	servers[1] = env_listener(e, "127.0.0.1", 0, false);
	CTL(e, FD3(servers[0]), &r, "register", "web");
	expect_ok(&r);
	accepter = fork_loop(e, 1, servers, acc_stop, acc_res);
	client = fork_loop(e, 0, servers, client_stop, client_res);
	for (int i = 1; i <= 10; i++) {
		CTL(e, FD3(servers[i % 2]), &r, "register", "web");
		expect_ok(&r);
		usleep(10000);
	}
	stop_and_collect(e, client, client_stop, client_res, &c, sizeof(c));
	stop_and_collect(e, accepter, acc_stop, acc_res, counts, sizeof(counts));
	print_message("handover: %d connections, %d + %d accepted\n", c.ok, counts[0], counts[1]);
	assert_int_equal(c.refused, 0);
	assert_int_equal(c.other, 0);
	assert_true(c.ok >= HANDOVER_MIN_CONNECTS);
	assert_int_equal(counts[0] + counts[1], c.ok);
	assert_true(counts[0] > 0 && counts[1] > 0);
}

/* A dual-stack socket replaced by a v6only one leaves the IPv4 slot (the
 * server is handing over); a socket registered on its own for IPv4 stays;
 * a dual-stack replacement takes both slots. */
static void replacement_keeps_no_stale_slot(void **state)
{
	struct env *e = *state;
	uint64_t c[SKL_SOCKET_SLOTS];
	int dual, v6only, v4;
	char want[160];
	struct result r;

	env_state(e, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"},"
		     " {\"label\": \"web\", \"protocol\": \"tcp\","
		     "  \"prefix\": \"2001:db8::/64\"}]");
	dual = env_server(e, SOCK_STREAM, "::", 0, false);
	v6only = env_server(e, SOCK_STREAM, "::1", 0, true);
	v4 = env_server(e, SOCK_STREAM, "127.0.0.1", 0, true);

	CTL(e, FD3(dual), &r, "register", "web");
	expect_ok(&r);
	CTL(e, FD3(v6only), &r, "register", "web");
	expect_ok(&r);
	snprintf(want, sizeof(want),
		 "removed the replaced socket (cookie %llu) from tcp IPv4 of label web",
		 (unsigned long long)fixture_cookie(dual));
	expect_out(&r, want);
	label_cookies(e, "web", c);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], fixture_cookie(v6only));
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, NULL, 0), -1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "2001:db8::1", 80, &v6only, 1), 0);

	CTL(e, FD3(v4), &r, "register", "web");
	expect_ok(&r);
	CTL(e, FD3(v6only), &r, "register", "web");
	expect_ok(&r);
	label_cookies(e, "web", c);
	assert_int_equal(c[0], fixture_cookie(v4));
	assert_int_equal(c[1], fixture_cookie(v6only));

	CTL(e, FD3(dual), &r, "register", "web");
	expect_ok(&r);
	label_cookies(e, "web", c);
	assert_int_equal(c[0], fixture_cookie(dual));
	assert_int_equal(c[1], fixture_cookie(dual));
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &dual, 1), 0);

	/* Both new sockets in one command: no gap, nothing cleared. */
	CTL(e, PASS2(v4, 3, v6only, 4), &r, "register", "web", "--fd", "3", "--fd", "4");
	expect_ok(&r);
	assert_null(strstr(r.out, "removed"));
	label_cookies(e, "web", c);
	assert_int_equal(c[0], fixture_cookie(v4));
	assert_int_equal(c[1], fixture_cookie(v6only));
}

/* ---- unregister ---- */

static void unregister_removes_sockets(void **state)
{
	struct env *e = *state;
	struct result r;
	char want[128];
	int tcp, udp;

	env_state(e, web_tcp_udp);
	tcp = env_server(e, SOCK_STREAM, "::", 0, false);
	udp = env_server(e, SOCK_DGRAM, "127.0.0.1", 0, true);
	CTL(e, PASS2(tcp, 3, udp, 4), &r, "register", "web", "--fd", "3", "--fd", "4");
	expect_ok(&r);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &tcp, 1), 0);

	CTL(e, NULL, &r, "unregister", "web", "--protocol", "udp");
	expect_ok(&r);
	expect_out(&r, "from label web: udp IPv4\n");
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "192.0.2.1", 80, &udp, 1), -1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, &tcp, 1), 0);

	CTL(e, NULL, &r, "unregister", "web");
	expect_ok(&r);
	snprintf(want, sizeof(want),
		 "unregistered socket cookie %llu from label web: tcp IPv4+IPv6\n",
		 (unsigned long long)fixture_cookie(tcp));
	expect_out(&r, want);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, NULL, 0), -1);
	assert_no_socket(e, "web");

	CTL(e, NULL, &r, "unregister", "web");
	expect_ok(&r);
	expect_out(&r, "label web had no socket registered; nothing to do");
	CTL(e, NULL, &r, "unregister", "nope");
	expect_fail(&r, 1, "label \"nope\" is not used by any binding");
	CTL(e, NULL, &r, "unregister", "web", "--protocol", "sctp");
	expect_fail(&r, 2, "--protocol \"sctp\": use tcp or udp");
}

/* ---- exec ---- */

static const char svc_bindings[] =
	"[{\"label\": \"svc\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"443\"]},"
	" {\"label\": \"svc\", \"protocol\": \"udp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"53\"]},"
	" {\"label\": \"tcponly\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/24\"}]";

static void read_line(int fd, char *line, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 10000) <= 0 || read(fd, line + got, 1) != 1)
			break;
		if (line[got++] == '\n')
			break;
	}
	line[got] = 0;
}

/* A UDP query to addr:port; the answer and the address it came from. */
static void udp_ask(const char *addr, uint16_t port, char *answer, size_t len,
		    struct sockaddr_in *from)
{
	struct timeval tv = { .tv_sec = 2 };
	struct sockaddr_storage ss;
	socklen_t sslen = fixture_addr(addr, port, &ss), flen = sizeof(*from);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(sendto(fd, "q", 1, 0, (struct sockaddr *)&ss, sslen), 1);
	n = recvfrom(fd, answer, len - 1, 0, (struct sockaddr *)from, &flen);
	if (n < 0)
		fail_msg("no answer from %s:%u: %s", addr, port, strerror(errno));
	answer[n] = 0;
	close(fd);
}

/* exec registers its sockets and runs a socket-activated server with them:
 * TCP to the range gets its answer, UDP its reply from the address asked. */
static void exec_runs_socket_activated_server(void **state)
{
	struct env *e = *state;
	char line[128], from_addr[INET_ADDRSTRLEN];
	struct sockaddr_in from;
	uint64_t c[SKL_SOCKET_SLOTS];
	struct result r;
	struct proc p;

	env_state(e, svc_bindings);
	spawn_ctl(e, &(struct spawn){ .stdin_pipe = true },
		  (const char *const[]){ "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0",
					 "--listen", "udp://0.0.0.0:53", "--", helper_path, "20",
					 NULL },
		  &p);
	read_line(p.out, line, sizeof(line));
	if (strcmp(line, "ready 2\n")) {
		finish(e, &p, &r);
		fail_msg("no ready line from the server: <%s> (stderr <%s>)", line, r.err);
	}
	label_cookies(e, "svc", c);
	assert_true(c[0] && c[2]);

	tcp_line("192.0.2.7", 443, line, sizeof(line));
	assert_string_equal(line, "svc 192.0.2.7:443\n");
	tcp_line("192.0.2.200", 80, line, sizeof(line));
	assert_string_equal(line, "svc 192.0.2.200:80\n");
	udp_ask("192.0.2.9", 53, line, sizeof(line), &from);
	assert_string_equal(line, "svc 192.0.2.9:53\n");
	inet_ntop(AF_INET, &from.sin_addr, from_addr, sizeof(from_addr));
	assert_string_equal(from_addr, "192.0.2.9");
	assert_int_equal(ntohs(from.sin_port), 53);

	/* EOF on stdin stops the server; its sockets close and leave the map. */
	finish(e, &p, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.7", 443, NULL, 0), -1);
	assert_no_socket(e, "svc");
}

/* --freebind sets IP_FREEBIND / IPV6_FREEBIND on the sockets before the
 * handover (a UDP server then may reply from an IPv6 address only a local
 * route covers); without it they are as socket(2) made them. The server
 * here prints the flag of fds 3 (IPv4 TCP) and 4 (dual-stack UDP). */
static void exec_freebind_sets_the_flag_before_handover(void **state)
{
	static const char show[] =
		"import socket as s\n"
		"a, b = s.socket(fileno=3), s.socket(fileno=4)\n"
		"print(a.getsockopt(s.IPPROTO_IP, 15), b.getsockopt(s.IPPROTO_IPV6, 78))\n";
	struct env *e = *state;
	struct result r;

	env_state(e, svc_bindings);
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0", "--listen",
	    "udp://[::]:53", "--", "python3", "-c", show);
	expect_ok(&r);
	assert_string_equal(r.out, "0 0\n");
	CTL(e, NULL, &r, "exec", "--label", "svc", "--freebind", "--listen", "tcp://0.0.0.0:0",
	    "--listen", "udp://[::]:53", "--", "python3", "-c", show);
	expect_ok(&r);
	assert_string_equal(r.out, "1 1\n");
	assert_no_socket(e, "svc");
}

/* Chained execs give one server the sockets of two labels: the inner exec
 * keeps the socket the outer one passed at fd 3 and puts its own at fd 4,
 * LISTEN_FDS=2, LISTEN_FDNAMES in that order (the server names each answer
 * by it). */
static void exec_chains_for_several_labels(void **state)
{
	struct env *e = *state;
	char line[128];
	struct result r;
	struct proc p;

	env_state(e, svc_bindings);
	spawn_ctl(e, &(struct spawn){ .stdin_pipe = true },
		  (const char *const[]){ "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0",
					 "--", ctl_path, "--bpffs-root", e->root, "exec",
					 "--label", "tcponly", "--listen", "tcp://[::]:0", "--",
					 helper_path, "20", NULL },
		  &p);
	read_line(p.out, line, sizeof(line));
	if (strcmp(line, "ready 2\n")) {
		finish(e, &p, &r);
		fail_msg("no ready line from the server: <%s> (stderr <%s>)", line, r.err);
	}
	tcp_line("192.0.2.7", 443, line, sizeof(line));
	assert_string_equal(line, "svc 192.0.2.7:443\n");
	tcp_line("198.51.100.9", 7777, line, sizeof(line));
	assert_string_equal(line, "tcponly 198.51.100.9:7777\n");
	finish(e, &p, &r);
	assert_int_equal(r.status, 0);
	assert_no_socket(e, "svc");
	assert_no_socket(e, "tcponly");
}

/* Anything that fails before CMD runs leaves nothing registered. */
static void exec_failures_leave_nothing(void **state)
{
	struct env *e = *state;
	struct result r;

	env_state(e, svc_bindings);
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0", "--",
	    "/nonexistent/server");
	expect_fail(&r, 1, "/nonexistent/server: No such file or directory");
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0", "--",
	    "no-such-command-here");
	expect_fail(&r, 1, "no-such-command-here: command not found in PATH");
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "udp://0.0.0.0:0", "--listen",
	    "tcp://203.0.113.1:80", "--", "true");
	expect_fail(&r, 1, "tcp://203.0.113.1:80: bind: Cannot assign requested address");
	CTL(e, NULL, &r, "exec", "--label", "tcponly", "--listen", "udp://0.0.0.0:0", "--", "true");
	expect_fail(&r, 1, "udp://0.0.0.0:0: label tcponly has only tcp bindings; this is a udp");
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0", "--listen",
	    "tcp://[::]:0", "--", "true");
	expect_fail(&r, 1, "tcp://0.0.0.0:0 and tcp://[::]:0 would both serve tcp IPv4");
	/* Registered, then exec itself fails (a directory): withdrawn again. */
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "tcp://[::]:0", "--", "/");
	expect_fail(&r, 1, "/: exec: Permission denied");
	assert_no_socket(e, "svc");
	assert_no_socket(e, "tcponly");
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.1", 80, NULL, 0), -1);

	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "tcp://0.0.0.0:0", "true");
	expect_fail(&r, 2, "put -- before the command");
	CTL(e, NULL, &r, "exec", "--label", "svc", "--listen", "http://0.0.0.0:80", "--", "true");
	expect_fail(&r, 2, "expected tcp://ADDR:PORT or udp://ADDR:PORT");
	CTL(e, NULL, &r, "exec", "--listen", "tcp://0.0.0.0:80", "--", "true");
	expect_fail(&r, 2, "give --label LABEL");
}

/* The library's error codes are the CNI spec's, not exit statuses: a library
 * failure with code 3 (SKL_CNI_UNKNOWN_CONTAINER: the pod's netns is gone,
 * its link detached) exits 1 with its message, not 3 ("no dispatcher");
 * a real usage error still exits 2 and a pod not found 3. */
static void library_error_codes_are_not_exit_statuses(void **state)
{
	struct env *e = *state;
	struct result r;

	env_state(e, svc_bindings);
	assert_int_equal(bpf_link_detach(e->d.link_fd), 0);
	CTL(e, NULL, &r, "--container", "cid", "exec", "--label", "svc", "--listen",
	    "tcp://0.0.0.0:0", "--", "true");
	expect_fail(&r, 1, "the pod's network namespace is gone (its link is detached)");
	CTL(e, NULL, &r, "--container", "cid", "exec", "--label", "svc", "--", "true");
	expect_fail(&r, 2, "give --listen");
	CTL(e, NULL, &r, "--container", "nosuch", "exec", "--label", "svc", "--listen",
	    "tcp://0.0.0.0:0", "--", "true");
	expect_fail(&r, 3, "no sklookup dispatcher for that container");
	assert_no_socket(e, "svc");
}

/* ---- help and JSON ---- */

static void help_for_each_command(void **state)
{
	const char *const commands[] = { "register", "unregister", "exec" };
	struct env *e = *state;
	struct result r;
	char want[64];

	for (size_t i = 0; i < 3; i++) {
		CTL(e, NULL, &r, commands[i], "--help");
		expect_ok(&r);
		snprintf(want, sizeof(want), "usage: sklookup-ctl [OPTIONS] %s ", commands[i]);
		assert_true(!strncmp(r.out, want, strlen(want)));
		assert_non_null(strstr(r.out, "Example"));
		CTL(e, NULL, &r, "--help");
		expect_ok(&r);
		snprintf(want, sizeof(want), "\n  %-11s ", commands[i]);
		expect_out(&r, want);
	}
}

static void json_output_parses(void **state)
{
	struct env *e = *state;
	cJSON *doc, *slots, *removed;
	struct result r;
	char local[64];
	int dual;

	env_state(e, web_tcp);
	dual = env_server(e, SOCK_STREAM, "::", 0, false);
	CTL(e, FD3(dual), &r, "--json", "register", "web");
	expect_ok(&r);
	doc = cJSON_Parse(r.out);
	if (!cJSON_IsObject(doc))
		fail_msg("not a JSON object: %s", r.out);
	assert_string_equal(cJSON_GetObjectItem(doc, "label")->valuestring, "web");
	assert_int_equal(cJSON_GetObjectItem(doc, "fd")->valueint, 3);
	assert_string_equal(cJSON_GetObjectItem(doc, "protocol")->valuestring, "tcp");
	assert_string_equal(cJSON_GetObjectItem(doc, "family")->valuestring, "ipv6");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(doc, "v6only")));
	snprintf(local, sizeof(local), "[::]:%u", local_port(dual));
	assert_string_equal(cJSON_GetObjectItem(doc, "local")->valuestring, local);
	assert_true(cJSON_GetObjectItem(doc, "cookie")->valuedouble ==
		    (double)fixture_cookie(dual));
	slots = cJSON_GetObjectItem(doc, "slots");
	assert_int_equal(cJSON_GetArraySize(slots), 2);
	assert_string_equal(cJSON_GetArrayItem(slots, 0)->valuestring, "tcp4");
	assert_string_equal(cJSON_GetArrayItem(slots, 1)->valuestring, "tcp6");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cleared")), 0);
	cJSON_Delete(doc);

	CTL(e, NULL, &r, "unregister", "web", "--json");
	expect_ok(&r);
	doc = cJSON_Parse(r.out);
	assert_non_null(doc);
	removed = cJSON_GetObjectItem(doc, "removed");
	assert_int_equal(cJSON_GetArraySize(removed), 1);
	slots = cJSON_GetObjectItem(cJSON_GetArrayItem(removed, 0), "slots");
	assert_int_equal(cJSON_GetArraySize(slots), 2);
	cJSON_Delete(doc);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(register_from_fd3),
		TEST(register_with_fd_option),
		TEST(register_from_listen_fds),
		TEST(register_from_running_process),
		TEST(refusals_name_the_cause),
		TEST(dual_stack_socket_serves_ipv4),
		TEST(reuseport_group_shares_connections),
		TEST(handover_refuses_no_connection),
		TEST(replacement_keeps_no_stale_slot),
		TEST(unregister_removes_sockets),
		TEST(exec_runs_socket_activated_server),
		TEST(exec_freebind_sets_the_flag_before_handover),
		TEST(exec_chains_for_several_labels),
		TEST(exec_failures_leave_nothing),
		TEST(library_error_codes_are_not_exit_statuses),
		TEST(help_for_each_command),
		TEST(json_output_parses),
	};

	return cmocka_run_group_tests_name("sklookup-ctl register, unregister, exec", tests,
					   group_setup, NULL);
}
