/*
 * The node agent's wire protocol, shared by the agent and sklookup-ctl.
 *
 * One Unix SOCK_SEQPACKET connection carries one request and its answer;
 * every record is one JSON object in one packet.
 * - Request: at most SKL_AGENT_MAX_REQUEST bytes, with 1 to
 *   SKL_AGENT_MAX_FDS fds attached (SCM_RIGHTS). fds[0] is a socket the
 *   client created itself: its network namespace is the pod the request is
 *   about (a process without CAP_SYS_ADMIN creates sockets only in its own).
 *   register attaches the sockets to register after it. The request names
 *   a verb, a label and a protocol; it has no field that could name a pod,
 *   a container or a path.
 * - Answer: records {"part": TEXT} that together make the result document
 *   (the library's result struct, pod_result_json.h; at most
 *   SKL_AGENT_MAX_OUTPUT bytes, in pieces of at most SKL_AGENT_MAX_CHUNK),
 *   then one {"exit": N, "error": MSG} with sklookup-ctl's exit status and,
 *   unless 0, its one-line error. The client decodes the document strictly
 *   and prints it as sklookup-ctl prints on the node.
 * Version 2: the answer carries the result, not printed text (version 1's
 * {"out": TEXT}); the request has no "json" (the client prints).
 * Version 3 adds the verb monitor (its answer's end record brings the ring)
 * and the pod's "pod" identity in status. A pod's image brings its own
 * sklookup-ctl, of any release, so the agent answers a version 2 request
 * as version 2 did: no "pod", nothing it does not know.
 */
#ifndef SKL_AGENT_PROTO_H
#define SKL_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dispatch_abi.h"
#include "skl_error.h"
#include "sockets.h"

#define SKL_AGENT_DEFAULT_SOCKET "/run/sklookup/agent.sock"
#define SKL_AGENT_VERSION 3
#define SKL_AGENT_VERSION_OLDEST 2 /* the oldest version the agent still answers */
#define SKL_AGENT_EXIT_MAX 255 /* the answer's exit: a process's exit status */
#define SKL_AGENT_MAX_REQUEST 4096
#define SKL_AGENT_MAX_FDS (1 + SKL_SOCKET_SLOTS) /* the netns proof and a label's sockets */
#define SKL_AGENT_MAX_CHUNK 8192                /* result bytes per answer record */
#define SKL_AGENT_MAX_OUTPUT (1 << 20)          /* result bytes per answer */
#define SKL_AGENT_MAX_RECORD (6 * SKL_AGENT_MAX_CHUNK + 64) /* a chunk, JSON-escaped */
#define SKL_AGENT_NAME_MAX 95                   /* a socket's display name */
#define SKL_AGENT_RECV_FDS 253 /* SCM_MAX_FD: the most fds one record can bring */

enum skl_agent_verb {
	SKL_AGENT_REGISTER,
	SKL_AGENT_UNREGISTER,
	SKL_AGENT_STATUS,
	SKL_AGENT_MONITOR, /* answered with the pod's monitor ring as the end record's fd */
};

/* A request as both ends see it. Apart from the verb, label and protocol,
 * everything is about output: how the client's user knows each socket
 * (its fd number there and a name for messages) and the --pid they came
 * from. */
struct skl_agent_request {
	unsigned version; /* the client's; 0 when encoding: SKL_AGENT_VERSION */
	enum skl_agent_verb verb;
	char label[SKL_LABEL_MAX + 1]; /* register, unregister */
	int protocol;                  /* unregister: IPPROTO_TCP, IPPROTO_UDP, 0 for both */
	long pid;                      /* register: the --pid the sockets came from, 0: none */
	size_t n_sockets;              /* register: one per fd after the proof */
	struct {
		int user_fd;
		char name[SKL_AGENT_NAME_MAX + 1];
	} sockets[SKL_SOCKET_SLOTS];
};

/* The request as JSON text (malloc'd), or NULL when out of memory. */
char *skl_agent_request_encode(const struct skl_agent_request *r);

/* Parses a request strictly: an unknown field, a wrong type, a bad label or
 * name is an error that says which. n_fds is how many fds came with it. */
int skl_agent_request_decode(const char *text, size_t n_fds, struct skl_agent_request *r,
			     struct skl_err *err);

/* Answer records (malloc'd JSON text, NULL when out of memory): a piece of
 * the result document, and the end. */
char *skl_agent_part_record(const char *text, size_t len);
char *skl_agent_end_record(int exit_status, const char *error);

/* One answer record: either a piece of the result document (out, out_len:
 * malloc'd, freed by skl_agent_answer_free) or the end (done, exit_status,
 * the error copied into err->msg, err->code SKL_CNI_INTERNAL: the exit
 * status stays in exit_status). Strict: anything else is refused. */
struct skl_agent_answer {
	bool done;
	int exit_status;
	char *out;
	size_t out_len;
};
int skl_agent_answer_decode(const char *text, struct skl_agent_answer *a, struct skl_err *err);
void skl_agent_answer_free(struct skl_agent_answer *a);

/* Sends one record with fds (n_fds may be 0). On a non-blocking socket
 * that has no room, fails with err->code SKL_CNI_TRY_AGAIN_LATER. */
int skl_agent_send(int sock, const char *text, size_t len, const int *fds, size_t n_fds,
		   struct skl_err *err);

/*
 * Receives one record into buf (cap bytes, NUL-terminated: at most cap - 1
 * of data) and every fd that came with it, close-on-exec, into
 * fds[0..SKL_AGENT_RECV_FDS) (*n_fds of them), which the caller owns
 * whatever the result: closing a peer's fd can block (a socket's linger),
 * so when and where is the caller's choice. Returns the record's length,
 * -1 on error: a record larger than the buffer, or fds the kernel could not
 * all hand over (MSG_CTRUNC: out of file descriptors). A zero-length
 * record returns 0, as the peer's close does; only *n_fds tells them apart.
 * With MSG_DONTWAIT in flags, nothing to read yet fails with err->code
 * SKL_CNI_TRY_AGAIN_LATER.
 */
ssize_t skl_agent_recv_all(int sock, char *buf, size_t cap, int fds[SKL_AGENT_RECV_FDS],
			   size_t *n_fds, int flags, struct skl_err *err);

/*
 * skl_agent_recv_all for a peer that is trusted not to make closing its fds
 * block (sklookup-ctl reading the agent's answer): at most max_fds fds are
 * kept in fds; more is an error, and so is a zero-length record with fds,
 * and then every fd that came is closed. Returns the record's length, 0
 * when the peer closed, -1 on error.
 */
ssize_t skl_agent_recv(int sock, char *buf, size_t cap, int *fds, size_t max_fds,
		       size_t *n_fds, int flags, struct skl_err *err);

#endif
