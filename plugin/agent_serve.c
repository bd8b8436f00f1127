/*
 * The node agent's work on one request: find the pod by the network
 * namespace of the socket the client passed first, then run sklookup-ctl's
 * own register, unregister or status code on that pod's state with stdout
 * captured, so that the client prints exactly what the direct path prints.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_results.h"
#include "ctl_sources.h"
#include "netns.h"

struct pod_search {
	uint64_t cookie;
	int count;
	char dir[PATH_MAX];
};

static int match_cookie(const char *dir, void *arg)
{
	struct pod_search *s = arg;
	uint64_t cookie;

	if (skl_agent_state_cookie(dir, &cookie) || cookie != s->cookie)
		return 0;
	if (!s->count++)
		snprintf(s->dir, sizeof(s->dir), "%s", dir);
	return 0;
}

/* Opens, in ctl, the state of the pod whose dispatcher serves the netns of
 * the client's own socket: the request can reach no other pod. */
static int open_pod(const char *root, int proof, struct skl_ctl *ctl, struct skl_err *err)
{
	struct pod_search s = { .count = 0 };
	struct stat st;
	int type;
	socklen_t len = sizeof(type);

	if (getsockopt(proof, SOL_SOCKET, SO_TYPE, &type, &len))
		return skl_errf(err, SKL_EXIT_ERROR,
				"bad request to the node agent: its first fd is not a socket");
	if (skl_socket_netns_cookie(proof, &s.cookie, err))
		return -1;
	skl_agent_each_state(root, match_cookie, &s);
	if (!s.count)
		return skl_errf(err, SKL_EXIT_NO_STATE,
				"no sklookup dispatcher for this network namespace under %s (is "
				"the pod on a network with the sklookup plugin? the agent's "
				"--bpffs-root must be the plugin's bpffsRoot)",
				root);
	if (s.count > 1)
		return skl_errf(err, SKL_EXIT_ERROR,
				"%d dispatchers serve this network namespace under %s and a "
				"request through the node agent cannot choose; use sklookup-ctl "
				"on the node with --network and --ifname",
				s.count, root);
	snprintf(ctl->state_dir, sizeof(ctl->state_dir), "%s", s.dir);
	if (skl_dispatcher_open(&ctl->d, ctl->state_dir, err) ||
	    skl_dispatcher_link_netns(&ctl->d, &ctl->netns_ino, err))
		return -1;
	/* The socket's own netns, for what runs inside the pod (status lists
	 * its sockets); it must be the one the link serves. */
	ctl->netns_fd = ioctl(proof, SIOCGSKNS);
	if (ctl->netns_fd < 0)
		return skl_errf(err, SKL_EXIT_ERROR,
				"opening the socket's network namespace (SIOCGSKNS): %s",
				strerror(errno));
	if (fstat(ctl->netns_fd, &st) || (uint64_t)st.st_ino != ctl->netns_ino)
		return skl_errf(err, SKL_EXIT_ERROR,
				"%s serves network namespace inode %llu, not this one; re-create "
				"the pod",
				ctl->state_dir, (unsigned long long)ctl->netns_ino);
	return 0;
}

/* stdout redirected into a memfd that cannot grow past SKL_AGENT_MAX_OUTPUT:
 * a command's output is bounded however big the pod's state. */
struct capture {
	int memfd;
	int saved_stdout;
};

