/*
 * The node agent's server loop: one thread, one poll. Every limit is fixed
 * and small, so no client can make the agent queue or work without bound:
 * at most SKL_AGENT_MAX_CLIENTS connections (beyond that the listener is not
 * polled and the kernel's backlog holds the rest), at most
 * SKL_AGENT_MAX_PER_PEER of them from one client (by its network
 * namespace), one request per connection, all of it within
 * SKL_AGENT_DEADLINE_MS, and per pod a burst of SKL_AGENT_RATE_BURST
 * requests, then SKL_AGENT_RATE_PER_S a second.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "netns.h"
#include "spare.h"
#include "version.h"

#define SKL_AGENT_MAX_CLIENTS 64
#define SKL_AGENT_SPARE_CHECK_MS 500 /* how soon a taken spare is replaced */
#define SKL_AGENT_MAX_PER_PEER 4
#define SKL_AGENT_DEADLINE_MS 5000
#define SKL_AGENT_BACKLOG 16
#define SKL_AGENT_RATE_BURST 20
#define SKL_AGENT_RATE_PER_S 10
#define SKL_AGENT_RATE_TABLE 128

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#ifndef PIDFD_GET_NET_NAMESPACE
#define PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4) /* Linux 6.11 */
#endif

struct client {
	int fd; /* -1: a free slot */
	uint64_t peer; /* the peer's netns inode, 0 when unknown */
	struct ucred cred; /* for the log only: pods may run as any uid */
	uint64_t deadline_ms;
	bool answering;
	struct skl_agent_result res;
	size_t sent; /* bytes of res.out sent */
};

struct bucket {
	uint64_t cookie; /* the pod's netns cookie; 0: free */
	uint64_t milli_tokens;
	uint64_t at_ms;
};

struct agent {
	struct skl_agent_options opt;
	int listen_fd, signal_fd;
	dev_t sock_dev;
	ino_t sock_ino; /* of our socket file, to remove only ours */
	struct client clients[SKL_AGENT_MAX_CLIENTS];
	struct bucket buckets[SKL_AGENT_RATE_TABLE];
	struct skl_agent_reaper reaper;
	uint64_t next_spare_check; /* ms */
};

void skl_agent_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sklookup-ctl agent: %s\n", line);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- start and stop --- */

/* fds 0-2 open, so that no socket of ours lands on stdout, which requests
 * redirect. */
static int open_std_fds(struct skl_err *err)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			return skl_errf(err, SKL_CNI_INTERNAL, "opening /dev/null: %s",
					strerror(errno));
	}
	return 0;
}

static int open_signals(struct agent *a, struct skl_err *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) ||
	    (a->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "signalfd: %s", strerror(errno));
	return 0;
}

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

static int open_listener(struct agent *a, struct skl_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = a->opt.socket_path;
	struct stat st;

	if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path))
		return skl_errf(err, SKL_EXIT_USAGE,
				"--socket %s: give an absolute path of at most %zu bytes", path,
				sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (make_socket_dir(path, err) || clear_stale_socket(&addr, err))
		return -1;
	a->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->listen_fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "socket: %s", strerror(errno));
	if (bind(a->listen_fd, (struct sockaddr *)&addr, sizeof(addr)))
		return skl_errf(err, SKL_CNI_IO_FAILURE, "binding %s: %s", path, strerror(errno));
	/* Any process of any pod may connect: the request itself proves which
	 * pod it is about. */
	if (chmod(path, 0666) || lstat(path, &st) ||
	    listen(a->listen_fd, SKL_AGENT_BACKLOG))
		return skl_errf(err, SKL_CNI_IO_FAILURE, "%s: %s", path, strerror(errno));
	a->sock_dev = st.st_dev;
	a->sock_ino = st.st_ino;
	return 0;
}

