/*
 * The node agent's releaser (agent_release.c): the thread that closes what
 * clients sent. Its own header, so that it needs nothing of the loop that
 * hands it the fds.
 */
#ifndef SKL_AGENT_RELEASE_H
#define SKL_AGENT_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_proto.h"
#include "skl_error.h"

/* A client's connection and the fds of its record. */
#define SKL_AGENT_RELEASE_FDS (1 + SKL_AGENT_RECV_FDS)

struct skl_agent_releaser;

/* Starts the thread that closes clients' fds, with room for one job per
 * client slot (slots of them). */
int skl_agent_releaser_start(struct skl_agent_releaser **r, size_t slots, struct skl_err *err);

/* Hands n fds (at most SKL_AGENT_RELEASE_FDS) to the thread, which closes
 * them; never blocks. At most one job per slot may be in hand: the slot is
 * reported by skl_agent_releaser_done once its fds are closed. */
void skl_agent_release(struct skl_agent_releaser *r, size_t slot, const int *fds, size_t n);

/* Readable (POLLIN) while finished jobs wait to be collected. */
int skl_agent_releaser_fd(const struct skl_agent_releaser *r);

/* Collects up to max slots whose jobs are done. */
size_t skl_agent_releaser_done(struct skl_agent_releaser *r, size_t *slots, size_t max);

/* How long the job in hand has taken so far, 0 when idle. */
uint64_t skl_agent_releaser_busy_ms(struct skl_agent_releaser *r);

/* Lets the thread finish the jobs in hand (at most about two seconds) and
 * stop; false when it did not (a close that no signal ends). */
bool skl_agent_releaser_stop(struct skl_agent_releaser *r);
void skl_agent_releaser_free(struct skl_agent_releaser *r);

#endif
