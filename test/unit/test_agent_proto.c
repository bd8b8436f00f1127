/* Unit tests of the node agent's wire protocol (agent_proto.c): requests
 * round-trip, anything else is refused with a message naming what, answers
 * decode, and records with fds travel over a real socket pair. */
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_proto.h"

static void expect_refused(const char *text, size_t n_fds, const char *why)
{
	struct skl_agent_request r;
	struct skl_err err = { 0 };

	if (!skl_agent_request_decode(text, n_fds, &r, &err))
		fail_msg("accepted: %s", text);
	if (!strstr(err.msg, why))
		fail_msg("error message <%s> lacks <%s>", err.msg, why);
	assert_non_null(strstr(err.msg, "bad request to the node agent: "));
}

static void test_request_round_trip(void **state)
{
	struct skl_agent_request in = { .verb = SKL_AGENT_REGISTER, .pid = 42,
					.n_sockets = 2 }, out;
	struct skl_err err = { 0 };
	char *text;

	(void)state;
	strcpy(in.label, "web");
	in.sockets[0].user_fd = 3;
	strcpy(in.sockets[0].name, "pid 42 fd 3");
	in.sockets[1].user_fd = 7;
	strcpy(in.sockets[1].name, "tcp://[::]:8080");
	text = skl_agent_request_encode(&in);
	assert_non_null(text);
	if (skl_agent_request_decode(text, 3, &out, &err))
		fail_msg("%s: %s", text, err.msg);
	free(text);
	assert_int_equal(out.verb, SKL_AGENT_REGISTER);
	assert_string_equal(out.label, "web");
	assert_int_equal(out.pid, 42);
	assert_int_equal(out.n_sockets, 2);
	assert_int_equal(out.sockets[1].user_fd, 7);
	assert_string_equal(out.sockets[1].name, "tcp://[::]:8080");

	in = (struct skl_agent_request){ .verb = SKL_AGENT_UNREGISTER, .protocol = IPPROTO_UDP };
	strcpy(in.label, "dns");
	text = skl_agent_request_encode(&in);
	assert_int_equal(skl_agent_request_decode(text, 1, &out, &err), 0);
	free(text);
	assert_int_equal(out.verb, SKL_AGENT_UNREGISTER);
	assert_int_equal(out.protocol, IPPROTO_UDP);

	in = (struct skl_agent_request){ .verb = SKL_AGENT_STATUS };
	text = skl_agent_request_encode(&in);
	assert_int_equal(skl_agent_request_decode(text, 1, &out, &err), 0);
	free(text);
	assert_int_equal(out.verb, SKL_AGENT_STATUS);
	assert_int_equal(out.version, SKL_AGENT_VERSION);

	/* An older sklookup-ctl (in a pod's image) still gets answers. */
	assert_int_equal(skl_agent_request_decode("{\"version\": 2, \"verb\": \"status\"}", 1,
						  &out, &err),
			 0);
	assert_int_equal(out.version, 2);

	in = (struct skl_agent_request){ .verb = SKL_AGENT_MONITOR };
	text = skl_agent_request_encode(&in);
	assert_int_equal(skl_agent_request_decode(text, 1, &out, &err), 0);
	free(text);
	assert_int_equal(out.verb, SKL_AGENT_MONITOR);
}

/* No field can name a pod, and every field is checked. */
static void test_request_refusals(void **state)
{
	(void)state;
	expect_refused("", 1, "not a JSON object");
	expect_refused("[1]", 1, "not a JSON object");
	expect_refused("{\"verb\": \"status\"}", 1, "protocol version missing");
	expect_refused("{\"version\": 1, \"verb\": \"status\"}", 1, "protocol version other");
	expect_refused("{\"version\": 4, \"verb\": \"status\"}", 1, "protocol version other");
	expect_refused("{\"version\": 2.5, \"verb\": \"status\"}", 1, "protocol version other");
	/* monitor came with version 3; a version 2 client never sends it. */
	expect_refused("{\"version\": 2, \"verb\": \"monitor\"}", 1, "needs protocol version 3");
	expect_refused("{\"version\": 3, \"verb\": \"monitor\", \"label\": \"web\"}", 1,
		       "unknown field");
	expect_refused("{\"version\": 3, \"verb\": \"monitor\"}", 2, "needs 1 fd");
	expect_refused("{\"version\": 2, \"verb\": \"bindings\"}", 1, "\"verb\" must be");
	expect_refused("{\"version\": 2, \"verb\": \"status\", \"container\": \"b\"}", 1,
		       "unknown field \"container\"");
	expect_refused("{\"version\": 2, \"verb\": \"status\", \"label\": \"web\"}", 1,
		       "unknown field \"label\" for status");
	expect_refused("{\"version\": 2, \"verb\": \"unregister\", \"label\": \"web\", "
		       "\"pid\": 1}", 1, "unknown field \"pid\"");
	expect_refused("{\"version\": 2, \"verb\": \"unregister\"}", 1, "needs a \"label\"");
	expect_refused("{\"version\": 2, \"verb\": \"unregister\", \"label\": \"--help\"}", 1,
		       "\"label\" must be a label");
	expect_refused("{\"version\": 2, \"verb\": \"unregister\", \"label\": "
		       "\"abcdefghijabcdefghijabcdefghijabc\"}", 1, "\"label\" must be a label");
	expect_refused("{\"version\": 2, \"verb\": \"unregister\", \"label\": \"w\", "
		       "\"protocol\": \"sctp\"}", 1, "\"protocol\" must be");
	/* Version 1's "json": the client prints now. */
	expect_refused("{\"version\": 2, \"verb\": \"status\", \"json\": true}", 1,
		       "unknown field \"json\"");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\"}", 1,
		       "register needs \"sockets\"");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"sockets\": "
		       "[]}", 1, "array of 1 to 4");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"sockets\": "
		       "[{\"fd\": 3}]}", 2, "each of \"sockets\"");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"sockets\": "
		       "[{\"fd\": 3.5, \"name\": \"x\"}]}", 2, "each of \"sockets\"");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"sockets\": "
		       "[{\"fd\": 3, \"name\": \"x\", \"path\": \"/\"}]}",
		       2, "each of \"sockets\"");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"pid\": -1, "
		       "\"sockets\": [{\"fd\": 3, \"name\": \"x\"}]}", 2, "\"pid\" must be");
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"sockets\": "
		       "[{\"fd\": 3, \"name\": \"x\"}]}", 1, "register needs 2 fds");
	expect_refused("{\"version\": 2, \"verb\": \"status\"}", 0, "status needs 1 fd");
	expect_refused("{\"version\": 2, \"verb\": \"status\"}", 2, "status needs 1 fd");
}