static void close_client(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	skl_agent_result_free(&c->res);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void stop(struct agent *a)
{
	struct stat st;

	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		close_client(&a->clients[i]);
	/* A newer agent may have taken the path over: leave its socket. */
	if (a->listen_fd >= 0 && !lstat(a->opt.socket_path, &st) && st.st_dev == a->sock_dev &&
	    st.st_ino == a->sock_ino)
		unlink(a->opt.socket_path);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
	skl_agent_reaper_free(&a->reaper);
}

/* --- clients --- */

/* Which client a connection comes from, for the per-client limit: the netns
 * of the peer process (by its pidfd, or by its pid when this agent sees the
 * pod's processes); 0 when unknown. */
static uint64_t peer_netns(int fd, const struct ucred *cred)
{
	socklen_t len = sizeof(int);
	uint64_t ino = 0;
	struct stat st;
	int pidfd, ns;
	char path[64];

	if (!getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len)) {
		ns = ioctl(pidfd, PIDFD_GET_NET_NAMESPACE, 0);
		close(pidfd);
		if (ns >= 0) {
			if (!fstat(ns, &st))
				ino = st.st_ino;
			close(ns);
			return ino;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)cred->pid);
	if (cred->pid > 0 && !stat(path, &st))
		ino = st.st_ino;
	return ino;
}

static int peer_connections(const struct agent *a, uint64_t peer)
{
	int n = 0;

	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		n += a->clients[i].fd >= 0 && a->clients[i].peer == peer;
	return n;
}

static struct client *free_slot(struct agent *a)
{
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		if (a->clients[i].fd < 0)
			return &a->clients[i];
	return NULL;
}

static void refuse(struct client *c, const char *why)
{
	c->answering = true;
	c->res.exit_status = SKL_EXIT_ERROR;
	snprintf(c->res.error, sizeof(c->res.error), "%.*s", (int)sizeof(c->res.error) - 1, why);
}

static void accept_clients(struct agent *a, uint64_t now)
{
	struct client *c;

	while ((c = free_slot(a))) {
		socklen_t len = sizeof(c->cred);
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		close_client(c);
		c->fd = fd;
		c->deadline_ms = now + SKL_AGENT_DEADLINE_MS;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len))
			memset(&c->cred, 0, sizeof(c->cred));
		c->peer = peer_netns(fd, &c->cred);
		if (c->peer && peer_connections(a, c->peer) > SKL_AGENT_MAX_PER_PEER) {
			skl_agent_log("pid %d uid %u: refused: more than %d connections at once",
				      (int)c->cred.pid, (unsigned)c->cred.uid,
				      SKL_AGENT_MAX_PER_PEER);
			refuse(c, "the node agent is busy with this client's other requests; try "
				  "again");
		}
	}
}

/* Per pod: a token bucket of SKL_AGENT_RATE_BURST requests, refilled at
 * SKL_AGENT_RATE_PER_S a second; the least recently used gives way. */
static bool rate_allows(struct agent *a, uint64_t cookie, uint64_t now)
{
	struct bucket *b = NULL, *oldest = &a->buckets[0];
	const uint64_t full = SKL_AGENT_RATE_BURST * 1000ull;

	for (int i = 0; i < SKL_AGENT_RATE_TABLE && !b; i++) {
		if (a->buckets[i].cookie == cookie)
			b = &a->buckets[i];
		else if (a->buckets[i].at_ms < oldest->at_ms)
			oldest = &a->buckets[i];
	}
	if (!b) {
		b = oldest;
		*b = (struct bucket){ .cookie = cookie, .milli_tokens = full, .at_ms = now };
	}
	b->milli_tokens += (now - b->at_ms) * SKL_AGENT_RATE_PER_S;
	if (b->milli_tokens > full)
		b->milli_tokens = full;
	b->at_ms = now;
	if (b->milli_tokens < 1000)
		return false;
	b->milli_tokens -= 1000;
	return true;
}

static const char *verb_name(enum skl_agent_verb v)
{
	return v == SKL_AGENT_REGISTER ? "register" : v == SKL_AGENT_UNREGISTER ? "unregister"
										 : "status";
}

