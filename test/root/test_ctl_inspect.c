/*
 * sklookup-ctl bindings, status, trace and metrics against a real pod
 * state, with real sockets and traffic; the binary is the one users run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_fixture.h"
#include "dispatch_fixture.h"
#include "testbin.h"

#define OUT 65536

static const char base_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"443\", \"8000-8999\"]},"
	" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8::/64\"},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"198.51.100.0/24\","
	"  \"ports\": [\"53\"]},"
	" {\"label\": \"idle\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.128/25\","
	"  \"ports\": [\"22\"], \"missing\": \"pass\"}]";

struct env {
	struct ctl_pod pod;
	int web, dns;
	pid_t client; /* a traffic generator still running, or 0 */
	char *out;
	char file[64];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->out = malloc(OUT);
	assert_non_null(e->out);
	snprintf(e->file, sizeof(e->file), "/tmp/sklt-ctl-%d.json", getpid());
	ctl_pod_create(&e->pod, base_bindings);
	e->web = fixture_server(SOCK_STREAM, "::", 0, false);
	e->dns = fixture_server(SOCK_DGRAM, "127.0.0.1", 0, true);
	ctl_pod_register(&e->pod, "web", e->web);
	ctl_pod_register(&e->pod, "dns", e->dns);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->client > 0) {
		kill(e->client, SIGKILL);
		waitpid(e->client, NULL, 0);
	}
	close(e->web);
	close(e->dns);
	unlink(e->file);
	ctl_pod_destroy(&e->pod);
	free(e->out);
	free(e);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static cJSON *run_json(struct env *e, const char *args)
{
	cJSON *doc;

	assert_int_equal(ctl_run(&e->pod, false, e->out, OUT, "--json %s", args), 0);
	doc = cJSON_Parse(e->out);
	if (!doc)
		fail_msg("not JSON: %s", e->out);
	return doc;
}

static void bindings_list(void **state)
{
	struct env *e = *state;
	cJSON *doc, *b;
	int n = 0;

	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings"), 0);
	assert_non_null(strstr(e->out, "192.0.2.0/24"));
	assert_non_null(strstr(e->out, "80,443,8000-8999"));
	doc = run_json(e, "bindings list");
	assert_int_equal(cJSON_GetArraySize(doc), 4);
	cJSON_ArrayForEach(b, doc) {
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(b, "id")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(b, "label")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(b, "protocol")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(b, "prefix")));
		n++;
	}
	assert_int_equal(n, 4);
	cJSON_Delete(doc);
}

static void bindings_add_del_replace(void **state)
{
	struct env *e = *state;
	cJSON *doc;

	write_file(e->file, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.7\","
			    " \"ports\": [\"9000\"]}]");
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings add %s", e->file), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.7", 9000, &e->web, 1), 0);
	doc = run_json(e, "bindings");
	assert_int_equal(cJSON_GetArraySize(doc), 5);
	cJSON_Delete(doc);

	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings del %s", e->file), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "198.51.100.7", 9000, &e->web, 1), -1);
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings del %s", e->file), 1);
	assert_non_null(strstr(e->out, "no such binding"));

	write_file(e->file, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/25\"}]");
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings replace %s", e->file), 0);
	doc = run_json(e, "bindings");
	assert_int_equal(cJSON_GetArraySize(doc), 1);
	cJSON_Delete(doc);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.5", 22, &e->web, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.200", 80, &e->web, 1), -1);
}

static void bindings_refusals(void **state)
{
	struct env *e = *state;

	/* Conflict with a binding in force: named, and nothing changes. */
	write_file(e->file, "[{\"label\": \"other\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
			    " \"ports\": [\"8500-9500\"]}]");
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings add %s", e->file), 1);
	assert_non_null(strstr(e->out, "8500-9500"));
	write_file(e->file, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"pod\"}]");
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings add %s", e->file), 1);
	assert_non_null(strstr(e->out, "pod prefixes"));
	write_file(e->file, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.1\","
			    " \"ports\": [\"0\"]}]");
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings add %s", e->file), 1);
	assert_non_null(strstr(e->out, "ports[0]"));
	write_file(e->file, "{not json");
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings replace %s", e->file), 1);
	assert_non_null(strstr(e->out, "not valid JSON"));
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings frobnicate"), 2);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.5", 8600, &e->web, 1), 0);
}

