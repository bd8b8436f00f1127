/*
 * Figure 7, what sklookup-ctl monitor costs a lookup: BPF_PROG_TEST_RUN on
 * one dispatcher (the default limits, four bindings, a registered listener)
 * with its monitor slot empty (nobody watching: the hot path's one extra
 * branch), with a monitor's ring in the slot and a thread draining it (a
 * monitor running), and with a ring nobody drains (full: every decision is
 * counted as lost). A hit (a socket assigned) and a miss (no binding) each.
 * Beside them the same probes on an empty SK_PASS program, the floor. Every
 * round runs every case; ratios are taken within a round, then the median.
 *
 *   build/bench/monitor_cost [rounds]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bindings.h"
#include "dispatch_abi.h"
#include "dispatcher.h"
#include "monitor.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"

#define REPEAT 100000
#define DEFAULT_ROUNDS 15

static const char bindings_json[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
	"  \"ports\": [\"80\", \"443\", \"8000-8999\"]},"
	" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8::/64\"},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"203.0.113.0/24\","
	"  \"ports\": [\"53\"]},"
	" {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.7/32\"}]";

enum probe { HIT, MISS, N_PROBES };
static const char *const probe_addr[N_PROBES] = { "203.0.113.9", "192.0.2.9" };
static const char *const probe_name[N_PROBES] = { "hit (socket assigned)",
						  "miss (no binding)" };

enum mode { OFF, DRAINED, FULL, FLOOR, N_MODES };

static struct skl_dispatcher d;
static int listener = -1, drained_ring = -1, full_ring = -1, floor_prog = -1;
static struct ring_buffer *drain;
static pthread_t drainer;
static atomic_bool stop_drain;
static atomic_ulong drained;

static void cleanup(void)
{
	if (drain) {
		atomic_store(&stop_drain, true);
		pthread_join(drainer, NULL);
		ring_buffer__free(drain);
		drain = NULL;
	}
	if (drained_ring >= 0)
		close(drained_ring);
	if (full_ring >= 0)
		close(full_ring);
	if (listener >= 0)
		close(listener);
	if (floor_prog >= 0)
		close(floor_prog);
	drained_ring = full_ring = listener = floor_prog = -1;
	skl_dispatcher_close(&d);
}

static int count_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	atomic_fetch_add(&drained, 1);
	return 0;
}

/* A monitor's reading loop, on the other CPU. */
static void *drain_loop(void *arg)
{
	(void)arg;
	bench_pin_cpu(1);
	while (!atomic_load(&stop_drain)) {
		ring_buffer__poll(drain, SKL_MONITOR_READ_MS);
		ring_buffer__consume(drain);
	}
	return NULL;
}

static void setup(void)
{
	struct skl_limits limits;
	struct skl_binding_set set = { 0 };
	cJSON *json = cJSON_Parse(bindings_json);
	struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
	struct skl_err err = { 0 };
	uint64_t netns_cookie;
	uint32_t web;
	int self;

	skl_limits_default(&limits);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || skl_netns_cookie(self, &netns_cookie, &err))
		bench_fail("this netns's cookie: %s", err.msg[0] ? err.msg : strerror(errno));
	close(self);
	if (!json || skl_bindings_parse(json, "bindings", &set, &err) ||
	    skl_dispatcher_load(&d, &limits, netns_cookie, &err) || skl_rules_apply(&d, &set, &err) ||
	    skl_label_lookup(&d, "web", &web, &err))
		bench_fail("loading the dispatcher: %s", err.msg);
	cJSON_Delete(json);
	skl_bindings_free(&set);
	/* Dual-stack, so v4 and v6 hits alike reach bpf_sk_assign. */
	listener = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&any, sizeof(any)) ||
	    listen(listener, 16) || skl_socket_register(&d, web, listener, &err))
		bench_fail("registering the listener: %s", err.msg[0] ? err.msg : strerror(errno));
	if (skl_monitor_ring_create(getpid(), &drained_ring, &err) ||
	    skl_monitor_ring_create(getpid(), &full_ring, &err))
		bench_fail("%s", err.msg);
	drain = ring_buffer__new(drained_ring, count_event, NULL, NULL);
	if (!drain || pthread_create(&drainer, NULL, drain_loop, NULL))
		bench_fail("starting the reader: %s", strerror(errno));
	floor_prog = bench_empty_sk_lookup_prog();
}

