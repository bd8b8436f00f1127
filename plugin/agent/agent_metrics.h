/*
 * The node agent's metrics endpoint (agent_metrics.c): Prometheus' text
 * format over HTTP (libmicrohttpd), in a thread of its own, so that no
 * HTTP client, however slow or hostile, delays the agent's socket: the two
 * share only the health counters (atomics) and read-only pod state.
 */
#ifndef SKL_AGENT_METRICS_H
#define SKL_AGENT_METRICS_H

#include <sys/socket.h>

#include "agent_health.h"
#include "skl_error.h"

#define SKL_METRICS_PATH "/metrics"
#define SKL_METRICS_MAX_CONNECTIONS 32 /* HTTP connections at once */
#define SKL_METRICS_MAX_PER_IP 4       /* of them from one address */
#define SKL_METRICS_DEADLINE_S 5       /* for a connection's whole request and answer */
#define SKL_METRICS_MEMORY 16384       /* bytes per connection: its request's headers */
#define SKL_METRICS_REUSE_MS 500       /* a scrape this recent is answered again */

struct skl_agent_metrics;

/* "HOST:PORT" (an IPv4 address, or an IPv6 one in brackets; port 1-65535)
 * as a socket address; the error names --metrics-address. */
int skl_agent_metrics_address(const char *text, struct sockaddr_storage *ss, socklen_t *len,
			      struct skl_err *err);

/* Listens on address and serves GET /metrics for the pods under
 * bpffs_root and the agent's health from its own thread. Start it after
 * the signals are blocked: the thread inherits that. */
int skl_agent_metrics_start(struct skl_agent_metrics **out, const char *address,
			    const char *bpffs_root, struct skl_agent_health *health,
			    struct skl_err *err);

/* Stops the thread, closes every connection and the listener. NULL is fine. */
void skl_agent_metrics_stop(struct skl_agent_metrics *m);

#endif
