/*
 * The node agent's view of the pods' state directories under bpffsRoot
 * (agent_state.c): the reaper walks them, a request finds its pod in them.
 */
#ifndef SKL_AGENT_STATE_H
#define SKL_AGENT_STATE_H

#include <stdint.h>

/* Calls fn for each state directory root/NETWORK/CONTAINER/IFNAME
 * (skl_state_walk), temporary ones skipped, until fn returns non-zero;
 * nothing under a root that cannot be trusted. */
void skl_agent_each_state(const char *root, int (*fn)(const char *dir, void *arg), void *arg);

/* The netns cookie a state directory's dispatcher serves (recorded at ADD). */
int skl_agent_state_cookie(const char *dir, uint64_t *cookie);

#endif
