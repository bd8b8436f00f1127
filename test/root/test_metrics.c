/*
 * The node agent's metrics endpoint (sklookup-ctl agent --metrics-address),
 * on the real kernel with real pods (netns and dispatchers under a scratch
 * bpffs root) and a real Prometheus (Debian's) scraping it on loopback:
 * traffic moves a counter that a PromQL query over Prometheus' HTTP API
 * then returns; promtool finds no problem in a scrape; a scrape of 110 pods
 * (a full node) is timed; and hostile HTTP clients (slow, many, huge
 * headers, garbage) neither hold the endpoint beyond its limits nor delay
 * the agent's socket. The suite runs in a netns and a /run of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_fixture.h"
#include "agent_metrics.h"
#include "metrics_fixture.h"
#include "netpod.h"
#include "record.h"
#include "testnet.h"

#define METRICS_ADDR "127.0.0.1"
#define METRICS_PORT 9977
#define PROMETHEUS_PORT 9090
#define FULL_NODE_PODS 110
#define SCRAPE_LIMIT_MS 100
#define LATENCY_LIMIT_MS 1000
#define WEB_CONNECTIONS 5

static const char pod_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\"]},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"198.51.100.0/24\","
	"  \"ports\": [\"53\"]}]";

/* A full node's pods: four bindings over two labels each. */
static const char node_pod_bindings[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\","
	"  \"ports\": [\"80\", \"443\"]},"
	" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8::/64\","
	"  \"ports\": [\"80\"]},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"198.51.100.0/24\","
	"  \"ports\": [\"53\"]},"
	" {\"label\": \"dns\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.0/24\","
	"  \"ports\": [\"53\"]}]";

static const char *const metrics_args[] = { "--metrics-address",
					    METRICS_ADDR ":" SKL_STR(METRICS_PORT), NULL };

struct env {
	char root[PATH_MAX];
	struct netpod pods[FULL_NODE_PODS];
	int n_pods;
	pid_t agent;
	struct promfix prom;
	int fds[256];
	int n_fds;
	bool done;
};

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	if (access("/usr/bin/prometheus", X_OK) || access("/usr/bin/promtool", X_OK)) {
		fprintf(stderr, "install prometheus (scripts/install-deps.sh)\n");
		return -1;
	}
	return agentfix_group_setup();
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	for (int i = 0; i < FULL_NODE_PODS; i++)
		e->pods[i].netns = -1;
	assert_int_equal(testnet_bpffs_tmpdir(e->root, sizeof(e->root)), 0);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	promfix_stop(&e->prom);
	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
	}
	if (!e->done || getenv("SKL_TEST_AGENT_LOG"))
		agentfix_show_log();
	for (int i = 0; i < e->n_fds; i++)
		close(e->fds[i]);
	for (int i = 0; i < e->n_pods; i++)
		netpod_destroy(&e->pods[i]);
	assert_int_equal(testnet_rm_rf_bpffs(e->root), 0);
	agentfix_clean();
	free(e);
	return 0;
}

static int keep_fd(struct env *e, int fd)
{
	assert_true(fd >= 0);
	assert_true(e->n_fds < (int)(sizeof(e->fds) / sizeof(e->fds[0])));
	e->fds[e->n_fds++] = fd;
	return fd;
}

static struct netpod *add_pod(struct env *e, const char *cid, const char *bindings)
{
	struct netpod *p = &e->pods[e->n_pods++];

	netpod_create(p, e->root, cid, bindings);
	return p;
}

static void start_agent(struct env *e)
{
	e->agent = agentfix_start_with(e->root, NULL, metrics_args);
}

/* ---- helpers ---- */

static char *scrape(void)
{
	struct http_reply r;

	if (http_get(METRICS_ADDR, METRICS_PORT, SKL_METRICS_PATH, 5000, &r) || r.status != 200)
		fail_msg("scrape: HTTP status %d", r.status);
	return r.body;
}

/* Registers a TCP listener of pod p under label through the agent, as an
 * unprivileged process in the pod would. */
