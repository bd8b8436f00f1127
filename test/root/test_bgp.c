/*
 * A cluster on one machine: the range follows its pod from node to node,
 * announced by real BGP daemons. A "router" netns (the upstream) and two
 * "node" netns, each node with its own bridge, host-local pod subnet and a
 * pod made by the real chain bridge + host-local + sklookup through libcni
 * (build/test/cniclient). Debian's BIRD runs in every node and in the
 * router, each with its own config, control socket and log in a scratch
 * directory; a node's BIRD learns from the kernel only the routes of the
 * plugin's protocol (173) — with examples/bird/sklookup-routes.conf,
 * included verbatim — and announces them to the router over eBGP, one
 * session per family.
 *
 *   router r1 198.51.100.129/30 2001:db8:ff:1::1 -- .130/30 ::2 node1 pods 198.51.100.0/26 2001:db8:1::/64
 *          r2 198.51.100.133/30 2001:db8:ff:2::1 -- .134/30 ::2 node2 pods 198.51.100.64/26 2001:db8:2::/64
 *
 * A client in the router reaches the pod's one socket on many addresses and
 * ports of 203.0.113.0/24 and 2001:db8:200::/64 through node 1; DEL on
 * node 1 withdraws the routes at the router; ADD on node 2 brings them back
 * through node 2, and the same probes reach the pod there. The figures are
 * printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cni_fixture.h"
#include "dispatch_fixture.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"
#include "testbin.h"
#include "testnet.h"

#define BIRD "/usr/sbin/bird"
#define BIRD_SNIPPET "examples/bird/sklookup-routes.conf"
#define NETWORK "sklt-bgp"
#define RANGE "203.0.113.0/24"
#define RANGE6 "2001:db8:200::/64"
#define N_NODES 2
#define PROBE_TIMEOUT_MS 300
/* Bounds: BGP sessions come up, and a route moves, well within these. */
#define SESSIONS_MS 15000
#define CONVERGE_MS 10000

struct node {
	char netns[64], netns_path[128];
	char pod[64], pod_path[128];
	char root[256]; /* the node's bpffsRoot */
	char conflist[PATH_MAX], cache[PATH_MAX], ipam[PATH_MAX];
	const char *uplink, *router_addr, *router_addr6; /* the router's end of the link */
	const char *addr, *addr6, *subnet, *subnet6, *asn;
	int server; /* the pod's socket, registered for "web" */
};

