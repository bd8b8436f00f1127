/*
 * sklookup-ctl monitor against real traffic: a pod made by ADD, real TCP
 * connections and UDP datagrams from the host and from inside pods, and
 * the real sklookup-ctl reading the dispatcher's ring. Each decision is
 * seen with its fields (drops included), filters and --sample choose what
 * is shown, a ring that overflows reports what it lost, one monitor per
 * pod (a killed one is replaced), --all covers every pod, and the slot is
 * empty again when the monitor ends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cni_fixture.h"
#include "dispatch_fixture.h"
#include "dispatcher.h"
#include "monitor.h"
#include "netns.h"
#include "netpod.h"
#include "testbin.h"

#define CID "monitor-test"
#define CID2 "monitor-test-2"
#define MAX_EVENTS 64

struct pod_env {
	char dir[PATH_MAX];
	cJSON *conf;
};

static void run_plugin_env(struct cni_fixture *f, const char *command, const char *cid,
			   size_t pod, const cJSON *conf, const char *const *env)
{
	char *text = cJSON_PrintUnformatted(conf);
	const struct cni_call call = { .binary = f->plugin,
				       .extra_env = env,
				       .command = command,
				       .container_id = cid,
				       .netns = f->pods[pod].path,
				       .ifname = CNI_POD_IFNAME,
				       .stdin_data = text };
	int status = cni_fixture_call(f, &call);

	free(text);
	if (status)
		fail_msg("%s %s: exit %d, %s %s", command, cid, status, f->out, f->err);
}

static void run_plugin(struct cni_fixture *f, const char *command, const char *cid, size_t pod,
		       const cJSON *conf)
{
	run_plugin_env(f, command, cid, pod, conf, NULL);
}

/* A pod added by ADD; containerd's CNI_ARGS name pods other than pods[0]. */
static void add_pod(struct cni_fixture *f, const char *cid, size_t pod, struct pod_env *p)
{
	static const char *const k8s[] = {
		"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=proxy-1", NULL
	};

	p->conf = cni_config(f, "1.1.0", pod);
	if (pod) /* only pods[0] has a veth to the host */
		cni_set_json(p->conf, "routes", "{\"pod\": true, \"host\": false}");
	run_plugin_env(f, "ADD", cid, pod, p->conf, pod ? k8s : NULL);
	cni_state_dir(f, CNI_NETWORK, cid, CNI_POD_IFNAME, p->dir, sizeof(p->dir));
}

/* The monitor slot's ring and its owner (0, 0 when empty). */
static uint32_t slot_ring(const char *dir, pid_t *owner)
{
	char path[PATH_MAX];
	uint32_t id = 0;
	pid_t who = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/monitor", dir);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(skl_monitor_slot(fd, &id, &who), 0);
	close(fd);
	if (owner)
		*owner = who;
	return id;
}

static void wait_for_slot(const char *dir, bool full)
{
	for (int i = 0; i < 500; i++) {
		if ((slot_ring(dir, NULL) != 0) == full)
			return;
		usleep(10000);
	}
	fail_msg("the monitor slot of %s is still %s after 5 s", dir, full ? "empty" : "full");
}

/* The monitors a test started, killed by the teardown if the test failed
 * before it ended them. */
#define MAX_MONITORS 16
static pid_t monitors[MAX_MONITORS];
static size_t n_monitors;

static int teardown(void **state)
{
	for (size_t i = 0; i < n_monitors; i++)
		/* Still our child: running, or ended and not yet waited for. */
		if (waitpid(monitors[i], NULL, WNOHANG) == 0) {
			kill(monitors[i], SIGKILL);
			waitpid(monitors[i], NULL, 0);
		}
	n_monitors = 0;
	return cni_fixture_teardown(state);
}

/* `sklookup-ctl --bpffs-root ROOT [--container CID] monitor --json ARGS...`,
 * started in the test's host netns. */
