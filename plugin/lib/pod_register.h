/*
 * Register and unregister, as library functions that return what they did.
 *
 * Every socket meets the same checks, in the order a user can act on them:
 * the label exists, its bindings take the socket's protocol and a family
 * the socket serves, then what skl_socket_check refuses (another netns, not
 * listening, not bound, connected). A label's sockets change by
 * skl_socket_handover: one map update per slot, so no lookup ever finds the
 * label without a socket.
 */
#ifndef SKL_POD_REGISTER_H
#define SKL_POD_REGISTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings.h"
#include "pod.h"
#include "sockets.h"

#define SKL_SOCKET_NAME_MAX 95 /* "fd 3", "pid 42 fd 7", "tcp://[::]:80" */
#define SKL_LOCAL_MAX 63       /* a socket's local address, "[::1]:8080" */

/* One socket to register, and how the user knows it. */
struct skl_source {
	int fd;        /* in this process */
	bool owned;    /* opened here (pidfd_getfd, exec): ours to close */
	int user_fd;   /* the fd number the user gave (in the caller or in --pid's process) */
	char name[SKL_SOCKET_NAME_MAX + 1];
	struct skl_socket_info info;
	char local[SKL_LOCAL_MAX + 1];
};

struct skl_sources {
	size_t n;
	struct skl_source v[SKL_SOCKET_SLOTS];
};

/* A label and the slots its bindings use (a binding of protocol P and
 * family F uses slot (P, F)). */
struct skl_target {
	const char *name;
	uint32_t id;
	bool needs[SKL_SOCKET_SLOTS];
};

/* What register did with one socket. */
struct skl_registered_socket {
	char name[SKL_SOCKET_NAME_MAX + 1];
	int user_fd;
	int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	int family;   /* AF_INET or AF_INET6 */
	bool v6only;
	char local[SKL_LOCAL_MAX + 1];
	uint64_t cookie;
	bool slots[SKL_SOCKET_SLOTS];     /* the slots it now serves */
	uint64_t cleared[SKL_SOCKET_SLOTS]; /* the replaced socket it removed from a slot
					     * it does not serve (0: none) */
};

struct skl_registered {
	char label[SKL_LABEL_MAX + 1];
	long pid; /* the --pid the sockets came from, 0: none */
	size_t n;
	struct skl_registered_socket v[SKL_SOCKET_SLOTS];
};

/* What unregister removed: the cookie that left each slot (0: none). */
struct skl_unregistered {
	char label[SKL_LABEL_MAX + 1];
	int protocol; /* IPPROTO_TCP, IPPROTO_UDP, 0: both */
	uint64_t removed[SKL_SOCKET_SLOTS];
};

/* Reads which slots the label's bindings use. */
int skl_pod_target_open(const struct skl_pod *pod, const char *label, struct skl_target *t,
			struct skl_err *err);

/* Every check, in the order a user can act on them; fills each source's
 * info and local. */
int skl_pod_sources_check(const struct skl_pod *pod, const struct skl_target *t, struct skl_sources *s,
			  struct skl_err *err);

/* Under the pod's lock, checks the label again and puts the sockets in its
 * slots, one map update per slot; cleared[slot] gets the cookie removed
 * from each slot (0: none). */
int skl_pod_handover(const struct skl_pod *pod, const struct skl_target *t, const struct skl_sources *s,
		     uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err);

/* What a handover did, for output: one entry per source. */
void skl_pod_registered(const struct skl_target *t, const struct skl_sources *s, long pid,
			const uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_registered *out);

/* Checks and registers s's sockets for label, filling out. */
int skl_pod_register(const struct skl_pod *pod, const char *label, struct skl_sources *s, long pid,
		     struct skl_registered *out, struct skl_err *err);

/* Removes label's sockets of protocol (0: both), filling out. */
int skl_pod_unregister(const struct skl_pod *pod, const char *label, int protocol,
		       struct skl_unregistered *out, struct skl_err *err);

#endif
