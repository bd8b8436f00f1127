/* The node agent's wire protocol: requests and records (agent_proto.h;
 * answers are agent_answer.c's). */
#include "agent_proto.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bindings.h"
#include "result_json_util.h"

static const char *const verb_names[] = {
	[SKL_AGENT_REGISTER] = "register",
	[SKL_AGENT_UNREGISTER] = "unregister",
	[SKL_AGENT_STATUS] = "status",
	[SKL_AGENT_MONITOR] = "monitor",
};
#define N_VERBS (sizeof(verb_names) / sizeof(verb_names[0]))

/* --- requests --- */

char *skl_agent_request_encode(const struct skl_agent_request *r)
{
	cJSON *doc = cJSON_CreateObject(), *arr;
	char *text = NULL;

	if (!doc)
		return NULL;
	cJSON_AddNumberToObject(doc, "version", r->version ? r->version : SKL_AGENT_VERSION);
	cJSON_AddStringToObject(doc, "verb", verb_names[r->verb]);
	if (r->verb != SKL_AGENT_STATUS && r->verb != SKL_AGENT_MONITOR)
		cJSON_AddStringToObject(doc, "label", r->label);
	if (r->verb == SKL_AGENT_UNREGISTER && r->protocol)
		cJSON_AddStringToObject(doc, "protocol",
					r->protocol == IPPROTO_UDP ? "udp" : "tcp");
	if (r->verb == SKL_AGENT_REGISTER) {
		if (r->pid)
			cJSON_AddNumberToObject(doc, "pid", (double)r->pid);
		arr = cJSON_AddArrayToObject(doc, "sockets");
		for (size_t i = 0; arr && i < r->n_sockets; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "fd", r->sockets[i].user_fd);
			cJSON_AddStringToObject(o, "name", r->sockets[i].name);
			cJSON_AddItemToArray(arr, o);
		}
	}
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