static void start_monitor(const struct cni_fixture *f, struct child *c, const char *cid, ...)
{
	char ctl[PATH_MAX];
	char *argv[24];
	const char *arg;
	size_t n = 0;
	va_list ap;

	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	argv[n++] = ctl;
	argv[n++] = "--bpffs-root";
	argv[n++] = (char *)f->root;
	if (cid) {
		argv[n++] = "--container";
		argv[n++] = (char *)cid;
	}
	argv[n++] = "monitor";
	argv[n++] = "--json";
	va_start(ap, cid);
	while ((arg = va_arg(ap, const char *)) && n < 23)
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	child_spawn(c, &(struct child_opts){ .fd3 = -1 }, argv);
	if (n_monitors < MAX_MONITORS)
		monitors[n_monitors++] = c->pid;
}

/* Reads up to max JSON lines (each event or lost report) within timeout_ms
 * of each other. */
static size_t read_events(struct child *c, cJSON **out, size_t max, int timeout_ms)
{
	char line[2048];
	size_t n = 0;

	while (n < max && child_read_line(c, line, sizeof(line), timeout_ms)) {
		cJSON *e = cJSON_Parse(line);

		if (!e)
			fail_msg("monitor printed a line that is not JSON: %s", line);
		out[n++] = e;
	}
	return n;
}

static void free_events(cJSON **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(v[i]);
}

static const char *str(const cJSON *e, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, key));
}

static double num(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The event to dst:port, or NULL. */
static const cJSON *find(cJSON **v, size_t n, const char *dst, int port)
{
	for (size_t i = 0; i < n; i++)
		if (str(v[i], "destination") && !strcmp(str(v[i], "destination"), dst) &&
		    num(v[i], "destination_port") == port)
			return v[i];
	return NULL;
}

static void stop_monitor(struct child *c, int want_status)
{
	char out[8192], err[4096];
	int status;

	kill(c->pid, SIGINT);
	status = child_finish(c, out, sizeof(out), err, sizeof(err), 5000);
	if (status != want_status)
		fail_msg("monitor exited %d (want %d): %s", status, want_status, err);
}

static void assert_decision(const cJSON *e, const char *proto, const char *label,
			    const char *verdict, const char *reason, uint64_t cookie)
{
	if (!e)
		fail_msg("a decision was not reported");
	assert_string_equal(str(e, "protocol"), proto);
	assert_string_equal(str(e, "verdict"), verdict);
	assert_string_equal(str(e, "reason"), reason);
	assert_string_equal(str(e, "pod"), CNI_NETWORK "/" CID);
	if (label)
		assert_string_equal(str(e, "label"), label);
	else
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "label")));
	if (cookie == UINT64_MAX) /* any socket */
		assert_true(num(e, "socket_cookie") > 0);
	else if (cookie)
		assert_true(num(e, "socket_cookie") == (double)cookie);
	else
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "socket_cookie")));
	assert_non_null(str(e, "source"));
	assert_true(num(e, "source_port") > 0);
}

/* Every kind of decision, from real traffic, with its fields. The cookie
 * is the one the label's slot holds when the monitor reads the event, so
 * the sockets stay registered until then. */
static void every_decision_is_seen(void **state)
{
	struct cni_fixture *f = *state;
	struct pod_env p;
	struct child mon;
	cJSON *ev[MAX_EVENTS];
	int web, dns, hits[5];
	size_t n;

	add_pod(f, CID, 0, &p);
	web = cni_pod_server(f, 0, p.dir, "web", SOCK_STREAM, "127.0.0.1");
	dns = cni_pod_server(f, 0, p.dir, "dns", SOCK_DGRAM, "::1");
	start_monitor(f, &mon, CID, (const char *)NULL);
	wait_for_slot(p.dir, true);
	hits[0] = fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web, 1);
	hits[1] = fixture_deliver(SOCK_DGRAM, "2001:db8:200::5", 53, &dns, 1);
	hits[2] = fixture_deliver(SOCK_STREAM, "203.0.113.7", 22, &web, 1); /* no binding */
	n = read_events(&mon, ev, 3, 2000);
	assert_int_equal(n, 3);
	close(web); /* the label's socket leaves the map with it */
	hits[3] = fixture_deliver(SOCK_STREAM, "203.0.113.9", 443, NULL, 0); /* dropped */
	hits[4] = fixture_deliver(SOCK_STREAM, "198.51.100.10", 7000, NULL, 0); /* proxy: pass */
	n += read_events(&mon, ev + n, MAX_EVENTS - n, 1000);
	stop_monitor(&mon, 0);
	wait_for_slot(p.dir, false);
	assert_int_equal(hits[0], 0);
	assert_int_equal(hits[1], 0);
	assert_int_equal(hits[2], -1);
	assert_int_equal(hits[3], -1);
	assert_int_equal(hits[4], -1);
	assert_decision(find(ev, n, "203.0.113.7", 80), "tcp", "web", "pass", "assigned",
			UINT64_MAX);
	assert_decision(find(ev, n, "2001:db8:200::5", 53), "udp", "dns", "pass", "assigned",
			fixture_cookie(dns));
	assert_decision(find(ev, n, "203.0.113.7", 22), "tcp", NULL, "pass", "no-binding", 0);
	assert_decision(find(ev, n, "203.0.113.9", 443), "tcp", "web", "drop", "no-socket", 0);
	assert_decision(find(ev, n, "198.51.100.10", 7000), "tcp", "proxy", "pass",
			"no-socket-pass", 0);
	free_events(ev, n);
	close(dns);
	run_plugin(f, "DEL", CID, 0, p.conf);
	cni_assert_nothing_left(f, 0);
}