/* The stack overflow: "sockets" given 30 times (each within the
 * array's limit) appended past the request's four slots before the fd
 * count was checked. Every field is refused when repeated. */
static void test_repeated_fields_refused(void **state)
{
	static const char *const once[] = {
		"\"version\": 2", "\"verb\": \"register\"",
		"\"label\": \"w\"", "\"pid\": 7",
		"\"sockets\": [{\"fd\": 3, \"name\": \"x\"}]",
	};
	const char *sockets = ", \"sockets\": [{\"fd\": 3, \"name\": \"x\"}, {\"fd\": 4, "
			      "\"name\": \"y\"}, {\"fd\": 5, \"name\": \"z\"}, {\"fd\": 6, "
			      "\"name\": \"w\"}]";
	char text[SKL_AGENT_MAX_REQUEST * 2];
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text),
			       "{\"version\": 2, \"verb\": \"register\", \"label\": \"w\"");
	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", sockets);
	snprintf(text + len, sizeof(text) - len, "}");
	expect_refused(text, SKL_AGENT_MAX_FDS, "\"sockets\" appears more than once");

	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", "
			 "\"pid\": 7, \"sockets\": [{\"fd\": 3, \"name\": \"x\"}], %s}",
			 once[i]);
		expect_refused(text, 2, "appears more than once");
	}
	expect_refused("{\"version\": 2, \"verb\": \"unregister\", \"label\": \"w\", "
		       "\"protocol\": \"tcp\", \"protocol\": \"udp\"}",
		       1, "\"protocol\" appears more than once");
	expect_refused("{\"version\": 2, \"verb\": \"status\", \"verb\": \"register\"}", 1,
		       "\"verb\" appears more than once");
	/* Five sockets in one array are refused as before. */
	expect_refused("{\"version\": 2, \"verb\": \"register\", \"label\": \"w\", \"sockets\": "
		       "[{\"fd\": 3, \"name\": \"x\"}, {\"fd\": 3, \"name\": \"x\"}, {\"fd\": 3, "
		       "\"name\": \"x\"}, {\"fd\": 3, \"name\": \"x\"}, {\"fd\": 3, \"name\": "
		       "\"x\"}]}",
		       SKL_AGENT_MAX_FDS, "array of 1 to 4");
}