struct cluster {
	char router[64], router_path[128];
	char dir[128]; /* configs, control sockets, logs, CNI files */
	struct node nodes[N_NODES];
	pid_t bird[N_NODES + 1]; /* nodes, then the router; 0: not running */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int open_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Starts argv in the netns at path, stdout and stderr appended to log;
 * returns its pid. */
static pid_t spawn_in(const char *netns_path, char *const argv[], const char *log)
{
	int ns = open_netns(netns_path);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		/* A daemon does not outlive a test that was killed. */
		if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() == 1 ||
		    setns(ns, CLONE_NEWNET) || dup2(fd, STDOUT_FILENO) < 0 ||
		    dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(ns);
	return pid;
}

static int wait_status(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The libcni client on a node: verb for the node's pod, in the node's netns
 * (the bridge plugin and sklookup's host routes act there). */
static int cniclient(const struct cluster *c, const struct node *n, const char *verb,
		     const char *cid)
{
	char cni_path[PATH_MAX + 16], client[PATH_MAX], log[PATH_MAX + 16];
	char *argv[] = { client, "--cni-path", cni_path, "--cache-dir", (char *)n->cache,
			 (char *)verb, (char *)n->conflist, (char *)cid,
			 strcmp(verb, "del") ? (char *)n->pod_path : "", "eth0", NULL };
	int status;

	snprintf(cni_path, sizeof(cni_path), "/usr/lib/cni:%s", testbin_dir());
	testbin_path(client, sizeof(client), "test/cniclient");
	snprintf(log, sizeof(log), "%s/cni.log", c->dir);
	status = wait_status(spawn_in(n->netns_path, argv, log));
	if (status)
		testnet_run("echo 'cniclient %s %s: exit %d' >&2; cat %s >&2", verb, cid, status, log);
	return status;
}

static const char *cid_of(int node)
{
	return node ? "cid-bgp-n2" : "cid-bgp-n1";
}

static void write_file(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
}

static void write_conflist(const struct node *n)
{
	write_file(n->conflist,
		   "{\"cniVersion\": \"1.0.0\", \"name\": \"" NETWORK "\", \"plugins\": ["
		   " {\"type\": \"bridge\", \"bridge\": \"sklt-bgpbr\", \"isGateway\": true,"
		   "  \"ipMasq\": false, \"ipam\": {\"type\": \"host-local\","
		   "  \"ranges\": [[{\"subnet\": \"%s\"}], [{\"subnet\": \"%s\"}]],"
		   "  \"routes\": [{\"dst\": \"0.0.0.0/0\"}, {\"dst\": \"::/0\"}],"
		   "  \"dataDir\": \"%s\"}},"
		   " {\"type\": \"sklookup\", \"bpffsRoot\": \"%s\","
		   "  \"routes\": {\"pod\": true, \"host\": true},"
		   "  \"bindings\": [{\"label\": \"web\", \"protocol\": \"tcp\","
		   "   \"prefix\": \"" RANGE "\", \"ports\": [\"80\", \"443\", \"8000-8999\"]},"
		   "   {\"label\": \"web\", \"protocol\": \"tcp\","
		   "   \"prefix\": \"" RANGE6 "\", \"ports\": [\"80\", \"443\", \"8000-8999\"]}]}]}",
		   n->subnet, n->subnet6, n->ipam, n->root);
}

/* A node's BIRD: the snippet from examples/ as it is, and one eBGP session
 * to the router with short timers so that a test run is quick. */
static void write_node_bird(const struct cluster *c, const struct node *n, const char *snippet,
			    int i)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/bird-node%d.conf", c->dir, i + 1);
	write_file(path,
		   "log \"%s/bird-node%d.log\" all;\n"
		   "router id %s;\n"
		   "include \"%s\";\n"
		   "protocol device { }\n"
		   "protocol bgp upstream {\n"
		   "\tlocal %s as %s;\n"
		   "\tneighbor %s as 64600;\n"
		   "\thold time 3; keepalive time 1; connect retry time 1;\n"
		   "\tconnect delay time 1; error wait time 1, 2;\n"
		   "\tipv4 { table sklookup4; import none; export all; };\n"
		   "}\n"
		   "protocol bgp upstream6 {\n"
		   "\tlocal %s as %s;\n"
		   "\tneighbor %s as 64600;\n"
		   "\thold time 3; keepalive time 1; connect retry time 1;\n"
		   "\tconnect delay time 1; error wait time 1, 2;\n"
		   "\tipv6 { table sklookup6; import none; export all; };\n"
		   "}\n",
		   c->dir, i + 1, n->addr, snippet, n->addr, n->asn, n->router_addr, n->addr6,
		   n->asn, n->router_addr6);
}

/* The router's BIRD: a session to each node, what it learns into its
 * kernel table (proto bird). */
static void write_router_bird(const struct cluster *c)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bird-router.conf", c->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"log \"%s/bird-router.log\" all;\n"
		"router id 198.51.100.129;\n"
		"protocol device { }\n"
		"protocol kernel { ipv4 { import none; export all; }; }\n"
		"protocol kernel { ipv6 { import none; export all; }; }\n",
		c->dir);
	for (int i = 0; i < N_NODES; i++)
		fprintf(f,
			"protocol bgp node%d {\n"
			"\tlocal %s as 64600;\n"
			"\tneighbor %s as %s;\n"
			"\thold time 3; keepalive time 1; connect retry time 1;\n"
			"\tconnect delay time 1; error wait time 1, 2;\n"
			"\tipv4 { import all; export none; };\n"
			"}\n"
			"protocol bgp node%dv6 {\n"
			"\tlocal %s as 64600;\n"
			"\tneighbor %s as %s;\n"
			"\thold time 3; keepalive time 1; connect retry time 1;\n"
			"\tconnect delay time 1; error wait time 1, 2;\n"
			"\tipv6 { import all; export none; };\n"
			"}\n",
			i + 1, c->nodes[i].router_addr, c->nodes[i].addr, c->nodes[i].asn, i + 1,
			c->nodes[i].router_addr6, c->nodes[i].addr6, c->nodes[i].asn);
	assert_int_equal(fclose(f), 0);
}