static int bad(struct skl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A request a well-behaved client never sends: a bug, another release, or
 * an attempt at something the protocol does not offer. */
static int bad(struct skl_err *err, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return skl_errf(err, SKL_CNI_DECODE_FAILURE, "bad request to the node agent: %s", what);
}

/* The fields a request may have; which verb takes which is field_allowed's. */
enum field {
	F_VERSION,
	F_VERB,
	F_LABEL,
	F_PROTOCOL,
	F_PID,
	F_SOCKETS,
	N_FIELDS,
};

static const char *const field_names[N_FIELDS] = {
	[F_VERSION] = "version", [F_VERB] = "verb",
	[F_LABEL] = "label",     [F_PROTOCOL] = "protocol", [F_PID] = "pid",
	[F_SOCKETS] = "sockets",
};

/* The field's index, or N_FIELDS when the verb takes no such field. */
static enum field field_allowed(enum skl_agent_verb verb, const char *name)
{
	enum field f;

	for (f = 0; f < N_FIELDS; f++)
		if (!strcmp(name, field_names[f]))
			break;
	switch (f) {
	case F_VERSION:
	case F_VERB:
		return f;
	case F_LABEL:
		return verb == SKL_AGENT_REGISTER || verb == SKL_AGENT_UNREGISTER ? f : N_FIELDS;
	case F_PROTOCOL:
		return verb == SKL_AGENT_UNREGISTER ? f : N_FIELDS;
	case F_PID:
	case F_SOCKETS:
		return verb == SKL_AGENT_REGISTER ? f : N_FIELDS;
	default:
		return N_FIELDS;
	}
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static int decode_sockets(const cJSON *arr, struct skl_agent_request *r, struct skl_err *err)
{
	const cJSON *o;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > SKL_SOCKET_SLOTS)
		return bad(err, "\"sockets\" must be an array of 1 to 4 sockets");
	cJSON_ArrayForEach(o, arr) {
		const cJSON *fd = cJSON_GetObjectItemCaseSensitive(o, "fd");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
		long user_fd;

		/* Bounded here, where it is written, whatever was checked above. */
		if (r->n_sockets >= SKL_SOCKET_SLOTS)
			return bad(err, "\"sockets\" must be an array of 1 to 4 sockets");
		if (!cJSON_IsObject(o) || cJSON_GetArraySize(o) != 2 ||
		    !rj_int(fd, 0, INT32_MAX, &user_fd) || !cJSON_IsString(name) ||
		    !name->valuestring[0] || strlen(name->valuestring) > SKL_AGENT_NAME_MAX ||
		    !printable(name->valuestring))
			return bad(err,
				   "each of \"sockets\" must be {\"fd\": N, \"name\": TEXT} "
				   "(1 to 95 printable characters)");
		r->sockets[r->n_sockets].user_fd = (int)user_fd;
		snprintf(r->sockets[r->n_sockets].name, sizeof(r->sockets[0].name), "%s",
			 name->valuestring);
		r->n_sockets++;
	}
	return 0;
}

/* Every field at most once: JSON allows repeats, and each would be one more
 * chance to overwrite, append or disagree with what was checked. */
static int decode_fields(const cJSON *doc, struct skl_agent_request *r, struct skl_err *err)
{
	bool seen[N_FIELDS] = { false };
	const cJSON *f;

	cJSON_ArrayForEach(f, doc) {
		const char *name = f->string;
		enum field which = field_allowed(r->verb, name);

		if (which == N_FIELDS)
			return bad(err,
				   "unknown field \"%.64s\" for %s (a request names no pod: the "
				   "agent finds it from the socket's network namespace)",
				   name, verb_names[r->verb]);
		if (seen[which])
			return bad(err, "\"%s\" appears more than once; give each field once",
				   name);
		seen[which] = true;
		switch (which) {
		case F_LABEL:
			if (!cJSON_IsString(f) || !skl_label_valid(f->valuestring))
				return bad(err, "\"label\" must be a label (1 to 32 of "
						"[A-Za-z0-9_.-], starting with a letter or digit)");
			snprintf(r->label, sizeof(r->label), "%s", f->valuestring);
			break;
		case F_PROTOCOL:
			if (!cJSON_IsString(f) ||
			    (strcmp(f->valuestring, "tcp") && strcmp(f->valuestring, "udp")))
				return bad(err, "\"protocol\" must be \"tcp\" or \"udp\"");
			r->protocol = f->valuestring[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
			break;
		case F_PID:
			if (!rj_int(f, 1, INT32_MAX, &r->pid))
				return bad(err, "\"pid\" must be a process id");
			break;
		case F_SOCKETS:
			if (decode_sockets(f, r, err))
				return -1;
			break;
		default: /* version and verb: read before */
			break;
		}
	}
	return 0;
}

static int check_fds(const struct skl_agent_request *r, size_t n_fds, struct skl_err *err)
{
	size_t expected = r->verb == SKL_AGENT_REGISTER ? 1 + r->n_sockets : 1;

	if (n_fds == expected)
		return 0;
	return bad(err,
		   "%s needs %zu fd%s (a socket the client created first, then the sockets "
		   "to register), not %zu",
		   verb_names[r->verb], expected, expected == 1 ? "" : "s", n_fds);
}

int skl_agent_request_decode(const char *text, size_t n_fds, struct skl_agent_request *r,
			     struct skl_err *err)
{
	cJSON *doc = cJSON_Parse(text);
	const cJSON *version, *verb;
	size_t v;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(doc)) {
		bad(err, "not a JSON object");
		goto out;
	}
	version = cJSON_GetObjectItemCaseSensitive(doc, "version");
	verb = cJSON_GetObjectItemCaseSensitive(doc, "verb");
	if (!cJSON_IsNumber(version) || version->valuedouble < SKL_AGENT_VERSION_OLDEST ||
	    version->valuedouble > SKL_AGENT_VERSION ||
	    version->valuedouble != (double)(int)version->valuedouble) {
		bad(err, "protocol version %s; this agent speaks versions %d to %d (use the "
			 "sklookup-ctl of the agent's release or an older one)",
		    cJSON_IsNumber(version) ? "other than these" : "missing",
		    SKL_AGENT_VERSION_OLDEST, SKL_AGENT_VERSION);
		goto out;
	}
	for (v = 0; cJSON_IsString(verb) && v < N_VERBS; v++)
		if (!strcmp(verb->valuestring, verb_names[v]))
			break;
	if (!cJSON_IsString(verb) || v == N_VERBS) {
		bad(err, "\"verb\" must be register, unregister, status or monitor");
		goto out;
	}
	r->verb = (enum skl_agent_verb)v;
	r->version = (unsigned)version->valuedouble;
	if (r->verb == SKL_AGENT_MONITOR && r->version < 3) {
		bad(err, "monitor needs protocol version 3");
		goto out;
	}
	if (decode_fields(doc, r, err))
		goto out;
	if ((r->verb == SKL_AGENT_REGISTER || r->verb == SKL_AGENT_UNREGISTER) && !r->label[0]) {
		bad(err, "%s needs a \"label\"", verb_names[r->verb]);
		goto out;
	}
	if (r->verb == SKL_AGENT_REGISTER && !r->n_sockets) {
		bad(err, "register needs \"sockets\"");
		goto out;
	}
	ret = check_fds(r, n_fds, err);
out:
	cJSON_Delete(doc);
	return ret;
}

/* --- records --- */

int skl_agent_send(int sock, const char *text, size_t len, const int *fds, size_t n_fds,
		   struct skl_err *err)
{
	union {
		char buf[CMSG_SPACE(SKL_AGENT_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (n_fds > SKL_AGENT_MAX_FDS)
		return skl_errf(err, SKL_CNI_INTERNAL, "%zu fds in one record; at most %d", n_fds,
				SKL_AGENT_MAX_FDS);
	if (n_fds) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return skl_errf(err, SKL_CNI_TRY_AGAIN_LATER, "the peer is not reading");
	return skl_errf(err, SKL_CNI_IO_FAILURE, "sending to the node agent's socket: %s",
			n < 0 ? strerror(errno) : "short write");
}

/* Takes the fds out of every SCM_RIGHTS message. */
static void take_fds(struct msghdr *msg, int *fds, size_t *n_fds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n && *n_fds < SKL_AGENT_RECV_FDS; i++)
			memcpy(&fds[(*n_fds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
}

ssize_t skl_agent_recv_all(int sock, char *buf, size_t cap, int fds[SKL_AGENT_RECV_FDS],
			   size_t *n_fds, int flags, struct skl_err *err)
{
	/* Room for every fd a record can carry: fds that do not fit would be
	 * released by the kernel here and now, in the caller's thread. */
	union {
		char buf[CMSG_SPACE(SKL_AGENT_RECV_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;

	*n_fds = 0;
	n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return skl_errf(err, SKL_CNI_TRY_AGAIN_LATER, "nothing to read yet");
		return skl_errf(err, SKL_CNI_IO_FAILURE, "receiving: %s", strerror(errno));
	}
	take_fds(&msg, fds, n_fds);
	if (msg.msg_flags & MSG_CTRUNC)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"the fds that came with the record could not all be received "
				"(%zu were): out of file descriptors",
				*n_fds);
	if (msg.msg_flags & MSG_TRUNC)
		return skl_errf(err, SKL_CNI_DECODE_FAILURE, "a record larger than %zu bytes",
				cap - 1);
	buf[n] = 0;
	return n;
}

ssize_t skl_agent_recv(int sock, char *buf, size_t cap, int *fds, size_t max_fds,
		       size_t *n_fds, int flags, struct skl_err *err)
{
	int all[SKL_AGENT_RECV_FDS];
	ssize_t n = skl_agent_recv_all(sock, buf, cap, all, n_fds, flags, err);

	if (n >= 0 && *n_fds > max_fds)
		n = skl_errf(err, SKL_CNI_DECODE_FAILURE, "more than %zu fds in one record",
			     max_fds);
	else if (n == 0 && *n_fds)
		n = skl_errf(err, SKL_CNI_DECODE_FAILURE, "an empty record with %zu fds", *n_fds);
	if (n < 0) {
		for (size_t i = 0; i < *n_fds; i++)
			close(all[i]);
		*n_fds = 0;
		return n;
	}
	memcpy(fds, all, *n_fds * sizeof(int));
	return n;
}