/* What the client saw: refusals are what a drop (or no socket) looks like;
 * a timeout is a SYN lost to load, not to dispatch. */
struct stream_report {
	int total, refused, timed_out, other;
};

/* A client that connects to 192.0.2.(1..250):80 until `stop` becomes
 * readable (or a cap), then reports. */
static pid_t start_stream(int stop, int report)
{
	struct timeval timeout = { .tv_sec = 3 };
	struct stream_report r = { 0 };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (int i = 0; i < 200000; i++, r.total++) {
		struct pollfd done = { .fd = stop, .events = POLLIN };

		if (poll(&done, 1, 0) == 1)
			break;
		struct sockaddr_storage ss;
		char addr[32];
		socklen_t len;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		snprintf(addr, sizeof(addr), "192.0.2.%d", 1 + i % 250);
		len = fixture_addr(addr, 80, &ss);
		if (connect(fd, (struct sockaddr *)&ss, len)) {
			if (errno == ECONNREFUSED)
				r.refused++;
			else if (errno == EINPROGRESS || errno == ETIMEDOUT)
				r.timed_out++;
			else
				r.other++;
		}
		close(fd);
	}
	if (write(report, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static int accept_all(int listener)
{
	int n = 0;

	for (int fd; (fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0 || errno == EINTR;)
		if (fd >= 0) {
			close(fd);
			n++;
		}
	return n;
}

/* Every connection, while the set is replaced again and again, lands on
 * the label's socket: never refused, never on the ordinary listener that
 * an exact bind() put on one of the addresses. */
static void replace_under_steady_stream(void **state)
{
	struct env *e = *state;
	const char *sets[] = {
		"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
		"  \"ports\": [\"80\"]},"
		" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"198.51.100.0/24\"}]",
		"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/25\"},"
		" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.128/25\","
		"  \"ports\": [\"1-1000\"]},"
		" {\"label\": \"idle\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
		"  \"ports\": [\"81\"]}]",
	};
	int report[2], stop[2], status, decoy, accepted = 0, rounds;
	struct stream_report r = { -1, -1, -1, -1 };

	decoy = fixture_server(SOCK_STREAM, "192.0.2.77", 80, true);
	assert_int_equal(fcntl(e->web, F_SETFL, O_NONBLOCK), 0);
	/* A deep backlog: replacing the set takes a while on a loaded machine. */
	assert_int_equal(listen(e->web, 4096), 0);
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(stop), 0);
	e->client = start_stream(stop[0], report[1]);
	/* Replace the set again and again while the client runs, accepting
	 * between rounds so the backlog never fills. */
	for (rounds = 0; rounds < 20; rounds++) {
		accepted += accept_all(e->web);
		write_file(e->file, sets[rounds % 2]);
		assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings replace %s", e->file),
				 0);
	}
	assert_int_equal(write(stop[1], "x", 1), 1);
	for (;;) {
		struct pollfd done = { .fd = report[0], .events = POLLIN };

		accepted += accept_all(e->web);
		if (poll(&done, 1, 10) == 1)
			break;
	}
	accepted += accept_all(e->web);
	assert_int_equal(read(report[0], &r, sizeof(r)), sizeof(r));
	assert_int_equal(waitpid(e->client, &status, 0), e->client);
	e->client = 0;
	print_message("%d replaces during %d connections: %d accepted, %d refused, %d timed out\n",
		      rounds, r.total, accepted, r.refused, r.timed_out);
	assert_int_equal(r.refused, 0);
	assert_int_equal(r.other, 0);
	assert_true(r.total > 100);
	assert_int_equal(accepted + r.timed_out, r.total);
	/* The exact bind() on 192.0.2.77:80 got none of it. */
	assert_int_equal(fcntl(decoy, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(accept_all(decoy), 0);
	close(decoy);
	close(report[0]);
	close(report[1]);
	close(stop[0]);
	close(stop[1]);
}

/* One writer: `bindings add` of its own bindings one at a time (TCP port
 * 7000 on 198.51.100.(first..first+n-1)); exits with how many failed. */
static pid_t start_writer(const struct env *e, int first, int n)
{
	char ctl[PATH_MAX], file[96], cmd[PATH_MAX + 512];
	int failed = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	snprintf(file, sizeof(file), "%s.%d", e->file, first);
	for (int k = 0; k < n; k++) {
		FILE *f = fopen(file, "w");

		if (!f)
			_exit(100);
		fprintf(f, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": "
			   "\"198.51.100.%d\", \"ports\": [\"7000\"]}]", first + k);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s --bpffs-root %s bindings add %s >/dev/null",
			 ctl, e->pod.root, file);
		failed += system(cmd) != 0;
	}
	unlink(file);
	_exit(failed);
}

/* Two writers changing one pod at once, while connections keep coming:
 * the pod's lock serialises them, so no connection finds the generation in
 * use cleared by the other writer, and no update is lost. */
static void concurrent_writers_lose_nothing(void **state)
{
	struct env *e = *state;
	enum { PER_WRITER = 12 };
	int report[2], stop[2], status, accepted = 0, running = 2;
	struct stream_report r = { -1, -1, -1, -1 };
	pid_t writers[2];
	cJSON *doc;

	assert_int_equal(fcntl(e->web, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(listen(e->web, 4096), 0);
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(stop), 0);
	e->client = start_stream(stop[0], report[1]);
	writers[0] = start_writer(e, 1, PER_WRITER);
	writers[1] = start_writer(e, 101, PER_WRITER);
	while (running) {
		accepted += accept_all(e->web);
		for (int i = 0; i < 2; i++) {
			if (writers[i] && waitpid(writers[i], &status, WNOHANG) == writers[i]) {
				assert_true(WIFEXITED(status));
				assert_int_equal(WEXITSTATUS(status), 0);
				writers[i] = 0;
				running--;
			}
		}
		poll(NULL, 0, 10);
	}
	assert_int_equal(write(stop[1], "x", 1), 1);
	for (;;) {
		struct pollfd done = { .fd = report[0], .events = POLLIN };

		accepted += accept_all(e->web);
		if (poll(&done, 1, 10) == 1)
			break;
	}
	accepted += accept_all(e->web);
	assert_int_equal(read(report[0], &r, sizeof(r)), sizeof(r));
	assert_int_equal(waitpid(e->client, &status, 0), e->client);
	e->client = 0;
	print_message("%d adds by 2 writers during %d connections: %d accepted, %d refused\n",
		      2 * PER_WRITER, r.total, accepted, r.refused);
	assert_int_equal(r.refused, 0);
	assert_int_equal(r.other, 0);
	doc = run_json(e, "bindings");
	assert_int_equal(cJSON_GetArraySize(doc), 4 + 2 * PER_WRITER);
	cJSON_Delete(doc);
	close(report[0]);
	close(report[1]);
	close(stop[0]);
	close(stop[1]);
}

/* A writer waits for the pod's lock (held here as the plugin's ADD or DEL
 * holds it), and gives up after a bounded wait with "busy, try again". */
static void writer_waits_for_the_pods_lock(void **state)
{
	struct env *e = *state;
	char container[PATH_MAX], cmd[PATH_MAX + 512], ctl[PATH_MAX];
	struct timespec t0, t1;
	int lock, status;
	cJSON *doc;
	FILE *f;
	pid_t pid;

	snprintf(container, sizeof(container), "%s/net/" CTL_POD_CONTAINER, e->pod.root);
	lock = open(container, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX), 0);
	write_file(e->file, "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.7\","
			    " \"ports\": [\"9000\"]}]");
	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	snprintf(cmd, sizeof(cmd), "%s --bpffs-root %s bindings add %s >/dev/null 2>&1", ctl,
		 e->pod.root, e->file);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(system(cmd) == 0 ? 0 : 1);
	poll(NULL, 0, 500);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still waiting */
	doc = run_json(e, "bindings");
	assert_int_equal(cJSON_GetArraySize(doc), 4);
	cJSON_Delete(doc);
	assert_int_equal(flock(lock, LOCK_UN), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	doc = run_json(e, "bindings");
	assert_int_equal(cJSON_GetArraySize(doc), 5);
	cJSON_Delete(doc);

	/* Held for longer than a writer waits: it gives up, changing nothing. */
	assert_int_equal(flock(lock, LOCK_EX), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(cmd, sizeof(cmd), "%s --bpffs-root %s bindings del %s 2>&1", ctl, e->pod.root,
		 e->file);
	f = popen(cmd, "r");
	assert_non_null(f);
	e->out[fread(e->out, 1, OUT - 1, f)] = 0;
	status = pclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(lock);
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(e->out, "busy"));
	assert_non_null(strstr(e->out, "try again"));
	assert_true(t1.tv_sec - t0.tv_sec >= 4 && t1.tv_sec - t0.tv_sec <= 15);
	doc = run_json(e, "bindings");
	assert_int_equal(cJSON_GetArraySize(doc), 5);
	cJSON_Delete(doc);
}

static void status_shows_sockets_counters_and_shadowed(void **state)
{
	struct env *e = *state;
	int shadowed = fixture_server(SOCK_STREAM, "192.0.2.9", 443, true);
	int untouched = fixture_server(SOCK_STREAM, "198.51.100.1", 2222, true);
	cJSON *doc, *l, *b, *s;
	bool web_seen = false;
	int n_shadowed = 0;

	for (int i = 0; i < 3; i++)
		assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.10", 8080, &e->web, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "198.51.100.3", 53, &e->dns, 1), 0);

	doc = run_json(e, "status");
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "totals"), "lookups")->valuedouble >= 4);
	cJSON_ArrayForEach(l, cJSON_GetObjectItem(doc, "labels")) {
		if (strcmp(cJSON_GetObjectItem(l, "name")->valuestring, "web"))
			continue;
		web_seen = true;
		/* The dual-stack socket fills both TCP slots. */
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "sockets")), 2);
		s = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "sockets"), 0);
		assert_int_equal((uint64_t)cJSON_GetObjectItem(s, "cookie")->valuedouble,
				 fixture_cookie(e->web));
		assert_non_null(strstr(cJSON_GetObjectItem(s, "local")->valuestring, "tcp [::]:"));
		assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "counters"), "assigned")
					 ->valuedouble,
				 3);
	}
	assert_true(web_seen);
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "bindings"), 0);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "counters"), "matched")->valuedouble,
			 3);
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(doc, "shadowed")) {
		assert_string_equal(cJSON_GetObjectItem(s, "socket")->valuestring, "tcp 192.0.2.9:443");
		assert_string_equal(cJSON_GetObjectItem(s, "label")->valuestring, "web");
		n_shadowed++;
	}
	assert_int_equal(n_shadowed, 1);
	cJSON_Delete(doc);

	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "status"), 0);
	assert_non_null(strstr(e->out, "shadowed: tcp 192.0.2.9:443"));
	assert_non_null(strstr(e->out, "no socket registered"));
	close(shadowed);
	close(untouched);
}

