/*
 * The node agent's reconcile (agent_reap.c): removes the state of pods whose
 * netns is gone. Its own header, so that it needs nothing of the loop that
 * calls it.
 */
#ifndef SKL_AGENT_REAP_H
#define SKL_AGENT_REAP_H

#include <stddef.h>
#include <stdint.h>

#include "monitor.h"

#define SKL_AGENT_STALE_MAX 1024 /* detached pods tracked at once */
#define SKL_AGENT_REAP_PER_ROUND 32

struct skl_agent_stale {
	char *dir;
	uint64_t since_ms; /* when this agent first saw it detached */
	int seen;          /* in the current round */
};

/* A pod's monitor slot as the last round saw it (monitor.h): a ring that
 * holds events nobody read since is taken out. */
struct skl_agent_ring_look {
	char *dir;
	struct skl_monitor_look look;
	int seen;
};

struct skl_agent_reaper {
	size_t n;
	struct skl_agent_stale v[SKL_AGENT_STALE_MAX];
	size_t n_rings;
	struct skl_agent_ring_look rings[SKL_AGENT_STALE_MAX];
};

/* One round at now_ms: notes the state directories whose link reports
 * netns_ino 0, and removes those noted for grace_s or longer as DEL would
 * (recorded host routes, pins), under the pod's lock; takes out of the
 * pods' monitor slots the rings nobody read since the last round. Logs
 * each one and returns how many pods it removed. */
unsigned skl_agent_reconcile(struct skl_agent_reaper *r, const char *root, unsigned grace_s,
			     uint64_t now_ms);
void skl_agent_reaper_free(struct skl_agent_reaper *r);

#endif
