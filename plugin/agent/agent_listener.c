/*
 * The node agent's listening socket. Any process of any pod may connect (the
 * request itself proves which pod it is about), so the socket is 0666 and
 * its directory 0755; the mode is set at bind, never by a chmod of a path
 * someone could have replaced meanwhile. A newer agent may take the path
 * over: the file is removed on stop only while it is still the one we
 * bound.
 */
#include "agent_listener.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SKL_AGENT_BACKLOG 16

/* Creates the socket's directory (0755, so that any pod user reaches the
 * socket) unless it exists. */
static int make_socket_dir(const char *path, struct skl_err *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return skl_errf(err, SKL_CNI_IO_FAILURE, "creating %s: %s", dir,
					strerror(errno));
		*slash = '/';
	}
	return 0;
}

/* A socket file left by an agent that was killed is removed; one another
 * agent still listens on is not. */
static int clear_stale_socket(const struct sockaddr_un *addr, struct skl_err *err)
{
	struct stat st;
	int probe, connected;

	if (lstat(addr->sun_path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return skl_errf(err, SKL_CNI_IO_FAILURE,
				"%s exists and is not a socket; remove it or choose another "
				"--socket",
				addr->sun_path);
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "socket: %s", strerror(errno));
	connected = !connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
	close(probe);
	if (connected)
		return skl_errf(err, SKL_CNI_IO_FAILURE,
				"another agent is listening on %s; stop it first",
				addr->sun_path);
	if (unlink(addr->sun_path) && errno != ENOENT)
		return skl_errf(err, SKL_CNI_IO_FAILURE, "removing the stale %s: %s",
				addr->sun_path, strerror(errno));
	return 0;
}

int skl_agent_listen(struct skl_agent_listener *l, const char *path, struct skl_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_umask;
	struct stat st;
	int bound;

	if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"--socket %s: give an absolute path of at most %zu bytes", path,
				sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (make_socket_dir(path, err) || clear_stale_socket(&addr, err))
		return -1;
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "socket: %s", strerror(errno));
	/* bind creates the file with mode 0666 & ~umask; a chmod of the path
	 * afterwards would follow whatever is there by then. */
	old_umask = umask(0111);
	bound = bind(l->fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (bound)
		return skl_errf(err, SKL_CNI_IO_FAILURE, "binding %s: %s", path, strerror(errno));
	if (lstat(path, &st) || listen(l->fd, SKL_AGENT_BACKLOG))
		return skl_errf(err, SKL_CNI_IO_FAILURE, "%s: %s", path, strerror(errno));
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

void skl_agent_listener_close(struct skl_agent_listener *l, const char *path)
{
	struct stat st;

	if (l->fd < 0)
		return;
	/* A newer agent may have taken the path over: leave its socket. */
	if (!lstat(path, &st) && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(path);
	close(l->fd);
	l->fd = -1;
}
