/*
 * Figure 6, the bind() alternative: what it takes to serve N addresses x M
 * ports with one listening socket per (address, port), against one socket
 * and one sklookup binding. In a private netns, 203.0.113.0/24 is made
 * local on lo; the grid is 256 addresses x 1,000 ports (a /24 on ports
 * 10000-10999). bind() sockets are opened address by address until the fd
 * limit (RLIMIT_NOFILE, raised to its hard limit) leaves a margin; time and
 * kernel memory are read at checkpoints, and the whole grid is
 * extrapolated linearly from the per-socket cost of the measured part
 * (per-socket cost does not depend on how many there are: the kernel
 * hashes listeners by address and port).
 *
 * Kernel memory of the sockets: the growth of the slab caches a listener
 * lives in (TCP, sock_inode_cache, filp, dentry, the bind hash buckets), as
 * /proc/slabinfo counts them. They are machine-wide, so other activity is
 * noise; the first checkpoints show whether it matters.
 *
 *   build/bench/bind_cost
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "bindings.h"
#include "dispatcher.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"

#define GRID_ADDRS 256
#define GRID_PORTS 1000
#define FIRST_PORT 10000
#define FD_MARGIN 64
#define KIB 1024.0
#define MIB (1024.0 * 1024.0)

/* Where a listener's kernel memory lives. */
static const char *const socket_caches[] = {
	"TCP", "sock_inode_cache", "filp", "dentry", "tcp_bind_bucket", "tcp_bind2_bucket",
};
#define N_CACHES (sizeof(socket_caches) / sizeof(socket_caches[0]))

static int *fds;
static int n_fds;

static void close_sockets(void)
{
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	n_fds = 0;
}

/* Bytes in use in the listener caches (active objects x object size). */
static double slab_bytes(void)
{
	char line[512], name[64];
	unsigned long active, total, size;
	double bytes = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		bench_fail("/proc/slabinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lu %lu %lu", name, &active, &total, &size) != 4)
			continue;
		for (size_t i = 0; i < N_CACHES; i++)
			if (!strcmp(name, socket_caches[i]))
				bytes += (double)active * (double)size;
	}
	fclose(f);
	return bytes;
}

static int fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		bench_fail("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 1000 + FD_MARGIN)
		bench_fail("RLIMIT_NOFILE is %llu: too few fds to measure",
			   (unsigned long long)rl.rlim_cur);
	return (int)(rl.rlim_cur - FD_MARGIN);
}

static int listener(uint32_t addr_index, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0xcb007100u + addr_index) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128))
		bench_fail("listener %u:%u (socket %d): %s", addr_index, port, n_fds,
			   strerror(errno));
	return fd;
}

struct sample {
	int sockets;
	double seconds, bytes;
};

/* Opens listeners address-major over the grid up to max, sampling at
 * doubling counts. */
static int bind_grid(int max, struct sample *samples, int max_samples)
{
	double base = slab_bytes();
	uint64_t t0 = bench_now_ns();
	int n_samples = 0, next = 1000;

	fds = calloc((size_t)max, sizeof(*fds));
	if (!fds)
		bench_fail("out of memory");
	while (n_fds < max) {
		fds[n_fds] = listener((uint32_t)(n_fds / GRID_PORTS),
				      (uint16_t)(FIRST_PORT + n_fds % GRID_PORTS));
		n_fds++;
		if ((n_fds == next || n_fds == max) && n_samples < max_samples) {
			samples[n_samples++] = (struct sample){
				n_fds, (double)(bench_now_ns() - t0) / 1e9, slab_bytes() - base };
			next *= 2;
		}
	}
	return n_samples;
}

struct sklookup_cost {
	double seconds, bytes; /* bytes: the dispatcher's memlock; the socket is added later */
};

/* One listener and a dispatcher with one binding for the whole grid, made
 * as ADD and `sklookup-ctl register` would: load, fill, attach, register. */
static void sklookup_grid(int ns_fd, struct sklookup_cost *cost)
{
	static const char json[] = "[{\"label\": \"grid\", \"protocol\": \"tcp\","
				   " \"prefix\": \"203.0.113.0/24\", \"ports\": [\"10000-10999\"]}]";
	struct skl_binding_set set = { 0 };
	struct skl_limits limits;
	struct skl_dispatcher d;
	struct skl_err err;
	uint64_t cookie, t0, memlock;
	cJSON *doc = cJSON_Parse(json);
	uint32_t id;
	int fd;

	skl_limits_default(&limits);
	if (!doc || skl_bindings_parse(doc, "bindings", &set, &err))
		bench_fail("parsing the grid binding");
	cJSON_Delete(doc);
	t0 = bench_now_ns();
	fd = listener(0, 9999);
	if (skl_netns_cookie(ns_fd, &cookie, &err) ||
	    skl_dispatcher_load(&d, &limits, cookie, &err) || skl_rules_apply(&d, &set, &err) ||
	    skl_dispatcher_attach(&d, ns_fd, &err) || skl_label_lookup(&d, "grid", &id, &err) ||
	    skl_socket_register(&d, id, fd, &err))
		bench_fail("sklookup for the grid: %s", err.msg);
	cost->seconds = (double)(bench_now_ns() - t0) / 1e9;
	memlock = bench_memlock(d.prog_fd);
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		memlock += bench_memlock(d.map_fd[i]);
	cost->bytes = (double)memlock;
	skl_dispatcher_close(&d);
	close(fd);
	skl_bindings_free(&set);
}

