/*
 * Where register's and exec's sockets come from: fds of the caller, of
 * another process (pidfd_getfd), or systemd's socket activation; and the
 * client side of register through the node agent. The checks and the
 * handover are the library's (pod_register.c).
 */
#include "ctl_sources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void skl_ctl_sources_close(struct skl_sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].owned && s->v[i].fd >= 0)
			close(s->v[i].fd);
	s->n = 0;
}

/* An fd the caller passed: open, and not one of ours (every fd sklookup-ctl
 * opens is close-on-exec; an inherited one cannot be). */
static int check_passed(int fd, const char *hint, struct skl_err *err)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0 || (flags & FD_CLOEXEC))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d is not open in the caller%s", fd, hint);
	return 0;
}

static int from_caller(const int *fds, size_t n, struct skl_sources *s, struct skl_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (check_passed(fds[i], "", err) ||
		    skl_sources_add(s, fds[i], false, fds[i], err, "fd %d", fds[i]))
			return -1;
	return 0;
}

static const char *pidfd_getfd_reason(int error)
{
	switch (error) {
	case EPERM:
		return "needs ptrace access (CAP_SYS_PTRACE or same user)";
	case EBADF:
		return "no such fd in that process";
	default:
		return strerror(error);
	}
}

/* Duplicates fd of process pid into this process (pidfd_getfd(2)): the
 * process keeps its socket and notices nothing. */
static int from_process(pid_t pid, const int *fds, size_t n, struct skl_sources *s,
			struct skl_err *err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "pid %d: pidfd_open: %s", (int)pid,
				errno == ESRCH ? "no such process" : strerror(errno));
	for (size_t i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, fds[i], 0);

		if (fd < 0) {
			skl_errf(err, SKL_CNI_INTERNAL, "pid %d fd %d: pidfd_getfd: %s", (int)pid,
				 fds[i], pidfd_getfd_reason(errno));
			close(pidfd);
			return -1;
		}
		if (skl_sources_add(s, fd, true, fds[i], err, "pid %d fd %d", (int)pid, fds[i])) {
			close(pidfd);
			return -1;
		}
	}
	close(pidfd);
	return 0;
}

/* systemd passes fds 3.. to the process named by LISTEN_PID (sd_listen_fds(3));
 * a wrapper that does not set it means us. */
static bool listen_fds_are_ours(void)
{
	const char *pid = getenv("LISTEN_PID");
	long value;

	if (!getenv("LISTEN_FDS"))
		return false;
	return !pid || (!skl_ctl_parse_long(pid, 1, INT32_MAX, &value) && value == (long)getpid());
}

/* True if field i of the colon-separated list is want. */
static bool field_is(const char *list, long i, const char *want)
{
	size_t len = strlen(want);

	for (; i > 0 && list; i--) {
		list = strchr(list, ':');
		list = list ? list + 1 : NULL;
	}
	return list && !strncmp(list, want, len) && (list[len] == ':' || !list[len]);
}

static int from_listen_fds(const char *label, struct skl_sources *s, struct skl_err *err)
{
	const char *count = getenv("LISTEN_FDS"), *names = getenv("LISTEN_FDNAMES");
	long n;

	if (skl_ctl_parse_long(count, 1, INT32_MAX - LISTEN_FDS_START, &n))
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"LISTEN_FDS=\"%.32s\" is not a positive number of fds", count);
	for (long i = 0; i < n; i++) {
		int fd = LISTEN_FDS_START + (int)i;

		if (names && !field_is(names, i, label))
			continue;
		if (check_passed(fd, " (LISTEN_FDS)", err) ||
		    skl_sources_add(s, fd, false, fd, err, "fd %d", fd))
			return -1;
	}
	if (s->n == 0)
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"no fd in LISTEN_FDS is named \"%s\" (LISTEN_FDNAMES=\"%.200s\"); "
				"name the socket %s (systemd: FileDescriptorName=%s) or give "
				"--fd N",
				label, names, label, label);
	return 0;
}

int skl_ctl_sources_collect(const char *label, const int *fds, size_t n_fds, long pid,
			    struct skl_sources *s, struct skl_err *err)
{
	static const int fd3 = LISTEN_FDS_START;

	if (pid)
		return from_process((pid_t)pid, fds, n_fds, s, err);
	if (n_fds)
		return from_caller(fds, n_fds, s, err);
	if (listen_fds_are_ours())
		return from_listen_fds(label, s, err);
	if (check_passed(fd3, "; pass the socket on fd 3, or give --fd N, --pid PID --fd N or "
			      "LISTEN_FDS (see register --help)", err))
		return -1;
	return from_caller(&fd3, 1, s, err);
}

/* The client side through the node agent (ctl->agent): the agent checks,
 * registers and says what register would. */
int skl_ctl_via_agent(struct skl_ctl *ctl, const char *label, const struct skl_sources *s, long pid,
		      bool quiet, struct skl_err *err)
{
	struct skl_ctl_passed p[SKL_SOCKET_SLOTS];

	for (size_t i = 0; i < s->n; i++) {
		p[i].fd = s->v[i].fd;
		p[i].user_fd = s->v[i].user_fd;
		snprintf(p[i].name, sizeof(p[i].name), "%s", s->v[i].name);
	}
	return skl_ctl_agent_register(ctl, label, p, s->n, pid, quiet, err);
}

