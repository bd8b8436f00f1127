/*
 * The node agent's work on one request: find the pod by the network
 * namespace of the socket the client passed first, then call the library's
 * register, unregister or status on that pod and encode the result struct
 * as the answer; the client prints it through sklookup-ctl's own printers,
 * so both paths print the same bytes.
 */
#include "agent_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_state.h"
#include "monitor.h"
#include "monitor_start.h"
#include "netns.h"
#include "pod_result_json.h"
#include "pod_sources.h"

/* SKL_EXIT_*: the answer carries sklookup-ctl's exit status, which the
 * client exits with; the agent says what the command on the node would. */
#include "../ctl/ctl.h"

/* The pod a request is about, opened here: what its struct skl_pod points
 * to, closed by close_pod. */
struct opened_pod {
	char state_dir[PATH_MAX];
	struct skl_dispatcher d;
	int netns_fd; /* the pod's netns, from the client's socket; -1: not open */
	uint64_t netns_ino;
	enum skl_ctl_exit failed_as; /* SKL_EXIT_NO_STATE when no pod was found */
};

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

/* Opens, in o, the state of the pod whose dispatcher serves the netns of
 * the client's own socket: the request can reach no other pod. */
static int open_pod(const char *root, int proof, struct opened_pod *o, struct skl_err *err)
{
	struct pod_search s = { .count = 0 };
	struct stat st;
	int type;
	socklen_t len = sizeof(type);

	if (getsockopt(proof, SOL_SOCKET, SO_TYPE, &type, &len))
		return skl_errf(err, SKL_CNI_INTERNAL,
				"bad request to the node agent: its first fd is not a socket");
	if (skl_socket_netns_cookie(proof, &s.cookie, err))
		return -1;
	skl_agent_each_state(root, match_cookie, &s);
	if (!s.count) {
		skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
			 "no sklookup dispatcher for this network namespace under %s (is the pod "
			 "on a network with the sklookup plugin? the agent's --bpffs-root must be "
			 "the plugin's bpffsRoot; on a network with \"attach\": \"when-bound\" a "
			 "pod created without bindings has none: give it bindings in its "
			 "annotation and re-create it)",
			 root);
		o->failed_as = SKL_EXIT_NO_STATE;
		return -1;
	}
	if (s.count > 1)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%d dispatchers serve this network namespace under %s and a "
				"request through the node agent cannot choose; use sklookup-ctl "
				"on the node with --network and --ifname",
				s.count, root);
	snprintf(o->state_dir, sizeof(o->state_dir), "%s", s.dir);
	if (skl_dispatcher_open(&o->d, o->state_dir, err) ||
	    skl_dispatcher_link_netns(&o->d, &o->netns_ino, err))
		return -1;
	/* The socket's own netns, for what runs inside the pod (status lists
	 * its sockets); it must be the one the link serves. */
	o->netns_fd = ioctl(proof, SIOCGSKNS);
	if (o->netns_fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"opening the socket's network namespace (SIOCGSKNS): %s",
				strerror(errno));
	if (fstat(o->netns_fd, &st) || (uint64_t)st.st_ino != o->netns_ino)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%s serves network namespace inode %llu, not this one; re-create "
				"the pod",
				o->state_dir, (unsigned long long)o->netns_ino);
	return 0;
}

/* The pod's result as the answer's document: the library's struct, encoded
 * (pod_result_json.h); the client prints it as sklookup-ctl would. */
/* A ring in the pod's monitor slot for the client, with what it needs to
 * read the events (monitor_start.h). The ring names the agent as its owner
 * (monitor.h): once the client is gone and the ring fills unread, the
 * reconcile rounds take it out. */
static int start_monitor(struct skl_pod *pod, struct skl_agent_result *r, char **out,
			 struct skl_err *err)
{
	struct skl_monitor_start s;
	int ring_fd;