/* The monitor slot as the mode has it. */
static void set_mode(enum mode m)
{
	uint32_t zero = 0;
	int fd = d.map_fd[SKL_MAP_MONITOR];

	if (m == OFF || m == FLOOR) {
		if (bpf_map_delete_elem(fd, &zero) && errno != ENOENT)
			bench_fail("emptying the monitor slot: %s", strerror(errno));
		return;
	}
	if (bpf_map_update_elem(fd, &zero, m == DRAINED ? &drained_ring : &full_ring, BPF_ANY))
		bench_fail("filling the monitor slot: %s", strerror(errno));
}

static double run_ns(int prog_fd, enum probe p)
{
	struct bpf_sk_lookup ctx = { .family = AF_INET, .protocol = IPPROTO_TCP,
				     .local_port = 80, .remote_port = htons(40000),
				     .remote_ip4 = htonl(0xc6336401) /* 198.51.100.1 */ };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = REPEAT);

	inet_pton(AF_INET, probe_addr[p], &ctx.local_ip4);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		bench_fail("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if (opts.retval != SK_PASS)
		bench_fail("probe %s was dropped", probe_name[p]);
	if (prog_fd != floor_prog && p == HIT && !ctx.cookie)
		bench_fail("the hit selected no socket");
	return (double)opts.duration;
}

static void report(const char *name, double ns[N_MODES][N_PROBES][BENCH_MAX_ROUNDS],
		   enum mode m, enum probe p, int rounds, double target)
{
	double ratio[BENCH_MAX_ROUNDS], above[BENCH_MAX_ROUNDS];
	char value[64], baseline[64], tgt[32], title[160];

	for (int r = 0; r < rounds; r++) {
		above[r] = ns[m][p][r] - ns[FLOOR][p][r];
		ratio[r] = above[r] / (ns[OFF][p][r] - ns[FLOOR][p][r]);
	}
	snprintf(title, sizeof(title), "7 %s, %s, vs monitor off (above the empty program)", name,
		 probe_name[p]);
	snprintf(value, sizeof(value), "%.1f ns", bench_median(ns[m][p], rounds));
	snprintf(baseline, sizeof(baseline), "%.1f ns off",
		 bench_median(ns[OFF][p], rounds));
	if (target < 0) {
		bench_result(title, value, baseline, bench_median(ratio, rounds), "-", BENCH_INFO);
		return;
	}
	snprintf(tgt, sizeof(tgt), "<= %.2f", target);
	bench_result(title, value, baseline, bench_median(ratio, rounds), tgt,
		     bench_at_most(bench_median(ratio, rounds), target));
}

int main(int argc, char **argv)
{
	static double ns[N_MODES][N_PROBES][BENCH_MAX_ROUNDS];
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	uint64_t lost[1024] = { 0 }, lost_total = 0;
	struct skl_err err = { 0 };

	bench_init("monitor_cost");
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		bench_fail("rounds: use 1..%d", BENCH_MAX_ROUNDS);
	bench_private_netns();
	bench_on_cleanup(cleanup);
	bench_pin_cpu(0);
	setup();
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < N_MODES; k++) {
			enum mode m = (enum mode)((k + r) % N_MODES);

			set_mode(m);
			for (int p = 0; p < N_PROBES; p++)
				ns[m][p][r] = run_ns(m == FLOOR ? floor_prog : d.prog_fd, p);
		}
	set_mode(OFF);
	if (skl_monitor_lost(&d, lost, 1024, &err))
		bench_fail("%s", err.msg);
	for (int i = 0; i < 1024; i++)
		lost_total += lost[i];
	printf("figure 7: ns per lookup, median (min) of %d rounds of %d runs\n", rounds, REPEAT);
	for (int p = 0; p < N_PROBES; p++)
		printf("  %-24s off %6.1f (%6.1f)  drained %6.1f (%6.1f)  full %6.1f (%6.1f)  "
		       "empty program %6.1f\n",
		       probe_name[p], bench_median(ns[OFF][p], rounds), bench_min(ns[OFF][p], rounds),
		       bench_median(ns[DRAINED][p], rounds), bench_min(ns[DRAINED][p], rounds),
		       bench_median(ns[FULL][p], rounds), bench_min(ns[FULL][p], rounds),
		       bench_median(ns[FLOOR][p], rounds));
	printf("  events read by the monitor thread %lu, counted lost (the full ring and any "
	       "the reader missed) %llu\n",
	       atomic_load(&drained), (unsigned long long)lost_total);
	if (!atomic_load(&drained) || !lost_total)
		bench_fail("the monitor modes did not run: %lu events read, %llu lost",
			   atomic_load(&drained), (unsigned long long)lost_total);
	for (int p = 0; p < N_PROBES; p++) {
		report("monitor running (ring drained)", ns, DRAINED, p, rounds, -1);
		report("monitor stalled (ring full)", ns, FULL, p, rounds, -1);
	}
	cleanup();
	return 0;
}
