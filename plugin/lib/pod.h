/*
 * The library's view of one opened pod: what its functions need to read and
 * change the pod's dispatcher. The caller (sklookup-ctl or the node agent)
 * finds and opens the pod and owns everything this points to.
 */
#ifndef SKL_POD_H
#define SKL_POD_H

#include <stdint.h>

#include "dispatcher.h"
#include "skl_error.h"

struct skl_pod {
	const char *state_dir;
	struct skl_dispatcher *d;
	uint64_t netns_ino; /* the netns the pod's link serves; 0: gone */
	int *netns_fd;      /* that netns, opened on first need (-1 until then); the
			       caller owns and closes it */
	int lock_wait_ms;   /* 0: SKL_STATE_LOCK_WAIT_MS */
};

/* Takes the pod's lock (waiting at most lock_wait_ms) and checks the state
 * directory still holds the link d opened: not deleted or re-created. */
int skl_pod_lock(const struct skl_pod *pod, int *lock_fd, struct skl_err *err);

/* Runs fn inside the pod's netns, or where we are when the pod's netns is
 * where we run anyway. */
int skl_pod_in_netns(const struct skl_pod *pod, int (*fn)(void *arg, struct skl_err *err),
		     void *arg, struct skl_err *err);

#endif
