/*
 * The sockets of register and exec (ctl_register.c, ctl_exec.c): where they
 * come from, the label they go to, the checks every one of them meets, and
 * the handover into the pod's socket map.
 */
#ifndef SKL_CTL_SOURCES_H
#define SKL_CTL_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"
#include "sockets.h"

#define LISTEN_FDS_START 3 /* sd_listen_fds(3) */

/* One socket to register, and how the user knows it. */
struct source {
	int fd;         /* in this process */
	bool owned;     /* opened here (pidfd_getfd, exec): ours to close */
	int user_fd;    /* the fd number the user gave (in the caller or in --pid's process) */
	char name[96];  /* for messages and output: "fd 3", "pid 42 fd 7", "tcp://[::]:80" */
	struct skl_socket_info info;
	char local[64];
};

struct sources {
	size_t n;
	struct source v[SKL_SOCKET_SLOTS];
};

/* A label and the slots its bindings use (a binding of protocol P and
 * family F uses slot (P, F)). */
struct target {
	const char *name;
	uint32_t id;
	bool needs[SKL_SOCKET_SLOTS];
};

/* Takes fd into s (closing it on failure when owned); fmt names it. */
int skl_ctl_sources_add(struct sources *s, int fd, bool owned, int user_fd, struct skl_err *err,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void skl_ctl_sources_close(struct sources *s);

/* Reads which slots the label's bindings use. */
int skl_ctl_target_open(struct skl_ctl *ctl, const char *label, struct target *t,
			struct skl_err *err);

/* Every check, in the order a user can act on them. */
int skl_ctl_sources_check(struct skl_ctl *ctl, const struct target *t, struct sources *s,
			  struct skl_err *err);

/* Puts the sockets in the label's slots, one map update per slot;
 * cleared[slot] gets the cookie removed from each slot (0: none). */
int skl_ctl_handover(struct skl_ctl *ctl, const struct target *t, const struct sources *s,
		     uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err);

/* The client side through the node agent (ctl->agent). */
int skl_ctl_via_agent(struct skl_ctl *ctl, const char *label, const struct sources *s, long pid,
		      bool quiet, struct skl_err *err);

#endif
