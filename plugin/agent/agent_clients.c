/*
 * The node agent's clients. Every limit is fixed and small, so no client can
 * make the agent queue or work without bound: at most SKL_AGENT_MAX_CLIENTS
 * connections (beyond that the listener is not polled and the kernel's
 * backlog holds the rest), at most SKL_AGENT_MAX_PER_PEER of them from one
 * client (by its network namespace; clients whose netns is unknown share
 * one such limit), all of a connection within SKL_AGENT_DEADLINE_MS. The
 * serving thread never closes what a client sent (its connection, its fds):
 * the releaser thread does (agent_release.c). A slot stays taken until that
 * is done, and a client with SKL_AGENT_MAX_RELEASING_PER_PEER such slots
 * waits before its next request is read.
 */
#include "monitor.h"
#include "agent_clients.h"

#include <errno.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent_log.h"
#include "netns.h"

/* SKL_EXIT_ERROR: a refusal is sklookup-ctl's exit status 1 on the wire. */
#include "../ctl/ctl.h"

/* A client with this many closed connections whose fds are not closed yet
 * waits: its next request is not read until fewer are. */
#define SKL_AGENT_MAX_RELEASING_PER_PEER 8
#define SKL_AGENT_RELEASE_STUCK_MS 1000 /* a release this slow: refuse new clients */
#define SKL_AGENT_ACCEPT_PAUSE_MS 100   /* after accept fails for want of fds */

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#ifndef PIDFD_GET_NET_NAMESPACE
#define PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4) /* Linux 6.11 */
#endif

