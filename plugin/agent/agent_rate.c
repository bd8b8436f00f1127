/*
 * Per pod a token bucket of SKL_AGENT_RATE_BURST requests, refilled at
 * SKL_AGENT_RATE_PER_S a second. The table is fixed: the least recently
 * used bucket gives way to a pod not in it.
 */
#include "agent_rate.h"

#include <stddef.h>

#include "agent_limits.h"

bool skl_agent_rate_allows(struct skl_agent_rate *r, uint64_t cookie, uint64_t now)
{
	struct skl_agent_bucket *b = NULL, *oldest = &r->buckets[0];
	const uint64_t full = SKL_AGENT_RATE_BURST * 1000ull;

	for (int i = 0; i < SKL_AGENT_RATE_TABLE && !b; i++) {
		if (r->buckets[i].cookie == cookie)
			b = &r->buckets[i];
		else if (r->buckets[i].at_ms < oldest->at_ms)
			oldest = &r->buckets[i];
	}
	if (!b) {
		b = oldest;
		*b = (struct skl_agent_bucket){ .cookie = cookie, .milli_tokens = full, .at_ms = now };
	}
	b->milli_tokens += (now - b->at_ms) * SKL_AGENT_RATE_PER_S;
	if (b->milli_tokens > full)
		b->milli_tokens = full;
	b->at_ms = now;
	if (b->milli_tokens < 1000)
		return false;
	b->milli_tokens -= 1000;
	return true;
}
