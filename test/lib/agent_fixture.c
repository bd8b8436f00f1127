/* Root-test fixture for the node agent as a real process (agent_fixture.h). */
#include "agent_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testbin.h"
#include "testnet.h"

static char ctl_path[PATH_MAX];

int agentfix_group_setup(void)
{
	int saved;

	testbin_path(ctl_path, sizeof(ctl_path), "sklookup-ctl");
	if (ctl_path[0] != '/' || access(ctl_path, X_OK)) {
		fprintf(stderr, "build %s first\n", ctl_path);
		return -1;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) {
		fprintf(stderr, "private /run: %s\n", strerror(errno));
		return -1;
	}
	if (testnet_unshare_netns(&saved))
		return -1;
	close(saved);
	return 0;
}

const char *agentfix_ctl_path(void)
{
	return ctl_path;
}

uint64_t agentfix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void agentfix_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static bool answers(void)
{
	int fd = agentfix_raw_connect(1000);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

pid_t agentfix_start(const char *root, const char *const *wrap)
{
	return agentfix_start_with(root, wrap, NULL);
}

pid_t agentfix_start_with(const char *root, const char *const *wrap, const char *const *extra)
{
	const char *tail[] = { ctl_path, "--bpffs-root", root, "agent", "--socket",
			       AGENTFIX_SOCK, NULL };
	const char *argv[32];
	uint64_t deadline = agentfix_now_ms() + 10000;
	size_t n = 0;
	pid_t pid;

	for (; wrap && wrap[n]; n++)
		argv[n] = wrap[n];
	for (size_t i = 0; tail[i]; i++)
		argv[n++] = tail[i];
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int log = open(AGENTFIX_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* A suite that dies without its teardown (a sanitizer's abort)
		 * takes its agent along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
		    dup2(log, 2) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (!answers()) {
		if (agentfix_now_ms() > deadline || waitpid(pid, NULL, WNOHANG) == pid) {
			agentfix_show_log();
			fail_msg("the agent did not start");
		}
		agentfix_sleep_ms(20);
	}
	return pid;
}

int agentfix_stop(pid_t pid, int sig, int timeout_ms, uint64_t *took_ms)
{
	uint64_t start = agentfix_now_ms(), deadline = start + (uint64_t)timeout_ms;
	int status = 0;
	pid_t got;

	kill(pid, sig);
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && agentfix_now_ms() < deadline)
		agentfix_sleep_ms(5);
	if (took_ms)
		*took_ms = agentfix_now_ms() - start;
	if (got != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void agentfix_clean(void)
{
	testnet_run("rm -rf " AGENTFIX_SOCK_DIR " " AGENTFIX_LOG);
}

void agentfix_show_log(void)
{
	char line[1024];
	FILE *f = fopen(AGENTFIX_LOG, "r");
	int shown = 0;

	fprintf(stderr, "---- agent log (first 2000 lines) ----\n");
	while (f && fgets(line, sizeof(line), f) && shown++ < 2000)
		fputs(line, stderr);
	if (f)
		fclose(f);
}

bool agentfix_log_has(const char *text)
{
	char line[2048];
	FILE *f = fopen(AGENTFIX_LOG, "r");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

int agentfix_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int agentfix_raw_connect(int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = AGENTFIX_SOCK };
	struct timeval timeout = { .tv_sec = timeout_ms / 1000,
				   .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return -1;
	}
	return fd;
}

int agentfix_raw_send(int conn, const void *data, size_t len, const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(SKL_AGENT_RECV_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n_fds > SKL_AGENT_RECV_FDS)
		return -1;
	memset(&control, 0, sizeof(control));
	if (n_fds) {
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	return sendmsg(conn, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int agentfix_raw_answer(int conn, struct agentfix_answer *a)
{
	char *buf = malloc(SKL_AGENT_MAX_RECORD + 1);
	bool reset_seen = false;
	size_t used = 0;

	a->out[0] = a->err[0] = 0;
	a->status = -1;
	while (buf) {
		struct skl_agent_answer ans;
		struct skl_err err = { 0 };
		int fds[SKL_AGENT_MAX_FDS];
		size_t n_fds;

		ssize_t n = skl_agent_recv(conn, buf, SKL_AGENT_MAX_RECORD + 1, fds,
					   SKL_AGENT_MAX_FDS, &n_fds, 0, &err);

		/* The agent closed with a record of ours unread: the kernel reports
		 * ECONNRESET once, ahead of the answer still queued. */
		if (n < 0 && errno == ECONNRESET && !reset_seen) {
			reset_seen = true;
			continue;
		}
		if (n <= 0) {
			snprintf(a->err, sizeof(a->err), "no answer: %s",
				 n ? err.msg : "the agent closed the connection");
			break;
		}
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		if (skl_agent_answer_decode(buf, &ans, &err))
			break;
		if (ans.done) {
			a->status = ans.exit_status;
			if (ans.exit_status)
				snprintf(a->err, sizeof(a->err), "%s", err.msg);
			break;
		}
		if (used + ans.out_len < sizeof(a->out)) {
			memcpy(a->out + used, ans.out, ans.out_len + 1);
			used += ans.out_len;
		}
		skl_agent_answer_free(&ans);
	}
	free(buf);
	return a->status;
}

int agentfix_raw_request(const char *text, const int *fds, size_t n_fds,
			 struct agentfix_answer *a)
{
	int conn = agentfix_raw_connect(10000);

	a->status = -1;
	snprintf(a->err, sizeof(a->err), "cannot connect or send");
	if (conn < 0)
		return -1;
	if (!agentfix_raw_send(conn, text, strlen(text), fds, n_fds))
		agentfix_raw_answer(conn, a);
	close(conn);
	return a->status;
}

int agentfix_enter_netns(int netns_fd)
{
	int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (saved < 0 || setns(netns_fd, CLONE_NEWNET)) {
		if (saved >= 0)
			close(saved);
		return -1;
	}
	return saved;
}

void agentfix_leave_netns(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET))
		abort(); /* the suite would go on in the wrong netns */
	close(saved);
}
