/*
 * The node agent's releaser: one thread that closes every fd a client
 * brought (its connection, the fds of its record). Releasing a client's
 * object can block: close() of a TCP socket with SO_LINGER and unsent data
 * waits up to the linger time, and so does the release of such a socket
 * still queued, unread, in a connection the agent closes (the kernel
 * releases it in the closer's context). The serving thread therefore never
 * closes what a client sent; it hands it here. Here, a socket's linger is
 * turned off before its close, and each close runs under a per-thread timer
 * that sends this thread a no-op signal (no SA_RESTART) every
 * RELEASE_TICK_MS, which ends any interruptible wait (the linger wait of
 * TCP, SCTP and vsock, a tty draining). The queue holds one job per client
 * slot, and a slot stays taken until its job is done, so the queue cannot
 * overflow and a client's limit counts what is still being released.
 */
#include "agent_release.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent_log.h"

#define RELEASE_TICK_MS 2
#define RELEASE_STOP_MS 2000 /* how long a stop waits for the jobs left */

struct job {
	int fds[SKL_AGENT_RELEASE_FDS];
	size_t n;
};

struct skl_agent_releaser {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, stopping, thread_done;
	size_t slots;
	struct job *jobs;  /* one per slot */
	size_t *queue;     /* slots waiting, a ring of `slots` */
	size_t q_head, q_len;
	size_t *done;      /* slots released, a ring of `slots` */
	size_t d_head, d_len;
	int event_fd;      /* readable while done is not empty */
	uint64_t busy_since_ms; /* when the job in hand started; 0: idle */
};

static int release_signal(void)
{
	return SIGRTMIN;
}

static void on_release_signal(int sig)
{
	(void)sig; /* only here to end an interruptible wait */
}

/* A linger wait on close is the client's choice, not ours. */
static void no_linger(int fd)
{
	struct linger l;
	socklen_t len = sizeof(l);

	if (!getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) && l.l_onoff) {
		l = (struct linger){ 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
}

static void close_bounded(timer_t timer, int fd)
{
	struct itimerspec tick = {
		.it_value = { .tv_nsec = RELEASE_TICK_MS * 1000000L },
		.it_interval = { .tv_nsec = RELEASE_TICK_MS * 1000000L },
	}, off = { 0 };

	no_linger(fd);
	timer_settime(timer, 0, &tick, NULL);
	close(fd);
	timer_settime(timer, 0, &off, NULL);
}

static void *releaser_main(void *arg)
{
	struct skl_agent_releaser *r = arg;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = release_signal() };
	sigset_t only;
	timer_t timer;
	bool have_timer;

	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	have_timer = !timer_create(CLOCK_MONOTONIC, &sev, &timer);
	if (!have_timer)
		skl_agent_log("releaser: timer_create: %s; a lingering close may block it",
			      strerror(errno));
	sigemptyset(&only);
	sigaddset(&only, release_signal());
	pthread_sigmask(SIG_UNBLOCK, &only, NULL);

	pthread_mutex_lock(&r->lock);
	for (;;) {
		size_t slot;
		struct job *j;

		while (!r->q_len && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (!r->q_len)
			break;
		slot = r->queue[r->q_head];
		r->q_head = (r->q_head + 1) % r->slots;
		r->q_len--;
		r->busy_since_ms = skl_agent_now_ms();
		j = &r->jobs[slot];
		pthread_mutex_unlock(&r->lock);

		for (size_t i = 0; i < j->n; i++) {
			if (have_timer)
				close_bounded(timer, j->fds[i]);
			else
				close(j->fds[i]);
		}

		pthread_mutex_lock(&r->lock);
		j->n = 0;
		r->busy_since_ms = 0;
		r->done[(r->d_head + r->d_len) % r->slots] = slot;
		r->d_len++;
		eventfd_write(r->event_fd, 1);
	}
	r->thread_done = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	if (have_timer)
		timer_delete(timer);
	return NULL;
}

int skl_agent_releaser_start(struct skl_agent_releaser **out, size_t slots, struct skl_err *err)
{
	struct sigaction sa = { .sa_handler = on_release_signal }; /* no SA_RESTART */
	struct skl_agent_releaser *r = calloc(1, sizeof(*r));
	sigset_t all, saved;
	int ret;

	*out = NULL;
	if (r)
		r->event_fd = -1;
	if (!r || !(r->jobs = calloc(slots, sizeof(*r->jobs))) ||
	    !(r->queue = calloc(slots, sizeof(size_t))) || !(r->done = calloc(slots, sizeof(size_t)))) {
		skl_agent_releaser_free(r);
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	}
	r->slots = slots;
	r->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	if (r->event_fd < 0 || sigaction(release_signal(), &sa, NULL)) {
		ret = errno;
		skl_agent_releaser_free(r);
		return skl_errf(err, SKL_CNI_INTERNAL, "starting the releaser: %s", strerror(ret));
	}
	/* The thread starts with every signal blocked and unblocks only its
	 * own: SIGTERM and SIGINT stay the serving thread's (signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	ret = pthread_create(&r->thread, NULL, releaser_main, r);
	/* The caller (the serving thread) never takes the release signal. */
	sigaddset(&saved, release_signal());
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret) {
		skl_agent_releaser_free(r);
		return skl_errf(err, SKL_CNI_INTERNAL, "starting the releaser: %s", strerror(ret));
	}
	r->running = true;
	*out = r;
	return 0;
}

