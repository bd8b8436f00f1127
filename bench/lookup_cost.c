/*
 * Figure 3, per-lookup cost as bindings grow: BPF_PROG_TEST_RUN on the
 * dispatcher holding 1, 4, 1,000, 100,000 and 1,000,000 bindings of the same
 * mix (lib/mix.h), beside an empty SK_PASS program (the floor) and a
 * tubular-style LPM dispatcher holding the same bindings (bpf/baseline_lpm).
 * All are loaded side by side, not attached; every round runs every case,
 * so machine noise hits all of them alike. Ratios are taken within a round,
 * then the median over rounds.
 *
 * "Flat" is reported three ways. Literally, 100k / 1 binding, over the mean
 * of all probes: a 1-binding set cannot hold the mix (no v4 binding, no
 * nesting), so most probes stop early there. Literally again, on the one
 * probe with the same answer at both sizes (a v6 host hit). And 100k / 4:
 * the smallest set with every prefix length of the mix, which does the
 * same work per probe as the large sets.
 *
 * The listeners are dual-stack ([::], not v6only) and registered for every
 * label, so v4 and v6 hits alike go as far as bpf_sk_assign in both
 * programs: the work a real packet causes.
 *
 *   build/bench/lookup_cost [rounds]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "baseline.h"
#include "bench.h"
#include "bindings.h"
#include "dispatch_abi.h"
#include "mix.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"

#define REPEAT 100000
#define DEFAULT_ROUNDS 15

/* 4, 16 and 64: where pods live (64 is the default limit). */
static const uint32_t sizes[] = { 1, MIX_BASE, 16, 64, 1000, 100000, 1000000 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))
enum { S_ONE, S_BASE, S_16, S_64, S_1K, S_100K, S_1M };

#define MAX_PROBES 8

/* One program per size: ours or the baseline. */
struct subject {
	const char *name;
	int prog_fd[N_SIZES];
};

/* ns[size][probe][round] */
typedef double timings[N_SIZES][MAX_PROBES][BENCH_MAX_ROUNDS];

static struct skl_dispatcher dispatchers[N_SIZES];
static struct baseline baselines[N_SIZES];
static int servers[MIX_LABELS];

static void close_all(void)
{
	for (size_t s = 0; s < N_SIZES; s++) {
		skl_dispatcher_close(&dispatchers[s]);
		baseline_close(&baselines[s]);
	}
}

/* Dual-stack listeners on [::] (not v6only), so v4 and v6 probes alike get
 * as far as bpf_sk_assign in both programs. */
static void open_servers(void)
{
	for (int l = 0; l < MIX_LABELS; l++) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = in6addr_any };
		int off = 0;

		servers[l] = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (servers[l] < 0 ||
		    setsockopt(servers[l], IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
		    bind(servers[l], (struct sockaddr *)&sa, sizeof(sa)) || listen(servers[l], 8))
			bench_fail("listener: %s", strerror(errno));
	}
}

static double load_dispatcher(size_t s, uint64_t netns_cookie)
{
	struct skl_limits limits = { .bindings = sizes[s] + 16, .labels = MIX_LABELS,
				     .port_ranges = sizes[s] + 16 };
	struct skl_dispatcher *d = &dispatchers[s];
	struct skl_binding_set set;
	struct skl_err err;
	uint64_t t0;

	memset(&set, 0, sizeof(set));
	mix_append_set(&set, sizes[s], IPPROTO_TCP);
	if (skl_dispatcher_load(d, &limits, netns_cookie, &err))
		bench_fail("loading the dispatcher for %u bindings: %s", sizes[s], err.msg);
	t0 = bench_now_ns();
	if (skl_rules_apply(d, &set, &err))
		bench_fail("applying %u bindings: %s", sizes[s], err.msg);
	t0 = bench_now_ns() - t0;
	skl_bindings_free(&set);
	for (int l = 0; l < MIX_LABELS; l++) {
		char label[8];
		uint32_t id;

		snprintf(label, sizeof(label), "l%d", l);
		if (!skl_label_lookup(d, label, &id, &err) &&
		    skl_socket_register(d, id, servers[l], &err))
			bench_fail("registering label %s: %s", label, err.msg);
	}
	return (double)t0 / 1e9;
}

static double load_baseline(size_t s)
{
	struct baseline *b = &baselines[s];
	uint64_t t0;

	baseline_load(b, baseline_entries_for(sizes[s]) + 16);
	t0 = bench_now_ns();
	baseline_add_mix(b, sizes[s], IPPROTO_TCP);
	t0 = bench_now_ns() - t0;
	for (uint32_t l = 0; l < MIX_LABELS; l++) {
		baseline_register(b, skl_socket_slot(l, 0, 0), servers[l]);
		baseline_register(b, skl_socket_slot(l, 0, 1), servers[l]);
	}
	return (double)t0 / 1e9;
}

/* Runs a program `repeat` times on a probe; returns ns per run and, in
 * *cookie, the socket it selected (0: none). */
