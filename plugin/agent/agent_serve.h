/*
 * The node agent's work on one decoded request (agent_serve.c): finds the
 * pod and runs the library's register, unregister or status on it.
 */
#ifndef SKL_AGENT_SERVE_H
#define SKL_AGENT_SERVE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent_proto.h"

#define SKL_AGENT_LOCK_WAIT_MS 500 /* for a pod's lock, which ADD or DEL may hold */

struct skl_agent_result {
	char *out; /* the answer's document: the result, encoded (malloc'd) */
	size_t out_len;
	int exit_status; /* sklookup-ctl's: 0, 1, 2 or 3 */
	char error[512]; /* its one-line error unless exit_status is 0 */
	char pod[PATH_MAX]; /* the pod's state directory, "" when none was found */
	bool has_ring; /* monitor: ring_fd goes with the answer's end record */
	bool ring_delivered; /* the end record (with the ring) was sent */
	int ring_fd;
};

/* Runs a decoded request on the pod whose dispatcher serves the netns of
 * fds[0] (fds[1..] are the sockets of register) with the library's
 * functions, and encodes their result into r (pod_result_json.h). Never
 * fails: failures are in r's exit status and error. The caller keeps the
 * fds. */
void skl_agent_serve(const char *bpffs_root, struct skl_agent_request *req, const int *fds,
		     struct skl_agent_result *r);
void skl_agent_result_free(struct skl_agent_result *r);

#endif