	if (skl_monitor_ring_create(getpid(), &ring_fd, err))
		return -1;
	if (skl_monitor_attach(pod, ring_fd, err) || skl_monitor_start_read(pod->d, &s, err)) {
		skl_monitor_detach(pod, ring_fd, NULL);
		close(ring_fd);
		return -1;
	}
	*out = skl_monitor_start_encode(&s);
	skl_monitor_start_free(&s);
	if (!*out || strlen(*out) > SKL_AGENT_MAX_OUTPUT) {
		skl_monitor_detach(pod, ring_fd, NULL);
		close(ring_fd);
		if (*out)
			skl_errf(err, SKL_CNI_INTERNAL,
				 "the pod's labels and sockets are more than the node agent's "
				 "answer holds (%d bytes); use sklookup-ctl monitor on the node",
				 SKL_AGENT_MAX_OUTPUT);
		else
			skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		free(*out);
		*out = NULL;
		return -1;
	}
	r->has_ring = true;
	r->ring_fd = ring_fd;
	return 0;
}

static int run_verb(struct opened_pod *o, const struct skl_agent_request *req, const int *fds,
		    struct skl_agent_result *r, char **out, struct skl_err *err)
{
	/* One thread serves every pod: a busy pod gets "try again" soon. */
	struct skl_pod pod = { .state_dir = o->state_dir, .d = &o->d, .netns_ino = o->netns_ino,
			       .netns_fd = &o->netns_fd, .lock_wait_ms = SKL_AGENT_LOCK_WAIT_MS };

	switch (req->verb) {
	case SKL_AGENT_REGISTER: {
		struct skl_registered result;
		struct skl_sources s = { .n = 0 };

		for (size_t i = 0; i < req->n_sockets; i++)
			if (skl_sources_add(&s, fds[1 + i], false, req->sockets[i].user_fd, err,
					    "%s", req->sockets[i].name))
				return -1;
		if (skl_pod_register(&pod, req->label, &s, req->pid, &result, err))
			return -1;
		*out = skl_registered_encode(&result);
		break;
	}
	case SKL_AGENT_UNREGISTER: {
		struct skl_unregistered result;

		if (skl_pod_unregister(&pod, req->label, req->protocol, &result, err))
			return -1;
		*out = skl_unregistered_encode(&result);
		break;
	}
	case SKL_AGENT_MONITOR:
		if (start_monitor(&pod, r, out, err))
			return -1;
		break;
	case SKL_AGENT_STATUS: {
		struct skl_pod_status st;
		int ret = skl_pod_status(&pod, &st, err);

		if (!ret)
			*out = skl_pod_status_encode(&st, req->version);
		skl_pod_status_free(&st);
		if (ret)
			return -1;
		break;
	}
	}
	return *out ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
}

static void close_pod(struct opened_pod *o)
{
	skl_dispatcher_close(&o->d);
	if (o->netns_fd >= 0)
		close(o->netns_fd);
	o->netns_fd = -1;
}

void skl_agent_serve(const char *bpffs_root, struct skl_agent_request *req, const int *fds,
		     struct skl_agent_result *r)
{
	struct opened_pod o = { .netns_fd = -1 };
	struct skl_err err = { 0 };
	int ret;

	memset(r, 0, sizeof(*r));
	skl_dispatcher_init(&o.d);
	ret = open_pod(bpffs_root, fds[0], &o, &err);
	if (!ret) {
		snprintf(r->pod, sizeof(r->pod), "%s", o.state_dir);
		ret = run_verb(&o, req, fds, r, &r->out, &err);
	}
	if (!ret && strlen(r->out) > SKL_AGENT_MAX_OUTPUT) {
		ret = skl_errf(&err, SKL_CNI_INTERNAL,
			       "the answer is larger than the node agent's limit of %d bytes; use "
			       "sklookup-ctl on the node",
			       SKL_AGENT_MAX_OUTPUT);
		skl_agent_result_free(r);
	}
	r->out_len = r->out ? strlen(r->out) : 0;
	r->exit_status = ret >= 0 ? ret : o.failed_as ? (int)o.failed_as : SKL_EXIT_ERROR;
	if (r->exit_status)
		snprintf(r->error, sizeof(r->error), "%s", err.msg);
	close_pod(&o);
}

void skl_agent_result_free(struct skl_agent_result *r)
{
	if (r->has_ring)
		close(r->ring_fd);
	r->has_ring = false;
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}