struct trace_case {
	const char *proto, *addr;
	uint16_t port;
	int server; /* 0 web, 1 dns, -1 refused or nothing */
	const char *reason;
};

/* trace says what a real packet meets. */
static void trace_agrees_with_real_traffic(void **state)
{
	static const struct trace_case cases[] = {
		{ "tcp", "192.0.2.1", 80, 0, "selected" },
		{ "tcp", "192.0.2.250", 8999, 0, "selected" },
		{ "tcp", "192.0.2.1", 9000, -1, "no binding" },
		{ "tcp", "2001:db8::1", 22, 0, "selected" },
		{ "udp", "198.51.100.9", 53, 1, "selected" },
		{ "udp", "198.51.100.9", 54, -1, "no binding" },
		{ "tcp", "198.51.100.200", 22, -1, "missing" },
		{ "tcp", "198.51.100.1", 80, -1, "no binding" },
	};
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct trace_case *c = &cases[i];
		int servers[2] = { e->web, e->dns };
		char args[128], dst[80];
		cJSON *doc, *sock;
		int got;

		snprintf(dst, sizeof(dst), strchr(c->addr, ':') ? "[%s]:%u" : "%s:%u", c->addr, c->port);
		snprintf(args, sizeof(args), "trace %s %s", c->proto, dst);
		doc = run_json(e, args);
		sock = cJSON_GetObjectItem(doc, "socket");
		if (c->server >= 0)
			assert_int_equal((uint64_t)cJSON_GetObjectItem(sock, "cookie")->valuedouble,
					 fixture_cookie(servers[c->server]));
		else
			assert_true(cJSON_IsNull(sock));
		if (!strstr(cJSON_GetObjectItem(doc, "reason")->valuestring, c->reason))
			fail_msg("%s: reason \"%s\"", args, cJSON_GetObjectItem(doc, "reason")->valuestring);
		cJSON_Delete(doc);
		got = fixture_deliver(strcmp(c->proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM, c->addr,
				      c->port, &servers[c->server >= 0 ? c->server : 0], 1);
		assert_int_equal(got, c->server >= 0 ? 0 : -1);
	}
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "trace tcp 192.0.2.1"), 2);
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "trace sctp 192.0.2.1:80"), 2);
}