static void slot_released(struct skl_agent_client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static bool slot_taken(const struct skl_agent_client *c)
{
	return c->fd >= 0 || c->releasing;
}

int skl_agent_clients_start(struct skl_agent_clients *cs, struct skl_err *err)
{
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		cs->v[i].fd = -1;
	return skl_agent_releaser_start(&cs->releaser, SKL_AGENT_MAX_CLIENTS, err);
}

void skl_agent_clients_stop(struct skl_agent_clients *cs)
{
	for (int i = 0; cs->releaser && i < SKL_AGENT_MAX_CLIENTS; i++)
		if (cs->v[i].fd >= 0)
			skl_agent_client_close(cs, &cs->v[i]);
	/* Bounded: each close is interrupted (agent_release.c). A release no
	 * signal ends is left to the exit. */
	if (!skl_agent_releaser_stop(cs->releaser))
		skl_agent_log("stopping without waiting for a client's fds that do not close");
	else
		skl_agent_releaser_free(cs->releaser);
	cs->releaser = NULL;
}

void skl_agent_client_close(struct skl_agent_clients *cs, struct skl_agent_client *c)
{
	int fds[SKL_AGENT_RELEASE_FDS];
	size_t n = 0;
	uint64_t peer = c->peer;

	if (c->fd >= 0)
		fds[n++] = c->fd;
	memcpy(fds + n, c->held, c->n_held * sizeof(int));
	n += c->n_held;
	/* A monitor's ring the client never got: out of the pod's slot now. */
	if (c->res.has_ring && !c->res.ring_delivered)
		skl_monitor_detach_dir(c->res.pod, c->res.ring_fd, SKL_AGENT_LOCK_WAIT_MS, NULL);
	skl_agent_result_free(&c->res);
	c->fd = -1;
	c->n_held = 0;
	c->answering = false;
	c->sent = 0;
	c->releasing = n > 0;
	c->peer = c->releasing ? peer : 0; /* still counts for its client */
	skl_agent_release(cs->releaser, (size_t)(c - cs->v), fds, n);
}

/* The inode of the netns fd ns (which it closes), 0 when ns is not open. */
static uint64_t netns_ino_closing(int ns)
{
	uint64_t ino = 0;

	if (ns < 0)
		return 0;
	if (skl_netns_ino(ns, &ino, NULL))
		ino = 0;
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

uint64_t skl_agent_socket_netns(int fd)
{
	return netns_ino_closing(ioctl(fd, SIOCGSKNS));
}

/* A client's connections open, and closed but still being released. */
static int peer_connections(const struct skl_agent_clients *cs, uint64_t peer, bool releasing)
{
	int n = 0;

	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		const struct skl_agent_client *c = &cs->v[i];

		n += c->peer == peer && (releasing ? c->fd < 0 && c->releasing : c->fd >= 0);
	}
	return n;
}

struct skl_agent_client *skl_agent_free_slot(struct skl_agent_clients *cs)
{
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		if (!slot_taken(&cs->v[i]))
			return &cs->v[i];
	return NULL;
}

const char *const skl_agent_refusal_names[SKL_AGENT_REFUSAL_COUNT] = {
	[SKL_AGENT_REFUSED_BAD_REQUEST] = "bad_request",
	[SKL_AGENT_REFUSED_BAD_PROOF] = "bad_proof",
	[SKL_AGENT_REFUSED_RATE] = "rate",
	[SKL_AGENT_REFUSED_CONNECTIONS] = "connections",
	[SKL_AGENT_REFUSED_BUSY] = "busy",
	[SKL_AGENT_REFUSED_OUT_OF_FDS] = "out_of_fds",
};

void skl_agent_client_refuse(struct skl_agent_clients *cs, struct skl_agent_client *c,
			     enum skl_agent_refusal reason, const char *why)
{
	skl_agent_health_add(&cs->health.refusals[reason], 1);
	c->answering = true;
	c->res.exit_status = SKL_EXIT_ERROR;
	snprintf(c->res.error, sizeof(c->res.error), "%.*s", (int)sizeof(c->res.error) - 1, why);
}

/* accept4 failed for want of fds: said once per pause, and the listener
 * rests a moment (it stays readable, and poll would spin). */
static void accept_failed(struct skl_agent_clients *cs, uint64_t now)
{
	if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
		return;
	if (cs->accept_paused_until <= now)
		skl_agent_log("cannot accept a client: %s; clients wait in the backlog",
			      strerror(errno));
	cs->accept_paused_until = now + SKL_AGENT_ACCEPT_PAUSE_MS;
}

/* A release this slow (a close no signal ends, so far) refuses new clients
 * rather than let them pile up behind it. */
static bool release_stuck(struct skl_agent_clients *cs)
{
	bool stuck = skl_agent_releaser_busy_ms(cs->releaser) >= SKL_AGENT_RELEASE_STUCK_MS;

	if (stuck && !cs->stuck_logged)
		skl_agent_log("closing a client's fds has taken over %d ms; refusing new "
			      "clients until it is done",
			      SKL_AGENT_RELEASE_STUCK_MS);
	cs->stuck_logged = stuck;
	return stuck;
}

void skl_agent_accept(struct skl_agent_clients *cs, int listen_fd, uint64_t now)
{
	bool stuck = release_stuck(cs);
	struct skl_agent_client *c;

	while ((c = skl_agent_free_slot(cs))) {
		socklen_t len = sizeof(c->cred);
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			accept_failed(cs, now);
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
			skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_BUSY,
						"the node agent is busy closing what other "
						"clients sent it; try again later");
		} else if (peer_connections(cs, c->peer, false) > SKL_AGENT_MAX_PER_PEER) {
			skl_agent_log("pid %d uid %u: refused: more than %d connections at once%s",
				      (int)c->cred.pid, (unsigned)c->cred.uid,
				      SKL_AGENT_MAX_PER_PEER,
				      c->peer ? "" : " (from clients of unknown network namespace)");
			skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_CONNECTIONS,
						"the node agent is busy with this client's other "
						"requests; try again");
		}
	}
}

/* A client whose earlier connections' fds are still being closed is not
 * read from (nor closed, but for its deadline) until they are: its fds in
 * the releaser's hands stay bounded, and a client that only runs ahead of
 * the releaser waits a moment instead of being refused. */
bool skl_agent_client_waits(const struct skl_agent_clients *cs, const struct skl_agent_client *c)
{
	return !c->answering &&
	       peer_connections(cs, c->peer, true) >= SKL_AGENT_MAX_RELEASING_PER_PEER;
}

void skl_agent_clients_collect(struct skl_agent_clients *cs)
{
	size_t slots[SKL_AGENT_MAX_CLIENTS];
	size_t n = skl_agent_releaser_done(cs->releaser, slots, SKL_AGENT_MAX_CLIENTS);

	for (size_t i = 0; i < n; i++)
		slot_released(&cs->v[slots[i]]);
}

void skl_agent_clients_expire(struct skl_agent_clients *cs, uint64_t now)
{
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		struct skl_agent_client *c = &cs->v[i];

		if (c->fd < 0 || now < c->deadline_ms)
			continue;
		skl_agent_log("pid %d uid %u: dropped: no %s within %d ms", (int)c->cred.pid,
			      (unsigned)c->cred.uid,
			      c->answering ? "room for the answer" : "request",
			      SKL_AGENT_DEADLINE_MS);
		skl_agent_client_close(cs, c);
	}
}