static void register_web(struct env *e, struct netpod *p)
{
	int server = keep_fd(e, netpod_server(p, SOCK_STREAM, "127.0.0.1", 8080, false));
	char *argv[] = { (char *)agentfix_ctl_path(), (char *)"--agent", (char *)AGENTFIX_SOCK,
			 (char *)"register", (char *)"web", NULL };
	struct child_opts o = { .pod = p, .unprivileged = true, .fd3 = server };
	char out[4096], err[4096];

	if (child_run(&o, out, sizeof(out), err, sizeof(err), argv))
		fail_msg("register web through the agent: %s", err);
}

/* Connects from inside pod p to addr:port (the listener's backlog takes
 * it: one dispatched lookup), then closes. */
static void pod_connect(const struct netpod *p, const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int saved = agentfix_enter_netns(p->netns);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret;

	inet_pton(AF_INET, addr, &sin.sin_addr);
	ret = fd >= 0 ? connect(fd, (struct sockaddr *)&sin, sizeof(sin)) : -1;
	if (fd >= 0)
		close(fd);
	agentfix_leave_netns(saved);
	if (ret)
		fail_msg("connect to %s:%u in the pod: %s", addr, (unsigned)port, strerror(errno));
}

static void pod_send_udp(const struct netpod *p, const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int saved = agentfix_enter_netns(p->netns);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	inet_pton(AF_INET, addr, &sin.sin_addr);
	n = fd >= 0 ? sendto(fd, "q", 1, 0, (struct sockaddr *)&sin, sizeof(sin)) : -1;
	if (fd >= 0)
		close(fd);
	agentfix_leave_netns(saved);
	assert_int_equal(n, 1);
}

/* Waits until the PromQL query returns want (Prometheus scrapes every
 * second); fails after timeout_ms with what it last returned. */
static void expect_query(const struct promfix *prom, const char *promql, double want,
			 int timeout_ms)
{
	uint64_t deadline = agentfix_now_ms() + (uint64_t)timeout_ms;
	double got = -1;

	while (agentfix_now_ms() < deadline) {
		if (!promfix_query(prom, promql, &got) && got == want)
			return;
		agentfix_sleep_ms(200);
	}
	fail_msg("%s: %g after %d ms, want %g", promql, got, timeout_ms, want);
}

static void expect_promtool_clean(const char *body)
{
	char out[8192];
	int status = promtool_check(body, out, sizeof(out));

	if (status || out[0])
		fail_msg("promtool check metrics: exit %d: %s", status, out);
}

/* Pins pod p (container cid) again at root/network/cid/eth0. */
static void pin_again(struct env *e, struct netpod *p, const char *network, const char *cid)
{
	char dir[PATH_MAX + 64];
	struct skl_err err = { 0 };

	snprintf(dir, sizeof(dir), "%s/%s", e->root, network);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/%s/%s", e->root, network, cid);
	assert_int_equal(mkdir(dir, 0700), 0);
	strcat(dir, "/eth0");
	assert_int_equal(mkdir(dir, 0700), 0);
	if (skl_dispatcher_pin(&p->d, dir, &err))
		fail_msg("pin at %s: %s", dir, err.msg);
}

/* ---- 1: a real Prometheus sees real traffic ---- */

