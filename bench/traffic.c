/*
 * Figures 1 and 2, real traffic on loopback: TCP connect+accept rate and
 * UDP datagrams/s received, to a server bound directly to the address and
 * port (no program) against the same server reached through the dispatcher
 * with 2 and with 100,000 bindings loaded.
 *
 * Each case has its own private netns with a local route for
 * 198.51.100.0/24 on lo: "direct" (servers bound to 198.51.100.1:80 and :53,
 * no program); sklookup with 2 and with 100k bindings (servers on
 * 127.0.0.1, dispatcher attached; the 100k set is the lookup benchmark's
 * mix, half for TCP and half for UDP, plus the two bindings); and for
 * comparison an empty SK_PASS program and the tubular-style LPM baseline
 * holding the same bindings. Client and server are threads pinned to
 * different CPUs; the server spins on non-blocking calls.
 *
 * Every case runs in the same phase: the client takes turns of about half
 * a millisecond over all of them, in an order shuffled every cycle, and a
 * round's figure for a case is its rate / direct's in that phase; the
 * figure is the median over rounds. Every round starts with new sockets
 * for every case. (With one case per phase, load that came and went moved
 * a round's ratio by up to 10 %; with the same sockets all run long, where
 * the kernel happened to put them moved a case's median by 1-2 % from one
 * run to the next. The UDP targets are 1-3 % apart.) TCP: connect, then
 * close with RST. UDP: batches of 16-byte datagrams on a connected socket.
 *
 * Two rates per case: per wall-clock second, and per second of the client
 * thread's CPU time. On loopback the receive path, sk_lookup included, runs
 * in softirq in the sending thread's context, and this kernel (without
 * IRQ_TIME_ACCOUNTING, with steal time accounting) charges that time to the
 * thread and not the time the hypervisor or other tenants take: the second
 * rate is the cost of the traffic itself, whatever else the shared machine
 * runs. It is the one checked against the target; the wall-clock one is
 * shown beside it. "received" is datagrams received / sent (the rest were
 * dropped at a full receive queue, after the lookup); at the end of a phase
 * the server takes what is still queued, so every datagram delivered to the
 * socket counts, as its cost is in the client's CPU time.
 *
 * Then, for UDP, the program's own time per run in the same traffic (the
 * kernel's run-time statistics), in rounds of its own: the cost of a lookup
 * with the caches as the rest of the network stack leaves them, beside the
 * empty program, assign only and the LPM baseline.
 *
 *   build/bench/traffic [rounds [ms per case]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "assign_only.skel.h"
#include "baseline.h"
#include "bench.h"
#include "bindings.h"
#include "dispatch_abi.h"
#include "mix.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"

#define DEFAULT_ROUNDS 31
#define DEFAULT_PHASE_MS 80
#define TARGET_ADDR "198.51.100.1"
#define TCP_PORT 80
#define UDP_PORT 53
#define UDP_BATCH 32
#define UDP_PAYLOAD 16
#define CLIENT_CPU 0
#define SERVER_CPU 1

/* The cases. "floor": the server bound directly, an empty SK_PASS program
 * on the hook (what any sk_lookup program pays before doing anything).
 * "assign only": no lookup, only the SOCKMAP lookup and bpf_sk_assign every
 * dispatcher does (bpf/assign_only.bpf.c): the floor of any dispatcher. The
 * LPM cases are the tubular-style baseline of the lookup benchmark
 * (bpf/baseline_lpm.bpf.c) holding the same bindings. */
enum case_kind { K_DIRECT, K_FLOOR, K_ASSIGN, K_SKLOOKUP, K_LPM };
enum { C_DIRECT, C_FLOOR, C_ASSIGN, C_SKL_2, C_SKL_100K, C_LPM_2, C_LPM_100K, N_CASES };
static const struct case_def {
	const char *name;
	enum case_kind kind;
	uint32_t bindings;
} case_defs[N_CASES] = {
	[C_DIRECT] = { "direct (no program)", K_DIRECT, 0 },
	[C_FLOOR] = { "direct + empty SK_PASS prog", K_FLOOR, 0 },
	[C_ASSIGN] = { "assign only (SOCKMAP, no lookup)", K_ASSIGN, 0 },
	[C_SKL_2] = { "sklookup, 2 bindings", K_SKLOOKUP, 2 },
	[C_SKL_100K] = { "sklookup, 100k bindings", K_SKLOOKUP, 100000 },
	[C_LPM_2] = { "LPM baseline, 2 bindings", K_LPM, 2 },
	[C_LPM_100K] = { "LPM baseline, 100k bindings", K_LPM, 100000 },
};