static void metrics_in_prometheus_format(void **state)
{
	struct env *e = *state;
	regex_t sample;
	char *line, *save = NULL;
	int samples = 0;

	for (int i = 0; i < 2; i++)
		assert_int_equal(fixture_deliver(SOCK_STREAM, "192.0.2.10", 443, &e->web, 1), 0);
	assert_int_equal(ctl_run(&e->pod, false, e->out, OUT, "metrics"), 0);
	assert_int_equal(regcomp(&sample, "^sklookup_[a-z_]+\\{[a-z]+=\"[^\"]*\"(,[a-zA-Z]+=\"[^\"]*\")*\\} [0-9]+$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	assert_non_null(strstr(e->out, "# TYPE sklookup_lookups_total counter"));
	assert_non_null(strstr(e->out, "outcome=\"assigned\"} 2\n"));
	assert_non_null(strstr(e->out, "container=\"" CTL_POD_CONTAINER "\""));
	for (line = strtok_r(e->out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (regexec(&sample, line, 0, NULL, 0))
			fail_msg("not a Prometheus sample: %s", line);
		samples++;
	}
	regfree(&sample);
	assert_true(samples > 20);
}

static void finding_the_pod(void **state)
{
	struct env *e = *state;

	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "--container %s bindings",
				 CTL_POD_CONTAINER), 0);
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "bindings --netns /proc/self/ns/net"), 0);
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "--container nosuch status"), 3);
	assert_non_null(strstr(e->out, "no sklookup dispatcher"));
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "status extra"), 2);
	assert_int_equal(ctl_run(&e->pod, true, e->out, OUT, "status --help"), 0);
	assert_non_null(strstr(e->out, "usage: sklookup-ctl"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bindings_list, setup, teardown),
		cmocka_unit_test_setup_teardown(bindings_add_del_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(bindings_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(replace_under_steady_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_writers_lose_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(writer_waits_for_the_pods_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(status_shows_sockets_counters_and_shadowed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(trace_agrees_with_real_traffic, setup, teardown),
		cmocka_unit_test_setup_teardown(metrics_in_prometheus_format, setup, teardown),
		cmocka_unit_test_setup_teardown(finding_the_pod, setup, teardown),
	};

	return cmocka_run_group_tests_name("sklookup-ctl inspect", tests, NULL, NULL);
}