static void report(const struct sample *s, int n, const struct sklookup_cost *skl)
{
	const struct sample *last = &s[n - 1];
	double per_sock_s = last->seconds / last->sockets, per_sock_b = last->bytes / last->sockets;
	double grid = (double)GRID_ADDRS * GRID_PORTS, skl_bytes = skl->bytes + per_sock_b;
	char name[128], value[64], baseline[64];

	printf("figure 6: bind() per (address, port) vs one socket + one sklookup binding\n");
	printf("  %9s %10s %12s %14s\n", "sockets", "time s", "slab MiB", "bytes/socket");
	for (int i = 0; i < n; i++)
		printf("  %9d %10.3f %12.1f %14.0f\n", s[i].sockets, s[i].seconds,
		       s[i].bytes / MIB, s[i].bytes / s[i].sockets);
	printf("  per listener: %.1f us and %.0f bytes (the last checkpoint's averages)\n",
	       per_sock_s * 1e6, per_sock_b);
	printf("  sklookup: 1 listener + a dispatcher with 1 binding (203.0.113.0/24, ports "
	       "10000-10999): %.2f ms to load, fill, attach and register; %.1f KiB (memlock at "
	       "the default limits + one listener)\n", skl->seconds * 1e3, skl_bytes / KIB);
	printf("  extrapolated (linear) to the grid, %d x %d = %.0f listeners: %.1f s, %.0f MiB; "
	       "a /24 on every port would be %.1f M listeners, %.1f GiB\n", GRID_ADDRS,
	       GRID_PORTS, grid, grid * per_sock_s, grid * per_sock_b / MIB, 256.0 * 65535 / 1e6,
	       256.0 * 65535 * per_sock_b / (MIB * 1024));

	snprintf(name, sizeof(name), "6 bind(): sockets for %d addr x %d ports", GRID_ADDRS,
		 GRID_PORTS);
	snprintf(baseline, sizeof(baseline), "%.0f sockets", grid);
	bench_result(name, "1 socket", baseline, 1 / grid, "-", BENCH_INFO);

	snprintf(value, sizeof(value), "%.2f ms", skl->seconds * 1e3);
	snprintf(name, sizeof(name), "6 bind(): set-up time, %d listeners (measured)",
		 last->sockets);
	snprintf(baseline, sizeof(baseline), "%.0f ms bind()", last->seconds * 1e3);
	bench_result(name, value, baseline, skl->seconds / last->seconds, "-", BENCH_INFO);
	snprintf(name, sizeof(name), "6 bind(): set-up time, %d x %d (extrapolated)",
		 GRID_ADDRS, GRID_PORTS);
	snprintf(baseline, sizeof(baseline), "%.1f s bind()", grid * per_sock_s);
	bench_result(name, value, baseline, skl->seconds / (grid * per_sock_s), "-", BENCH_INFO);

	snprintf(value, sizeof(value), "%.1f KiB", skl_bytes / KIB);
	snprintf(name, sizeof(name), "6 bind(): kernel memory, %d listeners (measured)",
		 last->sockets);
	snprintf(baseline, sizeof(baseline), "%.1f MiB bind()", last->bytes / MIB);
	bench_result(name, value, baseline, skl_bytes / last->bytes, "-", BENCH_INFO);
	snprintf(name, sizeof(name), "6 bind(): kernel memory, %d x %d (extrapolated)",
		 GRID_ADDRS, GRID_PORTS);
	snprintf(baseline, sizeof(baseline), "%.0f MiB bind()", grid * per_sock_b / MIB);
	bench_result(name, value, baseline, skl_bytes / (grid * per_sock_b), "-", BENCH_INFO);
}

int main(void)
{
	struct sample samples[32];
	struct sklookup_cost skl;
	int n, ns_fd, max;

	bench_init("bind_cost");
	bench_private_netns();
	bench_on_cleanup(close_sockets);
	bench_sh("ip route add local 203.0.113.0/24 dev lo");
	ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		bench_fail("opening the netns: %s", strerror(errno));
	max = fd_budget();
	if (max > GRID_ADDRS * GRID_PORTS)
		max = GRID_ADDRS * GRID_PORTS;
	sklookup_grid(ns_fd, &skl);
	n = bind_grid(max, samples, 32);
	report(samples, n, &skl);
	close_sockets();
	close(ns_fd);
	return 0;
}