/* Labels of the two bindings that take the traffic, after the mix's. */
#define WEB_LABEL MIX_LABELS
#define DNS_LABEL (MIX_LABELS + 1)

struct netcase {
	int netns_fd;
	int tcp_server, udp_server;
	int udp_client; /* connected to the target, from inside this netns */
	int prog_fd, link_fd; /* the floor's */
	struct assign_only_bpf *assign;
	struct skl_dispatcher d;
	struct baseline lpm;
};

static struct netcase cases[N_CASES];

static void close_cases(void)
{
	for (int c = 0; c < N_CASES; c++) {
		skl_dispatcher_close(&cases[c].d);
		baseline_close(&cases[c].lpm);
		if (cases[c].link_fd > 0)
			close(cases[c].link_fd);
		if (cases[c].prog_fd > 0)
			close(cases[c].prog_fd);
		assign_only_bpf__destroy(cases[c].assign);
		cases[c].assign = NULL;
	}
}

static void enter(int netns_fd)
{
	if (setns(netns_fd, CLONE_NEWNET))
		bench_fail("setns: %s", strerror(errno));
}

static struct sockaddr_in target(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, TARGET_ADDR, &sa.sin_addr);
	return sa;
}

static int server_socket(int type, const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, buf = 4 << 20;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		bench_fail("server on %s:%u: %s", addr, port, strerror(errno));
	if (type == SOCK_STREAM && (listen(fd, 4096) || fcntl(fd, F_SETFL, O_NONBLOCK)))
		bench_fail("listen: %s", strerror(errno));
	/* Room for a burst, as a busy server would configure; SO_RCVBUFFORCE
	 * goes past rmem_max (we are root). */
	if (type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	return fd;
}

static int udp_client_socket(void)
{
	struct sockaddr_in dst = target(UDP_PORT);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		bench_fail("UDP client socket: %s", strerror(errno));
	return fd;
}

static void append_binding(struct skl_binding_set *set, const char *label, int proto,
			   uint16_t port)
{
	struct skl_port_range range = { port, port };
	struct skl_binding_spec b = { .proto = (uint8_t)proto, .kind = SKL_PREFIX_CIDR,
				      .family = SKL_FAMILY_V4, .plen = 24, .n_ports = 1,
				      .ports = &range };
	struct skl_err err;

	inet_pton(AF_INET, "198.51.100.0", b.addr);
	snprintf(b.label, sizeof(b.label), "%s", label);
	snprintf(b.where, sizeof(b.where), "traffic %s", label);
	if (skl_bindings_append(set, &b, &err))
		bench_fail("binding %s: %s", label, err.msg);
}

static void register_label(struct skl_dispatcher *d, const char *label, int fd)
{
	struct skl_err err;
	uint32_t id;

	if (skl_label_lookup(d, label, &id, &err) || skl_socket_register(d, id, fd, &err))
		bench_fail("registering %s: %s", label, err.msg);
}

/* The bindings of a case besides the two that take the traffic: the mix,
 * half for TCP and half for UDP, so both protocols search a full table. */
static uint32_t mix_half(uint32_t n)
{
	return (n - 2) / 2;
}

/* The dispatcher of a case: the mix plus the two bindings that take the
 * traffic. */
static void attach_dispatcher(struct netcase *c, uint32_t n)
{
	struct skl_limits limits = { .bindings = n + 16, .labels = MIX_LABELS + 2,
				     .port_ranges = n + 16 };
	struct skl_binding_set set;
	struct skl_err err;
	uint64_t cookie;

	memset(&set, 0, sizeof(set));
	mix_append_set(&set, mix_half(n), IPPROTO_TCP);
	mix_append_set(&set, mix_half(n), IPPROTO_UDP);
	append_binding(&set, "web", IPPROTO_TCP, TCP_PORT);
	append_binding(&set, "dns", IPPROTO_UDP, UDP_PORT);
	if (skl_netns_cookie(c->netns_fd, &cookie, &err) ||
	    skl_dispatcher_load(&c->d, &limits, cookie, &err) ||
	    skl_rules_apply(&c->d, &set, &err) || skl_dispatcher_attach(&c->d, c->netns_fd, &err))
		bench_fail("dispatcher with %u bindings: %s", n, err.msg);
	skl_bindings_free(&set);
}

static void attach_lpm(struct netcase *c, uint32_t n)
{
	struct mix_binding web = { .family = SKL_FAMILY_V4, .plen = 24, .lo = TCP_PORT,
				   .hi = TCP_PORT, .label = WEB_LABEL };
	struct mix_binding dns = web;

	dns.lo = dns.hi = UDP_PORT;
	dns.label = DNS_LABEL;
	inet_pton(AF_INET, "198.51.100.0", web.addr);
	memcpy(dns.addr, web.addr, sizeof(dns.addr));
	baseline_load(&c->lpm, 2 * baseline_entries_for(mix_half(n)) + 16);
	baseline_add_mix(&c->lpm, mix_half(n), IPPROTO_TCP);
	baseline_add_mix(&c->lpm, mix_half(n), IPPROTO_UDP);
	baseline_add(&c->lpm, &web, IPPROTO_TCP);
	baseline_add(&c->lpm, &dns, IPPROTO_UDP);
	c->link_fd = bpf_link_create(c->lpm.prog_fd, c->netns_fd, BPF_SK_LOOKUP, NULL);
	if (c->link_fd < 0)
		bench_fail("attaching the LPM baseline: %s", strerror(errno));
}

static void attach_floor(struct netcase *c)
{
	c->prog_fd = bench_empty_sk_lookup_prog();
	c->link_fd = bpf_link_create(c->prog_fd, c->netns_fd, BPF_SK_LOOKUP, NULL);
	if (c->link_fd < 0)
		bench_fail("attaching the empty program: %s", strerror(errno));
}

static void attach_assign(struct netcase *c)
{
	c->assign = assign_only_bpf__open_and_load();
	if (!c->assign)
		bench_fail("loading the assign-only program: %s", strerror(errno));
	c->link_fd = bpf_link_create(bpf_program__fd(c->assign->progs.assign_only), c->netns_fd,
				     BPF_SK_LOOKUP, NULL);
	if (c->link_fd < 0)
		bench_fail("attaching the assign-only program: %s", strerror(errno));
}

/* The netns the cases are made from (the process's private one). */
static int home_netns = -1;

/* A new server socket of a case, from inside its netns: bound to the
 * target for the cases without a program that selects a socket, else to
 * an ephemeral port on 127.0.0.1. */
static int new_server(int which, bool udp)
{
	enum case_kind kind = case_defs[which].kind;
	bool bound = kind == K_DIRECT || kind == K_FLOOR;

	return server_socket(udp ? SOCK_DGRAM : SOCK_STREAM, bound ? TARGET_ADDR : "127.0.0.1",
			     bound ? (udp ? UDP_PORT : TCP_PORT) : 0);
}

/* Puts a case's server of one protocol where its program looks. */
static void register_server(int which, bool udp)
{
	struct netcase *c = &cases[which];
	uint32_t assign_slot = udp; /* assign only's SOCKMAP: TCP 0, UDP 1 */
	int server = udp ? c->udp_server : c->tcp_server;
	uint64_t fd = (uint64_t)server;

	switch (case_defs[which].kind) {
	case K_ASSIGN:
		if (bpf_map_update_elem(bpf_map__fd(c->assign->maps.sockets), &assign_slot, &fd,
					BPF_ANY))
			bench_fail("registering in the assign-only SOCKMAP: %s", strerror(errno));
		break;
	case K_SKLOOKUP:
		register_label(&c->d, udp ? "dns" : "web", server);
		break;
	case K_LPM:
		baseline_register(&c->lpm, skl_socket_slot(udp ? DNS_LABEL : WEB_LABEL, udp, 0),
				  server);
		break;
	default: /* bound to the target: the kernel's own lookup finds it */
		break;
	}
}

/* Called with the thread inside the process's private netns: each case
 * gets a netns of its own, made from there. */
static void setup_case(int which)
{
	const struct case_def *def = &case_defs[which];
	struct netcase *c = &cases[which];

	skl_dispatcher_init(&c->d);
	c->prog_fd = c->link_fd = -1;
	if (unshare(CLONE_NEWNET))
		bench_fail("unshare(CLONE_NEWNET): %s", strerror(errno));
	bench_sh("ip link set lo up && ip route add local 198.51.100.0/24 dev lo");
	c->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (c->netns_fd < 0)
		bench_fail("opening the netns: %s", strerror(errno));
	c->tcp_server = new_server(which, false);
	c->udp_server = new_server(which, true);
	c->udp_client = udp_client_socket();
	if (def->kind == K_FLOOR)
		attach_floor(c);
	else if (def->kind == K_ASSIGN)
		attach_assign(c);
	else if (def->kind == K_SKLOOKUP)
		attach_dispatcher(c, def->bindings);
	else if (def->kind == K_LPM)
		attach_lpm(c, def->bindings);
	register_server(which, false);
	register_server(which, true);
	enter(home_netns);
}

/* New sockets of one protocol for a case (a server, and for UDP the
 * client's), the server registered where the case's program looks. Where
 * the kernel puts a socket moves the cost of everything through it by up
 * to 2 %, for as long as the socket lives: with the same sockets for the
 * whole run, that put a case's median 1-2 % off from one run to the next.
 * New ones every round make it round-to-round noise, which the median over
 * rounds takes out. */
static void renew_sockets(int which, bool udp)
{
	struct netcase *c = &cases[which];
	int *server = udp ? &c->udp_server : &c->tcp_server;

	enter(c->netns_fd);
	close(*server); /* first: direct's new one binds the same port */
	*server = new_server(which, udp);
	if (udp) {
		close(c->udp_client);
		c->udp_client = udp_client_socket();
	}
	register_server(which, udp);
	enter(home_netns);
}

/* On loopback the whole receive path, sk_lookup included, runs in softirq
 * on the sending CPU, in the client thread's context (this kernel charges
 * softirq time to the task it interrupts), so the client's CPU time is the
 * cost of the traffic, free of time other tenants of the machine take. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A phase: every case takes turns in it. One client thread sends a turn's
 * traffic to one case, then to the next, in an order shuffled every cycle;
 * its CPU time is read around each turn and charged to the case. A turn
 * lasts about half a millisecond, so whatever the shared machine does falls
 * on every case alike. One server thread takes from every case's socket in
 * turn, spinning on non-blocking calls: sleeping in poll() would make every
 * connection a cross-CPU wakeup, which on a VM costs more than everything
 * measured here.
 */
#define TCP_TURN_CONNECTIONS 32
#define UDP_TURN_BATCHES 8 /* sendmmsg calls of UDP_BATCH datagrams */

struct tally {
	uint64_t cpu_ns[N_CASES];  /* the client's CPU time in the case's turns */
	uint64_t wall_ns[N_CASES]; /* wall-clock time of those turns */
	uint64_t sent[N_CASES];    /* connections made / datagrams sent */
	uint64_t served[N_CASES];  /* connections accepted / datagrams received */
};

struct phase {
	bool udp;
	atomic_bool stop;
	/* Set once the client has returned: the server then takes what is
	 * still queued and ends, so "served" counts everything delivered to a
	 * socket, whose cost is in the client's CPU time. */
	atomic_bool client_gone;
	struct tally t; /* the client's; served is copied in at the end */
	const char *error;
	int error_errno;
	/* The server's, on lines of their own: the client's CPU time would
	 * otherwise pay for the line going back and forth. */
	_Alignas(64) uint64_t served[N_CASES];
};

/* The order of the cases in one cycle: a shuffle, so no case always
 * follows the same one (the one before leaves its data in the caches). */
static void shuffled_cases(uint64_t *rng, int order[N_CASES])
{
	for (int c = 0; c < N_CASES; c++)
		order[c] = c;
	for (int c = N_CASES - 1; c > 0; c--) {
		int j, tmp;

		*rng ^= *rng << 13; /* xorshift64 */
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		j = (int)(*rng % (uint64_t)(c + 1));
		tmp = order[c];
		order[c] = order[j];
		order[j] = tmp;
	}
}

/* TCP_TURN_CONNECTIONS connections to case c, each reset on close: no
 * TIME_WAIT, so source ports never run out. NULL, or what failed. */
static const char *tcp_turn(int c, struct tally *t)
{
	struct sockaddr_in dst = target(TCP_PORT);
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };

	for (int i = 0; i < TCP_TURN_CONNECTIONS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return "client socket";
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst))) {
			close(fd);
			return "SO_LINGER";
		}
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0) {
			t->sent[c]++;
		} else if (errno != EAGAIN && errno != ECONNREFUSED && errno != ETIMEDOUT) {
			close(fd);
			return "connect";
		}
		close(fd);
	}
	return NULL;
}

