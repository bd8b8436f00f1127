/* sklookup-ctl as the node agent's client facing a hostile or broken agent:
 * a fake agent on a private socket answers with crafted records, and
 * sklookup-ctl (the real binary) must refuse every one that is not a
 * well-formed result of its own request, print nothing of it, and exit 1
 * with a message. A good answer prints as the direct path would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_proto.h"
#include "testbin.h"

struct outcome {
	int status;
	char out[8192], err[2048];
};

/* Serves one connection on listener: reads the request, sends records. */
static void fake_agent(int listener, const char *const *records, size_t n)
{
	int conn = accept(listener, NULL, NULL), fds[SKL_AGENT_RECV_FDS];
	char buf[SKL_AGENT_MAX_REQUEST + 1];
	struct skl_err err = { 0 };
	size_t n_fds = 0;

	if (conn < 0)
		_exit(1);
	skl_agent_recv_all(conn, buf, sizeof(buf), fds, &n_fds, 0, &err);
	for (size_t i = 0; i < n; i++)
		skl_agent_send(conn, records[i], strlen(records[i]), NULL, 0, &err);
	_exit(0);
}

static void read_all(int fd, char *buf, size_t cap)
{
	size_t used = 0;
	ssize_t got;

	while (used + 1 < cap && (got = read(fd, buf + used, cap - 1 - used)) > 0)
		used += (size_t)got;
	buf[used] = 0;
	close(fd);
}

/* Runs "sklookup-ctl --agent PATH args..." against a fake agent. */
static void run_against(const char *const *records, size_t n, const char *args[],
			struct outcome *o)
{
	char path[108], ctl[4096];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), out[2], err[2];
	const char *argv[8] = { ctl, "--agent", path };
	pid_t agent, client;
	int st, k = 3;

	snprintf(path, sizeof(path), "/tmp/skl-fake-agent-%d.sock", (int)getpid());
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	unlink(path);
	assert_true(listener >= 0);
	assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(listener, 1), 0);
	agent = fork();
	assert_true(agent >= 0);
	if (!agent)
		fake_agent(listener, records, n);
	for (int i = 0; args[i] && k < 7; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	client = fork();
	assert_true(client >= 0);
	if (!client) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(ctl, (char **)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	read_all(out[0], o->out, sizeof(o->out));
	read_all(err[0], o->err, sizeof(o->err));
	assert_int_equal(waitpid(client, &st, 0), client);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	kill(agent, SIGKILL);
	waitpid(agent, NULL, 0);
	close(listener);
	unlink(path);
}

static const char status_ok[] =
	"{\"stateDir\":\"/sys/fs/bpf/sklookup/net/c1/eth0\",\"netnsIno\":\"4026532000\","
	"\"programId\":77,\"totals\":[\"10\",\"2\"],\"labels\":[],\"bindings\":[],"
	"\"bindingIds\":[],\"bindingCounters\":[],\"socketsVisible\":true,\"shadowed\":[]}";

static char *part(const char *doc)
{
	return skl_agent_part_record(doc, strlen(doc));
}

static void test_good_status_prints(void **state)
{
	char *p = part(status_ok);
	const char *records[] = { p, "{\"exit\":0}" }, *args[] = { "status", NULL };
	struct outcome o;

	(void)state;
	run_against(records, 2, args, &o);
	free(p);
	if (o.status)
		fail_msg("exit %d: %s", o.status, o.err);
	assert_non_null(strstr(o.out, "pod state /sys/fs/bpf/sklookup/net/c1/eth0 (netns inode "
				      "4026532000, program id 77)"));
	assert_non_null(strstr(o.out, "lookups 10, no binding matched 2"));
}

/* The agent's answer carries sklookup-ctl's exit status: "no dispatcher" (3)
 * and a failure (1) come out as they are, with the agent's message; the
 * client takes them from the answer's exit, not from an error code. */
static void test_agent_exit_status_is_passed_on(void **state)
{
	const int statuses[] = { 3, 1 };
	struct outcome o;

	(void)state;
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		char end[128];
		const char *records[] = { end }, *args[] = { "status", NULL };

		snprintf(end, sizeof(end), "{\"exit\":%d,\"error\":\"the agent says %d\"}",
			 statuses[i], statuses[i]);
		run_against(records, 1, args, &o);
		if (o.status != statuses[i] || o.out[0] || !strstr(o.err, "the agent says"))
			fail_msg("answer exit %d: exit %d, stdout <%s>, stderr <%s>", statuses[i],
				 o.status, o.out, o.err);
	}
}

static void expect_refused(const char *const *records, size_t n, const char *cmd,
			   const char *why)
{
	const char *args[] = { cmd, cmd[0] == 'u' ? "web" : NULL, NULL };
	struct outcome o;

	run_against(records, n, args, &o);
	if (o.status != 1 || o.out[0] || !strstr(o.err, why))
		fail_msg("exit %d, stdout <%s>, stderr <%s> (wanted <%s>)", o.status, o.out, o.err,
			 why);
}

static void test_hostile_answers_refused(void **state)
{
	char *ok = part(status_ok), *extra, *unreg;
	char *escape = part("{\"stateDir\":\"\\u001b[2J\",\"netnsIno\":\"1\",\"programId\":1,"
			    "\"totals\":[\"0\",\"0\"],\"labels\":[],\"bindings\":[],"
			    "\"bindingIds\":[],\"bindingCounters\":[],\"socketsVisible\":true,"
			    "\"shadowed\":[]}");
	const char *v1[] = { "{\"out\":\"pod state /etc\\n\"}", "{\"exit\":0}" };
	const char *none[] = { "{\"exit\":0}" };
	const char *no_end[] = { ok };
	const char *ctrl[] = { escape, "{\"exit\":0}" };
	const char *err_ctrl[] = { "{\"exit\":1,\"error\":\"\\u001b]0;x\\u0007\"}" };

	(void)state;
	extra = part("{\"label\":\"web\",\"protocol\":\"both\",\"removed\":[\"1\",\"0\",\"0\",\"0\"],"
		     "\"x\":1}");
	unreg = part("{\"label\":\"api\",\"protocol\":\"both\",\"removed\":[\"1\",\"0\",\"0\",\"0\"]}");
	expect_refused(v1, 2, "status", "not understood");
	expect_refused(none, 1, "status", "has no result");
	expect_refused(no_end, 1, "status", "closed the connection");
	expect_refused(ctrl, 2, "status", "wrong type");
	expect_refused(err_ctrl, 1, "status", "not understood");
	{
		const char *r[] = { extra, "{\"exit\":0}" };

		expect_refused(r, 2, "unregister", "unknown field \"x\"");
	}
	{
		const char *r[] = { unreg, "{\"exit\":0}" };

		expect_refused(r, 2, "unregister", "about another request");
	}
	free(ok);
	free(escape);
	free(extra);
	free(unreg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_status_prints),
		cmocka_unit_test(test_agent_exit_status_is_passed_on),
		cmocka_unit_test(test_hostile_answers_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
