/*
 * The node agent (sklookup-ctl agent), run by the DaemonSet: pods without
 * privileges and without bpffs register their sockets through it. It
 * listens on a Unix socket (agent_proto.h), finds the pod of a request by
 * the network namespace of a socket the client passed, and runs the same
 * code as sklookup-ctl register, unregister and status on that pod alone.
 * It is not on the data path and keeps no state of its own: everything is
 * in bpffs. It also reaps the state of pods whose netns is gone.
 *
 * This header is what sklookup-ctl's command line (ctl_agent.c) and the
 * tests see. Each part of the agent has its own header (agent_*.h) and they
 * depend one way, top down: the loop (agent.c); a request (agent_request.c);
 * serving it (agent_serve.c) and the clients (agent_clients.c, which own
 * the releaser, agent_release.c); the listener, the rate, the reaper
 * (agent_reap.c) and the state directories (agent_state.c); at the bottom
 * the log and the clock (agent_log.c) and the limits (agent_limits.h).
 * Beside them, in a thread of its own, the metrics endpoint
 * (agent_metrics.c, its text agent_metrics_text.c): it shares with the loop
 * only the health counters (agent_health.h), atomics.
 */
#ifndef SKL_AGENT_H
#define SKL_AGENT_H

#include "agent_limits.h"
#include "agent_proto.h"
#include "skl_error.h"

#define SKL_AGENT_GRACE_DEFAULT 600   /* seconds a detached pod's state stays */
#define SKL_AGENT_INTERVAL_DEFAULT 60 /* seconds between reconcile rounds */

struct skl_agent_options {
	const char *socket_path;
	const char *bpffs_root;
	unsigned grace_s;
	unsigned interval_s;
	unsigned spares; /* spare dispatchers kept at the default limits (spare.h) */
	const char *metrics_address; /* HOST:PORT of the metrics endpoint; NULL: none */
};

#define SKL_AGENT_SPARES_DEFAULT 2
#define SKL_AGENT_SPARES_MAX 16

/* Serves until SIGTERM or SIGINT, then removes its socket and returns 0;
 * -1 with err when it cannot start. */
int skl_agent_run(const struct skl_agent_options *o, struct skl_err *err);

#endif
