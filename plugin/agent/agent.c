/*
 * The node agent's server loop: one thread, one poll. Every limit is fixed
 * and small, so no client can make the agent queue or work without bound:
 * at most SKL_AGENT_MAX_CLIENTS connections (beyond that the listener is not
 * polled and the kernel's backlog holds the rest), at most
 * SKL_AGENT_MAX_PER_PEER of them from one client (by its network
 * namespace; clients whose netns is unknown share one such limit), one
 * request per connection, all of it within SKL_AGENT_DEADLINE_MS, and per
 * pod a burst of SKL_AGENT_RATE_BURST requests, then SKL_AGENT_RATE_PER_S a
 * second. This thread never closes what a client sent (its connection, its
 * fds): the releaser thread does (agent_release.c). A slot stays taken
 * until that is done, and a client with SKL_AGENT_MAX_RELEASING_PER_PEER
 * such slots waits before its next request is read.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../ctl/ctl.h"
#include "netns.h"
#include "spare.h"
#include "version.h"

#define SKL_AGENT_SPARE_CHECK_MS 500 /* how soon a taken spare is replaced */
/* A client with this many closed connections whose fds are not closed yet
 * waits: its next request is not read until fewer are. */
#define SKL_AGENT_MAX_RELEASING_PER_PEER 8
#define SKL_AGENT_BACKLOG 16
#define SKL_AGENT_RATE_TABLE 128
#define SKL_AGENT_RELEASE_STUCK_MS 1000 /* a release this slow: refuse new clients */
#define SKL_AGENT_ACCEPT_PAUSE_MS 100   /* after accept fails for want of fds */

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#ifndef PIDFD_GET_NET_NAMESPACE
#define PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4) /* Linux 6.11 */
#endif

struct client {
	int fd; /* -1: no connection */
	bool releasing; /* its fds are with the releaser: the slot is not free yet */
	int held[SKL_AGENT_RECV_FDS]; /* the fds its record brought, released with it */
	size_t n_held;
	uint64_t peer; /* the peer's netns inode, 0 when unknown (one client for the limit) */
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
	struct skl_agent_releaser *releaser;
	uint64_t next_spare_check; /* ms */
	uint64_t accept_paused_until; /* ms */
	bool stuck_logged;
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

/* Every client slot may hold a connection and a record's worth of fds
 * until the releaser closes them: room for all of them, so that no
 * recvmsg runs out (the kernel would release what did not fit here, in
 * the serving thread). */
static void raise_fd_limit(void)
{
	const rlim_t want = SKL_AGENT_MAX_CLIENTS * SKL_AGENT_RELEASE_FDS + 256;
	struct rlimit l;

	if (getrlimit(RLIMIT_NOFILE, &l))
		return;
	if (l.rlim_cur < want)
		l.rlim_cur = l.rlim_max < want ? l.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &l) || l.rlim_cur < want)
		skl_agent_log("the fd limit is %llu, below the %llu the worst case of %d clients "
			      "needs; raise it (LimitNOFILE, ulimit -n)",
			      (unsigned long long)l.rlim_cur, (unsigned long long)want,
			      SKL_AGENT_MAX_CLIENTS);
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
	mode_t old_umask;
	struct stat st;
	int bound;

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
	/* Any process of any pod may connect: the request itself proves which
	 * pod it is about. bind creates the file with mode 0666 & ~umask; a
	 * chmod of the path afterwards would follow whatever is there by then. */
	old_umask = umask(0111);
	bound = bind(a->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (bound)
		return skl_errf(err, SKL_CNI_IO_FAILURE, "binding %s: %s", path, strerror(errno));
	if (lstat(path, &st) || listen(a->listen_fd, SKL_AGENT_BACKLOG))
		return skl_errf(err, SKL_CNI_IO_FAILURE, "%s: %s", path, strerror(errno));
	a->sock_dev = st.st_dev;
	a->sock_ino = st.st_ino;
	return 0;
}

/* Hands the connection and the fds its record brought to the releaser;
 * the slot is free once they are closed (slot_released). */