static void start_bird(struct cluster *c, int i, const char *netns_path, const char *name)
{
	char conf[PATH_MAX + 32], ctl[PATH_MAX + 32], log[PATH_MAX + 32];
	char *argv[] = { BIRD, "-f", "-c", conf, "-s", ctl, NULL };

	snprintf(conf, sizeof(conf), "%s/bird-%s.conf", c->dir, name);
	snprintf(ctl, sizeof(ctl), "%s/bird-%s.ctl", c->dir, name);
	snprintf(log, sizeof(log), "%s/bird-%s.out", c->dir, name);
	c->bird[i] = spawn_in(netns_path, argv, log);
}

/* Stops a BIRD the test started; 0 when it exited on SIGTERM as it should. */
static int stop_bird(struct cluster *c, int i)
{
	int status;

	if (!c->bird[i])
		return 0;
	kill(c->bird[i], SIGTERM);
	for (int t = 0; t < 300; t++) {
		pid_t got = waitpid(c->bird[i], &status, WNOHANG);

		if (got == c->bird[i]) {
			c->bird[i] = 0;
			return 0;
		}
		usleep(10000);
	}
	kill(c->bird[i], SIGKILL);
	waitpid(c->bird[i], &status, 0);
	c->bird[i] = 0;
	return -1;
}

