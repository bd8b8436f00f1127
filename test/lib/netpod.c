#include "netpod.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "dispatch_fixture.h"
#include "rules.h"
#include "testnet.h"

#define FETCH_TIMEOUT_MS 2000
#define RUN_TIMEOUT_MS 20000

/* --- pods --- */

static void mkdir_once(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

void netpod_create(struct netpod *p, const char *root, const char *cid, const char *bindings)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };
	char path[PATH_MAX];
	int saved;

	memset(p, 0, sizeof(*p));
	p->netns = -1;
	skl_dispatcher_init(&p->d);
	assert_int_equal(testnet_unshare_netns(&saved), 0);
	p->netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(p->netns >= 0);
	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	fixture_dispatcher(&p->d, NULL);
	fixture_parse(bindings, &set);
	if (skl_rules_apply(&p->d, &set, &err))
		fail_msg("bindings: %s", err.msg);
	skl_bindings_free(&set);
	assert_int_equal(testnet_restore_netns(saved), 0);
	snprintf(path, sizeof(path), "%.3000s/net", root);
	mkdir_once(path);
	snprintf(path, sizeof(path), "%.3000s/net/%.64s", root, cid);
	mkdir_once(path);
	snprintf(p->dir, sizeof(p->dir), "%.3000s/net/%.64s/eth0", root, cid);
	mkdir_once(p->dir);
	if (skl_dispatcher_pin(&p->d, p->dir, &err))
		fail_msg("pin: %s", err.msg);
}

void netpod_release(struct netpod *p)
{
	if (p->netns >= 0)
		close(p->netns);
	p->netns = -1;
}

void netpod_destroy(struct netpod *p)
{
	netpod_release(p);
	skl_dispatcher_close(&p->d);
}

/* Runs in the pod's netns on the calling thread, then back. */
static int enter(const struct netpod *p)
{
	int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	assert_true(saved >= 0);
	assert_int_equal(setns(p->netns, CLONE_NEWNET), 0);
	return saved;
}

static void leave(int saved)
{
	assert_int_equal(testnet_restore_netns(saved), 0);
}

int netpod_socket(const struct netpod *p, int domain, int type)
{
	int saved = enter(p), fd = socket(domain, type | SOCK_CLOEXEC, 0);

	leave(saved);
	assert_true(fd >= 0);
	return fd;
}

int netpod_server(const struct netpod *p, int type, const char *addr, uint16_t port,
		  bool v6only)
{
	int saved = enter(p), fd = fixture_server(type, addr, port, v6only);

	leave(saved);
	return fd;
}

uint64_t netpod_slot_cookie(const struct netpod *p, const char *label, int slot)
{
	struct skl_err err = { 0 };
	uint64_t cookie = 0;
	uint32_t id, key;

	if (skl_label_lookup(&p->d, label, &id, &err))
		fail_msg("%s", err.msg);
	key = skl_socket_slot(id, slot & 2, slot & 1);
	if (bpf_map_lookup_elem(p->d.map_fd[SKL_MAP_SOCKETS], &key, &cookie))
		return 0;
	return cookie;
}

static bool wait_for(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & (events | POLLHUP | POLLERR));
}

int netpod_fetch(const struct netpod *p, const char *addr, uint16_t port, char *line, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = fixture_addr(addr, port, &ss);
	int fd = netpod_socket(p, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK), error = 0;
	socklen_t elen = sizeof(error);
	size_t used = 0;
	int ret = -1;

	if (connect(fd, (struct sockaddr *)&ss, sslen) && errno != EINPROGRESS)
		goto out;
	if (!wait_for(fd, POLLOUT, FETCH_TIMEOUT_MS) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) || error)
		goto out;
	while (used + 1 < len && wait_for(fd, POLLIN, FETCH_TIMEOUT_MS)) {
		ssize_t n = read(fd, line + used, 1);

		if (n <= 0)
			break;
		if (line[used++] == '\n')
			break;
	}
	line[used] = 0;
	ret = used && line[used - 1] == '\n' ? 0 : -1;
out:
	close(fd);
	return ret;
}

/* --- children --- */

