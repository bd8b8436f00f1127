/*
 * The node agent's own health, as counters the agent's thread adds to and
 * the metrics thread (agent_metrics.c) reads: atomics, so that neither
 * waits for the other. A header of its own, below every part that counts.
 */
#ifndef SKL_AGENT_HEALTH_H
#define SKL_AGENT_HEALTH_H

#include <stdatomic.h>
#include <stdint.h>

/* Why the agent refused a connection or a request: a fixed set, so the
 * metric's reason label stays bounded (skl_agent_refusal_names). */
enum skl_agent_refusal {
	SKL_AGENT_REFUSED_BAD_REQUEST,  /* a record that is no request */
	SKL_AGENT_REFUSED_BAD_PROOF,    /* its socket is of another or unknown netns */
	SKL_AGENT_REFUSED_RATE,         /* over the pod's rate */
	SKL_AGENT_REFUSED_CONNECTIONS,  /* over the client's connections at once */
	SKL_AGENT_REFUSED_BUSY,         /* the releaser is stuck */
	SKL_AGENT_REFUSED_OUT_OF_FDS,   /* the agent ran out of fds */
	SKL_AGENT_REFUSAL_COUNT
};

extern const char *const skl_agent_refusal_names[SKL_AGENT_REFUSAL_COUNT];

struct skl_agent_health {
	_Atomic uint64_t requests; /* records read from clients */
	_Atomic uint64_t refusals[SKL_AGENT_REFUSAL_COUNT];
	_Atomic uint64_t reconcile_removals; /* pods whose state reconcile removed */
	_Atomic uint64_t spares_ready; /* spare dispatchers after the last refill */
};

static inline void skl_agent_health_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline uint64_t skl_agent_health_get(_Atomic uint64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

#endif