/* The output of a shell command (trimmed of its final newline). */
static void capture(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void capture(char *out, size_t len, const char *fmt, ...)
{
	char command[1024];
	size_t used = 0;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	p = popen(command, "r");
	assert_non_null(p);
	used = fread(out, 1, len - 1, p);
	out[used] = 0;
	pclose(p);
	while (used && out[used - 1] == '\n')
		out[--used] = 0;
}

/* The router's kernel route to a range: "" when it has none. */
static void router_route(const struct cluster *c, const char *range, char *out, size_t len)
{
	capture(out, len, "ip -n %s %s route show %s", c->router, strchr(range, ':') ? "-6" : "-4",
		range);
}

static int setup(void **state)
{
	static const char *subnets[] = { "198.51.100.0/26", "198.51.100.64/26" };
	static const char *addrs[] = { "198.51.100.130", "198.51.100.134" };
	static const char *router_addrs[] = { "198.51.100.129", "198.51.100.133" };
	static const char *subnets6[] = { "2001:db8:1::/64", "2001:db8:2::/64" };
	static const char *addrs6[] = { "2001:db8:ff:1::2", "2001:db8:ff:2::2" };
	static const char *router_addrs6[] = { "2001:db8:ff:1::1", "2001:db8:ff:2::1" };
	static const char *asns[] = { "64601", "64602" };
	struct cluster *c = calloc(1, sizeof(*c));
	int pid = getpid();

	assert_non_null(c);
	*state = c;
	snprintf(c->router, sizeof(c->router), "sklt-bgp-%d-r", pid);
	snprintf(c->router_path, sizeof(c->router_path), "/var/run/netns/%s", c->router);
	snprintf(c->dir, sizeof(c->dir), "/tmp/sklt-bgp-%d", pid);
	assert_int_equal(mkdir(c->dir, 0700), 0);
	assert_int_equal(testnet_run("ip netns add %s && ip -n %s link set lo up", c->router,
				     c->router),
			 0);
	for (int i = 0; i < N_NODES; i++) {
		struct node *n = &c->nodes[i];

		n->server = -1;
		n->subnet = subnets[i];
		n->addr = addrs[i];
		n->router_addr = router_addrs[i];
		n->subnet6 = subnets6[i];
		n->addr6 = addrs6[i];
		n->router_addr6 = router_addrs6[i];
		n->asn = asns[i];
		n->uplink = i ? "r2" : "r1";
		snprintf(n->netns, sizeof(n->netns), "sklt-bgp-%d-n%d", pid, i + 1);
		snprintf(n->netns_path, sizeof(n->netns_path), "/var/run/netns/%s", n->netns);
		snprintf(n->pod, sizeof(n->pod), "sklt-bgp-%d-p%d", pid, i + 1);
		snprintf(n->pod_path, sizeof(n->pod_path), "/var/run/netns/%s", n->pod);
		snprintf(n->conflist, sizeof(n->conflist), "%s/node%d.conflist", c->dir, i + 1);
		snprintf(n->cache, sizeof(n->cache), "%s/node%d-cache", c->dir, i + 1);
		snprintf(n->ipam, sizeof(n->ipam), "%s/node%d-ipam", c->dir, i + 1);
		assert_int_equal(testnet_bpffs_tmpdir(n->root, sizeof(n->root)), 0);
		assert_int_equal(testnet_run("ip netns add %s && ip -n %s link set lo up", n->netns,
					     n->netns),
				 0);
		assert_int_equal(testnet_run("ip netns add %s && ip -n %s link set lo up", n->pod,
					     n->pod),
				 0);
		/* The node routes between its uplink and its pods' bridge. No
		 * duplicate address detection on the node's and the pod's new
		 * interfaces: it would only add seconds to each ADD. */
		assert_int_equal(testnet_run("nsenter --net=%s sysctl -qw net.ipv4.ip_forward=1 "
					     "net.ipv6.conf.all.forwarding=1 "
					     "net.ipv6.conf.default.accept_dad=0",
					     n->netns_path),
				 0);
		assert_int_equal(testnet_run("nsenter --net=%s sysctl -qw "
					     "net.ipv6.conf.default.accept_dad=0",
					     n->pod_path),
				 0);
		assert_int_equal(
			testnet_run("ip -n %s link add %s type veth peer name uplink netns %s && "
				    "ip -n %s addr add %s/30 dev %s && ip -n %s link set %s up && "
				    "ip -n %s addr add %s/30 dev uplink && ip -n %s link set uplink up",
				    c->router, n->uplink, n->netns, c->router, n->router_addr,
				    n->uplink, c->router, n->uplink, n->netns, n->addr, n->netns),
			0);
		assert_int_equal(testnet_run("ip -n %s addr add %s/64 dev %s nodad && "
					     "ip -n %s addr add %s/64 dev uplink nodad",
					     c->router, n->router_addr6, n->uplink, n->netns,
					     n->addr6),
				 0);
		write_conflist(n);
	}
	return 0;
}

static int teardown(void **state)
{
	struct cluster *c = *state;
	int ret = 0;

	for (int i = 0; i <= N_NODES; i++)
		if (stop_bird(c, i))
			ret = -1;
	for (int i = 0; i < N_NODES; i++) {
		struct node *n = &c->nodes[i];

		if (n->server >= 0)
			close(n->server);
		/* A DEL a failed test skipped: through the chain, so that
		 * nothing of the pod is left on bpffs. */
		if (n->root[0] && cni_dir_entries(n->root) > 0)
			cniclient(c, n, "del", cid_of(i));
		testnet_run("ip netns del %s 2>/dev/null", n->pod);
		testnet_run("ip netns del %s 2>/dev/null", n->netns);
		if (n->root[0] && testnet_rm_rf_bpffs(n->root))
			ret = -1;
	}
	testnet_run("ip netns del %s 2>/dev/null", c->router);
	if (testnet_run("rm -rf %s", c->dir))
		ret = -1;
	free(c);
	return ret;
}

/* ---- the pod's socket and the probes ---- */

/* A dual-stack listener in the node's pod (it serves both families'
 * bindings), registered for "web" through the pins. */
static void register_server(struct node *n, int i)
{
	struct skl_dispatcher d;
	struct skl_err err = { 0 };
	char dir[PATH_MAX];
	uint32_t web;
	int pod = open_netns(n->pod_path), saved;

	assert_int_equal(skl_state_path(dir, sizeof(dir), n->root, NETWORK, cid_of(i), "eth0", &err),
			 0);
	assert_int_equal(skl_netns_enter(pod, &saved, &err), 0);
	n->server = fixture_server(SOCK_STREAM, "::", 0, false);
	if (skl_dispatcher_open(&d, dir, &err) || skl_label_lookup(&d, "web", &web, &err) ||
	    skl_socket_register(&d, web, n->server, &err))
		fail_msg("register: %s", err.msg);
	skl_dispatcher_close(&d);
	assert_int_equal(skl_netns_leave(saved, &err), 0);
	close(pod);
}

/* The probes: 16 addresses across each range, 4 ports of the binding. */
#define N_PROBE_ADDRS 16
#define N_PROBE_PORTS 4
#define N_PROBES (2 * N_PROBE_ADDRS * N_PROBE_PORTS)
static const uint16_t probe_ports[N_PROBE_PORTS] = { 80, 443, 8000, 8999 };

static void probe_addr(int v6, int k, char *out, size_t len)
{
	if (v6)
		snprintf(out, len, "2001:db8:200:0:%x::%x", 0x1111 * k, k + 1);
	else
		snprintf(out, len, "203.0.113.%d", 1 + 16 * k);
}

static bool wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, PROBE_TIMEOUT_MS) == 1 && (p.revents & events);
}