/* UDP_TURN_BATCHES batches of datagrams to case c. */
static const char *udp_turn(int c, struct mmsghdr *msgs, struct tally *t)
{
	for (int b = 0; b < UDP_TURN_BATCHES; b++) {
		int n = sendmmsg(cases[c].udp_client, msgs, UDP_BATCH, 0);

		if (n < 0 && errno != EAGAIN && errno != ECONNREFUSED)
			return "sendmmsg";
		if (n > 0)
			t->sent[c] += (uint64_t)n;
	}
	return NULL;
}

static void *client_thread(void *arg)
{
	struct phase *ph = arg;
	static char payload[UDP_PAYLOAD];
	struct iovec iov = { payload, sizeof(payload) };
	struct mmsghdr msgs[UDP_BATCH];
	uint64_t rng = bench_now_ns() | 1;

	bench_pin_cpu(CLIENT_CPU);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < UDP_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load_explicit(&ph->stop, memory_order_relaxed)) {
		int order[N_CASES];

		shuffled_cases(&rng, order);
		for (int k = 0; k < N_CASES; k++) {
			int c = order[k];
			uint64_t cpu0, wall0;
			const char *err;

			/* A TCP socket belongs to the netns it is made in; the
			 * switch is not timed. */
			if (!ph->udp)
				enter(cases[c].netns_fd);
			cpu0 = thread_cpu_ns();
			wall0 = bench_now_ns();
			err = ph->udp ? udp_turn(c, msgs, &ph->t) : tcp_turn(c, &ph->t);
			ph->error_errno = errno; /* before the clocks touch it */
			ph->t.wall_ns[c] += bench_now_ns() - wall0;
			ph->t.cpu_ns[c] += thread_cpu_ns() - cpu0;
			if (err) {
				ph->error = err;
				return NULL;
			}
		}
	}
	return NULL;
}

