/*
 * The node agent (sklookup-ctl agent), run by the DaemonSet: pods without
 * privileges and without bpffs register their sockets through it. It
 * listens on a Unix socket (agent_proto.h), finds the pod of a request by
 * the network namespace of a socket the client passed, and runs the same
 * code as sklookup-ctl register, unregister and status on that pod alone.
 * It is not on the data path and keeps no state of its own: everything is
 * in bpffs. It also reaps the state of pods whose netns is gone.
 */
#ifndef SKL_AGENT_H
#define SKL_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_proto.h"

#define SKL_AGENT_GRACE_DEFAULT 600   /* seconds a detached pod's state stays */
#define SKL_AGENT_INTERVAL_DEFAULT 60 /* seconds between reconcile rounds */
#define SKL_AGENT_LOCK_WAIT_MS 500     /* for a pod's lock, which ADD or DEL may hold */

/* What one client may take (agent.c; `sklookup-ctl agent --help` states them). */
#define SKL_AGENT_MAX_CLIENTS 64 /* connections at once */
#define SKL_AGENT_MAX_PER_PEER 4 /* of them from one client */
#define SKL_AGENT_DEADLINE_S 5   /* for a connection's whole request */
#define SKL_AGENT_DEADLINE_MS (SKL_AGENT_DEADLINE_S * 1000)
#define SKL_AGENT_RATE_BURST 20  /* requests per pod at once, */
#define SKL_AGENT_RATE_PER_S 10  /* then this many a second */

struct skl_agent_options {
	const char *socket_path;
	const char *bpffs_root;
	unsigned grace_s;
	unsigned interval_s;
	unsigned spares; /* spare dispatchers kept at the default limits (spare.h) */
};

#define SKL_AGENT_SPARES_DEFAULT 2
#define SKL_AGENT_SPARES_MAX 16

/* Serves until SIGTERM or SIGINT, then removes its socket and returns 0;
 * -1 with err when it cannot start. */
int skl_agent_run(const struct skl_agent_options *o, struct skl_err *err);

/* One line on stderr, prefixed "sklookup-ctl agent: ". */
void skl_agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- serving one request (agent_serve.c) --- */

struct skl_agent_result {
	char *out; /* the answer's document: the result, encoded (malloc'd) */
	size_t out_len;
	int exit_status; /* sklookup-ctl's: 0, 1, 2 or 3 */
	char error[512]; /* its one-line error unless exit_status is 0 */
	char pod[PATH_MAX]; /* the pod's state directory, "" when none was found */
};

/* Runs a decoded request on the pod whose dispatcher serves the netns of
 * fds[0] (fds[1..] are the sockets of register) with the library's
 * functions, and encodes their result into r (pod_result_json.h). Never
 * fails: failures are in r's exit status and error. The caller keeps the
 * fds. */
void skl_agent_serve(const char *bpffs_root, struct skl_agent_request *req, const int *fds,
		     struct skl_agent_result *r);
void skl_agent_result_free(struct skl_agent_result *r);

/* --- releasing what clients sent (agent_release.c) --- */

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

/* --- pods' state directories (agent_state.c) --- */

/* Calls fn for each state directory root/NETWORK/CONTAINER/IFNAME
 * (skl_state_walk), temporary ones skipped, until fn returns non-zero;
 * nothing under a root that cannot be trusted. */
void skl_agent_each_state(const char *root, int (*fn)(const char *dir, void *arg), void *arg);

/* The netns cookie a state directory's dispatcher serves (recorded at ADD). */
int skl_agent_state_cookie(const char *dir, uint64_t *cookie);

/* --- reconcile (agent_reap.c) --- */

#define SKL_AGENT_STALE_MAX 1024 /* detached pods tracked at once */
#define SKL_AGENT_REAP_PER_ROUND 32

struct skl_agent_stale {
	char *dir;
	uint64_t since_ms; /* when this agent first saw it detached */
	int seen;          /* in the current round */
};

struct skl_agent_reaper {
	size_t n;
	struct skl_agent_stale v[SKL_AGENT_STALE_MAX];
};

/* One round at now_ms: notes the state directories whose link reports
 * netns_ino 0, and removes those noted for grace_s or longer as DEL would
 * (recorded host routes, pins), under the pod's lock. Logs each one. */
void skl_agent_reconcile(struct skl_agent_reaper *r, const char *root, unsigned grace_s,
			 uint64_t now_ms);
void skl_agent_reaper_free(struct skl_agent_reaper *r);

#endif
