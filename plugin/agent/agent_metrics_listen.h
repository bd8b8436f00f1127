/*
 * The metrics endpoint's listening socket (agent_metrics_listen.c), made
 * here rather than by libmicrohttpd so that a bad or busy --metrics-address
 * fails the agent's start with the reason.
 */
#ifndef SKL_AGENT_METRICS_LISTEN_H
#define SKL_AGENT_METRICS_LISTEN_H

#include "skl_error.h"

/* A non-blocking listening TCP socket on address (HOST:PORT, see
 * skl_agent_metrics_address; an IPv6 one v6only); -1 with err. */
int skl_agent_metrics_listen(const char *address, struct skl_err *err);

#endif
