/*
 * Figure 5, what a pod's dispatcher costs in kernel memory and load time:
 *  - the program and every map of one dispatcher, as the kernel accounts
 *    them ("memlock:" in /proc/self/fdinfo), at the default limits: empty,
 *    with a typical pod's bindings, and filled to the limits;
 *  - bytes per binding as bindings grow (limits sized to the set), beside
 *    the tubular-style LPM baseline holding the same bindings;
 *  - the map entries one binding with a port range takes, by width;
 *  - the time to load 100,000 bindings (skl_rules_apply), beside the LPM's.
 * Runs in a private netns; nothing is attached or pinned.
 *
 *   build/bench/memory
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "baseline.h"
#include "bench.h"
#include "bindings.h"
#include "compile.h"
#include "dispatcher.h"
#include "dispatcher.skel.h"
#include "mix.h"
#include "netns.h"
#include "rules.h"

#define KIB 1024.0
#define BUDGET_BYTES (64 * 1024)
#define RANGE_ENTRIES_TARGET 8 /* "a handful" */

static const uint32_t growth_sizes[] = { 1000, 10000, 100000 };
#define N_GROWTH (sizeof(growth_sizes) / sizeof(growth_sizes[0]))

static uint64_t netns_cookie;

/* The program with its read-only data (a map the load creates, unpinned). */
static uint64_t program_memlock(const struct skl_dispatcher *d)
{
	return bench_memlock(d->prog_fd) + bench_memlock(bpf_map__fd(d->skel->maps.rodata));
}

static uint64_t dispatcher_memlock(const struct skl_dispatcher *d)
{
	uint64_t sum = program_memlock(d);

	for (int i = 0; i < SKL_MAP_COUNT; i++)
		sum += bench_memlock(d->map_fd[i]);
	return sum;
}

static void parse_set(const char *json, struct skl_binding_set *set)
{
	cJSON *doc = cJSON_Parse(json);
	struct skl_err err;

	memset(set, 0, sizeof(*set));
	if (!doc || skl_bindings_parse(doc, "bindings", set, &err))
		bench_fail("parsing %s: %s", json, doc ? err.msg : "bad JSON");
	cJSON_Delete(doc);
}

/* Loads a dispatcher, applies set (may be NULL) and returns its memlock;
 * *apply_s gets the time skl_rules_apply took. */
static uint64_t measure(const struct skl_limits *limits, const struct skl_binding_set *set,
			double *apply_s)
{
	struct skl_dispatcher d;
	struct skl_err err;
	uint64_t t0, bytes;

	if (skl_dispatcher_load(&d, limits, netns_cookie, &err))
		bench_fail("loading a dispatcher: %s", err.msg);
	t0 = bench_now_ns();
	if (set && skl_rules_apply(&d, set, &err))
		bench_fail("applying %zu bindings: %s", set->n, err.msg);
	if (apply_s)
		*apply_s = (double)(bench_now_ns() - t0) / 1e9;
	bytes = dispatcher_memlock(&d);
	skl_dispatcher_close(&d);
	return bytes;
}

/* The typical pod of the CNI benchmark (pod prefix resolved to one v4 and
 * one v6 address). */
static const char typical_pod[] =
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
	"  \"ports\": [\"80\", \"443\", \"8000-8999\"]},"
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"203.0.113.0/24\","
	"  \"ports\": [\"53\"]},"
	" {\"label\": \"any\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8:203::/64\"},"
	" {\"label\": \"app\", \"protocol\": \"tcp\", \"prefix\": \"198.51.100.2/32\","
	"  \"ports\": [\"40000-40099\", \"9090\"]},"
	" {\"label\": \"app\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8:100::2/128\","
	"  \"ports\": [\"40000-40099\", \"9090\"]}]";

/* Per-CPU maps take value x entries x possible CPUs: this VM has few CPUs,
 * a node has many. */
#define NODE_CPUS 64

