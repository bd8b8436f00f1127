/*
 * sklookup-ctl through the node agent: inside a pod without privileges or
 * bpffs, register, unregister, exec and status send their request to the
 * agent's socket with a socket of the pod's own as proof of which pod they
 * are about, and print what the agent's run of the same code printed.
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

#define CLIENT_TIMEOUT_S 15 /* longer than the agent's own deadline */

static bool via_agent_ok(const struct skl_ctl_command *cmd)
{
	return cmd == &skl_ctl_register_cmd || cmd == &skl_ctl_unregister_cmd ||
	       cmd == &skl_ctl_exec_cmd || cmd == &skl_ctl_status_cmd;
}

int skl_ctl_locate(struct skl_ctl *ctl, const struct skl_ctl_command *cmd, struct skl_err *err)
{
	if (ctl->agent) {
		skl_dispatcher_init(&ctl->d);
		ctl->netns_fd = -1;
		if (!via_agent_ok(cmd))
			return skl_errf(err, SKL_EXIT_USAGE,
					"%s does not work through the node agent (--agent): it "
					"takes register, unregister, exec and status",
					cmd->name);
		if (ctl->container || ctl->netns || ctl->network || ctl->ifname)
			return skl_errf(err, SKL_EXIT_USAGE,
					"--agent serves the pod sklookup-ctl runs in; it takes no "
					"--container, --netns, --network or --ifname");
		return 0;
	}
	if (!skl_ctl_open(ctl, err))
		return 0;
	/* Only a pod's own, default lookup falls back: an explicit
	 * --container, --netns or --bpffs-root means the node's state. */
	if (err->code != SKL_EXIT_NO_STATE || !via_agent_ok(cmd) || ctl->container ||
	    ctl->netns || ctl->network || ctl->ifname || ctl->bpffs_root ||
	    access(SKL_AGENT_DEFAULT_SOCKET, F_OK))
		return -1;
	skl_ctl_close(ctl);
	ctl->agent = SKL_AGENT_DEFAULT_SOCKET;
	return 0;
}

static int connect_agent(const char *path, struct skl_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval timeout = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return skl_errf(err, SKL_EXIT_USAGE, "--agent %s: the path is too long", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return skl_errf(err, SKL_EXIT_ERROR, "socket: %s", strerror(errno));
	/* The send timeout also bounds connect() while the agent's backlog is full. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int error = errno;

		close(fd);
		return skl_errf(err, SKL_EXIT_ERROR,
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
		return skl_errf(err, SKL_EXIT_ERROR, "socket: %s", strerror(errno));
	return fd;
}

/* Prints the agent's output records; returns its exit status, or -1 with
 * err set to its error (code: the exit status) or to a failure to talk. */
static int read_answer(int conn, bool quiet, struct skl_err *err)
{
	char *buf = malloc(SKL_AGENT_MAX_RECORD + 1);
	int ret = -1;

	if (!buf)
		return skl_errf(err, SKL_EXIT_ERROR, "out of memory");
	for (;;) {
		struct skl_agent_answer a;
		size_t n_fds;
		int fds[SKL_AGENT_MAX_FDS];
		ssize_t n = skl_agent_recv(conn, buf, SKL_AGENT_MAX_RECORD + 1, fds,
					   SKL_AGENT_MAX_FDS, &n_fds, 0, err);

		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		if (n <= 0) {
			if (!n || err->code == SKL_CNI_TRY_AGAIN_LATER)
				skl_errf(err, SKL_EXIT_ERROR,
					 "the node agent %s without an answer",
					 n ? "timed out" : "closed the connection");
			else
				skl_err_prefix(err, "the node agent's answer");
			err->code = SKL_EXIT_ERROR;
			break;
		}
		if (skl_agent_answer_decode(buf, &a, err)) {
			err->code = SKL_EXIT_ERROR;
			break;
		}
		if (a.done) {
			ret = a.exit_status ? -1 : 0;
			break;
		}
		if (!quiet)
			fwrite(a.out, 1, a.out_len, stdout);
		skl_agent_answer_free(&a);
	}
	free(buf);
	return ret;
}

/* What the direct path says of a label no binding uses (skl_label_lookup):
 * the request can carry only valid labels. */
static int check_label(const char *label, struct skl_err *err)
{
	if (skl_label_valid(label))
		return 0;
	return skl_errf(err, SKL_EXIT_ERROR, "label \"%s\" is not used by any binding of this pod",
			label);
}

/* Sends req with the proof and sockets, prints the answer. */
static int exchange(const struct skl_ctl *ctl, const struct skl_agent_request *req,
		    const int *sockets, size_t n, bool quiet, struct skl_err *err)
{
	int fds[SKL_AGENT_MAX_FDS], conn = -1, ret = -1;
	char *text = skl_agent_request_encode(req);
	struct skl_err send_err = { 0 };

	fds[0] = -1;
	if (!text)
		return skl_errf(err, SKL_EXIT_ERROR, "out of memory");
	if ((fds[0] = netns_proof(err)) < 0 || (conn = connect_agent(ctl->agent, err)) < 0)
		goto out;
	if (n)
		memcpy(fds + 1, sockets, n * sizeof(int));
	/* A refused request still gets its answer: read it even when the agent
	 * closed before taking the request. */
	if (skl_agent_send(conn, text, strlen(text), fds, 1 + n, &send_err) &&
	    errno != EPIPE && errno != ECONNRESET) {
		*err = send_err;
		err->code = SKL_EXIT_ERROR;
		goto out;
	}
	ret = read_answer(conn, quiet, err);
out:
	if (conn >= 0)
		close(conn);
	if (fds[0] >= 0)
		close(fds[0]);
	free(text);
	return ret;
}

int skl_ctl_agent_register(struct skl_ctl *ctl, const char *label, const struct skl_ctl_passed *p,
			   size_t n, long pid, bool quiet, struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_REGISTER, .json = ctl->json,
					 .pid = pid };
	int fds[SKL_SOCKET_SLOTS];

	if (check_label(label, err))
		return -1;
	if (n == 0 || n > SKL_SOCKET_SLOTS)
		return skl_errf(err, SKL_EXIT_ERROR, "%zu sockets for one label; it holds 1 to %d",
				n, SKL_SOCKET_SLOTS);
	snprintf(req.label, sizeof(req.label), "%s", label);
	for (size_t i = 0; i < n; i++) {
		fds[i] = p[i].fd;
		req.sockets[i].user_fd = p[i].user_fd;
		snprintf(req.sockets[i].name, sizeof(req.sockets[i].name), "%s", p[i].name);
	}
	req.n_sockets = n;
	return exchange(ctl, &req, fds, n, quiet, err);
}

int skl_ctl_agent_unregister(struct skl_ctl *ctl, const char *label, int protocol,
			     struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_UNREGISTER, .json = ctl->json,
					 .protocol = protocol };

	if (check_label(label, err))
		return -1;
	snprintf(req.label, sizeof(req.label), "%s", label);
	return exchange(ctl, &req, NULL, 0, false, err);
}

static int agent_status(struct skl_ctl *ctl, int argc, struct skl_err *err)
{
	struct skl_agent_request req = { .verb = SKL_AGENT_STATUS, .json = ctl->json };

	if (argc > 1)
		return skl_errf(err, SKL_EXIT_USAGE, "status takes no arguments");
	return exchange(ctl, &req, NULL, 0, false, err);
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