/* What is waiting on case c's server socket, at most UDP_BATCH. */
static uint64_t take_connections(int c)
{
	uint64_t n = 0;
	int fd;

	while (n < UDP_BATCH && (fd = accept4(cases[c].tcp_server, NULL, NULL,
					      SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		close(fd);
		n++;
	}
	return n;
}

static uint64_t take_datagrams(int c, struct mmsghdr *msgs)
{
	int n = recvmmsg(cases[c].udp_server, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);

	return n > 0 ? (uint64_t)n : 0;
}

/* Once the client is gone (read before the sweep: all its traffic was
 * queued before it returned), a sweep that finds nothing ends it. */
static void *server_thread(void *arg)
{
	struct phase *ph = arg;
	static char bufs[UDP_BATCH][64];
	struct iovec iov[UDP_BATCH];
	struct mmsghdr msgs[UDP_BATCH];

	bench_pin_cpu(SERVER_CPU);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < UDP_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		bool gone = atomic_load_explicit(&ph->client_gone, memory_order_acquire);
		uint64_t got = 0;

		for (int c = 0; c < N_CASES; c++) {
			uint64_t n = ph->udp ? take_datagrams(c, msgs) : take_connections(c);

			ph->served[c] += n;
			got += n;
		}
		if (gone && !got)
			return NULL;
	}
}

static const char *proto_name(bool udp)
{
	return udp ? "UDP" : "TCP";
}

/* Every case for its share of ms milliseconds. */
static void run_phase_once(bool udp, int ms, struct tally *t)
{
	struct phase ph;
	pthread_t client, server;

	memset(&ph, 0, sizeof(ph));
	ph.udp = udp;
	if (pthread_create(&server, NULL, server_thread, &ph) ||
	    pthread_create(&client, NULL, client_thread, &ph))
		bench_fail("pthread_create");
	usleep((useconds_t)ms * 1000);
	atomic_store(&ph.stop, true);
	pthread_join(client, NULL);
	atomic_store_explicit(&ph.client_gone, true, memory_order_release);
	pthread_join(server, NULL);
	if (ph.error)
		bench_fail("%s: %s failed: %s", proto_name(udp), ph.error,
			   strerror(ph.error_errno));
	*t = ph.t;
	memcpy(t->served, ph.served, sizeof(t->served));
}

/* A phase in which every case served something. One that did not (the
 * machine kept the server off its CPU) runs again; three in a row mean
 * the case is broken. */
static void run_phase(bool udp, int ms, struct tally *t)
{
	for (int attempt = 0;; attempt++) {
		int empty = -1;

		run_phase_once(udp, ms, t);
		for (int c = 0; c < N_CASES; c++)
			if (!t->served[c] || !t->cpu_ns[c])
				empty = c;
		if (empty < 0)
			return;
		if (attempt == 2)
			bench_fail("%s, %s: the server received nothing in three phases in a row: "
				   "check the dispatcher", case_defs[empty].name, proto_name(udp));
		fprintf(stderr, "traffic: %s, %s: the server received nothing (machine busy?); "
			"running the phase again\n", case_defs[empty].name, proto_name(udp));
	}
}

/* One measurement of one case. */
struct rate {
	double wall;     /* served per second of the case's turns */
	double cpu;      /* served per second of the client's CPU time in them */
	double received; /* served / sent */
};

/* rate[case][round] */
typedef struct rate rates[N_CASES][BENCH_MAX_ROUNDS];

/* A round: new sockets, then one phase of N_CASES * ms. */
static void run_rounds(bool udp, int rounds, int ms, rates rate)
{
	struct tally t;

	run_phase_once(udp, ms, &t); /* warm-up, not counted */
	for (int r = 0; r < rounds; r++) {
		for (int c = 0; c < N_CASES; c++)
			renew_sockets(c, udp);
		run_phase(udp, N_CASES * ms, &t);
		for (int c = 0; c < N_CASES; c++)
			rate[c][r] = (struct rate){
				.wall = (double)t.served[c] * 1e9 / (double)t.wall_ns[c],
				.cpu = (double)t.served[c] * 1e9 / (double)t.cpu_ns[c],
				.received = t.sent[c] ? (double)t.served[c] / (double)t.sent[c] : 0,
			};
	}
}

/* The program's own time per run in this traffic, from the kernel's run-time
 * statistics (BPF_ENABLE_STATS), per case with a program: what a lookup
 * costs once the rest of the network stack has run between two of them
 * (BPF_PROG_TEST_RUN repeats one lookup in a warm cache). Measured in rounds
 * of their own after the rates: the statistics add a clock read to every run
 * of every program, which would lower the rates. ns[case][round]. */
typedef double run_costs[N_CASES][BENCH_MAX_ROUNDS];

static int case_prog_fd(const struct netcase *c, enum case_kind kind)
{
	switch (kind) {
	case K_FLOOR:
		return c->prog_fd;
	case K_ASSIGN:
		return bpf_program__fd(c->assign->progs.assign_only);
	case K_SKLOOKUP:
		return c->d.prog_fd;
	case K_LPM:
		return c->lpm.prog_fd;
	default:
		return -1;
	}
}

/* *runs and *ns so far of a program. */
static void prog_run_totals(int prog_fd, uint64_t *runs, uint64_t *ns)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		bench_fail("reading a program's statistics: %s", strerror(errno));
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
}

