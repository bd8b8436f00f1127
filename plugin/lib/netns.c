/* Network namespaces: open by path, enter and leave (setns), identify. */
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14; older libc headers lack it */
#endif

/* setns() moves only the calling thread, so save that thread's netns. */
#define SKL_THREAD_NETNS "/proc/thread-self/ns/net"

static const char *ns_type_name(int type)
{
	switch (type) {
	case CLONE_NEWNET:
		return "network";
	case CLONE_NEWUTS:
		return "UTS";
	case CLONE_NEWIPC:
		return "IPC";
	case CLONE_NEWNS:
		return "mount";
	case CLONE_NEWPID:
		return "PID";
	case CLONE_NEWUSER:
		return "user";
	case CLONE_NEWCGROUP:
		return "cgroup";
	default:
		return "other";
	}
}

static int check_is_netns(int fd, const char *path, struct skl_err *err)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	if (type < 0)
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"%s is not a namespace file (%s): use a network namespace "
				"such as /var/run/netns/NAME or /proc/PID/ns/net",
				path, strerror(errno));
	if (type != CLONE_NEWNET)
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"%s is a %s namespace, not a network namespace: use "
				"/var/run/netns/NAME or /proc/PID/ns/net",
				path, ns_type_name(type));
	return 0;
}

/* A namespace file lives on nsfs; anything else (a FIFO, a device, a
 * regular file) is refused before it is used for anything. */
static int check_on_nsfs(int fd, const char *path, struct skl_err *err)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) < 0)
		return skl_errf(err, SKL_CNI_INVALID_ENV, "cannot inspect netns %s: %s", path,
				strerror(errno));
	if (fs.f_type != NSFS_MAGIC)
		return skl_errf(err, SKL_CNI_INVALID_ENV,
				"%s is not a namespace file: use a network namespace such as "
				"/var/run/netns/NAME or /proc/PID/ns/net", path);
	return 0;
}

int skl_netns_open(const char *path, int *fd, struct skl_err *err)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	int nsfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (nsfd < 0)
		return skl_errf(err, SKL_CNI_INVALID_ENV, "cannot open netns %s: %s", path,
				strerror(errno));
	if (check_on_nsfs(nsfd, path, err) < 0 || check_is_netns(nsfd, path, err) < 0) {
		close(nsfd);
		return -1;
	}
	*fd = nsfd;
	return 0;
}

int skl_netns_enter(int netns_fd, int *saved, struct skl_err *err)
{
	int current = open(SKL_THREAD_NETNS, O_RDONLY | O_CLOEXEC);

	if (current < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot open %s: %s", SKL_THREAD_NETNS,
				strerror(errno));
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		int saved_errno = errno;

		close(current);
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot enter netns (setns): %s",
				strerror(saved_errno));
	}
	*saved = current;
	return 0;
}

int skl_netns_leave(int saved, struct skl_err *err)
{
	int rc = setns(saved, CLONE_NEWNET);
	int saved_errno = errno;

	close(saved);
	if (rc < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot return to the original netns (setns): %s",
				strerror(saved_errno));
	return 0;
}

int skl_socket_netns_cookie(int sockfd, uint64_t *cookie, struct skl_err *err)
{
	uint64_t value = 0;
	socklen_t len = sizeof(value);

	if (getsockopt(sockfd, SOL_SOCKET, SO_NETNS_COOKIE, &value, &len) < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot read the socket's netns cookie (SO_NETNS_COOKIE): %s",
				strerror(errno));
	*cookie = value;
	return 0;
}

/* The cookie of the netns the calling thread is in. */
static int current_netns_cookie(uint64_t *cookie, struct skl_err *err)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (sock < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot create a UDP socket to read the netns cookie: %s",
				strerror(errno));
	rc = skl_socket_netns_cookie(sock, cookie, err);
	close(sock);
	return rc;
}

int skl_netns_cookie(int netns_fd, uint64_t *cookie, struct skl_err *err)
{
	struct skl_err leave_err;
	int saved, rc;

	if (skl_netns_enter(netns_fd, &saved, err) < 0)
		return -1;
	rc = current_netns_cookie(cookie, err);
	if (skl_netns_leave(saved, &leave_err) < 0) {
		/* Being stuck in the wrong netns matters more than the cookie. */
		if (err)
			*err = leave_err;
		return -1;
	}
	return rc;
}

int skl_netns_ino(int netns_fd, uint64_t *ino, struct skl_err *err)
{
	struct stat st;

	if (fstat(netns_fd, &st) < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot stat the netns fd: %s",
				strerror(errno));
	*ino = st.st_ino;
	return 0;
}

int skl_netns_find(uint64_t ino)
{
	static const char *const dirs[] = { "/var/run/netns", "/proc" };
	char path[PATH_MAX];
	struct stat nsfs, st;
	struct dirent *e;

	/* Every netns file is on nsfs: a stale file under /var/run/netns with
	 * the same inode number is not the netns. */
	if (!ino || stat("/proc/self/ns/net", &nsfs) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		DIR *d = opendir(dirs[k]);

		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.' || (k == 1 && (e->d_name[0] < '1' || e->d_name[0] > '9')))
				continue;
			snprintf(path, sizeof(path), k ? "%s/%.64s/ns/net" : "%s/%.200s", dirs[k],
				 e->d_name);
			if (stat(path, &st) == 0 && st.st_ino == ino && st.st_dev == nsfs.st_dev) {
				closedir(d);
				return open(path, O_RDONLY | O_CLOEXEC);
			}
		}
		if (d)
			closedir(d);
	}
	return -1;
}