static void close_client(struct agent *a, struct client *c)
{
	int fds[SKL_AGENT_RELEASE_FDS];
	size_t n = 0;
	uint64_t peer = c->peer;

	if (c->fd >= 0)
		fds[n++] = c->fd;
	memcpy(fds + n, c->held, c->n_held * sizeof(int));
	n += c->n_held;
	skl_agent_result_free(&c->res);
	c->fd = -1;
	c->n_held = 0;
	c->answering = false;
	c->sent = 0;
	c->releasing = n > 0;
	c->peer = c->releasing ? peer : 0; /* still counts for its client */
	skl_agent_release(a->releaser, (size_t)(c - a->clients), fds, n);
}

static void slot_released(struct client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static bool slot_taken(const struct client *c)
{
	return c->fd >= 0 || c->releasing;
}

static void stop(struct agent *a)
{
	struct stat st;

	for (int i = 0; a->releaser && i < SKL_AGENT_MAX_CLIENTS; i++)
		if (a->clients[i].fd >= 0)
			close_client(a, &a->clients[i]);
	/* Bounded: each close is interrupted (agent_release.c). A release no
	 * signal ends is left to the exit. */
	if (!skl_agent_releaser_stop(a->releaser))
		skl_agent_log("stopping without waiting for a client's fds that do not close");
	else
		skl_agent_releaser_free(a->releaser);
	a->releaser = NULL;
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

/* The inode of the netns fd ns (which it closes), 0 when ns is not open. */
static uint64_t netns_ino_closing(int ns)
{
	struct stat st;
	uint64_t ino = 0;

	if (ns < 0)
		return 0;
	if (!fstat(ns, &st))
		ino = st.st_ino;
	close(ns);
	return ino;
}

/* Which client a connection comes from: the netns of the peer process,
 * read through its pidfd, which pins that process (a pid from SO_PEERCRED
 * could name another process by now). 0 when unknown: the process has
 * exited, or the kernel is older than 6.11. */
static uint64_t peer_netns(int fd)
{
	socklen_t len = sizeof(int);
	int pidfd, ns;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return 0;
	ns = ioctl(pidfd, PIDFD_GET_NET_NAMESPACE, 0);
	close(pidfd);
	return netns_ino_closing(ns);
}

/* The netns of a socket the client passed (its proof), 0 when unknown. */
static uint64_t socket_netns(int fd)
{
	return netns_ino_closing(ioctl(fd, SIOCGSKNS));
}

/* A client's connections open, and closed but still being released. */
static int peer_connections(const struct agent *a, uint64_t peer, bool releasing)
{
	int n = 0;

	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		const struct client *c = &a->clients[i];

		n += c->peer == peer && (releasing ? c->fd < 0 && c->releasing : c->fd >= 0);
	}
	return n;
}

static struct client *free_slot(struct agent *a)
{
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		if (!slot_taken(&a->clients[i]))
			return &a->clients[i];
	return NULL;
}

static void refuse(struct client *c, const char *why)
{
	c->answering = true;
	c->res.exit_status = SKL_EXIT_ERROR;
	snprintf(c->res.error, sizeof(c->res.error), "%.*s", (int)sizeof(c->res.error) - 1, why);
}

/* accept4 failed for want of fds: said once per pause, and the listener
 * rests a moment (it stays readable, and poll would spin). */
static void accept_failed(struct agent *a, uint64_t now)
{
	if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
		return;
	if (a->accept_paused_until <= now)
		skl_agent_log("cannot accept a client: %s; clients wait in the backlog",
			      strerror(errno));
	a->accept_paused_until = now + SKL_AGENT_ACCEPT_PAUSE_MS;
}

static void accept_clients(struct agent *a, uint64_t now)
{
	bool stuck = skl_agent_releaser_busy_ms(a->releaser) >= SKL_AGENT_RELEASE_STUCK_MS;
	struct client *c;

	if (stuck && !a->stuck_logged)
		skl_agent_log("closing a client's fds has taken over %d ms; refusing new "
			      "clients until it is done",
			      SKL_AGENT_RELEASE_STUCK_MS);
	a->stuck_logged = stuck;
	while ((c = free_slot(a))) {
		socklen_t len = sizeof(c->cred);
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			accept_failed(a, now);
			return;
		}
		slot_released(c);
		c->fd = fd;
		c->deadline_ms = now + SKL_AGENT_DEADLINE_MS;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len))
			memset(&c->cred, 0, sizeof(c->cred));
		/* Clients of unknown netns share one limit (key 0). */
		c->peer = peer_netns(fd);
		if (stuck) {
			refuse(c, "the node agent is busy closing what other clients sent it; "
				  "try again later");
		} else if (peer_connections(a, c->peer, false) > SKL_AGENT_MAX_PER_PEER) {
			skl_agent_log("pid %d uid %u: refused: more than %d connections at once%s",
				      (int)c->cred.pid, (unsigned)c->cred.uid,
				      SKL_AGENT_MAX_PER_PEER,
				      c->peer ? "" : " (from clients of unknown network namespace)");
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

/* The proof must be a socket of the client's own netns: a socket of pod B
 * passed to a process in pod A proves nothing about A's right to B. */
static const char *proof_refused(const struct client *c, int proof, uint64_t *cookie)
{
	uint64_t ns;

	if (skl_socket_netns_cookie(proof, cookie, NULL))
		return "bad request to the node agent: its first fd is not a socket";
	if (!c->peer)
		return "the node agent cannot tell which network namespace this client runs "
		       "in (has its process exited?); run sklookup-ctl in the pod, and keep it "
		       "running until it has the answer";
	ns = socket_netns(proof);
	if (ns != c->peer)
		return "bad request to the node agent: its first fd is a socket of another "
		       "network namespace than the client's own; pass a socket the client "
		       "created itself";
	return NULL;
}

static void handle_request(struct agent *a, struct client *c, const char *text, const int *fds,
			   size_t n_fds, uint64_t now)
{
	struct skl_agent_request req;
	struct skl_err err = { 0 };
	uint64_t cookie = 0;
	const char *why;

	if (skl_agent_request_decode(text, n_fds, &req, &err)) {
		refuse(c, err.msg);
		log_request(c, NULL);
		return;
	}
	if ((why = proof_refused(c, fds[0], &cookie)))
		refuse(c, why);
	else if (!rate_allows(a, cookie, now))
		refuse(c, "too many requests from this pod to the node agent; try again in a "
			  "second");
	else {
		skl_agent_serve(a->opt.bpffs_root, &req, fds, &c->res);
		c->answering = true;
	}
	log_request(c, &req);
}

/* Reads the one request; the fds it brought stay with the client until
 * close_client hands them to the releaser. */
static void read_request(struct agent *a, struct client *c, uint64_t now)
{
	char text[SKL_AGENT_MAX_REQUEST + 1];
	struct skl_err err = { 0 };
	ssize_t n = skl_agent_recv_all(c->fd, text, sizeof(text), c->held, &c->n_held,
				       MSG_DONTWAIT, &err);

	if (n < 0 && err.code == SKL_CNI_TRY_AGAIN_LATER)
		return;
	if (n == 0 && !c->n_held) {
		close_client(a, c);
		return;
	}
	if (n == 0)
		skl_errf(&err, SKL_CNI_DECODE_FAILURE, "an empty record with %zu fds", c->n_held);
	else if (n > 0 && c->n_held > SKL_AGENT_MAX_FDS)
		skl_errf(&err, SKL_CNI_DECODE_FAILURE, "more than %d fds in one record",
			 SKL_AGENT_MAX_FDS);
	else if (n > 0) {
		handle_request(a, c, text, c->held, c->n_held, now);
		return;
	}
	if (err.code == SKL_CNI_INTERNAL) {
		/* Not the client's fault: say what ran out. */
		skl_agent_log("pid %d uid %u: %s", (int)c->cred.pid, (unsigned)c->cred.uid,
			      err.msg);
		refuse(c, "the node agent is out of file descriptors; try again later");
	} else {
		char why[sizeof(err.msg) + 64];

		snprintf(why, sizeof(why), "bad request to the node agent: %s", err.msg);
		refuse(c, why);
	}
	log_request(c, NULL);
}

/* Sends what is left of the answer; closes the connection once it is all
 * sent (the client reads it after the close) or the client is gone. */
static void send_answer(struct agent *a, struct client *c)
{
	struct skl_err err = { 0 };
	char *record;
	int ret;

	while (c->sent < c->res.out_len) {
		size_t chunk = c->res.out_len - c->sent;

		if (chunk > SKL_AGENT_MAX_CHUNK)
			chunk = SKL_AGENT_MAX_CHUNK;
		record = skl_agent_part_record(c->res.out + c->sent, chunk);
		ret = record ? skl_agent_send(c->fd, record, strlen(record), NULL, 0, &err) : -1;
		free(record);
		if (ret && record && err.code == SKL_CNI_TRY_AGAIN_LATER)
			return;
		if (ret) {
			close_client(a, c);
			return;
		}
		c->sent += chunk;
	}
	record = skl_agent_end_record(c->res.exit_status, c->res.error);
	ret = record ? skl_agent_send(c->fd, record, strlen(record), NULL, 0, &err) : -1;
	free(record);
	if (ret && err.code == SKL_CNI_TRY_AGAIN_LATER)
		return;
	close_client(a, c);
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
		close_client(a, c);
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
	if (a->accept_paused_until > now && a->accept_paused_until < next)
		next = a->accept_paused_until;
	/* A stuck release is looked at again soon: new clients get refused. */
	if (skl_agent_releaser_busy_ms(a->releaser) && now + 100 < next)
		next = now + 100;
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		if (a->clients[i].fd >= 0 && a->clients[i].deadline_ms < next)
			next = a->clients[i].deadline_ms;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* Returns false once a signal asks to stop. */
/* A client whose earlier connections' fds are still being closed is not
 * read from (nor closed, but for its deadline) until they are: its fds in
 * the releaser's hands stay bounded, and a client that only runs ahead of
 * the releaser waits a moment instead of being refused. */
static bool must_wait(const struct agent *a, const struct client *c)
{
	return !c->answering &&
	       peer_connections(a, c->peer, true) >= SKL_AGENT_MAX_RELEASING_PER_PEER;
}

/* Slots whose fds the releaser has closed are free again. */
static void collect_released(struct agent *a)
{
	size_t slots[SKL_AGENT_MAX_CLIENTS];
	size_t n = skl_agent_releaser_done(a->releaser, slots, SKL_AGENT_MAX_CLIENTS);

	for (size_t i = 0; i < n; i++)
		slot_released(&a->clients[slots[i]]);
}

static bool serve_once(struct agent *a, uint64_t *next_reconcile)
{
	struct pollfd pfd[3 + SKL_AGENT_MAX_CLIENTS];
	int slot[3 + SKL_AGENT_MAX_CLIENTS];
	uint64_t now = now_ms();
	nfds_t n = 0;

	if (now >= *next_reconcile) {
		skl_agent_reconcile(&a->reaper, a->opt.bpffs_root, a->opt.grace_s, now);
		*next_reconcile = now_ms() + (uint64_t)a->opt.interval_s * 1000;
	}
	refill_spares(a, now);
	pfd[n++] = (struct pollfd){ .fd = a->signal_fd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = skl_agent_releaser_fd(a->releaser), .events = POLLIN };
	if (free_slot(a) && a->accept_paused_until <= now)
		pfd[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0 || must_wait(a, &a->clients[i]))
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
	if (pfd[1].revents)
		collect_released(a);
	now = now_ms();
	for (nfds_t k = 2; k < n; k++) {
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
			send_answer(a, c);
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
	raise_fd_limit();
	/* The releaser starts after the signals are blocked: it inherits that. */
	if (!open_std_fds(err) && !open_signals(a, err) &&
	    !skl_agent_releaser_start(&a->releaser, SKL_AGENT_MAX_CLIENTS, err) &&
	    !open_listener(a, err)) {
		skl_agent_log("sklookup-ctl %s listening on %s for the pods under %s (reconcile "
			      "every %u s, grace %u s, %u spare dispatchers)",
			      skl_version, o->socket_path, o->bpffs_root, o->interval_s, o->grace_s,
			      o->spares);
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