static void run_cost_rounds(int rounds, int ms, run_costs cost)
{
	int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	uint64_t runs[N_CASES][2], ns[N_CASES][2];
	struct tally t;

	if (stats < 0)
		bench_fail("BPF_ENABLE_STATS: %s", strerror(errno));
	for (int r = 0; r < rounds; r++) {
		for (int c = 0; c < N_CASES; c++)
			renew_sockets(c, true);
		for (int c = C_DIRECT + 1; c < N_CASES; c++)
			prog_run_totals(case_prog_fd(&cases[c], case_defs[c].kind), &runs[c][0],
					&ns[c][0]);
		run_phase(true, N_CASES * ms, &t);
		for (int c = C_DIRECT + 1; c < N_CASES; c++) {
			prog_run_totals(case_prog_fd(&cases[c], case_defs[c].kind), &runs[c][1],
					&ns[c][1]);
			if (runs[c][1] == runs[c][0])
				bench_fail("%s: the program did not run", case_defs[c].name);
			cost[c][r] = (double)(ns[c][1] - ns[c][0]) / (double)(runs[c][1] - runs[c][0]);
		}
	}
	close(stats);
}

/* Median over rounds of cost[c] - cost[base] (same round). */
static double median_cost_above(run_costs cost, int c, int base, int rounds)
{
	double x[BENCH_MAX_ROUNDS] = { 0 };

	for (int r = 0; r < rounds; r++)
		x[r] = cost[c][r] - cost[base][r];
	return bench_median(x, rounds);
}

