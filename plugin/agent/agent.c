/*
 * The node agent's loop and its start and stop: one thread, one poll, over
 * the signalfd (SIGTERM, SIGINT stop it), the releaser's eventfd, the
 * listener (while a client slot is free) and the clients. Between polls it
 * runs the reconcile rounds (agent_reap.c) and keeps the spare dispatchers
 * filled. Who may connect and how much is agent_clients.c's; what a
 * request does is agent_request.c's. The metrics endpoint, when asked for,
 * runs beside the loop in its own thread (agent_metrics.c).
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent_clients.h"
#include "agent_listener.h"
#include "agent_log.h"
#include "agent_metrics.h"
#include "agent_rate.h"
#include "agent_reap.h"
#include "agent_request.h"
#include "spare.h"
#include "version.h"

#define SKL_AGENT_SPARE_CHECK_MS 500 /* how soon a taken spare is replaced */

struct agent {
	struct skl_agent_options opt;
	struct skl_agent_listener listener;
	int signal_fd;
	struct skl_agent_clients clients;
	struct skl_agent_rate rate;
	struct skl_agent_reaper reaper;
	uint64_t next_spare_check; /* ms */
	struct skl_agent_metrics *metrics; /* NULL without --metrics-address */
};

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

static void stop(struct agent *a)
{
	skl_agent_metrics_stop(a->metrics);
	skl_agent_clients_stop(&a->clients);
	skl_agent_listener_close(&a->listener, a->opt.socket_path);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
	skl_agent_reaper_free(&a->reaper);
}

/* --- the loop --- */

/* Keeps opt.spares spare dispatchers at the default limits: a pod's ADD
 * that takes one skips the verifier and the map creation. */
static void refill_spares(struct agent *a, uint64_t now)
{
	struct skl_limits l;
	int n;

	if (!a->opt.spares || now < a->next_spare_check)
		return;
	skl_limits_default(&l);
	for (n = skl_spare_count(a->opt.bpffs_root, &l); n < (int)a->opt.spares; n++) {
		struct skl_err err = { 0 };

		if (skl_spare_make(a->opt.bpffs_root, &l, &err)) {
			skl_agent_log("cannot make a spare dispatcher: %s", err.msg);
			break;
		}
	}
	atomic_store_explicit(&a->clients.health.spares_ready, n < 0 ? 0 : (uint64_t)n,
			      memory_order_relaxed);
	a->next_spare_check = skl_agent_now_ms() + SKL_AGENT_SPARE_CHECK_MS;
}

static int poll_timeout(const struct agent *a, uint64_t now, uint64_t next_reconcile)
{
	const struct skl_agent_clients *cs = &a->clients;
	uint64_t next = next_reconcile;

	if (a->opt.spares && a->next_spare_check < next)
		next = a->next_spare_check;
	if (cs->accept_paused_until > now && cs->accept_paused_until < next)
		next = cs->accept_paused_until;
	/* A stuck release is looked at again soon: new clients get refused. */
	if (skl_agent_releaser_busy_ms(cs->releaser) && now + 100 < next)
		next = now + 100;
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++)
		if (cs->v[i].fd >= 0 && cs->v[i].deadline_ms < next)
			next = cs->v[i].deadline_ms;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* What to poll: the signals, the releaser, the listener while a slot is
 * free and accepting is not paused, and each client not made to wait;
 * slot[k] is the client of pfd[k]. Returns how many. */
static nfds_t poll_set(struct agent *a, uint64_t now, struct pollfd *pfd, int *slot)
{
	struct skl_agent_clients *cs = &a->clients;
	nfds_t n = 0;

	pfd[n++] = (struct pollfd){ .fd = a->signal_fd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = skl_agent_releaser_fd(cs->releaser), .events = POLLIN };
	if (skl_agent_free_slot(cs) && cs->accept_paused_until <= now)
		pfd[n++] = (struct pollfd){ .fd = a->listener.fd, .events = POLLIN };
	for (int i = 0; i < SKL_AGENT_MAX_CLIENTS; i++) {
		if (cs->v[i].fd < 0 || skl_agent_client_waits(cs, &cs->v[i]))
			continue;
		slot[n] = i;
		pfd[n++] = (struct pollfd){ .fd = cs->v[i].fd,
					    .events = cs->v[i].answering ? POLLOUT : POLLIN };
	}
	return n;
}

/* Returns false once a signal asks to stop. */
static bool serve_once(struct agent *a, uint64_t *next_reconcile)
{
	struct pollfd pfd[3 + SKL_AGENT_MAX_CLIENTS];
	int slot[3 + SKL_AGENT_MAX_CLIENTS];
	uint64_t now = skl_agent_now_ms();
	nfds_t n;

	if (now >= *next_reconcile) {
		skl_agent_health_add(&a->clients.health.reconcile_removals,
				     skl_agent_reconcile(&a->reaper, a->opt.bpffs_root,
							 a->opt.grace_s, now));
		*next_reconcile = skl_agent_now_ms() + (uint64_t)a->opt.interval_s * 1000;
	}
	refill_spares(a, now);
	n = poll_set(a, now, pfd, slot);
	if (poll(pfd, n, poll_timeout(a, now, *next_reconcile)) < 0 && errno != EINTR) {
		skl_agent_log("poll: %s", strerror(errno));
		return false;
	}
	if (pfd[0].revents)
		return false;
	if (pfd[1].revents)
		skl_agent_clients_collect(&a->clients);
	now = skl_agent_now_ms();
	for (nfds_t k = 2; k < n; k++) {
		struct skl_agent_client *c;

		if (pfd[k].fd == a->listener.fd) {
			if (pfd[k].revents)
				skl_agent_accept(&a->clients, a->listener.fd, now);
			continue;
		}
		c = &a->clients.v[slot[k]];
		if (c->fd < 0 || !pfd[k].revents)
			continue;
		if (!c->answering && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			skl_agent_read_request(&a->clients, c, a->opt.bpffs_root, &a->rate, now);
		if (c->fd >= 0 && c->answering)
			skl_agent_send_answer(&a->clients, c);
	}
	skl_agent_clients_expire(&a->clients, now);
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
	a->listener.fd = a->signal_fd = -1;
	raise_fd_limit();
	/* The releaser starts after the signals are blocked: it inherits that. */
	if (!open_std_fds(err) && !open_signals(a, err) &&
	    !skl_agent_clients_start(&a->clients, err) &&
	    !skl_agent_listen(&a->listener, o->socket_path, err) &&
	    (!o->metrics_address ||
	     !skl_agent_metrics_start(&a->metrics, o->metrics_address, o->bpffs_root,
				      &a->clients.health, err))) {
		skl_agent_log("sklookup-ctl %s listening on %s for the pods under %s (reconcile "
			      "every %u s, grace %u s, %u spare dispatchers)",
			      skl_version, o->socket_path, o->bpffs_root, o->interval_s, o->grace_s,
			      o->spares);
		if (o->metrics_address)
			skl_agent_log("metrics on http://%s" SKL_METRICS_PATH, o->metrics_address);
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
