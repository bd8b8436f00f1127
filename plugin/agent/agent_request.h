/*
 * One connection's request and answer (agent_request.c): reads the request,
 * checks who may ask it, has it served, and sends the answer back.
 */
#ifndef SKL_AGENT_REQUEST_H
#define SKL_AGENT_REQUEST_H

#include <stdint.h>

#include "agent_clients.h"
#include "agent_rate.h"

/* Reads c's one request and serves it on the pods under bpffs_root, or
 * refuses it (a bad record, a proof of another netns, over the pod's
 * rate); c is answering afterwards, or closed when its client left. */
void skl_agent_read_request(struct skl_agent_clients *cs, struct skl_agent_client *c,
			    const char *bpffs_root, struct skl_agent_rate *rate, uint64_t now);

/* Sends what is left of c's answer; closes c once it is all sent (the
 * client reads it after the close) or the client is gone. */
void skl_agent_send_answer(struct skl_agent_clients *cs, struct skl_agent_client *c);

#endif