/* The address of a socket address, IPv4 (also v4-mapped) in the first 4
 * bytes; its family in *family. */
static void plain_addr(const struct sockaddr_storage *ss, int *family, uint8_t out[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	memset(out, 0, 16);
	*family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (!memcmp(&in6->sin6_addr, mapped, sizeof(mapped))) {
		*family = AF_INET;
		memcpy(out, (const uint8_t *)&in6->sin6_addr + 12, 4);
	} else {
		memcpy(out, &in6->sin6_addr, 16);
	}
}

/* One TCP connection from the calling thread's netns to addr:port: true
 * when server accepted it, with addr as its local address. */
static bool probe(const char *addr, uint16_t port, int server)
{
	struct sockaddr_storage dst, local;
	socklen_t len = fixture_addr(addr, port, &dst), llen = sizeof(local);
	int s = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e = 0, conn;
	socklen_t elen = sizeof(e);
	bool answered = false;

	assert_true(s >= 0);
	if ((connect(s, (struct sockaddr *)&dst, len) == 0 || errno == EINPROGRESS) &&
	    wait_fd(s, POLLOUT) && !getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &elen) && !e &&
	    server >= 0 && wait_fd(server, POLLIN)) {
		conn = accept4(server, NULL, NULL, SOCK_CLOEXEC);
		if (conn >= 0 && !getsockname(conn, (struct sockaddr *)&local, &llen)) {
			uint8_t a[16], b[16];
			int fa, fb;

			plain_addr(&dst, &fa, a);
			plain_addr(&local, &fb, b);
			answered = fa == fb && !memcmp(a, b, sizeof(a));
		}
		if (conn >= 0)
			close(conn);
	}
	close(s);
	return answered;
}

/* One probe from the router. */
static bool probe_from_router(const struct cluster *c, const char *addr, uint16_t port,
			      int server)
{
	struct skl_err err = { 0 };
	int ns = open_netns(c->router_path), saved;
	bool answered;

	assert_int_equal(skl_netns_enter(ns, &saved, &err), 0);
	answered = probe(addr, port, server);
	assert_int_equal(skl_netns_leave(saved, &err), 0);
	close(ns);
	return answered;
}

/* Every probe from the router; returns how many server answered. */
static int probe_all(const struct cluster *c, int server)
{
	struct skl_err err = { 0 };
	int ns = open_netns(c->router_path), saved, answered = 0;
	char addr[64];

	assert_int_equal(skl_netns_enter(ns, &saved, &err), 0);
	for (int v6 = 0; v6 < 2; v6++)
		for (int k = 0; k < N_PROBE_ADDRS; k++)
			for (int p = 0; p < N_PROBE_PORTS; p++) {
				probe_addr(v6, k, addr, sizeof(addr));
				answered += probe(addr, probe_ports[p], server);
			}
	assert_int_equal(skl_netns_leave(saved, &err), 0);
	close(ns);
	return answered;
}

/* ---- waiting for the daemons ---- */