static double run_probe(int prog_fd, const struct mix_probe *p, int repeat, uint64_t *cookie)
{
	struct bpf_sk_lookup ctx = { .protocol = IPPROTO_TCP, .local_port = p->port,
				     .remote_port = htons(40000) };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = repeat);

	if (inet_pton(AF_INET, p->addr, &ctx.local_ip4) == 1) {
		ctx.family = AF_INET;
		ctx.remote_ip4 = htonl(INADDR_LOOPBACK);
	} else {
		ctx.family = AF_INET6;
		inet_pton(AF_INET6, p->addr, ctx.local_ip6);
		ctx.remote_ip6[3] = htonl(1);
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		bench_fail("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if (opts.retval != SK_PASS)
		bench_fail("probe %s: the program dropped the packet", p->name);
	*cookie = ctx.cookie;
	return (double)opts.duration;
}

static double run_ns(int prog_fd, const struct mix_probe *p)
{
	uint64_t cookie;

	return run_probe(prog_fd, p, REPEAT, &cookie);
}

/* The comparison means something only if both programs do the same work:
 * on every probe and size, both select a socket or neither does. */
static void check_same_answers(void)
{
	for (size_t s = 0; s < N_SIZES; s++)
		for (unsigned p = 0; p < mix_n_probes; p++) {
			uint64_t ours, theirs;

			run_probe(dispatchers[s].prog_fd, &mix_probes[p], 1, &ours);
			run_probe(baselines[s].prog_fd, &mix_probes[p], 1, &theirs);
			if (!ours != !theirs)
				bench_fail("probe %s at %u bindings: sklookup %s a socket, the "
					   "baseline %s", mix_probes[p].name, sizes[s],
					   ours ? "selects" : "selects no", theirs ? "does" : "does not");
		}
}

static double probe_mean(timings t, size_t s, int r)
{
	double sum = 0;

	for (unsigned p = 0; p < mix_n_probes; p++)
		sum += t[s][p][r];
	return sum / mix_n_probes;
}

/* Median over rounds of the per-round mean over probes. */
static double mean_median(timings t, size_t s, int rounds)
{
	double v[BENCH_MAX_ROUNDS];

	for (int r = 0; r < rounds; r++)
		v[r] = probe_mean(t, s, r);
	return bench_median(v, rounds);
}

/* Median over rounds of (a's probe mean / b's probe mean) within a round. */
static double ratio_median(timings ta, size_t sa, timings tb, size_t sb, int rounds)
{
	double v[BENCH_MAX_ROUNDS];

	for (int r = 0; r < rounds; r++)
		v[r] = probe_mean(ta, sa, r) / probe_mean(tb, sb, r);
	return bench_median(v, rounds);
}

static void print_table(const char *title, timings t, int rounds)
{
	printf("\n%s: ns per lookup, median of %d rounds (min in brackets)\n", title, rounds);
	printf("  %-30s", "probe \\ bindings");
	for (size_t s = 0; s < N_SIZES; s++)
		printf(" %15u", sizes[s]);
	printf("\n");
	for (unsigned p = 0; p < mix_n_probes; p++) {
		printf("  %-30s", mix_probes[p].name);
		for (size_t s = 0; s < N_SIZES; s++)
			printf(" %7.0f (%5.0f)", bench_median(t[s][p], rounds),
			       bench_min(t[s][p], rounds));
		printf("\n");
	}
	printf("  %-30s", "mean of the probes");
	for (size_t s = 0; s < N_SIZES; s++)
		printf(" %7.1f        ", mean_median(t, s, rounds));
	printf("\n");
}

/* A miss above the empty program, the worst size of each miss probe: the
 * median over rounds of (miss - floor) within a round. */
static void report_misses(timings ours, const double *floor_ns, int rounds)
{
	for (unsigned p = 0; p < mix_n_probes; p++) {
		double worst = 0, v[BENCH_MAX_ROUNDS];
		uint32_t at = 0;
		char name[96], value[64], baseline[64];

		if (!strstr(mix_probes[p].name, "miss"))
			continue;
		for (size_t s = 0; s < N_SIZES; s++) {
			double above;

			for (int r = 0; r < rounds; r++)
				v[r] = ours[s][p][r] - floor_ns[r];
			above = bench_median(v, rounds);
			if (above > worst || !s) {
				worst = above;
				at = sizes[s];
			}
		}
		snprintf(name, sizeof(name), "3 %s above the empty program, worst size", mix_probes[p].name);
		snprintf(value, sizeof(value), "%.1f ns @%u", worst, at);
		snprintf(baseline, sizeof(baseline), "%.1f ns SK_PASS", bench_median(floor_ns, rounds));
		bench_result(name, value, baseline, worst / 25.0, "<= 25 ns", bench_at_most(worst, 25));
	}
}

static void report(timings ours, timings base, const double *floor_ns, int rounds)
{
	char value[64], baseline[64];
	double ratio, floor_med = bench_median(floor_ns, rounds), v[BENCH_MAX_ROUNDS];

	print_table("sklookup dispatcher", ours, rounds);
	print_table("tubular-style LPM baseline (ranges spelled out per port)", base, rounds);
	printf("\nempty SK_PASS program (the floor): %.1f ns\n\n", floor_med);

	ratio = ratio_median(ours, S_100K, ours, S_ONE, rounds);
	snprintf(value, sizeof(value), "%.1f ns @100k", mean_median(ours, S_100K, rounds));
	snprintf(baseline, sizeof(baseline), "%.1f ns @1", mean_median(ours, S_ONE, rounds));
	bench_result("3 lookup flat: 100k / 1 binding (literal; mix mean)", value, baseline, ratio,
		     "<= 1.3", bench_at_most(ratio, 1.3));

	ratio = ratio_median(ours, S_100K, ours, S_BASE, rounds);
	snprintf(baseline, sizeof(baseline), "%.1f ns @%u", mean_median(ours, S_BASE, rounds),
		 MIX_BASE);
	bench_result("3 lookup flat: 100k / 4 (same prefix lengths)", value, baseline, ratio,
		     "<= 1.3", bench_at_most(ratio, 1.3));

	ratio = ratio_median(ours, S_1M, ours, S_BASE, rounds);
	snprintf(value, sizeof(value), "%.1f ns @1M", mean_median(ours, S_1M, rounds));
	bench_result("3 lookup flat: 1M / 4 (same prefix lengths)", value, baseline, ratio,
		     "<= 1.3", bench_at_most(ratio, 1.3));

	for (int r = 0; r < rounds; r++)
		v[r] = ours[S_100K][0][r] / ours[S_ONE][0][r];
	ratio = bench_median(v, rounds);
	snprintf(value, sizeof(value), "%.1f ns @100k", bench_median(ours[S_100K][0], rounds));
	snprintf(baseline, sizeof(baseline), "%.1f ns @1", bench_median(ours[S_ONE][0], rounds));
	bench_result("3 lookup flat: 100k / 1, the probe both have (v6 host hit)", value,
		     baseline, ratio, "<= 1.3", bench_at_most(ratio, 1.3));

	for (size_t s = S_BASE; s < N_SIZES; s++) {
		/* Pods' sizes: <= 0.8; large sets: <= 0.5. */
		double target = s <= S_64 ? 0.8 : s >= S_100K ? 0.5 : 0;
		char name[96];

		if (!target)
			continue;
		ratio = ratio_median(ours, s, base, s, rounds);
		snprintf(name, sizeof(name), "3 lookup vs tubular-style LPM at %u bindings", sizes[s]);
		snprintf(value, sizeof(value), "%.1f ns", mean_median(ours, s, rounds));
		snprintf(baseline, sizeof(baseline), "%.1f ns LPM", mean_median(base, s, rounds));
		bench_result(name, value, baseline, ratio, target == 0.5 ? "<= 0.5" : "<= 0.8",
			     bench_at_most(ratio, target));
	}

	report_misses(ours, floor_ns, rounds);

	for (int r = 0; r < rounds; r++)
		v[r] = probe_mean(ours, S_100K, r) / floor_ns[r];
	ratio = bench_median(v, rounds);
	snprintf(value, sizeof(value), "%.1f ns @100k", mean_median(ours, S_100K, rounds));
	snprintf(baseline, sizeof(baseline), "%.1f ns SK_PASS", floor_med);
	bench_result("3 lookup vs empty SK_PASS program (floor)", value, baseline, ratio, "-",
		     BENCH_INFO);
}

int main(int argc, char **argv)
{
	static timings ours, base;
	static double floor_ns[BENCH_MAX_ROUNDS];
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS, ns_fd, empty;
	struct skl_err err;
	uint64_t cookie;

	bench_init("lookup_cost");
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		bench_fail("rounds: use 1..%d", BENCH_MAX_ROUNDS);
	if (mix_n_probes > MAX_PROBES)
		bench_fail("%u probes: raise MAX_PROBES", mix_n_probes);
	bench_private_netns();
	ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0 || skl_netns_cookie(ns_fd, &cookie, &err))
		bench_fail("cannot read the netns cookie");
	open_servers();
	bench_on_cleanup(close_all);
	printf("figure 3: per-lookup time, BPF_PROG_TEST_RUN x %d, TCP\n", REPEAT);
	for (size_t s = 0; s < N_SIZES; s++) {
		double ours_s = load_dispatcher(s, cookie), base_s = load_baseline(s);

		printf("  loaded %7u bindings: sklookup %.2f s; LPM baseline %.2f s for %llu "
		       "trie entries\n", sizes[s], ours_s, base_s,
		       (unsigned long long)baselines[s].entries);
	}
	empty = bench_empty_sk_lookup_prog();
	check_same_answers();

	for (int r = 0; r < rounds; r++) {
		floor_ns[r] = run_ns(empty, &mix_probes[0]);
		for (unsigned p = 0; p < mix_n_probes; p++)
			for (size_t s = 0; s < N_SIZES; s++) {
				ours[s][p][r] = run_ns(dispatchers[s].prog_fd, &mix_probes[p]);
				base[s][p][r] = run_ns(baselines[s].prog_fd, &mix_probes[p]);
			}
	}
	report(ours, base, floor_ns, rounds);
	close(empty);
	close(ns_fd);
	return 0;
}