/* --verdict, --protocol, --dst and --label choose; --sample N shows one in
 * N; --count ends the monitor by itself. */
static void filters_and_sample(void **state)
{
	struct cni_fixture *f = *state;
	struct pod_env p;
	struct child mon;
	cJSON *ev[MAX_EVENTS];
	int web, dns;
	size_t n;

	add_pod(f, CID, 0, &p);
	web = cni_pod_server(f, 0, p.dir, "web", SOCK_STREAM, "127.0.0.1");
	dns = cni_pod_server(f, 0, p.dir, "dns", SOCK_DGRAM, "::1");
	start_monitor(f, &mon, CID, "--protocol", "udp", "--dst", "2001:db8:200::/64", "--count",
		      "2", (const char *)NULL);
	wait_for_slot(p.dir, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "2001:db8:200::5", 53, &dns, 1), 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "2001:db8:200::6", 53, &dns, 1), 0);
	n = read_events(&mon, ev, MAX_EVENTS, 2000);
	/* --count 2: it exits by itself, with status 0. */
	assert_int_equal(child_finish(&mon, NULL, 0, NULL, 0, 5000), 0);
	assert_int_equal(n, 2);
	assert_string_equal(str(ev[0], "destination"), "2001:db8:200::5");
	assert_string_equal(str(ev[1], "destination"), "2001:db8:200::6");
	free_events(ev, n);
	wait_for_slot(p.dir, false);

	start_monitor(f, &mon, CID, "--label", "web", "--sample", "2", (const char *)NULL);
	wait_for_slot(p.dir, true);
	for (int i = 0; i < 6; i++)
		assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", (uint16_t)(8000 + i),
						 &web, 1),
				 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "2001:db8:200::5", 53, &dns, 1), 0);
	n = read_events(&mon, ev, MAX_EVENTS, 1000);
	stop_monitor(&mon, 0);
	assert_int_equal(n, 3); /* the 1st, 3rd and 5th of six */
	for (size_t i = 0; i < n; i++)
		assert_true(num(ev[i], "destination_port") == 8000 + 2 * (double)i);
	free_events(ev, n);

	start_monitor(f, &mon, CID, "--verdict", "drop", (const char *)NULL);
	wait_for_slot(p.dir, true);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web, 1), 0);
	close(web);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 81, NULL, 0), -1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 443, NULL, 0), -1);
	n = read_events(&mon, ev, MAX_EVENTS, 1000);
	stop_monitor(&mon, 0);
	assert_int_equal(n, 1); /* 80 passed, 81 has no binding (pass), 443 dropped */
	assert_true(num(ev[0], "destination_port") == 443);
	free_events(ev, n);
	close(dns);
	run_plugin(f, "DEL", CID, 0, p.conf);
	cni_assert_nothing_left(f, 0);
}

/* A monitor that does not read (stopped) loses what its ring cannot hold;
 * once it reads again it reports how many, and shown + lost is every
 * decision. */