/* What a pod's container without privileges has: uid and gid 65534, no
 * supplementary groups, every capability set empty (bounding and ambient
 * too), no_new_privs, no bpffs mounted, and the node agent's directory
 * read-only, as examples/pod-annotation.yaml mounts it. */
static void become_unprivileged(void)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    (umount2("/sys/fs/bpf", MNT_DETACH) && errno != EINVAL))
		goto fail;
	if (!access(NETPOD_AGENT_DIR, F_OK) &&
	    (mount(NETPOD_AGENT_DIR, NETPOD_AGENT_DIR, NULL, MS_BIND, NULL) ||
	     mount(NULL, NETPOD_AGENT_DIR, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)))
		goto fail;
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			goto fail;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || setgroups(0, NULL) ||
	    setresgid(NETPOD_UID, NETPOD_UID, NETPOD_UID) ||
	    setresuid(NETPOD_UID, NETPOD_UID, NETPOD_UID) || syscall(SYS_capset, &head, data))
		goto fail;
	return;
fail:
	dprintf(STDERR_FILENO, "netpod: dropping privileges: %s\n", strerror(errno));
	_exit(126);
}

static void child_setup(const struct child_opts *o, int in, int out, int err)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (dup2(in >= 0 ? in : null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	/* dup2 onto another fd clears close-on-exec; onto itself it does not. */
	if (o->fd3 >= 0 && (o->fd3 == 3 ? fcntl(3, F_SETFD, 0) : dup2(o->fd3, 3)) < 0)
		_exit(126);
	if (o->pod && setns(o->pod->netns, CLONE_NEWNET)) {
		dprintf(STDERR_FILENO, "netpod: setns: %s\n", strerror(errno));
		_exit(126);
	}
	if (o->unprivileged)
		become_unprivileged();
}

void child_spawn(struct child *c, const struct child_opts *o, char *const argv[])
{
	int in[2] = { -1, -1 }, out[2], err[2];

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	if (o->stdin_pipe)
		assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	fflush(NULL);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		child_setup(o, in[0], out[1], err[1]);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "netpod: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (in[0] >= 0)
		close(in[0]);
	c->in = in[1];
	c->out = out[0];
	c->err = err[0];
}

bool child_read_line(struct child *c, char *line, size_t len, int timeout_ms)
{
	size_t used = 0;

	while (c->out >= 0 && used + 1 < len && wait_for(c->out, POLLIN, timeout_ms)) {
		ssize_t n = read(c->out, line + used, 1);

		if (n <= 0)
			break;
		if (line[used++] == '\n') {
			line[used] = 0;
			return true;
		}
	}
	line[used] = 0;
	return false;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Appends what is readable on *fd to buf; closes *fd at EOF. */
static void drain(int *fd, char *buf, size_t len, size_t *used)
{
	char scratch[4096];
	ssize_t n = read(*fd, scratch, sizeof(scratch));

	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n && buf && *used + 1 < len; i++)
		buf[(*used)++] = scratch[i];
	if (buf)
		buf[*used] = 0;
}

int child_finish(struct child *c, char *out, size_t out_len, char *err, size_t err_len,
		 int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	size_t out_used = 0, err_used = 0;
	int status;

	if (out)
		out[0] = 0;
	if (err)
		err[0] = 0;
	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	while ((c->out >= 0 || c->err >= 0) && now_ms() < deadline) {
		struct pollfd pfd[2] = { { .fd = c->out, .events = POLLIN },
					 { .fd = c->err, .events = POLLIN } };

		if (poll(pfd, 2, (int)(deadline - now_ms())) <= 0)
			continue;
		if (pfd[0].revents)
			drain(&c->out, out, out_len, &out_used);
		if (pfd[1].revents)
			drain(&c->err, err, err_len, &err_used);
	}
	if (c->out >= 0 || c->err >= 0)
		kill(c->pid, SIGKILL);
	if (c->out >= 0)
		close(c->out);
	if (c->err >= 0)
		close(c->err);
	c->out = c->err = -1;
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	c->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int child_run(const struct child_opts *o, char *out, size_t out_len, char *err, size_t err_len,
	      char *const argv[])
{
	struct child c;

	child_spawn(&c, o, argv);
	return child_finish(&c, out, out_len, err, err_len, RUN_TIMEOUT_MS);
}