static void report_cost(const char *figure, const char *what, run_costs cost, int rounds)
{
	double assign_above_empty = median_cost_above(cost, C_ASSIGN, C_FLOOR, rounds);
	char name[200], value[64], baseline[64];

	printf("\n%s, %d rounds: the program's own time per run in this traffic (kernel "
	       "run-time statistics, which add a clock read to each run): medians, and medians "
	       "over rounds of the difference to the empty program and to assign only\n",
	       what, rounds);
	printf("  %-34s %10s %14s %14s\n", "case", "ns/run", "- empty", "- assign only");
	for (int c = C_FLOOR; c < N_CASES; c++) {
		double x[BENCH_MAX_ROUNDS] = { 0 };
		double above_empty = median_cost_above(cost, c, C_FLOOR, rounds);
		double above_assign = median_cost_above(cost, c, C_ASSIGN, rounds);

		for (int r = 0; r < rounds; r++)
			x[r] = cost[c][r];
		printf("  %-34s %10.1f %+14.1f %+14.1f\n", case_defs[c].name,
		       bench_median(x, rounds), above_empty, above_assign);
		if (c < C_SKL_2)
			continue;
		snprintf(name, sizeof(name), "%s %s, the program's time per run in this traffic "
			 "above assign only, %s", figure, what, case_defs[c].name);
		snprintf(value, sizeof(value), "%.1f ns", above_assign);
		snprintf(baseline, sizeof(baseline), "%.1f ns assign only above empty",
			 assign_above_empty);
		bench_result(name, value, baseline, above_empty / assign_above_empty, "-",
			     BENCH_INFO);
	}
}