static void test_answers(void **state)
{
	struct skl_agent_answer a;
	struct skl_err err = { 0 };
	char *rec;

	(void)state;
	rec = skl_agent_part_record("line \"one\"\n\ttwo\n", 16);
	assert_int_equal(skl_agent_answer_decode(rec, &a, &err), 0);
	free(rec);
	assert_false(a.done);
	assert_int_equal(a.out_len, 16);
	assert_memory_equal(a.out, "line \"one\"\n\ttwo\n", 16);
	skl_agent_answer_free(&a);

	rec = skl_agent_end_record(0, NULL);
	assert_int_equal(skl_agent_answer_decode(rec, &a, &err), 0);
	free(rec);
	assert_true(a.done);
	assert_int_equal(a.exit_status, 0);

	rec = skl_agent_end_record(3, "no sklookup dispatcher");
	assert_int_equal(skl_agent_answer_decode(rec, &a, &err), 0);
	free(rec);
	assert_true(a.done);
	assert_int_equal(a.exit_status, 3);
	/* The exit status is not an error code: the library's code keeps its
	 * one meaning (3 there is SKL_CNI_UNKNOWN_CONTAINER). */
	assert_int_equal(err.code, SKL_CNI_INTERNAL);
	assert_string_equal(err.msg, "no sklookup dispatcher");

	rec = skl_agent_end_record(1, "bad\033[2J\n");
	assert_int_equal(skl_agent_answer_decode(rec, &a, &err), 0);
	free(rec);
	assert_string_equal(err.msg, "bad?[2J?");
	assert_int_equal(skl_agent_answer_decode("{\"exit\": 300}", &a, &err), -1);
	assert_int_equal(skl_agent_answer_decode("nonsense", &a, &err), -1);
	/* Strict: version 1's output, extra fields, a missing or hostile error. */
	assert_int_equal(skl_agent_answer_decode("{\"out\": \"x\"}", &a, &err), -1);
	assert_int_equal(skl_agent_answer_decode("{\"part\": \"x\", \"exit\": 0}", &a, &err), -1);
	assert_int_equal(skl_agent_answer_decode("{\"part\": 1}", &a, &err), -1);
	{
		char big[SKL_AGENT_MAX_CHUNK + 16];

		snprintf(big, sizeof(big), "{\"part\": \"%0*d\"}", SKL_AGENT_MAX_CHUNK + 1, 0);
		assert_int_equal(skl_agent_answer_decode(big, &a, &err), -1);
		snprintf(big, sizeof(big), "{\"part\": \"%0*d\"}", SKL_AGENT_MAX_CHUNK, 0);
		assert_int_equal(skl_agent_answer_decode(big, &a, &err), 0);
		skl_agent_answer_free(&a);
	}
	assert_int_equal(skl_agent_answer_decode("{\"exit\": 0, \"x\": 1}", &a, &err), -1);
	assert_int_equal(skl_agent_answer_decode("{\"exit\": 1}", &a, &err), -1);
	assert_int_equal(skl_agent_answer_decode("{\"exit\": 1, \"error\": \"\\u001b[2J\"}",
						 &a, &err), -1);
	assert_int_equal(skl_agent_answer_decode("{\"exit\": 1, \"error\": 5}", &a, &err), -1);
}

/* Records keep their boundaries and fds over SOCK_SEQPACKET; too many fds
 * or too many bytes are refused and the fds that came are closed. */
static void test_records_over_a_socket_pair(void **state)
{
	int pair[2], fds[SKL_AGENT_MAX_FDS], six[6];
	char buf[64];
	struct skl_err err = { 0 };
	struct stat a, b;
	size_t n_fds;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
	assert_int_equal(skl_agent_send(pair[0], "{}", 2, &pair[0], 1, &err), 0);
	assert_int_equal(skl_agent_send(pair[0], "{\"x\":1}", 7, NULL, 0, &err), 0);
	assert_int_equal(skl_agent_recv(pair[1], buf, sizeof(buf), fds, SKL_AGENT_MAX_FDS, &n_fds,
					 0, &err), 2);
	assert_string_equal(buf, "{}");
	assert_int_equal(n_fds, 1);
	assert_int_equal(fstat(fds[0], &a), 0);
	assert_int_equal(fstat(pair[0], &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	close(fds[0]);
	assert_int_equal(skl_agent_recv(pair[1], buf, sizeof(buf), fds, SKL_AGENT_MAX_FDS, &n_fds,
					 0, &err), 7);
	assert_int_equal(n_fds, 0);

	/* Nothing there: would block. */
	assert_int_equal(skl_agent_recv(pair[1], buf, sizeof(buf), fds, SKL_AGENT_MAX_FDS, &n_fds,
					 MSG_DONTWAIT, &err), -1);
	assert_int_equal(err.code, SKL_CNI_TRY_AGAIN_LATER);

	/* More fds than a request may carry (sent by hand: send refuses). */
	for (int i = 0; i < 6; i++)
		six[i] = pair[0];
	assert_int_equal(skl_agent_send(pair[0], "{}", 2, six, 6, &err), -1);
	{
		union {
			char buf[CMSG_SPACE(sizeof(six))];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = (void *)"{}", .iov_len = 2 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(six));
		memcpy(CMSG_DATA(c), six, sizeof(six));
		assert_int_equal(sendmsg(pair[0], &msg, 0), 2);
	}
	assert_int_equal(skl_agent_recv(pair[1], buf, sizeof(buf), fds, SKL_AGENT_MAX_FDS, &n_fds,
					 0, &err), -1);
	assert_non_null(strstr(err.msg, "more than 5 fds"));
	assert_int_equal(n_fds, 0);

	/* A record longer than the buffer. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(skl_agent_send(pair[0], buf, sizeof(buf), NULL, 0, &err), 0);
	assert_int_equal(skl_agent_recv(pair[1], buf, 16, fds, SKL_AGENT_MAX_FDS, &n_fds, 0, &err),
			 -1);
	assert_non_null(strstr(err.msg, "larger than 15 bytes"));
	close(pair[0]);
	assert_int_equal(skl_agent_recv(pair[1], buf, sizeof(buf), fds, SKL_AGENT_MAX_FDS, &n_fds,
					 0, &err), 0);
	close(pair[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_refusals),
		cmocka_unit_test(test_repeated_fields_refused),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_records_over_a_socket_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
