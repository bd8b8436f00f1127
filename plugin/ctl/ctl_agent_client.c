/*
 * sklookup-ctl through the node agent: inside a pod without privileges or
 * bpffs, register, unregister, exec and status send their request to the
 * agent's socket with a socket of the pod's own as proof of which pod they
 * are about, and print the agent's result through the printers of the
 * direct path (ctl_results.h): the same bytes either way.
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_proto.h"
#include "bindings.h"
#include "ctl_results.h"
#include "monitor_start.h"
#include "pod_result_json.h"

#define CLIENT_TIMEOUT_S 15 /* longer than the agent's own deadline */

static bool via_agent_ok(const struct skl_ctl_command *cmd)
{
	return cmd == &skl_ctl_register_cmd || cmd == &skl_ctl_unregister_cmd ||
	       cmd == &skl_ctl_exec_cmd || cmd == &skl_ctl_status_cmd ||
	       cmd == &skl_ctl_monitor_cmd;
}

int skl_ctl_locate(struct skl_ctl *ctl, const struct skl_ctl_command *cmd, struct skl_err *err)
{
	if (ctl->agent) {
		skl_dispatcher_init(&ctl->d);
		ctl->netns_fd = -1;
		if (!via_agent_ok(cmd))
			return skl_ctl_usage(ctl, err,
					     "%s does not work through the node agent (--agent): "
					     "it takes register, unregister, exec, status and monitor",
					     cmd->name);
		if (ctl->container || ctl->pod || ctl->netns || ctl->network || ctl->ifname)
			return skl_ctl_usage(ctl, err,
					     "--agent serves the pod sklookup-ctl runs in; it "
					     "takes no --container, --pod, --netns, --network or "
					     "--ifname");
		return 0;
	}
	if (!skl_ctl_open(ctl, err))
		return 0;
	/* Only a pod's own, default lookup falls back: an explicit
	 * --container, --pod, --netns or --bpffs-root means the node's state. */
	if (ctl->failed_as != SKL_EXIT_NO_STATE || !via_agent_ok(cmd) || ctl->container ||
	    ctl->pod ||
	    ctl->netns || ctl->network || ctl->ifname || ctl->bpffs_root ||
	    access(SKL_AGENT_DEFAULT_SOCKET, F_OK))
		return -1;
	skl_ctl_close(ctl);
	ctl->failed_as = SKL_EXIT_OK;
	ctl->agent = SKL_AGENT_DEFAULT_SOCKET;
	return 0;
}

static int connect_agent(struct skl_ctl *ctl, struct skl_err *err)
{
	const char *path = ctl->agent;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval timeout = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return skl_ctl_usage(ctl, err, "--agent %s: the path is too long", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "socket: %s", strerror(errno));
	/* The send timeout also bounds connect() while the agent's backlog is full. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int error = errno;

		close(fd);
		return skl_errf(err, SKL_CNI_IO_FAILURE,
				"cannot reach the node agent at %s: %s (is the sklookup "
				"DaemonSet's agent running, and does the pod mount /run/sklookup?)",
				path, strerror(error));
	}
	return fd;
}

/* A socket made here and now: it belongs to the netns this process runs in,
 * which is how the agent knows the pod. */
static int netns_proof(struct skl_err *err)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "socket: %s", strerror(errno));
	return fd;
}

/* Appends a piece of the result document to *doc (bounded). */
static int append_part(char **doc, size_t *len, const struct skl_agent_answer *a,
		       struct skl_err *err)
{
	char *grown;

	if (*len + a->out_len > SKL_AGENT_MAX_OUTPUT)
		return skl_errf(err, SKL_CNI_DECODE_FAILURE,
				"the node agent's answer is larger than %d bytes",
				SKL_AGENT_MAX_OUTPUT);
	grown = realloc(*doc, *len + a->out_len + 1);
	if (!grown)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	memcpy(grown + *len, a->out, a->out_len + 1);
	*doc = grown;
	*len += a->out_len;
	return 0;
}

/* One record of the answer into buf; 1: a piece, 0: the end, -1: error.
 * *kept (when not NULL) gets the one fd an end record brings (a monitor's
 * ring); any other fd is closed. */