enum view { WALL, CPU };

static double pick(const struct rate *r, enum view v)
{
	return v == WALL ? r->wall : r->cpu;
}

static double median_rate(rates rate, int c, int rounds, enum view v)
{
	double x[BENCH_MAX_ROUNDS] = { 0 };

	for (int r = 0; r < rounds; r++)
		x[r] = pick(&rate[c][r], v);
	return bench_median(x, rounds);
}

/* Median over rounds of case / direct in the same round; *min the worst. */
static double median_ratio(rates rate, int c, int rounds, enum view v,
			   double *min)
{
	double x[BENCH_MAX_ROUNDS] = { 0 };

	for (int r = 0; r < rounds; r++)
		x[r] = pick(&rate[c][r], v) / pick(&rate[C_DIRECT][r], v);
	*min = bench_min(x, rounds);
	return bench_median(x, rounds);
}

static void report(const char *figure, const char *what, rates rate, int rounds,
		   double target_2, double target_100k, bool beat_lpm)
{
	char name[160], value[64], baseline[64], tgt[16];
	double target;
	double direct_wall = median_rate(rate, C_DIRECT, rounds, WALL);
	double direct_cpu = median_rate(rate, C_DIRECT, rounds, CPU);

	printf("\n%s, %d rounds: medians; ratio = median over rounds of case / direct in the "
	       "same phase (worst round in brackets)\n", what, rounds);
	printf("  %-30s %10s %15s %10s %15s %10s %9s\n", "case", "per s", "ratio",
	       "per CPU-s", "ratio", "ns/CPU", "received");
	for (int c = 0; c < N_CASES; c++) {
		double wall = median_rate(rate, c, rounds, WALL), cpu = median_rate(rate, c, rounds, CPU);
		double wmin, cmin, wratio = median_ratio(rate, c, rounds, WALL, &wmin);
		double cratio = median_ratio(rate, c, rounds, CPU, &cmin), recv[BENCH_MAX_ROUNDS];
		bool ours = case_defs[c].kind == K_SKLOOKUP;

		for (int r = 0; r < rounds; r++)
			recv[r] = rate[c][r].received;
		printf("  %-30s %10.0f %6.3f (%.3f) %10.0f %6.3f (%.3f) %+10.0f %8.1f%%\n",
		       case_defs[c].name, wall, wratio, wmin, cpu, cratio, cmin,
		       1e9 / cpu - 1e9 / direct_cpu, 100 * bench_median(recv, rounds));
		if (c == C_DIRECT)
			continue;
		target = c == C_SKL_2 ? target_2 : target_100k;
		snprintf(tgt, sizeof(tgt), ">= %.2f", target);
		snprintf(name, sizeof(name), "%s %s per client CPU-second, %s", figure, what,
			 case_defs[c].name);
		snprintf(value, sizeof(value), "%.0f/s", cpu);
		snprintf(baseline, sizeof(baseline), "%.0f/s direct", direct_cpu);
		bench_result(name, value, baseline, cratio, ours ? tgt : "-",
			     ours ? bench_at_least(cratio, target) : BENCH_INFO);
		if (!ours)
			continue;
		snprintf(name, sizeof(name), "%s %s per wall second, %s", figure, what,
			 case_defs[c].name);
		snprintf(value, sizeof(value), "%.0f/s", wall);
		snprintf(baseline, sizeof(baseline), "%.0f/s direct", direct_wall);
		bench_result(name, value, baseline, wratio, "-", BENCH_INFO);
	}
	/* With 100k bindings, against the simple design in the same run. */
	{
		double x[BENCH_MAX_ROUNDS], ratio;

		for (int r = 0; r < rounds; r++)
			x[r] = rate[C_SKL_100K][r].cpu / rate[C_LPM_100K][r].cpu;
		ratio = bench_median(x, rounds);
		snprintf(name, sizeof(name), "%s %s per client CPU-second, sklookup / LPM baseline, "
			 "100k bindings", figure, what);
		snprintf(value, sizeof(value), "%.3f of direct",
			 median_ratio(rate, C_SKL_100K, rounds, CPU, &x[0]));
		snprintf(baseline, sizeof(baseline), "%.3f LPM",
			 median_ratio(rate, C_LPM_100K, rounds, CPU, &x[0]));
		bench_result(name, value, baseline, ratio, beat_lpm ? ">= 1.00" : "-",
			     beat_lpm ? bench_at_least(ratio, 1.0) : BENCH_INFO);
	}
}

