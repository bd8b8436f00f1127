/*
 * One request per connection: read it (with the fds it brought, which stay
 * with the client until its slot is released), check that its proof is a
 * socket of the client's own netns and that the pod's rate allows it, have
 * it served (agent_serve.c), log one line, and send the answer in records
 * the client reassembles (agent_proto.h).
 */
#include "agent_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_log.h"
#include "netns.h"

static const char *verb_name(enum skl_agent_verb v)
{
	switch (v) {
	case SKL_AGENT_REGISTER:
		return "register";
	case SKL_AGENT_UNREGISTER:
		return "unregister";
	case SKL_AGENT_STATUS:
		return "status";
	case SKL_AGENT_MONITOR:
		return "monitor";
	}
	return "request";
}

/* One line per request; req is NULL when it could not be decoded. */
static void log_request(const struct skl_agent_client *c, const struct skl_agent_request *req)
{
	char what[128] = "request";

	if (req && (req->verb == SKL_AGENT_STATUS || req->verb == SKL_AGENT_MONITOR))
		snprintf(what, sizeof(what), "%s", verb_name(req->verb));
	else if (req)
		snprintf(what, sizeof(what), "%s %s", verb_name(req->verb), req->label);
	if (!c->res.exit_status)
		skl_agent_log("pid %d uid %u: %s: ok (%s)", (int)c->cred.pid, (unsigned)c->cred.uid,
			      what, c->res.pod);
	else
		skl_agent_log("pid %d uid %u: %s: exit %d: %s%s%s%s", (int)c->cred.pid,
			      (unsigned)c->cred.uid, what, c->res.exit_status, c->res.error,
			      c->res.pod[0] ? " (" : "", c->res.pod, c->res.pod[0] ? ")" : "");
}

/* The proof must be a socket of the client's own netns: a socket of pod B
 * passed to a process in pod A proves nothing about A's right to B. */
static const char *proof_refused(const struct skl_agent_client *c, int proof, uint64_t *cookie)
{
	if (skl_socket_netns_cookie(proof, cookie, NULL))
		return "bad request to the node agent: its first fd is not a socket";
	if (!c->peer)
		return "the node agent cannot tell which network namespace this client runs "
		       "in (has its process exited?); run sklookup-ctl in the pod, and keep it "
		       "running until it has the answer";
	if (skl_agent_socket_netns(proof) != c->peer)
		return "bad request to the node agent: its first fd is a socket of another "
		       "network namespace than the client's own; pass a socket the client "
		       "created itself";
	return NULL;
}

static void handle_request(struct skl_agent_clients *cs, struct skl_agent_client *c, const char *text, const char *bpffs_root,
			   struct skl_agent_rate *rate, uint64_t now)
{
	struct skl_agent_request req;
	struct skl_err err = { 0 };
	uint64_t cookie = 0;
	const char *why;

	if (skl_agent_request_decode(text, c->n_held, &req, &err)) {
		skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_BAD_REQUEST, err.msg);
		log_request(c, NULL);
		return;
	}
	if ((why = proof_refused(c, c->held[0], &cookie)))
		skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_BAD_PROOF, why);
	else if (!skl_agent_rate_allows(rate, cookie, now))
		skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_RATE,
					"too many requests from this pod to the node agent; "
					"try again in a second");
	else {
		skl_agent_serve(bpffs_root, &req, c->held, &c->res);
		c->answering = true;
	}
	log_request(c, &req);
}

/* A record that cannot be a request: the client's fault, or (an internal
 * error) the agent ran out of something, which the log says. */
static void refuse_record(struct skl_agent_clients *cs, struct skl_agent_client *c,
			  const struct skl_err *err)
{
	if (err->code == SKL_CNI_INTERNAL) {
		/* Not the client's fault: say what ran out. */
		skl_agent_log("pid %d uid %u: %s", (int)c->cred.pid, (unsigned)c->cred.uid,
			      err->msg);
		skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_OUT_OF_FDS,
					"the node agent is out of file descriptors; try "
					"again later");
	} else {
		char why[sizeof(err->msg) + 64];

		snprintf(why, sizeof(why), "bad request to the node agent: %s", err->msg);
		skl_agent_client_refuse(cs, c, SKL_AGENT_REFUSED_BAD_REQUEST, why);
	}
	log_request(c, NULL);
}

void skl_agent_read_request(struct skl_agent_clients *cs, struct skl_agent_client *c,
			    const char *bpffs_root, struct skl_agent_rate *rate, uint64_t now)
{
	char text[SKL_AGENT_MAX_REQUEST + 1];
	struct skl_err err = { 0 };
	ssize_t n = skl_agent_recv_all(c->fd, text, sizeof(text), c->held, &c->n_held,
				       MSG_DONTWAIT, &err);

	if (n < 0 && err.code == SKL_CNI_TRY_AGAIN_LATER)
		return;
	if (n == 0 && !c->n_held) {
		skl_agent_client_close(cs, c);
		return;
	}
	skl_agent_health_add(&cs->health.requests, 1);
	if (n == 0)
		skl_errf(&err, SKL_CNI_DECODE_FAILURE, "an empty record with %zu fds", c->n_held);
	else if (n > 0 && c->n_held > SKL_AGENT_MAX_FDS)
		skl_errf(&err, SKL_CNI_DECODE_FAILURE, "more than %d fds in one record",
			 SKL_AGENT_MAX_FDS);
	else if (n > 0) {
		handle_request(cs, c, text, bpffs_root, rate, now);
		return;
	}
	refuse_record(cs, c, &err);
}

void skl_agent_send_answer(struct skl_agent_clients *cs, struct skl_agent_client *c)
{
	struct skl_err err = { 0 };
	char *record;
	int ret;

	while (c->sent < c->res.out_len) {
		size_t chunk = c->res.out_len - c->sent;

		if (chunk > SKL_AGENT_MAX_CHUNK)
			chunk = SKL_AGENT_MAX_CHUNK;
		record = skl_agent_part_record(c->res.out + c->sent, chunk);
		ret = record ? skl_agent_send(c->fd, record, strlen(record), NULL, 0, &err) : -1;
		free(record);
		if (ret && record && err.code == SKL_CNI_TRY_AGAIN_LATER)
			return;
		if (ret) {
			skl_agent_client_close(cs, c);
			return;
		}
		c->sent += chunk;
	}
	/* A monitor's ring goes with the end: the client has it only with a
	 * complete answer. */
	record = skl_agent_end_record(c->res.exit_status, c->res.error);
	ret = record ? skl_agent_send(c->fd, record, strlen(record),
				      c->res.has_ring ? &c->res.ring_fd : NULL, c->res.has_ring,
				      &err)
		     : -1;
	free(record);
	if (ret && err.code == SKL_CNI_TRY_AGAIN_LATER)
		return;
	c->res.ring_delivered = !ret;
	skl_agent_client_close(cs, c);
}