static void test_prometheus_sees_traffic(void **state)
{
	struct skl_record rec = { 0 };
	struct skl_err err = { 0 };
	struct netpod *named;
	struct env *e = *state;
	struct netpod *a = add_pod(e, "cidA", pod_bindings);
	const char *assigned =
		"sklookup_binding_assigned_total{pod=\"cidA\",label=\"web\",protocol=\"tcp\"}";
	char *body, broken[PATH_MAX + 32];
	struct agentfix_answer refused;

	start_agent(e);
	register_web(e, a);
	promfix_start(&e->prom, PROMETHEUS_PORT, METRICS_ADDR ":" SKL_STR(METRICS_PORT));
	expect_query(&e->prom, "up{job=\"sklookup\"}", 1, 15000);
	expect_query(&e->prom, assigned, 0, 15000);
	expect_query(&e->prom, "sklookup_label_sockets{pod=\"cidA\",label=\"web\",protocol=\"tcp\"}",
		     1, 5000);

	for (int i = 0; i < WEB_CONNECTIONS; i++)
		pod_connect(a, "192.0.2.7", 80);
	pod_send_udp(a, "198.51.100.1", 53); /* dns has no socket: dropped */
	expect_query(&e->prom, assigned, WEB_CONNECTIONS, 15000);
	expect_query(&e->prom,
		     "sklookup_binding_dropped_total{pod=\"cidA\",label=\"dns\",reason=\"no_socket\"}",
		     1, 5000);
	expect_query(&e->prom, "sklookup_agent_requests_total", 1, 5000);

	/* A state directory that holds no dispatcher is left out and counted;
	 * so is a second attachment with the same pod labels (pod A's pins
	 * again, under another network), whose series would repeat A's. */
	snprintf(broken, sizeof(broken), "%s/net/cidBroken", e->root);
	assert_int_equal(mkdir(broken, 0700), 0);
	strcat(broken, "/eth0");
	assert_int_equal(mkdir(broken, 0700), 0);
	pin_again(e, a, "other", "cidA");
	/* A record that is no request: refused, and counted. */
	assert_int_equal(agentfix_raw_request("not a request", NULL, 0, &refused), 1);
	/* A pod whose record names it (CNI_ARGS at ADD): labelled by its
	 * Kubernetes namespace and name, not its container. */
	named = add_pod(e, "cidNamed", pod_bindings);
	snprintf(rec.state_dir, sizeof(rec.state_dir), "%s", named->dir);
	snprintf(rec.pod.ns, sizeof(rec.pod.ns), "shop");
	snprintf(rec.pod.name, sizeof(rec.pod.name), "cart-1");
	if (skl_record_save(&rec, named->dir, &err))
		fail_msg("%s", err.msg);

	/* The scrape itself: every family promtool knows how to check (read
	 * anew: past the interval in which the agent answers its last text). */
	agentfix_sleep_ms(SKL_METRICS_REUSE_MS + 50);
	body = scrape();
	assert_int_equal(scrape_value(body, "sklookup_pods"), 2);
	assert_int_equal(scrape_value(body, "sklookup_pod_bindings{namespace=\"shop\",pod=\"cart-1\"}"),
			 2);
	assert_int_equal(scrape_count(body, "pod=\"cidNamed\""), 0);
	assert_int_equal(scrape_value(body, "sklookup_agent_scrape_errors_total{reason=\"unreadable\"}"),
			 1);
	assert_int_equal(scrape_value(body, "sklookup_agent_scrape_errors_total{reason=\"duplicate\"}"),
			 1);
	assert_int_equal(scrape_value(body, "sklookup_agent_refusals_total{reason=\"bad_request\"}"),
			 1);
	assert_int_equal(scrape_value(body, "sklookup_pod_bindings{namespace=\"\",pod=\"cidA\"}"),
			 2);
	assert_int_equal(scrape_value(body, "sklookup_label_matched_total{namespace=\"\",pod=\"cidA\","
					    "label=\"web\"}"),
			 WEB_CONNECTIONS);
	assert_int_equal(scrape_value(body, "sklookup_label_dropped_total{namespace=\"\",pod=\"cidA\","
					    "label=\"dns\",reason=\"no_socket\"}"),
			 1);
	assert_int_equal(scrape_count(body, "sklookup_build_info{version=\""), 1);
	assert_int_equal(scrape_value(body, "sklookup_agent_refusals_total{reason=\"rate\"}"), 0);
	expect_promtool_clean(body);
	free(body);
	/* It stops cleanly with Prometheus connected (the sanitized build checks
	 * its leaks then). */
	assert_int_equal(agentfix_stop(e->agent, SIGTERM, 5000, NULL), 0);
	e->agent = 0;
	e->done = true;
}

