/*
 * The node agent's rate per pod (agent_rate.c): a token bucket keyed by the
 * pod's netns cookie, in a fixed table, so no client can make it grow.
 */
#ifndef SKL_AGENT_RATE_H
#define SKL_AGENT_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define SKL_AGENT_RATE_TABLE 128

struct skl_agent_bucket {
	uint64_t cookie; /* the pod's netns cookie; 0: free */
	uint64_t milli_tokens;
	uint64_t at_ms;
};

struct skl_agent_rate {
	struct skl_agent_bucket buckets[SKL_AGENT_RATE_TABLE];
};

/* Takes one request from the pod's bucket at now (ms): false when empty. */
bool skl_agent_rate_allows(struct skl_agent_rate *r, uint64_t cookie, uint64_t now);

#endif
