#include "traffic_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dispatch_fixture.h"

uint64_t stream_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

enum { TCP_OK, TCP_REFUSED, TCP_OTHER, UDP_SENT, UDP_RECEIVED };

/* during: whether the round began in the marked phase (a datagram sent
 * then and received after it still counts as received there). */
static void count(struct stream *s, size_t field, bool during)
{
	((long *)&s->all)[field]++;
	if (during)
		((long *)&s->during)[field]++;
}

/* One connection: accepted by the registered listener, or refused. */
static void one_connection(struct stream *s, const struct stream_target *t)
{
	struct sockaddr_storage ss;
	socklen_t len = fixture_addr(t->tcp_addr, t->tcp_port, &ss);
	int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), a;
	struct pollfd p = { .fd = t->listener, .events = POLLIN };
	bool during = s->phase;

	if (c < 0) {
		count(s, TCP_OTHER, during);
		return;
	}
	if (connect(c, (struct sockaddr *)&ss, len)) {
		count(s, errno == ECONNREFUSED ? TCP_REFUSED : TCP_OTHER, during);
	} else if (poll(&p, 1, 1000) == 1 &&
		   (a = accept4(t->listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		count(s, TCP_OK, during);
		close(a);
	} else {
		count(s, TCP_OTHER, during); /* connected, but not to the registered listener */
	}
	close(c);
}

/* One datagram, received by the registered socket within 500 ms, or lost. */
static void one_datagram(struct stream *s, const struct stream_target *t, int client,
			 uint32_t seq)
{
	struct sockaddr_storage ss;
	socklen_t len = fixture_addr(t->udp_addr, t->udp_port, &ss);
	struct pollfd p = { .fd = t->udp_server, .events = POLLIN };
	bool during = s->phase;
	uint32_t got;

	if (sendto(client, &seq, sizeof(seq), 0, (struct sockaddr *)&ss, len) != sizeof(seq))
		return;
	count(s, UDP_SENT, during);
	while (poll(&p, 1, 500) == 1 && recv(t->udp_server, &got, sizeof(got), 0) == sizeof(got))
		if (got == seq) {
			count(s, UDP_RECEIVED, during);
			return;
		}
}

static void stream_main(struct stream *s, const struct stream_target *t)
{
	int ns = open(t->netns, O_RDONLY | O_CLOEXEC), client;
	struct sockaddr_storage ss;
	uint32_t seq = 0;

	if (ns < 0 || setns(ns, CLONE_NEWNET))
		_exit(1);
	fixture_addr(t->udp_addr, t->udp_port, &ss);
	client = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (client < 0)
		_exit(1);
	while (!s->stop) {
		one_connection(s, t);
		one_datagram(s, t, client, seq++);
	}
	_exit(0);
}

struct stream *stream_new(void)
{
	struct stream *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (s == MAP_FAILED)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->pid = -1;
	return s;
}

int stream_start(struct stream *s, const struct stream_target *t)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork(); /* s is shared: only the parent writes the pid there */
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		stream_main(s, t);
	}
	s->pid = pid;
	return 0;
}

bool stream_wait(const struct stream *s, long n, int timeout_ms)
{
	uint64_t until = stream_now_ms() + (uint64_t)timeout_ms;

	while (s->all.tcp_ok < n && stream_now_ms() < until)
		usleep(10000);
	return s->all.tcp_ok >= n;
}

int stream_stop(struct stream *s)
{
	int status;
	pid_t pid = s->pid;

	if (pid < 0)
		return -1;
	s->stop = 1;
	s->pid = -1;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	munmap(s, sizeof(*s));
}

void stream_print(const char *what, const struct stream_counts *c)
{
	printf("# %s: %ld connections (%ld refused, %ld other failures), %ld datagrams "
	       "(%ld lost)\n", what, c->tcp_ok, c->tcp_refused, c->tcp_other, c->udp_sent,
	       c->udp_sent - c->udp_received);
}