/* ---- 2: a full node's scrape ---- */

static double ms_since(uint64_t start)
{
	return (double)(agentfix_now_ms() - start);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Clients that scrape in a loop do not make the agent read every pod each
 * time: within SKL_METRICS_REUSE_MS they get the same text (the same
 * scrape duration, to the microsecond, marks it). */
static void expect_scrapes_reused(void)
{
	enum { LOOP = 20 };
	double seen[LOOP];
	int distinct = 0;
	uint64_t start = agentfix_now_ms(), took;

	for (int i = 0; i < LOOP; i++) {
		char *body = scrape();
		double d = scrape_value(body, "sklookup_agent_scrape_duration_seconds");
		bool known = false;

		free(body);
		for (int k = 0; k < distinct; k++)
			known |= seen[k] == d;
		if (!known)
			seen[distinct++] = d;
	}
	took = agentfix_now_ms() - start;
	printf("# %d scrapes in a loop: %llu ms, %d reads of the pods\n", LOOP,
	       (unsigned long long)took, distinct);
	if ((uint64_t)distinct > 1 + took / SKL_METRICS_REUSE_MS)
		fail_msg("%d scrapes in %llu ms read the pods %d times", LOOP,
			 (unsigned long long)took, distinct);
}

static void test_scrape_full_node(void **state)
{
	struct env *e = *state;
	enum { ROUNDS = 7 };
	double wall[ROUNDS], agent[ROUNDS];
	uint64_t start = agentfix_now_ms();
	char cid[32], *body = NULL;

	for (int i = 0; i < FULL_NODE_PODS; i++) {
		snprintf(cid, sizeof(cid), "pod%03d", i);
		add_pod(e, cid, node_pod_bindings);
	}
	printf("# %d pods with 4 bindings each made in %.0f ms\n", FULL_NODE_PODS,
	       ms_since(start));
	start_agent(e);
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec t0, t1;

		/* Past the interval in which the agent answers its last text again. */
		agentfix_sleep_ms(i ? SKL_METRICS_REUSE_MS + 50 : 0);
		free(body);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		body = scrape();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		wall[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		agent[i] = scrape_value(body, "sklookup_agent_scrape_duration_seconds") * 1e3;
	}
	assert_int_equal(scrape_value(body, "sklookup_pods"), FULL_NODE_PODS);
	assert_int_equal(scrape_count(body, "sklookup_pod_bindings{"), FULL_NODE_PODS);
	assert_int_equal(scrape_count(body, "sklookup_binding_dropped_total{"),
			 FULL_NODE_PODS * 4 * (SKL_C_COUNT - SKL_C_DROP_NO_SOCKET));
	assert_int_equal(scrape_value(body, "sklookup_agent_scrape_errors_total{reason=\"unreadable\"}"),
			 0);
	expect_promtool_clean(body);
	expect_scrapes_reused();
	qsort(wall, ROUNDS, sizeof(wall[0]), by_value);
	qsort(agent, ROUNDS, sizeof(agent[0]), by_value);
	printf("# scrape of %d pods (%zu bytes): median %.1f ms, max %.1f ms over HTTP; the "
	       "agent's own: median %.1f ms, max %.1f ms\n",
	       FULL_NODE_PODS, strlen(body), wall[ROUNDS / 2], wall[ROUNDS - 1],
	       agent[ROUNDS / 2], agent[ROUNDS - 1]);
	free(body);
	if (wall[ROUNDS / 2] >= SCRAPE_LIMIT_MS)
		fail_msg("a scrape of %d pods took %.1f ms (median), limit %d ms", FULL_NODE_PODS,
			 wall[ROUNDS / 2], SCRAPE_LIMIT_MS);
	e->done = true;
}

/* ---- 3: hostile HTTP clients ---- */

/* A TCP connection to the endpoint from a loopback address of its own
 * (the endpoint limits connections per address). */
static int connect_from(const char *src)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(METRICS_PORT) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, src, &from.sin_addr);
	inet_pton(AF_INET, METRICS_ADDR, &to.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)))
		fail_msg("connect from %s: %s", src, strerror(errno));
	return fd;
}