static int capture_start(struct capture *c, struct skl_err *err)
{
	c->saved_stdout = -1;
	c->memfd = memfd_create("sklookup-agent-stdout", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->memfd < 0 || ftruncate(c->memfd, SKL_AGENT_MAX_OUTPUT) ||
	    fcntl(c->memfd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		return skl_errf(err, SKL_EXIT_ERROR, "capturing output: %s", strerror(errno));
	fflush(stdout);
	c->saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (c->saved_stdout < 0 || dup2(c->memfd, STDOUT_FILENO) < 0)
		return skl_errf(err, SKL_EXIT_ERROR, "capturing output: %s", strerror(errno));
	return 0;
}

/* Puts stdout back; *out gets what was written (malloc'd). */
static int capture_finish(struct capture *c, char **out, size_t *len, struct skl_err *err)
{
	off_t end;
	int ret = 0;

	fflush(stdout);
	clearerr(stdout);
	end = c->saved_stdout >= 0 ? lseek(STDOUT_FILENO, 0, SEEK_CUR) : 0;
	if (c->saved_stdout >= 0) {
		dup2(c->saved_stdout, STDOUT_FILENO);
		close(c->saved_stdout);
	}
	*out = NULL;
	*len = 0;
	if (end > 0 && (*out = malloc((size_t)end)) &&
	    pread(c->memfd, *out, (size_t)end, 0) == (ssize_t)end)
		*len = (size_t)end;
	else if (end > 0)
		ret = skl_errf(err, SKL_EXIT_ERROR, "reading the captured output: %s",
			       *out ? strerror(errno) : "out of memory");
	if (c->memfd >= 0)
		close(c->memfd);
	if (!ret && end >= SKL_AGENT_MAX_OUTPUT)
		ret = skl_errf(err, SKL_EXIT_ERROR,
			       "the output is larger than the node agent's limit of %d bytes; use "
			       "sklookup-ctl on the node",
			       SKL_AGENT_MAX_OUTPUT);
	return ret;
}

static int run_verb(struct skl_ctl *ctl, struct skl_agent_request *req, const int *fds,
		    struct skl_err *err)
{
	char unregister[] = "unregister", status[] = "status", option[] = "--protocol";
	char tcp[] = "tcp", udp[] = "udp";

	switch (req->verb) {
	case SKL_AGENT_REGISTER: {
		struct skl_pod pod = skl_ctl_pod(ctl);
		struct skl_registered result;
		struct sources s = { .n = 0 };

		for (size_t i = 0; i < req->n_sockets; i++)
			if (skl_ctl_sources_add(&s, fds[1 + i], false, req->sockets[i].user_fd, err,
						"%s", req->sockets[i].name))
				return -1;
		if (skl_pod_register(&pod, req->label, &s, req->pid, &result, err))
			return -1;
		return skl_ctl_print_registered(&result, ctl->json, err);
	}
	case SKL_AGENT_UNREGISTER: {
		/* The label was validated: it cannot pass for an option. */
		char *argv[] = { unregister, req->label, option,
				 req->protocol == IPPROTO_UDP ? udp : tcp, NULL };

		return skl_ctl_unregister_cmd.run(ctl, req->protocol ? 4 : 2, argv, err);
	}
	case SKL_AGENT_STATUS: {
		char *argv[] = { status, NULL };

		return skl_ctl_status_cmd.run(ctl, 1, argv, err);
	}
	}
	return skl_errf(err, SKL_EXIT_ERROR, "unknown verb");
}

/* sklookup-ctl's exit status for a command's result (as its main maps it). */
static int exit_status(int ret, const struct skl_err *err)
{
	if (ret >= 0)
		return ret;
	return err->code == SKL_EXIT_USAGE || err->code == SKL_EXIT_NO_STATE ? err->code
									   : SKL_EXIT_ERROR;
}

void skl_agent_serve(const char *bpffs_root, struct skl_agent_request *req, const int *fds,
		     struct skl_agent_result *r)
{
	/* One thread serves every pod: a busy pod gets "try again" soon. */
	struct skl_ctl ctl = { .json = req->json, .netns_fd = -1,
			       .lock_wait_ms = SKL_AGENT_LOCK_WAIT_MS };
	struct capture cap = { .memfd = -1, .saved_stdout = -1 };
	struct skl_err err = { 0 }, cap_err = { 0 };
	int ret;

	memset(r, 0, sizeof(*r));
	skl_dispatcher_init(&ctl.d);
	ret = open_pod(bpffs_root, fds[0], &ctl, &err);
	if (!ret) {
		snprintf(r->pod, sizeof(r->pod), "%s", ctl.state_dir);
		ret = capture_start(&cap, &err);
		if (!ret)
			ret = run_verb(&ctl, req, fds, &err);
		if (capture_finish(&cap, &r->out, &r->out_len, &cap_err) && ret >= 0) {
			ret = -1;
			err = cap_err;
		}
	}
	r->exit_status = exit_status(ret, &err);
	if (r->exit_status)
		snprintf(r->error, sizeof(r->error), "%s", err.msg);
	skl_ctl_close(&ctl);
}

void skl_agent_result_free(struct skl_agent_result *r)
{
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}