/* What the daemons and the kernel say, for a failure's diagnosis. */
static void dump_state(const struct cluster *c)
{
	fflush(NULL);
	testnet_run("for d in node1 node2 router; do echo \"== bird $d\"; "
		    "/usr/sbin/birdc -s %s/bird-$d.ctl show protocols all; "
		    "/usr/sbin/birdc -s %s/bird-$d.ctl show route all table all; "
		    "tail -20 %s/bird-$d.log; done >&2 2>&1",
		    c->dir, c->dir, c->dir);
	testnet_run("for n in %s %s %s; do echo \"== routes $n\"; ip -n $n route; ip -n $n -6 route; "
		    "done >&2",
		    c->router, c->nodes[0].netns, c->nodes[1].netns);
}

static void wait_sessions(const struct cluster *c)
{
	char out[4096];
	double start = now_ms();

	while (now_ms() - start < SESSIONS_MS) {
		int up = 0;

		capture(out, sizeof(out), "/usr/sbin/birdc -s %s/bird-router.ctl show protocols 2>&1",
			c->dir);
		for (const char *p = out; (p = strstr(p, "Established")); p++)
			up++;
		if (up == 2 * N_NODES)
			return;
		usleep(50000);
	}
	dump_state(c);
	fail_msg("the router's BGP sessions did not come up within %d ms:\n%s", SESSIONS_MS, out);
}

/* Polls the router's kernel routes to both ranges until each contains
 * want ("" for none); the time each took in ms, fails after CONVERGE_MS. */
static void wait_router_routes(const struct cluster *c, const char *want, double since,
			       double took[2])
{
	static const char *ranges[] = { RANGE, RANGE6 };
	char route[512];

	took[0] = took[1] = -1;
	while (took[0] < 0 || took[1] < 0) {
		for (int v6 = 0; v6 < 2; v6++) {
			if (took[v6] >= 0)
				continue;
			router_route(c, ranges[v6], route, sizeof(route));
			if (want[0] ? strstr(route, want) != NULL : route[0] == 0)
				took[v6] = now_ms() - since;
			else if (now_ms() - since > CONVERGE_MS && (dump_state(c), true))
				fail_msg("the router's route to %s is \"%s\", not \"%s\" after %d ms",
					 ranges[v6], route, want[0] ? want : "(none)", CONVERGE_MS);
		}
		usleep(1000);
	}
}

/* Only the plugin's routes (protocol 173) leave a node. */
static void assert_router_learns_only_the_ranges(const struct cluster *c)
{
	char out[1024];

	capture(out, sizeof(out), "ip -n %s -4 route show proto bird", c->router);
	if (strchr(out, '\n') || strncmp(out, RANGE " via", strlen(RANGE " via")))
		fail_msg("the router learnt more or less than " RANGE ":\n%s", out);
	capture(out, sizeof(out), "ip -n %s -6 route show proto bird", c->router);
	if (strchr(out, '\n') || strncmp(out, RANGE6 " via", strlen(RANGE6 " via")))
		fail_msg("the router learnt more or less than " RANGE6 ":\n%s", out);
}

/* Nothing of the pod's attachment is left on the node: no route of the
 * plugin's (host or pod side), no state, no program attached. */
static void assert_node_clean(const struct node *n)
{
	char out[1024];

	capture(out, sizeof(out),
		"ip -n %s route show proto 173; ip -n %s -6 route show proto 173; "
		"ip -n %s route show table all proto 173; ip -n %s -6 route show table all proto 173",
		n->netns, n->netns, n->pod, n->pod);
	assert_string_equal(out, "");
	assert_int_equal(cni_dir_entries(n->root), 0);
	assert_int_equal(cni_prog_count_settled(n->pod_path, 0), 0);
}

/* ---- the test ---- */

