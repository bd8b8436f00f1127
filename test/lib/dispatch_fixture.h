/* Root-test fixture: a dispatcher loaded and attached in a fresh netns,
 * listeners to register, and probes that send real traffic or run the
 * program with BPF_PROG_TEST_RUN. */
#ifndef SKL_TEST_DISPATCH_FIXTURE_H
#define SKL_TEST_DISPATCH_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bindings.h"
#include "counters.h"
#include "dispatcher.h"

/* Outcome of one lookup. */
enum probe_verdict { PROBE_DROP = 0, PROBE_PASS = 1 };

struct probe_result {
	int verdict;     /* enum probe_verdict, from BPF_PROG_TEST_RUN */
	uint64_t cookie; /* selected socket's SO_COOKIE, 0 when none */
};

/* Parses a JSON array of bindings or fails the test. */
void fixture_parse(const char *json, struct skl_binding_set *set);

/* Loads a dispatcher for the current netns and attaches it. */
void fixture_dispatcher(struct skl_dispatcher *d, const struct skl_limits *limits);

/* Fills a sockaddr from "ADDR" and port; returns its length. */
socklen_t fixture_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss);

/* A listening TCP or bound UDP socket on addr:port (port 0: any). v6only
 * applies to IPv6 addresses. */
int fixture_server(int type, const char *addr, uint16_t port, bool v6only);

uint64_t fixture_cookie(int fd);

/* Runs the dispatcher's program on a packet (BPF_PROG_TEST_RUN). */
void fixture_test_run(int prog_fd, int proto, const char *addr, uint16_t port,
		      struct probe_result *out);

/* Real traffic: connects (TCP) or sends a datagram (UDP) to addr:port.
 * Returns the index in servers[] of the socket that received it, -1 if the
 * connection was refused (TCP RST, or ICMP unreachable for UDP), -2 if
 * nothing was received and nothing was refused within the timeout. */
int fixture_deliver(int type, const char *addr, uint16_t port, const int *servers, int n);

/* Reads a label's or binding's counters summed over CPUs. */
void fixture_counters(const struct skl_dispatcher *d, enum skl_counter_owner owner, uint32_t id,
		      uint64_t out[SKL_C_COUNT]);

#endif