/* True once the server has closed fd (EOF or reset), within timeout_ms;
 * whatever it answered is read and dropped. */
static bool closed_by_server(int fd, int timeout_ms)
{
	uint64_t deadline = agentfix_now_ms() + (uint64_t)timeout_ms;
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - agentfix_now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
}

/* The first line of what the server sent on fd within timeout_ms. */
static int http_status_of(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256] = { 0 };
	int status = -1;

	if (poll(&p, 1, timeout_ms) > 0 && recv(fd, buf, sizeof(buf) - 1, 0) > 0)
		sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

/* A status request to the agent from inside pod p, as a pod's process:
 * its round trip in ms, or -1 when it was not answered with success. */
static int agent_status_ms(const struct netpod *p)
{
	static const char status_req[] = "{\"version\": 2, \"verb\": \"status\"}";
	uint64_t start = agentfix_now_ms();
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct agentfix_answer ans;
		int proof;

		if (agentfix_enter_netns(p->netns) < 0)
			_exit(2);
		proof = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		_exit(proof >= 0 && agentfix_raw_request(status_req, &proof, 1, &ans) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? (int)(agentfix_now_ms() - start) : -1;
}

static void test_hostile_http_clients(void **state)
{
	struct env *e = *state;
	struct netpod *a = add_pod(e, "cidA", pod_bindings);
	static const char partial[] = "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Slow: ";
	static const char not_http[] = "BREW /pot HTCPCP/1.0\r\n\r\n";
	int slow[SKL_METRICS_MAX_PER_IP], many[3 * SKL_METRICS_MAX_PER_IP], big, junk;
	size_t big_len = 256 * 1024;
	char *huge = malloc(big_len);
	uint64_t start;
	int took, status, closed_at_once = 0;
	struct http_reply reply;
	char *body;

	assert_non_null(huge);
	start_agent(e);

	/* Slow: a request that never ends, one byte at a time. */
	for (int i = 0; i < SKL_METRICS_MAX_PER_IP; i++) {
		slow[i] = keep_fd(e, connect_from("127.0.0.2"));
		assert_int_equal(send(slow[i], partial, strlen(partial), MSG_NOSIGNAL),
				 (ssize_t)strlen(partial));
	}
	/* Many: more connections from one address than the endpoint takes; the
	 * ones beyond its limit are closed at once. */
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = keep_fd(e, connect_from("127.0.0.3"));
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		closed_at_once += closed_by_server(many[i], i < SKL_METRICS_MAX_PER_IP ? 0 : 1000);
	assert_true(closed_at_once >= (int)(sizeof(many) / sizeof(many[0])) - SKL_METRICS_MAX_PER_IP);

	/* Huge headers: refused (431) and closed, not buffered. */
	big = keep_fd(e, connect_from("127.0.0.4"));
	memcpy(huge, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	memset(huge + 30, 'a', big_len - 30);
	for (size_t sent = 0; sent < big_len;) {
		ssize_t n = send(big, huge + sent, big_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break; /* closed, or full: the server reads no more */
		sent += (size_t)n;
	}
	free(huge);
	status = http_status_of(big, LATENCY_LIMIT_MS);
	assert_true(status == 431 || status == 413 || status == 400 || status == -1);
	assert_true(closed_by_server(big, LATENCY_LIMIT_MS));

	/* Garbage (a TLS hello, then a line no HTTP): refused or dropped, and
	 * closed. */
	junk = keep_fd(e, connect_from("127.0.0.5"));
	assert_int_equal(send(junk, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15,
			      MSG_NOSIGNAL),
			 15);
	status = http_status_of(junk, LATENCY_LIMIT_MS);
	assert_true(status == 400 || status == -1);
	assert_true(closed_by_server(junk, LATENCY_LIMIT_MS));
	junk = keep_fd(e, connect_from("127.0.0.5"));
	assert_int_equal(send(junk, not_http, strlen(not_http), MSG_NOSIGNAL),
			 (ssize_t)strlen(not_http));
	assert_int_equal(http_status_of(junk, LATENCY_LIMIT_MS), 400);
	assert_true(closed_by_server(junk, LATENCY_LIMIT_MS));

	/* Meanwhile the agent's socket serves a pod within a second, and a
	 * normal scrape works. */
	took = agent_status_ms(a);
	if (took < 0 || took >= LATENCY_LIMIT_MS)
		fail_msg("the agent answered a pod's status in %d ms while HTTP clients held "
			 "the endpoint",
			 took);
	start = agentfix_now_ms();
	body = scrape();
	assert_int_equal(scrape_value(body, "sklookup_pods"), 1);
	free(body);
	assert_true(agentfix_now_ms() - start < LATENCY_LIMIT_MS);

	/* The slow clients go on trickling; each connection's life is bounded
	 * all the same. */
	start = agentfix_now_ms();
	for (int open = SKL_METRICS_MAX_PER_IP; open > 0;) {
		if (agentfix_now_ms() - start > (SKL_METRICS_DEADLINE_S + 2) * 1000)
			fail_msg("%d slow clients still connected after %d s", open,
				 SKL_METRICS_DEADLINE_S + 2);
		open = 0;
		for (int i = 0; i < SKL_METRICS_MAX_PER_IP; i++) {
			if (slow[i] < 0)
				continue;
			if (send(slow[i], "a", 1, MSG_NOSIGNAL) != 1 || closed_by_server(slow[i], 0)) {
				slow[i] = -1; /* closed by keep_fd's owner at teardown */
				continue;
			}
			open++;
		}
		agentfix_sleep_ms(250);
	}
	printf("# slow clients cut after %.1f s (deadline %d s)\n",
	       (double)(agentfix_now_ms() - start) / 1000, SKL_METRICS_DEADLINE_S);
	assert_true(agentfix_now_ms() - start >= 1000); /* they did trickle a while */
	assert_int_equal(waitpid(e->agent, NULL, WNOHANG), 0);
	body = scrape();
	assert_int_equal(scrape_value(body, "sklookup_pods"), 1);
	free(body);

	/* Idle clients from many addresses take every connection the endpoint
	 * has: a scrape waits for their deadline, no longer, and the agent's
	 * socket is served meanwhile. */
	for (int i = 0; i < SKL_METRICS_MAX_CONNECTIONS; i++) {
		char src[32];

		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i / SKL_METRICS_MAX_PER_IP);
		keep_fd(e, connect_from(src));
	}
	agentfix_sleep_ms(100); /* taken by the endpoint */
	took = agent_status_ms(a);
	if (took < 0 || took >= LATENCY_LIMIT_MS)
		fail_msg("the agent answered a pod's status in %d ms while HTTP clients held "
			 "every connection of the endpoint",
			 took);
	start = agentfix_now_ms();
	if (http_get(METRICS_ADDR, METRICS_PORT, SKL_METRICS_PATH,
		     (SKL_METRICS_DEADLINE_S + 2) * 1000, &reply) ||
	    reply.status != 200)
		fail_msg("with every connection held, a scrape failed after %llu ms: HTTP %d",
			 (unsigned long long)(agentfix_now_ms() - start), reply.status);
	assert_int_equal(scrape_value(reply.body, "sklookup_pods"), 1);
	http_reply_free(&reply);
	printf("# with every connection held, a scrape was answered after %.1f s\n",
	       (double)(agentfix_now_ms() - start) / 1000);
	assert_true(agentfix_now_ms() - start < (SKL_METRICS_DEADLINE_S + 1) * 1000);

	assert_int_equal(agentfix_stop(e->agent, SIGTERM, 5000, NULL), 0);
	e->agent = 0;
	e->done = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prometheus_sees_traffic, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_scrape_full_node, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_http_clients, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