/* One line per request; req is NULL when it could not be decoded. */
static void log_request(const struct client *c, const struct skl_agent_request *req)
{
	char what[128] = "request";

	if (req && req->verb == SKL_AGENT_STATUS)
		snprintf(what, sizeof(what), "status");
	else if (req)
		snprintf(what, sizeof(what), "%s %s", verb_name(req->verb), req->label);
	if (!c->res.exit_status)
		skl_agent_log("pid %d uid %u: %s: ok (%s)", (int)c->cred.pid, (unsigned)c->cred.uid,
			      what, c->res.pod);
	else
		skl_agent_log("pid %d uid %u: %s: exit %d: %s%s%s%s", (int)c->cred.pid,
			      (unsigned)c->cred.uid, what, c->res.exit_status, c->res.error,
			      c->res.pod[0] ? " (" : "", c->res.pod, c->res.pod[0] ? ")" : "");
}

static void handle_request(struct agent *a, struct client *c, const char *text, const int *fds,
			   size_t n_fds, uint64_t now)
{
	struct skl_agent_request req;
	struct skl_err err = { 0 };
	uint64_t cookie = 0;

	if (skl_agent_request_decode(text, n_fds, &req, &err)) {
		refuse(c, err.msg);
		log_request(c, NULL);
		return;
	}
	if (skl_socket_netns_cookie(fds[0], &cookie, NULL))
		refuse(c, "bad request to the node agent: its first fd is not a socket");
	else if (!rate_allows(a, cookie, now))
		refuse(c, "too many requests from this pod to the node agent; try again in a "
			  "second");
	else {
		skl_agent_serve(a->opt.bpffs_root, &req, fds, &c->res);
		c->answering = true;
	}
	log_request(c, &req);
}

static void read_request(struct agent *a, struct client *c, uint64_t now)
{
	char text[SKL_AGENT_MAX_REQUEST + 1];
	int fds[SKL_AGENT_MAX_FDS];
	struct skl_err err = { 0 };
	size_t n_fds = 0;
	ssize_t n = skl_agent_recv(c->fd, text, sizeof(text), fds, SKL_AGENT_MAX_FDS, &n_fds,
				   MSG_DONTWAIT, &err);

	if (n < 0 && err.code == SKL_CNI_TRY_AGAIN_LATER)
		return;
	if (n == 0) {
		close_client(c);
		return;
	}
	if (n < 0) {
		char why[sizeof(err.msg) + 64];

		snprintf(why, sizeof(why), "bad request to the node agent: %s", err.msg);
		refuse(c, why);
		log_request(c, NULL);
		return;
	}
	handle_request(a, c, text, fds, n_fds, now);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
}

/* Sends what is left of the answer; closes the connection once it is all
 * sent (the client reads it after the close) or the client is gone. */
static void send_answer(struct client *c)
{
	struct skl_err err = { 0 };
	char *record;
	int ret;

	while (c->sent < c->res.out_len) {
		size_t chunk = c->res.out_len - c->sent;

		if (chunk > SKL_AGENT_MAX_CHUNK)
			chunk = SKL_AGENT_MAX_CHUNK;
		record = skl_agent_out_record(c->res.out + c->sent, chunk);
		ret = record ? skl_agent_send(c->fd, record, strlen(record), NULL, 0, &err) : -1;
		free(record);
		if (ret && record && err.code == SKL_CNI_TRY_AGAIN_LATER)
			return;
		if (ret) {
			close_client(c);
			return;
		}
		c->sent += chunk;
	}
	record = skl_agent_end_record(c->res.exit_status, c->res.error);
	ret = record ? skl_agent_send(c->fd, record, strlen(record), NULL, 0, &err) : -1;
	free(record);
	if (ret && err.code == SKL_CNI_TRY_AGAIN_LATER)
		return;
	close_client(c);
}

/* --- the loop --- */

static void drop_expired(struct agent *a, uint64_t now)
{
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		struct client *c = &a->clients[i];

		if (c->fd < 0 || now < c->deadline_ms)
			continue;
		skl_agent_log("pid %d uid %u: dropped: no %s within %d ms", (int)c->cred.pid,
			      (unsigned)c->cred.uid,
			      c->answering ? "room for the answer" : "request",
			      SKL_AGENT_DEADLINE_MS);
		close_client(c);
	}
}