void skl_agent_release(struct skl_agent_releaser *r, size_t slot, const int *fds, size_t n)
{
	struct job *j = &r->jobs[slot];

	if (!n)
		return;
	pthread_mutex_lock(&r->lock);
	/* One job per slot, at most SKL_AGENT_RELEASE_FDS fds: the caller's
	 * promise (agent.c); the queue has room for every slot. */
	memcpy(j->fds, fds, n * sizeof(int));
	j->n = n;
	r->queue[(r->q_head + r->q_len) % r->slots] = slot;
	r->q_len++;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

int skl_agent_releaser_fd(const struct skl_agent_releaser *r)
{
	return r->event_fd;
}

size_t skl_agent_releaser_done(struct skl_agent_releaser *r, size_t *slots, size_t max)
{
	eventfd_t ignored;
	size_t n = 0;

	eventfd_read(r->event_fd, &ignored);
	pthread_mutex_lock(&r->lock);
	while (r->d_len && n < max) {
		slots[n++] = r->done[r->d_head];
		r->d_head = (r->d_head + 1) % r->slots;
		r->d_len--;
	}
	if (r->d_len)
		eventfd_write(r->event_fd, 1);
	pthread_mutex_unlock(&r->lock);
	return n;
}

uint64_t skl_agent_releaser_busy_ms(struct skl_agent_releaser *r)
{
	uint64_t since;

	pthread_mutex_lock(&r->lock);
	since = r->busy_since_ms;
	pthread_mutex_unlock(&r->lock);
	return since ? skl_agent_now_ms() - since : 0;
}

bool skl_agent_releaser_stop(struct skl_agent_releaser *r)
{
	struct timespec deadline;
	bool joined = true;

	if (!r)
		return true;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += RELEASE_STOP_MS / 1000;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_signal(&r->wake);
	while (!r->thread_done && joined)
		joined = !pthread_cond_timedwait(&r->wake, &r->lock, &deadline);
	pthread_mutex_unlock(&r->lock);
	if (joined)
		pthread_join(r->thread, NULL);
	return joined;
}

void skl_agent_releaser_free(struct skl_agent_releaser *r)
{
	if (!r)
		return;
	/* A thread that did not stop still uses r: leave it to the exit. */
	if (r->running && !r->thread_done)
		return;
	if (r->event_fd >= 0)
		close(r->event_fd);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r->jobs);
	free(r->queue);
	free(r->done);
	free(r);
}