struct pod_memory {
	uint64_t total, percpu; /* bytes; percpu: the per-CPU values' share */
	uint64_t map[SKL_MAP_COUNT], prog;
};

static uint64_t percpu_share(int map_fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		bench_fail("map info: %s", strerror(errno));
	if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY && info.type != BPF_MAP_TYPE_PERCPU_HASH)
		return 0;
	return (uint64_t)((info.value_size + 7) & ~7u) * info.max_entries *
	       (uint64_t)libbpf_num_possible_cpus();
}

static void measure_pod(const struct skl_limits *limits, const struct skl_binding_set *set,
			struct pod_memory *m)
{
	struct skl_dispatcher d;
	struct skl_err err;

	memset(m, 0, sizeof(*m));
	if (skl_dispatcher_load(&d, limits, netns_cookie, &err) ||
	    (set && skl_rules_apply(&d, set, &err)))
		bench_fail("dispatcher at the default limits: %s", err.msg);
	m->prog = program_memlock(&d);
	m->total = m->prog;
	for (int i = 0; i < SKL_MAP_COUNT; i++) {
		m->map[i] = bench_memlock(d.map_fd[i]);
		m->total += m->map[i];
		m->percpu += percpu_share(d.map_fd[i]);
	}
	skl_dispatcher_close(&d);
}

/* Gives every binding of a mix set a second port range: one port, 1000 +
 * (index % 8), which no other binding of the same host uses (a host's
 * bindings are consecutive, at most 8 of them). */
static void add_second_range(struct skl_binding_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct skl_binding_spec *b = &set->v[i];
		struct skl_port_range *p = realloc(b->ports, 2 * sizeof(*p));
		uint16_t port = (uint16_t)(1000 + i % 8);
		struct skl_port_range extra = { port, port };

		if (!p)
			bench_fail("out of memory");
		/* Ranges are kept sorted by (lo ascending, hi descending). */
		if (p[0].lo < extra.lo) {
			p[1] = extra;
		} else {
			p[1] = p[0];
			p[0] = extra;
		}
		b->ports = p;
		b->n_ports = 2;
	}
}

/* The most a pod can hold at the default limits: 64 bindings of the mix,
 * each with two port ranges: 128. */
static void filled_set(const struct skl_limits *limits, struct skl_binding_set *set)
{
	memset(set, 0, sizeof(*set));
	mix_append_set(set, limits->bindings, IPPROTO_TCP);
	add_second_range(set);
}

static void print_pod(const char *name, const struct pod_memory *m)
{
	double node = (double)(m->total - m->percpu) +
		      (double)m->percpu * NODE_CPUS / libbpf_num_possible_cpus();

	printf("  %-34s %6.1f KiB  (per-CPU maps %4.1f KiB; with %d CPUs: %6.1f KiB)\n", name,
	       m->total / KIB, m->percpu / KIB, NODE_CPUS, node / KIB);
}

