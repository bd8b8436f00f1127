/*
 * Per-lookup cost of the dispatcher as bindings grow: BPF_PROG_TEST_RUN on
 * dispatchers holding 1, 3, 1,000, 100,000 and 1,000,000 bindings (loaded side
 * by side, not attached), against an empty SK_PASS program (the floor).
 * Rounds interleave every case, so machine noise hits all of them alike;
 * the figures are medians over rounds, and the ratios are taken within a
 * round. Runs in a private netns; leaves nothing behind.
 *
 *   build/bench/lookup_cost [rounds]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bindings.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"

#define REPEAT 200000
#define N_LABELS 16
#define MAX_ROUNDS 31

/* 3: one binding per prefix length of the mix (v6 /64 and /128, v4 /32), so
 * the same number of probes as the large sets. */
static const uint32_t sizes[] = { 1, 3, 1000, 100000, 1000000 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* What a packet meets: a bound host, a host of the prefix that falls back to
 * the /64, an address outside every binding; in both families. */
static const struct probe {
	const char *name, *addr;
	uint16_t port;
} probes[] = {
	{ "v6 host hit", "2001:db8:a::1:0", 1 },
	{ "v6 fallback", "2001:db8:a::ffff:ffff", 9999 },
	{ "v6 miss", "2001:db8:b::1", 80 },
	{ "v4 host hit", "192.0.2.0", 100 },
	{ "v4 miss", "203.0.113.1", 80 },
};
#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

static int die(const char *what, const char *why)
{
	fprintf(stderr, "lookup_cost: %s: %s\n", what, why);
	exit(1);
}

static void add(struct skl_binding_set *set, uint32_t i, const char *prefix, uint8_t plen,
		uint16_t lo, uint16_t hi)
{
	struct skl_port_range range = { lo, hi };
	struct skl_binding_spec b = { .proto = IPPROTO_TCP, .kind = SKL_PREFIX_CIDR,
				      .plen = plen, .n_ports = 1, .ports = &range };
	struct skl_err err;

	snprintf(b.label, sizeof(b.label), "l%u", i % N_LABELS);
	snprintf(b.where, sizeof(b.where), "bindings[%u]", i);
	b.family = inet_pton(AF_INET, prefix, b.addr) == 1 ? SKL_FAMILY_V4 : SKL_FAMILY_V6;
	if (b.family == SKL_FAMILY_V6 && inet_pton(AF_INET6, prefix, b.addr) != 1)
		die("bad prefix", prefix);
	if (skl_bindings_append(set, &b, &err))
		die("append", err.msg);
}

/* The same mix at every size: v6 hosts with one port, a range or all ports,
 * a /64 over them, and v4 hosts (up to the 512 the documentation ranges
 * hold); the probed hosts are always there. */
static void build(struct skl_binding_set *set, uint32_t n)
{
	char addr[64];
	uint32_t i = 0, v4 = n >= 1000 ? 512 : n / 3;

	memset(set, 0, sizeof(*set));
	if (n > 1)
		add(set, i++, "2001:db8:a::", 64, 1, 65535);
	for (uint32_t k = 0; k < v4; k++, i++) {
		snprintf(addr, sizeof(addr), "%s.%u", k < 256 ? "192.0.2" : "198.51.100", k % 256);
		add(set, i, addr, 32, (uint16_t)(100 + k % 256), (uint16_t)(100 + k % 256));
	}
	for (uint32_t k = 0; i < n; k++, i++) {
		uint32_t host = 0x10000 + k;
		uint16_t lo = (uint16_t)(1 + k % 20000);

		snprintf(addr, sizeof(addr), "2001:db8:a::%x:%x", host >> 16, host & 0xffff);
		if (k % 3 == 0)
			add(set, i, addr, 128, lo, lo);
		else if (k % 3 == 1)
			add(set, i, addr, 128, lo, (uint16_t)(lo + 100));
		else
			add(set, i, addr, 128, 1, 65535);
	}
}

static int empty_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_LOOKUP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SK_LOOKUP, "empty", "GPL", insns, 2, &opts);

	if (fd < 0)
		die("loading the empty program", strerror(errno));
	return fd;
}