static void full_ring_reports_lost(void **state)
{
	struct cni_fixture *f = *state;
	struct pod_env p;
	struct child mon;
	cJSON **ev = calloc(8192, sizeof(*ev));
	int dns, sender;
	size_t n, shown = 0, lost = 0;
	const int sent = 6000;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(53) };

	assert_non_null(ev);
	add_pod(f, CID, 0, &p);
	dns = cni_pod_server(f, 0, p.dir, "dns", SOCK_DGRAM, "::1");
	start_monitor(f, &mon, CID, (const char *)NULL);
	wait_for_slot(p.dir, true);
	kill(mon.pid, SIGSTOP);
	sender = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sender >= 0);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:200::5", &to.sin6_addr), 1);
	for (int i = 0; i < sent; i++)
		assert_int_equal(sendto(sender, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	close(sender);
	kill(mon.pid, SIGCONT);
	n = read_events(&mon, ev, 8192, 1000);
	stop_monitor(&mon, 0);
	for (size_t i = 0; i < n; i++) {
		if (num(ev[i], "lost") > 0)
			lost += (size_t)num(ev[i], "lost");
		else
			shown++;
	}
	free_events(ev, n);
	free(ev);
	/* The ring holds SKL_MONITOR_RING_BYTES / 96 events (88 and a header). */
	if (lost < (size_t)sent - SKL_MONITOR_RING_BYTES / 96 || shown + lost != (size_t)sent)
		fail_msg("%d sent: %zu shown, %zu reported lost", sent, shown, lost);
	close(dns);
	run_plugin(f, "DEL", CID, 0, p.conf);
	cni_assert_nothing_left(f, 0);
}

/* One monitor per pod: a second is refused, naming the first; one that was
 * killed (its ring left in the slot) is replaced by the next, and the
 * library's reaper empties such a slot. */
static void one_monitor_per_pod(void **state)
{
	struct cni_fixture *f = *state;
	struct pod_env p;
	struct child first, second;
	char out[4096] = "", err[4096] = "";
	pid_t owner, first_pid;
	struct skl_err e = { 0 };
	struct skl_monitor_look look = { 0 };

	add_pod(f, CID, 0, &p);
	start_monitor(f, &first, CID, (const char *)NULL);
	wait_for_slot(p.dir, true);
	start_monitor(f, &second, CID, (const char *)NULL);
	assert_int_equal(child_finish(&second, out, sizeof(out), err, sizeof(err), 5000), 1);
	if (!strstr(err, "another monitor"))
		fail_msg("a second monitor: %s", err);
	first_pid = first.pid;
	kill(first.pid, SIGKILL);
	assert_int_equal(child_finish(&first, NULL, 0, NULL, 0, 5000), -1);
	assert_true(slot_ring(p.dir, &owner) != 0); /* left behind by the killed one */
	assert_int_equal(owner, first_pid);
	/* The reaper's rule: a ring that held unread events at one look and
	 * was not read by the next. Empty, it stays; an event that came just
	 * before a look is not enough; still unread at the next look, the ring
	 * is taken out. */
	assert_int_equal(skl_monitor_reap_dir(p.dir, 1000, &look, &e), 0);
	assert_int_equal(skl_monitor_reap_dir(p.dir, 1000, &look, &e), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 22, NULL, 0), -1);
	assert_int_equal(skl_monitor_reap_dir(p.dir, 1000, &look, &e), 0);
	assert_int_equal(skl_monitor_reap_dir(p.dir, 1000, &look, &e), 1);
	assert_int_equal(slot_ring(p.dir, NULL), 0);
	/* Killed again; this time the next monitor takes the slot over. */
	start_monitor(f, &first, CID, (const char *)NULL);
	wait_for_slot(p.dir, true);
	kill(first.pid, SIGKILL);
	child_finish(&first, NULL, 0, NULL, 0, 5000);
	start_monitor(f, &second, CID, (const char *)NULL);
	for (int i = 0; i < 500 && (!slot_ring(p.dir, &owner) || owner != second.pid); i++)
		usleep(10000);
	assert_int_equal(owner, second.pid);
	stop_monitor(&second, 0);
	wait_for_slot(p.dir, false);
	run_plugin(f, "DEL", CID, 0, p.conf);
	cni_assert_nothing_left(f, 0);
}

/* --all watches every pod, and one added while it runs; a pod with a
 * Kubernetes name is shown by it. */
