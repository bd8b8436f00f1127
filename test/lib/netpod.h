/*
 * Root-test fixture for the node agent: pods as network namespaces of their
 * own whose state lives under one scratch bpffs root (as ADD leaves it),
 * and child processes run inside a pod, as root or as a pod's unprivileged
 * user (uid and gid 65534, no capabilities at all, no bpffs mount, the node
 * agent's directory read-only). The
 * calling thread stays in its own netns throughout.
 */
#ifndef SKL_TEST_NETPOD_H
#define SKL_TEST_NETPOD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dispatcher.h"

#define NETPOD_UID 65534
#define NETPOD_AGENT_DIR "/run/sklookup" /* read-only for unprivileged children */

struct netpod {
	int netns; /* keeps the netns alive; -1 once released */
	char dir[PATH_MAX]; /* <root>/net/<cid>/eth0 */
	struct skl_dispatcher d;
};

/* A netns with lo up and local routes for 192.0.2.0/24, 198.51.100.0/24
 * and 2001:db8::/32, and a dispatcher serving it with these bindings (a
 * JSON array), attached and pinned at root/net/cid/eth0. */
void netpod_create(struct netpod *p, const char *root, const char *cid, const char *bindings);

/* Lets the netns go: once the kernel has destroyed it, the pod's link
 * reports netns_ino 0. */
void netpod_release(struct netpod *p);

/* netpod_release, and closes the dispatcher (the pins stay with the root). */
void netpod_destroy(struct netpod *p);

/* socket(2) inside the pod. */
int netpod_socket(const struct netpod *p, int domain, int type);

/* fixture_server inside the pod. */
int netpod_server(const struct netpod *p, int type, const char *addr, uint16_t port,
		  bool v6only);

/* The socket cookie in one slot (0 tcp4, 1 tcp6, 2 udp4, 3 udp6) of a
 * label of the pod's socket map; 0 when empty. */
uint64_t netpod_slot_cookie(const struct netpod *p, const char *label, int slot);

/* Connects from inside the pod to addr:port and reads one line. Returns 0,
 * or -1 when refused or nothing came within two seconds. */
int netpod_fetch(const struct netpod *p, const char *addr, uint16_t port, char *line, size_t len);

struct child {
	pid_t pid;
	int in;  /* its stdin when asked for, else -1 (it has /dev/null) */
	int out; /* its stdout; -1 after EOF */
	int err; /* its stderr; -1 after EOF */
};

struct child_opts {
	const struct netpod *pod; /* NULL: the caller's netns */
	bool unprivileged;        /* uid/gid 65534, no capabilities, no bpffs,
				     NETPOD_AGENT_DIR read-only */
	int fd3;                  /* passed on as fd 3; -1: none */
	bool stdin_pipe;
};

/* Starts argv[0] (a path) with argv. */
void child_spawn(struct child *c, const struct child_opts *o, char *const argv[]);

/* One line of its stdout within timeout_ms; false at EOF or timeout. */
bool child_read_line(struct child *c, char *line, size_t len, int timeout_ms);

/* Collects the rest of its stdout and stderr and waits for it, killing it
 * after timeout_ms. Returns its exit status, -1 when a signal ended it. */
int child_finish(struct child *c, char *out, size_t out_len, char *err, size_t err_len,
		 int timeout_ms);

/* child_spawn and child_finish with a 20 s timeout. */
int child_run(const struct child_opts *o, char *out, size_t out_len, char *err, size_t err_len,
	      char *const argv[]);

#endif