static void per_pod(void)
{
	struct skl_binding_set typical, full;
	struct pod_memory empty, typ, filled;
	struct skl_limits defaults;
	char value[64], name[96];
	double node;

	skl_limits_default(&defaults);
	parse_set(typical_pod, &typical);
	filled_set(&defaults, &full);
	measure_pod(&defaults, NULL, &empty);
	measure_pod(&defaults, &typical, &typ);
	measure_pod(&defaults, &full, &filled);
	printf("figure 5: kernel memory of one pod's dispatcher (memlock of program + maps), "
	       "default limits (%u bindings, %u labels, %u port ranges), %d possible CPUs\n",
	       defaults.bindings, defaults.labels, defaults.port_ranges,
	       libbpf_num_possible_cpus());
	print_pod("empty", &empty);
	snprintf(name, sizeof(name), "typical pod (%zu bindings)", typical.n);
	print_pod(name, &typ);
	print_pod("filled (64 bindings, 128 ranges)", &filled);
	printf("  filled, by object:");
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		printf("%s %s %.1f", i % 6 ? "," : "\n   ", skl_map_pin_names[i],
		       filled.map[i] / KIB);
	printf(", program %.1f (KiB)\n", filled.prog / KIB);

	snprintf(value, sizeof(value), "%.1f KiB", filled.total / KIB);
	bench_result("5 memory per pod, default limits, filled to them", value, "64 KiB budget",
		     (double)filled.total / BUDGET_BYTES, "<= 1.0",
		     bench_at_most((double)filled.total / BUDGET_BYTES, 1.0));
	snprintf(value, sizeof(value), "%.1f KiB", typ.total / KIB);
	bench_result("5 memory per pod, default limits, typical pod", value, "64 KiB budget",
		     (double)typ.total / BUDGET_BYTES, "<= 1.0",
		     bench_at_most((double)typ.total / BUDGET_BYTES, 1.0));
	node = (double)(filled.total - filled.percpu) +
	       (double)filled.percpu * NODE_CPUS / libbpf_num_possible_cpus();
	snprintf(value, sizeof(value), "%.1f KiB", node / KIB);
	bench_result("5 memory per pod, filled, on a 64-CPU node (computed)", value,
		     "64 KiB budget", node / BUDGET_BYTES, "-", BENCH_INFO);
	skl_bindings_free(&typical);
	skl_bindings_free(&full);
}

static double baseline_bytes_per_binding(uint32_t n, double *load_s, uint64_t *entries)
{
	struct baseline b;
	uint64_t t0, bytes;

	baseline_load(&b, baseline_entries_for(n) + 16);
	t0 = bench_now_ns();
	baseline_add_mix(&b, n, IPPROTO_TCP);
	*load_s = (double)(bench_now_ns() - t0) / 1e9;
	*entries = b.entries;
	bytes = baseline_memlock(&b);
	baseline_close(&b);
	return (double)bytes / n;
}

/* Bytes one more port range per binding costs at n bindings: the same set
 * with a second range on every binding (and limits.portRanges doubled). */
static double bytes_per_range(uint32_t n, uint64_t one_range_bytes)
{
	struct skl_limits limits = { .bindings = n, .labels = MIX_LABELS, .port_ranges = 2 * n };
	struct skl_binding_set set;
	uint64_t bytes;

	memset(&set, 0, sizeof(set));
	mix_append_set(&set, n, IPPROTO_TCP);
	add_second_range(&set);
	bytes = measure(&limits, &set, NULL);
	skl_bindings_free(&set);
	return ((double)bytes - (double)one_range_bytes) / n;
}

static void growth(void)
{
	double ours_bpb[N_GROWTH], lpm_bpb[N_GROWTH], ours_s[N_GROWTH], lpm_s[N_GROWTH];
	char value[64], baseline[64];

	printf("\nbytes per binding as bindings grow (limits sized to the set; the lookup "
	       "benchmark's mix, 1 port range per binding)\n");
	printf("  %9s %13s %15s %9s %14s %9s %12s\n", "bindings", "sklookup B/b",
	       "B/extra range", "load s", "LPM B/binding", "load s", "LPM entries");
	for (size_t i = 0; i < N_GROWTH; i++) {
		uint32_t n = growth_sizes[i];
		struct skl_limits limits = { .bindings = n, .labels = MIX_LABELS,
					     .port_ranges = n };
		struct skl_binding_set set;
		uint64_t entries, bytes;

		memset(&set, 0, sizeof(set));
		mix_append_set(&set, n, IPPROTO_TCP);
		bytes = measure(&limits, &set, &ours_s[i]);
		ours_bpb[i] = (double)bytes / n;
		skl_bindings_free(&set);
		lpm_bpb[i] = baseline_bytes_per_binding(n, &lpm_s[i], &entries);
		printf("  %9u %13.0f %15.0f %9.3f %14.0f %9.3f %12llu\n", n, ours_bpb[i],
		       bytes_per_range(n, bytes), ours_s[i], lpm_bpb[i], lpm_s[i],
		       (unsigned long long)entries);
	}
	snprintf(value, sizeof(value), "%.0f B/binding", ours_bpb[N_GROWTH - 1]);
	snprintf(baseline, sizeof(baseline), "%.0f B LPM", lpm_bpb[N_GROWTH - 1]);
	bench_result("5 memory per binding at 100k bindings", value, baseline,
		     ours_bpb[N_GROWTH - 1] / lpm_bpb[N_GROWTH - 1], "-", BENCH_INFO);
	snprintf(value, sizeof(value), "%.2f s", ours_s[N_GROWTH - 1]);
	snprintf(baseline, sizeof(baseline), "%.2f s LPM", lpm_s[N_GROWTH - 1]);
	bench_result("5 time to load 100k bindings", value, baseline,
		     ours_s[N_GROWTH - 1] / lpm_s[N_GROWTH - 1], "-", BENCH_INFO);
}

