/*
 * libFuzzer target: the node agent's wire decoder (agent_proto.c), what any
 * process of any pod can send to the agent's 0666 socket, and the answers
 * sklookup-ctl reads back (agent_proto.c's records, and the result
 * documents of plugin/lib/pod_result_json.h they carry). The first byte
 * picks: even, a request whose record came with
 * (byte / 2) % (SKL_AGENT_MAX_FDS + 2) fds (0 to one more than allowed);
 * odd, by (byte / 2) % 4, an answer record, or a register, unregister or
 * status result document. The rest is the text, cut at its first NUL as
 * skl_agent_recv's caller sees it.
 * Properties (abort()): a request that decodes is within every limit the
 * agent relies on (verb, label, fd count, sockets and their names) and
 * survives encode + decode unchanged; a refusal says why, as a "bad
 * request"; an answer's piece decodes to what a record of it carries; a
 * result that decodes encodes to a document that decodes to the same
 * encoding again (nothing is lost or invented on the way), and a refused
 * one says why and leaves nothing allocated (ASan).
 */
#include <netinet/in.h>

#include "agent_proto.h"
#include "bindings.h"
#include "pod_result_json.h"
#include "fuzz.h"

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static void check_request(const struct skl_agent_request *r, size_t n_fds)
{
	FUZZ_CHECK(r->verb <= SKL_AGENT_STATUS, "verb %d", (int)r->verb);
	FUZZ_CHECK(r->n_sockets <= SKL_SOCKET_SLOTS, "%zu sockets", r->n_sockets);
	FUZZ_CHECK(n_fds == (r->verb == SKL_AGENT_REGISTER ? 1 + r->n_sockets : 1),
		   "%zu fds for verb %d with %zu sockets", n_fds, (int)r->verb, r->n_sockets);
	FUZZ_CHECK(r->verb == SKL_AGENT_STATUS ? !r->label[0] : skl_label_valid(r->label),
		   "label \"%s\" for verb %d", r->label, (int)r->verb);
	FUZZ_CHECK(r->verb == SKL_AGENT_REGISTER ? r->n_sockets >= 1 : !r->n_sockets,
		   "%zu sockets for verb %d", r->n_sockets, (int)r->verb);
	FUZZ_CHECK(r->protocol == 0 || (r->verb == SKL_AGENT_UNREGISTER &&
					(r->protocol == IPPROTO_TCP || r->protocol == IPPROTO_UDP)),
		   "protocol %d", r->protocol);
	FUZZ_CHECK(r->pid >= 0 && r->pid <= INT32_MAX, "pid %ld", r->pid);
	for (size_t i = 0; i < r->n_sockets; i++) {
		FUZZ_CHECK(r->sockets[i].user_fd >= 0, "socket %zu fd %d", i, r->sockets[i].user_fd);
		FUZZ_CHECK(r->sockets[i].name[0] && printable(r->sockets[i].name),
			   "socket %zu name \"%s\"", i, r->sockets[i].name);
	}
}

static bool same_request(const struct skl_agent_request *a, const struct skl_agent_request *b)
{
	if (a->verb != b->verb || strcmp(a->label, b->label) ||
	    a->protocol != b->protocol || a->pid != b->pid || a->n_sockets != b->n_sockets)
		return false;
	for (size_t i = 0; i < a->n_sockets; i++)
		if (a->sockets[i].user_fd != b->sockets[i].user_fd ||
		    strcmp(a->sockets[i].name, b->sockets[i].name))
			return false;
	return true;
}

static void fuzz_request(const char *text, size_t n_fds)
{
	struct skl_agent_request r, again;
	struct skl_err err = { 0 };
	char *encoded;

	if (skl_agent_request_decode(text, n_fds, &r, &err)) {
		fuzz_check_err(&err, "skl_agent_request_decode");
		FUZZ_CHECK(!strncmp(err.msg, "bad request to the node agent: ", 31),
			   "refusal \"%s\" is not a bad request", err.msg);
		return;
	}
	check_request(&r, n_fds);
	encoded = skl_agent_request_encode(&r);
	FUZZ_CHECK(encoded, "encoding a decoded request");
	FUZZ_CHECK(!skl_agent_request_decode(encoded, n_fds, &again, &err),
		   "an encoded request does not decode: %s", err.msg);
	FUZZ_CHECK(same_request(&r, &again), "the request changed on its way through %s",
		   encoded);
	free(encoded);
}

static void fuzz_answer(const char *text)
{
	struct skl_agent_answer a, again;
	struct skl_err err = { 0 };
	char *record;

	if (skl_agent_answer_decode(text, &a, &err)) {
		fuzz_check_err(&err, "skl_agent_answer_decode");
		FUZZ_CHECK(!a.out, "a refused answer left output");
		return;
	}
	if (a.done) {
		FUZZ_CHECK(a.exit_status >= 0 && a.exit_status <= SKL_AGENT_EXIT_MAX, "exit %d", a.exit_status);
		FUZZ_CHECK(!a.exit_status || (err.code == SKL_CNI_INTERNAL && err.msg[0]),
			   "exit %d with error code %d \"%s\"", a.exit_status, err.code, err.msg);
		FUZZ_CHECK(!a.out, "an end record with output");
		return;
	}
	FUZZ_CHECK(a.out && strlen(a.out) == a.out_len, "output of %zu bytes", a.out_len);
	record = skl_agent_part_record(a.out, a.out_len);
	FUZZ_CHECK(record, "encoding output");
	FUZZ_CHECK(!skl_agent_answer_decode(record, &again, &err) && !again.done &&
			   again.out_len == a.out_len && !memcmp(again.out, a.out, a.out_len),
		   "output changed on its way through a record");
	free(record);
	skl_agent_answer_free(&again);
	skl_agent_answer_free(&a);
}

/* Decodes text as result kind (0 register, 1 unregister, 2 status) and
 * encodes it again: NULL when it is refused. */
static char *result_round(int kind, const char *text, struct skl_err *err)
{
	struct skl_registered r;
	struct skl_unregistered u;
	struct skl_pod_status st;
	char *out = NULL;

	if (kind == 0 && !skl_registered_decode(text, &r, err))
		out = skl_registered_encode(&r);
	if (kind == 1 && !skl_unregistered_decode(text, &u, err))
		out = skl_unregistered_encode(&u);
	if (kind == 2) {
		if (!skl_pod_status_decode(text, &st, err))
			out = skl_pod_status_encode(&st, SKL_AGENT_VERSION);
		skl_pod_status_free(&st);
	}
	return out;
}

static void fuzz_result(int kind, const char *text)
{
	struct skl_err err = { 0 };
	char *once = result_round(kind, text, &err), *twice;

	if (!once) {
		fuzz_check_err(&err, "decoding a result");
		return;
	}
	twice = result_round(kind, once, &err);
	FUZZ_CHECK(twice, "an encoded result does not decode: %s", err.msg);
	FUZZ_CHECK(!strcmp(once, twice), "the result changed on its way through %s", once);
	free(once);
	free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!size)
		return 0;
	text = fuzz_cstring(data + 1, size - 1);
	if (data[0] & 1 && (data[0] / 2) % 4)
		fuzz_result((data[0] / 2) % 4 - 1, text);
	else if (data[0] & 1)
		fuzz_answer(text);
	else
		fuzz_request(text, (size_t)(data[0] / 2) % (SKL_AGENT_MAX_FDS + 2));
	free(text);
	return 0;
}