static int next_record(int conn, char *buf, struct skl_agent_answer *a, int *kept,
		       struct skl_err *err)
{
	size_t n_fds;
	int fds[SKL_AGENT_MAX_FDS];
	ssize_t n = skl_agent_recv(conn, buf, SKL_AGENT_MAX_RECORD + 1, fds, SKL_AGENT_MAX_FDS,
				   &n_fds, 0, err);

	if (n > 0 && kept && n_fds == 1 && !skl_agent_answer_decode(buf, a, NULL) && a->done) {
		skl_agent_answer_free(a);
		*kept = fds[0];
		n_fds = 0;
	}
	skl_agent_answer_free(a);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	if (n <= 0) {
		if (!n || err->code == SKL_CNI_TRY_AGAIN_LATER)
			skl_errf(err, SKL_CNI_IO_FAILURE, "the node agent %s without an answer",
				 n ? "timed out" : "closed the connection");
		else
			skl_err_prefix(err, "the node agent's answer");
		return -1;
	}
	if (skl_agent_answer_decode(buf, a, err))
		return -1;
	return a->done ? 0 : 1;
}

/* Reads the agent's answer: 0 with its result document in *doc (malloc'd),
 * or -1 with err set to its error (and *exit_status to the exit status it
 * gives) or to a failure to talk (*exit_status left alone). */
static int read_answer(int conn, char **doc, int *exit_status, int *kept, struct skl_err *err)
{
	char *buf = malloc(SKL_AGENT_MAX_RECORD + 1);
	size_t len = 0;
	int ret = -1, got;

	*doc = NULL;
	if (!buf)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (;;) {
		struct skl_agent_answer a = { .out = NULL };

		got = next_record(conn, buf, &a, kept, err);
		if (got == 1 && !append_part(doc, &len, &a, err)) {
			skl_agent_answer_free(&a);
			continue;
		}
		skl_agent_answer_free(&a);
		if (!got && a.exit_status)
			*exit_status = a.exit_status;
		if (!got && !a.exit_status)
			ret = *doc ? 0
				   : skl_errf(err, SKL_CNI_DECODE_FAILURE,
					      "the node agent's answer has no result");
		break;
	}
	free(buf);
	if (ret) {
		free(*doc);
		*doc = NULL;
	}
	return ret;
}

/* What the direct path says of a label no binding uses (skl_label_lookup):
 * the request can carry only valid labels. */
static int check_label(const char *label, struct skl_err *err)
{
	if (skl_label_valid(label))
		return 0;
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"label \"%s\" is not used by any binding of this pod",
			label);
}

/* Sends req with the proof and sockets; *doc gets the answer's result
 * document (malloc'd). A refusal fails with the agent's exit status (its
 * "no dispatcher" is sklookup-ctl's). */
static int exchange(struct skl_ctl *ctl, const struct skl_agent_request *req,
		    const int *sockets, size_t n, char **doc, int *kept, struct skl_err *err)
{
	int fds[SKL_AGENT_MAX_FDS], conn = -1, ret = -1;
	char *text = skl_agent_request_encode(req);
	struct skl_err send_err = { 0 };
	int agent_exit = SKL_EXIT_ERROR;

	*doc = NULL;
	fds[0] = -1;
	if (!text)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if ((fds[0] = netns_proof(err)) < 0 || (conn = connect_agent(ctl, err)) < 0)
		goto out;
	if (n)
		memcpy(fds + 1, sockets, n * sizeof(int));
	/* A refused request still gets its answer: read it even when the agent
	 * closed before taking the request. */
	if (skl_agent_send(conn, text, strlen(text), fds, 1 + n, &send_err) &&
	    errno != EPIPE && errno != ECONNRESET) {
		*err = send_err;
		goto out;
	}
	ret = read_answer(conn, doc, &agent_exit, kept, err);
	if (ret)
		skl_ctl_failed(ctl, (enum skl_ctl_exit)agent_exit);
out:
	if (conn >= 0)
		close(conn);
	if (fds[0] >= 0)
		close(fds[0]);
	free(text);
	return ret;
}

