/* Root-test helper: a steady stream of TCP connections and UDP datagrams
 * through a dispatcher, from a process of its own inside a pod's netns, that
 * counts what was refused, misrouted or lost; while the test marks a phase
 * (an upgrade), it counts that phase apart. Every round is one connection,
 * accepted by the registered listener, and one datagram, received by the
 * registered socket (or counted lost after 500 ms). */
#ifndef SKL_TEST_TRAFFIC_STREAM_H
#define SKL_TEST_TRAFFIC_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct stream_target {
	const char *netns;            /* the pod's netns file */
	const char *tcp_addr, *udp_addr; /* what the clients connect and send to */
	uint16_t tcp_port, udp_port;
	int listener, udp_server;     /* the registered sockets (this process's fds) */
};

struct stream_counts {
	long tcp_ok, tcp_refused, tcp_other, udp_sent, udp_received;
};

/* Shared with the stream's process. */
struct stream {
	volatile int stop;
	volatile int phase; /* set by the test: count in `during` too */
	struct stream_counts all, during;
	pid_t pid;          /* -1 when not running */
};

/* A stream in shared memory, not started; NULL on failure. */
struct stream *stream_new(void);
/* Starts its process (killed if this one dies); 0 or -1. */
int stream_start(struct stream *s, const struct stream_target *t);
/* Whether n connections in all went through within timeout_ms. */
bool stream_wait(const struct stream *s, long n, int timeout_ms);
/* Stops the process: 0 when it ended cleanly. */
int stream_stop(struct stream *s);
/* Kills a process still running and unmaps s (NULL: nothing). */
void stream_free(struct stream *s);

/* "# what: N connections (R refused, O other failures), D datagrams (L lost)". */
void stream_print(const char *what, const struct stream_counts *c);

uint64_t stream_now_ms(void);

#endif