static void all_pods(void **state)
{
	struct cni_fixture *f = *state;
	size_t pod2 = cni_fixture_add_pod(f);
	struct pod_env a, b;
	struct child mon;
	cJSON *ev[MAX_EVENTS];
	int web_a, web_b;
	size_t n;
	bool seen_a = false, seen_b = false;

	add_pod(f, CID, 0, &a);
	web_a = cni_pod_server(f, 0, a.dir, "web", SOCK_STREAM, "127.0.0.1");
	start_monitor(f, &mon, NULL, "--all", (const char *)NULL);
	wait_for_slot(a.dir, true);
	add_pod(f, CID2, pod2, &b); /* after the monitor began */
	web_b = cni_pod_server(f, pod2, b.dir, "web", SOCK_STREAM, "127.0.0.1");
	wait_for_slot(b.dir, true);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web_a, 1), 0);
	assert_int_equal(cni_deliver_in_pod(f, pod2, SOCK_STREAM, "203.0.113.8", 80, web_b), 0);
	n = read_events(&mon, ev, MAX_EVENTS, 1000);
	stop_monitor(&mon, 0);
	for (size_t i = 0; i < n; i++) {
		const char *pod = str(ev[i], "pod");

		seen_a = seen_a || (pod && !strcmp(pod, CNI_NETWORK "/" CID) &&
				    !strcmp(str(ev[i], "destination"), "203.0.113.7"));
		seen_b = seen_b || (pod && !strcmp(pod, "shop/proxy-1") &&
				    !strcmp(str(ev[i], "destination"), "203.0.113.8"));
	}
	free_events(ev, n);
	assert_true(seen_a);
	assert_true(seen_b);
	wait_for_slot(a.dir, false);
	wait_for_slot(b.dir, false);
	close(web_a);
	close(web_b);
	run_plugin(f, "DEL", CID2, pod2, b.conf);
	run_plugin(f, "DEL", CID, 0, a.conf);
	cni_assert_nothing_left(f, 0);
}

static void bad_arguments_refused(void **state)
{
	struct cni_fixture *f = *state;
	const char *const bad[][2] = {
		{ "--verdict", "maybe" }, { "--protocol", "sctp" }, { "--dst", "203.0.113.1/33" },
		{ "--sample", "0" },      { "--count", "-1" },      { "--reason", "x" },
		{ "--label", "" },        { "--binding", "x" },     { "--frobnicate", "1" },
	};
	struct pod_env p;

	add_pod(f, CID, 0, &p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct child c;
		char err[2048] = "";

		start_monitor(f, &c, CID, bad[i][0], bad[i][1], (const char *)NULL);
		if (child_finish(&c, NULL, 0, err, sizeof(err), 5000) != 2 || !err[0])
			fail_msg("monitor %s %s: not a usage error: %s", bad[i][0], bad[i][1], err);
		assert_int_equal(slot_ring(p.dir, NULL), 0);
	}
	run_plugin(f, "DEL", CID, 0, p.conf);
	cni_assert_nothing_left(f, 0);
}

/* A monitor holds no link of its pod: DEL detaches the pod's program while
 * the monitor runs, and the monitor of that pod then ends by itself. */
static void del_while_watched(void **state)
{
	struct cni_fixture *f = *state;
	struct pod_env p;
	struct child mon;
	char err[2048];

	add_pod(f, CID, 0, &p);
	start_monitor(f, &mon, CID, (const char *)NULL);
	wait_for_slot(p.dir, true);
	run_plugin(f, "DEL", CID, 0, p.conf);
	assert_int_equal(cni_prog_count_settled(f->pods[0].path, 0), 0);
	assert_int_equal(child_finish(&mon, NULL, 0, err, sizeof(err), 5000), 0);
	if (!strstr(err, "was deleted"))
		fail_msg("the monitor did not say its pod went: %s", err);
	cni_assert_nothing_left(f, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cni_fixture_setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(every_decision_is_seen), T(filters_and_sample), T(full_ring_reports_lost),
		T(one_monitor_per_pod),    T(all_pods),           T(bad_arguments_refused),
		T(del_while_watched),
	};

	return cmocka_run_group_tests_name("sklookup-ctl monitor", tests, NULL, NULL);
}