/* Map entries one binding takes: its entry, its port ranges, its prefix
 * entries (with markers) and its port table's segments. */
static size_t entries_for(const char *ports_json)
{
	char json[256];
	struct skl_binding_set set;
	struct skl_compiled c;
	struct skl_err err;
	size_t n;

	snprintf(json, sizeof(json),
		 "[{\"label\": \"l\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\""
		 "%s%s}]", ports_json[0] ? ", \"ports\": " : "", ports_json);
	parse_set(json, &set);
	if (skl_compile(&set, &c, &err))
		bench_fail("compiling %s: %s", json, err.msg);
	n = 1 + set.v[0].n_ports + c.n_prefixes + c.n_segments;
	skl_compiled_free(&c);
	skl_bindings_free(&set);
	return n;
}

static void port_ranges(void)
{
	static const struct {
		const char *name, *json;
		uint64_t lpm_entries; /* one per port; port 0 for all ports */
	} cases[] = {
		{ "one port (80)", "[\"80\"]", 1 },
		{ "8000-8999", "[\"8000-8999\"]", 1000 },
		{ "1024-65535", "[\"1024-65535\"]", 64512 },
		{ "1-65535", "[\"1-65535\"]", 1 },
		{ "no ports (all)", "", 1 },
		{ "80, 443, 8000-8999", "[\"80\", \"443\", \"8000-8999\"]", 1002 },
	};
	char value[64], baseline[64];

	printf("\nmap entries of one binding (203.0.113.0/24) by its ports: binding + port "
	       "ranges + prefix entries + port-table segments\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = entries_for(cases[i].json);

		printf("  %-22s %3zu entries   (LPM baseline: %llu)\n", cases[i].name, n,
		       (unsigned long long)cases[i].lpm_entries);
		if (!strcmp(cases[i].name, "1-65535") || !strcmp(cases[i].name, "1024-65535")) {
			snprintf(value, sizeof(value), "%zu entries", n);
			snprintf(baseline, sizeof(baseline), "%llu LPM entries",
				 (unsigned long long)cases[i].lpm_entries);
			bench_result(!strcmp(cases[i].name, "1-65535")
					     ? "5 entries for one binding of ports 1-65535"
					     : "5 entries for one binding of ports 1024-65535",
				     value, baseline, (double)n / (double)cases[i].lpm_entries,
				     "<= 8 entries", n <= RANGE_ENTRIES_TARGET ? BENCH_MET
									 : BENCH_NOT_MET);
		}
	}
}

int main(void)
{
	struct skl_err err;
	int ns_fd;

	bench_init("memory");
	bench_private_netns();
	ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0 || skl_netns_cookie(ns_fd, &netns_cookie, &err))
		bench_fail("cannot read the netns cookie");
	per_pod();
	growth();
	port_ranges();
	close(ns_fd);
	return 0;
}