static void range_follows_pod(void **state)
{
	struct cluster *c = *state;
	struct node *n1 = &c->nodes[0], *n2 = &c->nodes[1];
	char snippet[PATH_MAX], addr[64];
	double t, withdrawn[2], announced[2] = { -1, -1 }, answered[2] = { -1, -1 }, added_ms, ignored[2];
	int before, between, after;

	if (access(BIRD, X_OK))
		fail_msg(BIRD " is missing: install bird2 (scripts/install-deps.sh)");
	if (!realpath(BIRD_SNIPPET, snippet))
		fail_msg(BIRD_SNIPPET ": %s (run the suite from the repository's root)",
			 strerror(errno));
	for (int i = 0; i < N_NODES; i++)
		write_node_bird(c, &c->nodes[i], snippet, i);
	write_router_bird(c);
	start_bird(c, 0, n1->netns_path, "node1");
	start_bird(c, 1, n2->netns_path, "node2");
	start_bird(c, N_NODES, c->router_path, "router");
	wait_sessions(c);

	/* The pod on node 1: the ranges are announced from there, and only
	 * they: routes of other protocols on the node stay out. */
	assert_int_equal(cniclient(c, n1, "add", cid_of(0)), 0);
	register_server(n1, 0);
	wait_router_routes(c, "dev r1", now_ms(), ignored);
	assert_int_equal(testnet_run("ip -n %s route add 198.51.100.192/27 dev sklt-bgpbr proto static"
				     " && ip -n %s route add 198.51.100.224/27 dev sklt-bgpbr proto 174"
				     " && ip -n %s route add 2001:db8:300::/64 dev sklt-bgpbr proto static",
				     n1->netns, n1->netns, n1->netns),
			 0);
	before = probe_all(c, n1->server);
	assert_int_equal(before, N_PROBES);
	assert_router_learns_only_the_ranges(c);

	/* DEL on node 1: the router loses the routes. */
	t = now_ms();
	assert_int_equal(cniclient(c, n1, "del", cid_of(0)), 0);
	wait_router_routes(c, "", t, withdrawn);
	between = probe_all(c, n1->server);
	assert_int_equal(between, 0);
	assert_node_clean(n1);

	/* ADD on node 2 (a new sandbox, as a rescheduled pod gets): the same
	 * probes reach the pod there. */
	t = now_ms();
	assert_int_equal(cniclient(c, n2, "add", cid_of(1)), 0);
	added_ms = now_ms() - t;
	register_server(n2, 1);
	while (answered[0] < 0 || answered[1] < 0) {
		for (int v6 = 0; v6 < 2; v6++) {
			char route[512];

			if (announced[v6] < 0) {
				router_route(c, v6 ? RANGE6 : RANGE, route, sizeof(route));
				if (strstr(route, "dev r2"))
					announced[v6] = now_ms() - t;
			}
			probe_addr(v6, 0, addr, sizeof(addr));
			if (answered[v6] < 0 && probe_from_router(c, addr, 80, n2->server))
				answered[v6] = now_ms() - t;
		}
		if (now_ms() - t > CONVERGE_MS)
			fail_msg("no probe answered within %d ms of the ADD on node 2 "
				 "(IPv4 after %.0f ms, IPv6 after %.0f ms; -1: none)",
				 CONVERGE_MS, answered[0], answered[1]);
		usleep(1000);
	}
	wait_router_routes(c, "dev r2", t, ignored);
	after = probe_all(c, n2->server);
	assert_int_equal(after, N_PROBES);
	assert_router_learns_only_the_ranges(c);

	/* The pod gone from both nodes: the router has no route to the ranges. */
	t = now_ms();
	assert_int_equal(cniclient(c, n2, "del", cid_of(1)), 0);
	wait_router_routes(c, "", t, ignored);
	assert_node_clean(n2);
	assert_int_equal(probe_all(c, n2->server), 0);

	printf("bgp: probes answered before the move %d/%d, while on no node %d, after %d/%d\n"
	       "bgp: DEL on node 1 -> routes withdrawn at the router: IPv4 %.1f ms, IPv6 %.1f ms\n"
	       "bgp: ADD on node 2 (returned after %.1f ms) -> first answered probe: IPv4 %.1f ms, "
	       "IPv6 %.1f ms (routes seen at the router: %.1f ms, %.1f ms)\n",
	       before, N_PROBES, between, after, N_PROBES, withdrawn[0], withdrawn[1], added_ms,
	       answered[0], answered[1], announced[0], announced[1]);
	for (int i = 0; i <= N_NODES; i++)
		assert_int_equal(stop_bird(c, i), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(range_follows_pod, setup, teardown),
	};

	return cmocka_run_group_tests_name("a range follows its pod across nodes over BGP", tests,
					   NULL, NULL);
}