/* Keeps opt.spares spare dispatchers at the default limits: a pod's ADD
 * that takes one skips the verifier and the map creation. */
static void refill_spares(struct agent *a, uint64_t now)
{
	struct skl_limits l;

	if (!a->opt.spares || now < a->next_spare_check)
		return;
	skl_limits_default(&l);
	for (int n = skl_spare_count(a->opt.bpffs_root, &l); n < (int)a->opt.spares; n++) {
		struct skl_err err = { 0 };

		if (skl_spare_make(a->opt.bpffs_root, &l, &err)) {
			skl_agent_log("cannot make a spare dispatcher: %s", err.msg);
			break;
		}
	}
	a->next_spare_check = now_ms() + SKL_AGENT_SPARE_CHECK_MS;
}

static int poll_timeout(const struct agent *a, uint64_t now, uint64_t next_reconcile)
{
	uint64_t next = next_reconcile;

	if (a->opt.spares && a->next_spare_check < next)
		next = a->next_spare_check;
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		if (a->clients[i].fd >= 0 && a->clients[i].deadline_ms < next)
			next = a->clients[i].deadline_ms;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* Returns false once a signal asks to stop. */
static bool serve_once(struct agent *a, uint64_t *next_reconcile)
{
	struct pollfd pfd[2 + SKL_AGENT_MAX_CLIENTS];
	int slot[2 + SKL_AGENT_MAX_CLIENTS];
	uint64_t now = now_ms();
	nfds_t n = 0;

	if (now >= *next_reconcile) {
		skl_agent_reconcile(&a->reaper, a->opt.bpffs_root, a->opt.grace_s, now);
		*next_reconcile = now_ms() + (uint64_t)a->opt.interval_s * 1000;
	}
	refill_spares(a, now);
	pfd[n++] = (struct pollfd){ .fd = a->signal_fd, .events = POLLIN };
	if (free_slot(a))
		pfd[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0)
			continue;
		slot[n] = i;
		pfd[n++] = (struct pollfd){ .fd = a->clients[i].fd,
					    .events = a->clients[i].answering ? POLLOUT : POLLIN };
	}
	if (poll(pfd, n, poll_timeout(a, now, *next_reconcile)) < 0 && errno != EINTR) {
		skl_agent_log("poll: %s", strerror(errno));
		return false;
	}
	if (pfd[0].revents)
		return false;
	now = now_ms();
	for (nfds_t k = 1; k < n; k++) {
		struct client *c;

		if (pfd[k].fd == a->listen_fd) {
			if (pfd[k].revents)
				accept_clients(a, now);
			continue;
		}
		c = &a->clients[slot[k]];
		if (c->fd < 0 || !pfd[k].revents)
			continue;
		if (!c->answering && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			read_request(a, c, now);
		if (c->fd >= 0 && c->answering)
			send_answer(c);
	}
	drop_expired(a, now);
	return true;
}

int skl_agent_run(const struct skl_agent_options *o, struct skl_err *err)
{
	struct agent *a = calloc(1, sizeof(*a));
	uint64_t next_reconcile = 0; /* a round right away: a restart catches up */
	int ret = -1;

	if (!a)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	a->opt = *o;
	a->listen_fd = a->signal_fd = -1;
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		a->clients[i].fd = -1;
	if (!open_std_fds(err) && !open_signals(a, err) && !open_listener(a, err)) {
		skl_agent_log("sklookup-ctl %s listening on %s for the pods under %s (reconcile "
			      "every %u s, grace %u s, %u spare dispatchers)",
			      skl_version, o->socket_path, o->bpffs_root, o->interval_s, o->grace_s, o->spares);
		/* Spares of an earlier agent may be of another layout. */
		skl_spare_clear(o->bpffs_root);
		while (serve_once(a, &next_reconcile))
			;
		skl_agent_log("stopping");
		skl_spare_clear(o->bpffs_root);
		ret = 0;
	}
	stop(a);
	free(a);
	return ret;
}