/* The agent's result is about this request: its label, sockets and pid. */
static int check_registered(const struct skl_registered *r, const struct skl_agent_request *req,
			    struct skl_err *err)
{
	if (strcmp(r->label, req->label) || r->n != req->n_sockets || r->pid != req->pid)
		return skl_errf(err, SKL_CNI_DECODE_FAILURE,
				"the node agent's answer is about another request (label %s, "
				"%zu sockets)",
				r->label, r->n);
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].user_fd != req->sockets[i].user_fd ||
		    strcmp(r->v[i].name, req->sockets[i].name))
			return skl_errf(err, SKL_CNI_DECODE_FAILURE,
					"the node agent's answer names socket %s, not %s",
					r->v[i].name, req->sockets[i].name);
	return 0;
}

int skl_ctl_agent_register(struct skl_ctl *ctl, const char *label, const struct skl_ctl_passed *p,
			   size_t n, long pid, bool quiet, struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_REGISTER, .pid = pid };
	struct skl_registered result;
	int fds[SKL_SOCKET_SLOTS], ret;
	char *doc;

	if (check_label(label, err))
		return -1;
	if (n == 0 || n > SKL_SOCKET_SLOTS)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%zu sockets for one label; it holds 1 to %d",
				n, SKL_SOCKET_SLOTS);
	snprintf(req.label, sizeof(req.label), "%s", label);
	for (size_t i = 0; i < n; i++) {
		fds[i] = p[i].fd;
		req.sockets[i].user_fd = p[i].user_fd;
		snprintf(req.sockets[i].name, sizeof(req.sockets[i].name), "%s", p[i].name);
	}
	req.n_sockets = n;
	if (exchange(ctl, &req, fds, n, &doc, NULL, err))
		return -1;
	ret = skl_registered_decode(doc, &result, err) || check_registered(&result, &req, err)
		      ? -1
		      : quiet ? 0 : skl_ctl_print_registered(&result, ctl->json, err);
	free(doc);
	return ret;
}

int skl_ctl_agent_unregister(struct skl_ctl *ctl, const char *label, int protocol,
			     struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_UNREGISTER, .protocol = protocol };
	struct skl_unregistered result;
	char *doc;
	int ret;

	if (check_label(label, err))
		return -1;
	snprintf(req.label, sizeof(req.label), "%s", label);
	if (exchange(ctl, &req, NULL, 0, &doc, NULL, err))
		return -1;
	ret = skl_unregistered_decode(doc, &result, err);
	if (!ret && (strcmp(result.label, label) || result.protocol != protocol))
		ret = skl_errf(err, SKL_CNI_DECODE_FAILURE,
			       "the node agent's answer is about another request (label %s)",
			       result.label);
	if (!ret)
		ret = skl_ctl_print_unregistered(&result, ctl->json, err);
	free(doc);
	return ret;
}

static int agent_status(struct skl_ctl *ctl, int argc, struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_STATUS };
	struct skl_pod_status st;
	char *doc;
	int ret;

	if (argc > 1)
		return skl_ctl_usage(ctl, err, "status takes no arguments");
	if (exchange(ctl, &req, NULL, 0, &doc, NULL, err))
		return -1;
	ret = skl_pod_status_decode(doc, &st, err);
	if (!ret)
		ret = skl_ctl_print_status(&st, ctl->json, err);
	skl_pod_status_free(&st);
	free(doc);
	return ret;
}

int skl_ctl_agent_monitor_start(struct skl_ctl *ctl, struct skl_monitor_start *start,
				int *ring_fd, struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_MONITOR };
	char *doc;
	int ret;

	*ring_fd = -1;
	if (exchange(ctl, &req, NULL, 0, &doc, ring_fd, err))
		goto fail;
	ret = skl_monitor_start_decode(doc, start, err);
	free(doc);
	if (!ret && *ring_fd >= 0)
		return 0;
	if (!ret) {
		skl_monitor_start_free(start);
		skl_errf(err, SKL_CNI_DECODE_FAILURE, "the node agent's answer brought no ring");
	}
fail:
	if (*ring_fd >= 0)
		close(*ring_fd);
	*ring_fd = -1;
	return -1;
}

int skl_ctl_agent_run(struct skl_ctl *ctl, const struct skl_ctl_command *cmd, int argc,
		      char **argv, struct skl_err *err)
{
	/* register, unregister and exec parse their own arguments and collect
	 * their sockets, then ask the agent (ctl->agent). */
	if (cmd == &skl_ctl_status_cmd)
		return agent_status(ctl, argc, err);
	return cmd->run(ctl, argc, argv, err);
}