static double run_ns(int prog_fd, const struct probe *p)
{
	struct bpf_sk_lookup ctx = { .protocol = IPPROTO_TCP, .local_port = p->port };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = REPEAT);

	if (inet_pton(AF_INET, p->addr, &ctx.local_ip4) == 1) {
		ctx.family = AF_INET;
	} else {
		ctx.family = AF_INET6;
		inet_pton(AF_INET6, p->addr, ctx.local_ip6);
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		die("BPF_PROG_TEST_RUN", strerror(errno));
	return (double)opts.duration;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static double ns[N_SIZES][N_PROBES][MAX_ROUNDS], ratio[N_SIZES][N_PROBES][MAX_ROUNDS];
	static double ratio3[N_SIZES][N_PROBES][MAX_ROUNDS], floor_ns[MAX_ROUNDS];
	struct skl_dispatcher d[N_SIZES];
	int rounds = argc > 1 ? atoi(argv[1]) : 9, servers[N_LABELS], ns_fd, empty;
	struct skl_err err;
	uint64_t cookie;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		die("rounds", "use 1..31");
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)", strerror(errno));
	if (system("ip link set lo up"))
		die("ip link set lo up", "failed");
	ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0 || skl_netns_cookie(ns_fd, &cookie, &err))
		die("netns", "cannot read the netns cookie");
	for (int l = 0; l < N_LABELS; l++) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };

		servers[l] = socket(AF_INET6, SOCK_STREAM, 0);
		if (servers[l] < 0 || bind(servers[l], (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(servers[l], 8))
			die("listener", strerror(errno));
	}
	for (size_t s = 0; s < N_SIZES; s++) {
		struct skl_limits limits = { .bindings = sizes[s] + 16, .labels = N_LABELS,
					     .port_ranges = sizes[s] + 16 };
		struct skl_binding_set set;

		build(&set, sizes[s]);
		if (skl_dispatcher_load(&d[s], &limits, cookie, &err) ||
		    skl_rules_apply(&d[s], &set, &err))
			die("loading bindings", err.msg);
		skl_bindings_free(&set);
		for (int l = 0; l < N_LABELS; l++) {
			char label[8];
			uint32_t id;

			snprintf(label, sizeof(label), "l%d", l);
			if (!skl_label_lookup(&d[s], label, &id, &err) &&
			    skl_socket_register(&d[s], id, servers[l], &err))
				die("register", err.msg);
		}
		fprintf(stderr, "loaded %u bindings\n", sizes[s]);
	}
	empty = empty_prog();

	for (int r = 0; r < rounds; r++) {
		floor_ns[r] = run_ns(empty, &probes[0]);
		for (size_t p = 0; p < N_PROBES; p++)
			for (size_t s = 0; s < N_SIZES; s++)
				ns[s][p][r] = run_ns(d[s].prog_fd, &probes[p]);
		for (size_t p = 0; p < N_PROBES; p++)
			for (size_t s = 0; s < N_SIZES; s++)
				ratio[s][p][r] = ns[s][p][r] / ns[0][p][r],
				ratio3[s][p][r] = ns[s][p][r] / ns[1][p][r];
	}

	printf("per-lookup time, BPF_PROG_TEST_RUN x %d, median of %d rounds\n", REPEAT, rounds);
	printf("empty SK_PASS program (floor): %.0f ns\n", median(floor_ns, rounds));
	printf("%-14s", "probe");
	for (size_t s = 0; s < N_SIZES; s++)
		printf(" %10u", sizes[s]);
	printf("   %u/1  %u/3  %u/3\n", sizes[3], sizes[3], sizes[4]);
	for (size_t p = 0; p < N_PROBES; p++) {
		printf("%-14s", probes[p].name);
		for (size_t s = 0; s < N_SIZES; s++)
			printf(" %7.0f ns", median(ns[s][p], rounds));
		printf("   %8.2f  %8.2f  %8.2f\n", median(ratio[3][p], rounds),
		       median(ratio3[3][p], rounds), median(ratio3[4][p], rounds));
	}
	for (size_t s = 0; s < N_SIZES; s++)
		skl_dispatcher_close(&d[s]);
	for (int l = 0; l < N_LABELS; l++)
		close(servers[l]);
	close(empty);
	close(ns_fd);
	return 0;
}