int main(int argc, char **argv)
{
	static rates tcp, udp;
	static run_costs udp_cost;
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	int ms = argc > 2 ? atoi(argv[2]) : DEFAULT_PHASE_MS;

	bench_init("traffic");
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS || ms < 10)
		bench_fail("usage: traffic [rounds 1..%d [ms per case >= 10]]", BENCH_MAX_ROUNDS);
	bench_private_netns();
	home_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_netns < 0)
		bench_fail("opening the netns: %s", strerror(errno));
	bench_on_cleanup(close_cases);
	for (int c = 0; c < N_CASES; c++)
		setup_case(c);
	printf("figures 1 and 2: loopback traffic to %s, %d ms per case per round, "
	       "client on CPU %d, server on CPU %d\n", TARGET_ADDR, ms, CLIENT_CPU, SERVER_CPU);
	run_rounds(false, rounds, ms, tcp);
	run_rounds(true, rounds, ms, udp);
	run_cost_rounds(rounds, ms, udp_cost);
	report("1", "TCP connect+accept", tcp, rounds, 0.97, 0.97, false);
	report("2", "UDP datagrams received", udp, rounds, 0.97, 0.95, true);
	report_cost("2", "UDP datagrams received", udp_cost, rounds);
	close(home_netns);
	return 0;
}
