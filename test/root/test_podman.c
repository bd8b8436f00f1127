/*
 * sklookup under a real container runtime: podman (Debian 12's 4.3, CNI
 * network backend, runc, cgroupfs) runs a busybox container on a conflist
 * bridge + host-local + sklookup. Inside the container, sklookup-ctl exec
 * registers a TCP and a UDP server (lfd-echo) through the node agent; the
 * host reaches them on
 * many addresses of 203.0.113.0/24 and many ports. Stopping and removing the
 * container leaves no pins, no sk_lookup link and no route; removing the
 * network removes the bridge; the host is then exactly as before.
 *
 * Podman's "host" is the real host network namespace (the bridge plugin
 * creates its bridge and sklookup its routes there), so this test uses only
 * documentation ranges: the pod subnet 198.51.100.0/24 and the served range
 * 203.0.113.0/24 (never 192.0.2.0/24, this machine's own network). The
 * conflist has no portmap, firewall or ipMasq: no iptables rule is made.
 * Nothing of podman's configuration is touched: CONTAINERS_CONF points at a
 * file of this test, and podman's storage, run and temp directories and the
 * network config directory are under a temporary directory. What podman
 * itself does outside them (the container's /run/netns entry, libcni's
 * cache /var/lib/cni, the bridge, the forwarding sysctls the bridge plugin
 * sets) is undone and checked: the test compares a snapshot of the host
 * (links, routes, netns, iptables, sysctls, /etc/containers, /etc/cni,
 * /var/lib/cni) taken before and after.
 *
 * The container is unprivileged, as a pod should be: user 10001, every
 * capability dropped, no-new-privileges, podman's default seccomp profile
 * (which refuses bpf() without CAP_SYS_ADMIN), no bpffs. It registers its
 * sockets through the node agent (sklookup-ctl agent, run by the test on
 * the host for the test's bpffsRoot), whose socket directory is mounted
 * read-only at /run/sklookup, as the DaemonSet's pods do. It runs the
 * static build (make static): a busybox rootfs has no libbpf or libcjson.
 * The UDP server binds port 5353 (user 10001 may not bind 53; a UDP reply
 * leaves from the socket's own port, so it serves the port it binds).
 *
 * If podman cannot run here, the test fails and says why (never skips).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "state.h"
#include "testnet.h"

#define NETWORK "sklt-podman"
#define BRIDGE "sklt-pbr0"
#define STATIC_CTL "build-static/sklookup-ctl"
#define STATIC_PLUGIN "build-static/sklookup"
#define STATIC_ECHO "build-static/examples/lfd-echo"
#define BUSYBOX "/bin/busybox"

struct podman {
	char repo[PATH_MAX / 2];
	char tmp[256];  /* podman's storage, run and temp dirs, conflist, rootfs */
	char root[256]; /* the plugin's bpffsRoot */
	char name[64];  /* the container */
	char cid[128];
	char podman[1024]; /* the podman command with this test's options */
	uint32_t link_id;
	pid_t agent;
	bool var_lib_cni_existed;
	char forward4[8], forward6[8];
};

static struct podman *current; /* for the signal handler */

/* Runs a command, its output into *out (up to len - 1 bytes); returns its
 * exit status, -1 if it did not run. */
static int capture(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int capture(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	size_t used = 0;
	va_list ap;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	for (size_t n; used < len - 1 && (n = fread(out + used, 1, len - 1 - used, p)) > 0;)
		used += n;
	out[used] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void read_sysctl(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n")] = 0;
}

static void write_sysctl(const char *path, const char *value)
{
	FILE *f;

	if (!value[0] || !(f = fopen(path, "w")))
		return;
	fprintf(f, "%s\n", value);
	fclose(f);
}

#define FORWARD4 "/proc/sys/net/ipv4/ip_forward"
#define FORWARD6 "/proc/sys/net/ipv6/conf/all/forwarding"

/* What this test must leave as it found it. Other suites' throwaway
 * namespaces (sklt-*) come and go meanwhile and are not compared. */
static int snapshot(const struct podman *p, const char *file)
{
	return testnet_run(
		"{ echo '# links'; ip -o link show | awk -F': ' '{ sub(/@.*/, \"\", $2); print $2 }' | sort;"
		"  echo '# routes'; ip -4 route show table all; ip -6 route show table all;"
		"  echo '# netns'; ip netns list | awk '$1 !~ /^sklt-/ { print $1 }' | sort;"
		"  echo '# iptables'; iptables-save 2>/dev/null | grep -v '^#';"
		"  ip6tables-save 2>/dev/null | grep -v '^#';"
		"  echo '# sysctls'; cat " FORWARD4 " " FORWARD6 ";"
		"  echo '# files'; find /etc/containers /etc/cni /var/lib/cni /var/lib/containers"
		"   /run/containers /run/libpod /run/cni 2>/dev/null | sort;"
		"  find /etc/containers /etc/cni -type f -exec sha256sum {} + 2>/dev/null | sort;"
		"} > %s/%s",
		p->tmp, file);
}

/* Undoes everything this test or podman may have made; safe to run twice
 * and from a signal handler of a dying test. */
static void cleanup(struct podman *p)
{
	if (p->agent > 0) {
		kill(p->agent, SIGTERM);
		waitpid(p->agent, NULL, 0);
		p->agent = 0;
	}
	if (p->podman[0]) {
		testnet_run("%s rm -f -t 0 %s >/dev/null 2>&1", p->podman, p->name);
		testnet_run("%s network rm -f %s >/dev/null 2>&1", p->podman, NETWORK);
	}
	testnet_run("ip link del %s 2>/dev/null", BRIDGE);
	/* sklookup's host route goes with DEL; this is for a DEL that never ran. */
	testnet_run("ip route show 203.0.113.0/24 | grep -q 'via 198.51.100.' &&"
		    " ip route del 203.0.113.0/24 2>/dev/null");
	if (!p->var_lib_cni_existed)
		testnet_run("rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null");
	write_sysctl(FORWARD4, p->forward4);
	write_sysctl(FORWARD6, p->forward6);
	if (p->tmp[0]) {
		/* Storage mounts podman may have left under its root. */
		testnet_run("grep -o ' %s/[^ ]*' /proc/self/mounts | sort -r |"
			    " xargs -r -n1 umount -l 2>/dev/null",
			    p->tmp);
		testnet_run("rm -rf %s", p->tmp);
	}
	if (p->root[0])
		testnet_rm_rf_bpffs(p->root);
}

static void on_signal(int sig)
{
	if (current)
		cleanup(current);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void require(bool ok, const char *what)
{
	if (!ok)
		fail_msg("podman test cannot run here: %s", what);
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

/* The node agent on the host, for this test's bpffsRoot, on a socket in a
 * directory the container mounts at /run/sklookup. */
static void start_agent(struct podman *p)
{
	char sock[PATH_MAX], log[PATH_MAX], ctl[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s/agent/agent.sock", p->tmp);
	snprintf(log, sizeof(log), "%s/agent.log", p->tmp);
	snprintf(ctl, sizeof(ctl), "%s/%s", p->repo, STATIC_CTL);
	p->agent = fork();
	assert_true(p->agent >= 0);
	if (p->agent == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execl(ctl, ctl, "--bpffs-root", p->root, "agent", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && access(sock, F_OK); i++)
		usleep(20 * 1000);
	if (access(sock, F_OK))
		fail_msg("the node agent did not create %s (see %s)", sock, log);
}

static int podman_setup(void **state)
{
	struct podman *p = calloc(1, sizeof(*p));
	char out[512], path[PATH_MAX];

	assert_non_null(p);
	*state = p;
	current = p;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	assert_non_null(getcwd(p->repo, sizeof(p->repo)));
	require(capture(out, sizeof(out), "podman --version 2>&1") == 0,
		"podman is not installed (scripts/install-deps.sh installs podman runc busybox-static)");
	require(capture(out, sizeof(out), "runc --version 2>&1") == 0, "runc is not installed");
	require(access(BUSYBOX, X_OK) == 0 &&
			capture(out, sizeof(out), "file -L " BUSYBOX " 2>/dev/null | grep -q static ||"
						  " ! ldd " BUSYBOX " >/dev/null 2>&1") == 0,
		BUSYBOX " is not the static busybox (busybox-static)");
	require(access(STATIC_CTL, X_OK) == 0 && access(STATIC_PLUGIN, X_OK) == 0 &&
			access(STATIC_ECHO, X_OK) == 0,
		"the static build is missing (make static; make test does it)");

	p->var_lib_cni_existed = access("/var/lib/cni", F_OK) == 0;
	read_sysctl(FORWARD4, p->forward4, sizeof(p->forward4));
	read_sysctl(FORWARD6, p->forward6, sizeof(p->forward6));
	snprintf(p->tmp, sizeof(p->tmp), "/tmp/sklt-podman-%d", getpid());
	snprintf(p->name, sizeof(p->name), "sklt-podman-%d", getpid());
	assert_int_equal(testnet_run("rm -rf %s && mkdir -p -m 0755 %s/rootfs/bin %s/net.d %s/root"
				     " %s/runroot %s/tmp %s/ipam %s/agent",
				     p->tmp, p->tmp, p->tmp, p->tmp, p->tmp, p->tmp, p->tmp, p->tmp),
			 0);
	assert_int_equal(testnet_bpffs_tmpdir(p->root, sizeof(p->root)), 0);
	assert_int_equal(snapshot(p, "before"), 0);

	/* A busybox rootfs with the static sklookup-ctl and server. */
	assert_int_equal(testnet_run("cp " BUSYBOX " %s/%s %s/%s %s/rootfs/bin/ &&"
				     " for a in sh sleep cat ls; do ln -s busybox %s/rootfs/bin/$a; done",
				     p->repo, STATIC_CTL, p->repo, STATIC_ECHO, p->tmp, p->tmp),
			 0);
	/* Podman's configuration for this test only (ENVIRONMENT.md: the hard
	 * RLIMIT_NOFILE here is 20000; crun fails on this host's cgroups). */
	snprintf(path, sizeof(path), "%s/containers.conf", p->tmp);
	write_file(path,
		   "[containers]\n"
		   "default_ulimits = [\"nofile=20000:20000\", \"nproc=4096:4096\"]\n"
		   "[engine]\n"
		   "events_logger = \"none\"\n"
		   "[network]\n"
		   "network_backend = \"cni\"\n"
		   "cni_plugin_dirs = [\"%s/build-static\", \"/usr/lib/cni\"]\n"
		   "network_config_dir = \"%s/net.d\"\n",
		   p->repo, p->tmp);
	assert_int_equal(setenv("CONTAINERS_CONF", path, 1), 0);
	snprintf(path, sizeof(path), "%s/net.d/%s.conflist", p->tmp, NETWORK);
	write_file(path,
		   "{\"cniVersion\": \"1.0.0\", \"name\": \"%s\", \"plugins\": [\n"
		   " {\"type\": \"bridge\", \"bridge\": \"%s\", \"isGateway\": true, \"ipMasq\": false,\n"
		   "  \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"198.51.100.0/24\"}]],\n"
		   "           \"dataDir\": \"%s/ipam\"}},\n"
		   " {\"type\": \"sklookup\", \"bpffsRoot\": \"%s\", \"routes\": {\"pod\": true, \"host\": true},\n"
		   "  \"bindings\": [\n"
		   "   {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\",\n"
		   "    \"ports\": [\"80\", \"443\", \"8000-8999\"]},\n"
		   "   {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"203.0.113.0/24\",\n"
		   "    \"ports\": [\"5353\"]}]}]}\n",
		   NETWORK, BRIDGE, p->tmp, p->root);
	snprintf(p->podman, sizeof(p->podman),
		 "podman --root %s/root --runroot %s/runroot --tmpdir %s/tmp --runtime runc"
		 " --cgroup-manager cgroupfs",
		 p->tmp, p->tmp, p->tmp);
	start_agent(p);
	return 0;
}

static int podman_teardown(void **state)
{
	struct podman *p = *state;

	cleanup(p);
	current = NULL;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	free(p);
	return 0;
}

/* One line from ADDR:PORT over TCP (connect and read time out after 2 s);
 * "" when refused or silent. */
static void ask_tcp(const char *addr, int port, char *line, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n = 0;

	line[0] = 0;
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		n = read(fd, line, len - 1);
	line[n > 0 ? n : 0] = 0;
	line[strcspn(line, "\n")] = 0;
	close(fd);
}

/* One datagram to ADDR:PORT, the answer from ADDR:PORT (connected socket). */
static void ask_udp(const char *addr, int port, char *line, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n = 0;

	line[0] = 0;
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && send(fd, "hello\n", 6, 0) == 6)
		n = recv(fd, line, len - 1, 0);
	line[n > 0 ? n : 0] = 0;
	line[strcspn(line, "\n")] = 0;
	close(fd);
}

/* sklookup-ctl --json status of the container, from the host. */
static cJSON *status(const struct podman *p)
{
	static char out[1 << 16];

	if (capture(out, sizeof(out), "%s --bpffs-root %s --container %s --json status 2>/dev/null",
		    STATIC_CTL, p->root, p->cid) != 0)
		return NULL;
	return cJSON_Parse(out);
}

static cJSON *find_named(cJSON *array, const char *key, const char *name)
{
	cJSON *item;

	cJSON_ArrayForEach(item, array) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(item, key));

		if (v && !strcmp(v, name))
			return item;
	}
	return NULL;
}

static bool label_has_socket(cJSON *st, const char *label)
{
	cJSON *l = find_named(cJSON_GetObjectItem(st, "labels"), "name", label);

	return l && cJSON_GetArraySize(cJSON_GetObjectItem(l, "sockets")) > 0;
}

static double binding_counter(cJSON *st, const char *label, const char *counter)
{
	cJSON *b = find_named(cJSON_GetObjectItem(st, "bindings"), "label", label);

	assert_non_null(b);
	return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "counters"), counter));
}

static void state_dir(const struct podman *p, char *dir, size_t len)
{
	struct skl_err err;

	assert_int_equal(skl_state_path(dir, len, p->root, NETWORK, p->cid, "eth0", &err), 0);
}

static void start_container(struct podman *p)
{
	char out[4096], path[PATH_MAX];
	FILE *f;
	int ret;

	/* Two socket-activated servers, each under sklookup-ctl exec, which
	 * registers through the agent (no bpffs here); the TCP one is PID 1
	 * (lfd-echo stops on SIGTERM). */
	ret = capture(out, sizeof(out),
		      "%s run -d --name %s --cidfile %s/cid --network %s"
		      " --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges"
		      " -v %s/agent:/run/sklookup:ro --rootfs %s/rootfs /bin/sh -c '"
		      "sklookup-ctl exec --label dns --listen udp://0.0.0.0:5353 -- lfd-echo ctr & "
		      "exec sklookup-ctl exec --label web --listen tcp://[::]:8080 -- lfd-echo ctr'"
		      " 2>&1",
		      p->podman, p->name, p->tmp, NETWORK, p->tmp, p->tmp);
	if (ret != 0)
		fail_msg("podman run failed (exit %d): %s", ret, out);
	snprintf(path, sizeof(path), "%s/cid", p->tmp);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(p->cid, sizeof(p->cid), f));
	fclose(f);
	p->cid[strcspn(p->cid, "\n")] = 0;
	assert_int_equal(strlen(p->cid), 64);
}

static void wait_registered(struct podman *p)
{
	char out[4096];

	for (int i = 0; i < 200; i++) {
		cJSON *st = status(p);
		bool ready = st && label_has_socket(st, "web") && label_has_socket(st, "dns");

		cJSON_Delete(st);
		if (ready)
			return;
		usleep(50 * 1000);
	}
	capture(out, sizeof(out), "%s logs %s 2>&1; cat %s/agent.log", p->podman, p->name, p->tmp);
	fail_msg("the container's servers did not register within 10 s; its and the agent's log:"
		 " %s", out);
}

static uint32_t pinned_link_id(const struct podman *p)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int fd;

	state_dir(p, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/link", dir);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	assert_int_equal(info.type, BPF_LINK_TYPE_NETNS);
	return info.id;
}

static void container_is_served_on_many_addresses_and_ports(void **state)
{
	static const char *const addrs[] = { "203.0.113.0",   "203.0.113.1",   "203.0.113.2",
					     "203.0.113.77",  "203.0.113.128", "203.0.113.200",
					     "203.0.113.254", "203.0.113.255" };
	static const int ports[] = { 80, 443, 8000, 8001, 8080, 8443, 8500, 8765, 8999 };
	struct podman *p = *state;
	char line[256], want[256], out[1024], dir[PATH_MAX];
	int tcp = 0, udp = 0, link_fd;
	cJSON *st;

	start_container(p);
	wait_registered(p);
	p->link_id = pinned_link_id(p);

	/* podman passes the container's name as K8S_POD_NAME in CNI_ARGS: the
	 * pod is known by it (no namespace). */
	st = status(p);
	assert_non_null(st);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "pod"),
								       "name")), p->name);
	cJSON_Delete(st);
	assert_int_equal(capture(out, sizeof(out), "%s --bpffs-root %s --pod %s bindings 2>&1",
				 STATIC_CTL, p->root, p->name), 0);

	/* The host reaches the one TCP socket on every address and port. */
	for (size_t a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++, tcp++) {
			ask_tcp(addrs[a], ports[i], line, sizeof(line));
			snprintf(want, sizeof(want), "ctr label=web socket=[::]:8080 reached=%s:%d",
				 addrs[a], ports[i]);
			if (strcmp(line, want))
				fail_msg("TCP %s:%d: got \"%s\", want \"%s\"", addrs[a], ports[i], line,
					 want);
		}
	}
	/* And the UDP socket, answering from the address asked. */
	for (size_t a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a += 2, udp++) {
		ask_udp(addrs[a], 5353, line, sizeof(line));
		snprintf(want, sizeof(want), "ctr label=dns socket=0.0.0.0:5353 reached=%s:5353",
			 addrs[a]);
		if (strcmp(line, want))
			fail_msg("UDP %s:5353: got \"%s\", want \"%s\"", addrs[a], line, want);
	}
	/* Both registrations went through the agent, as user 10001. */
	assert_int_equal(testnet_run("grep -q 'uid 10001: register web: ok' %s/agent.log &&"
				     " grep -q 'uid 10001: register dns: ok' %s/agent.log",
				     p->tmp, p->tmp),
			 0);
	print_message("container %.12s: %d TCP connections to %zu addresses x %zu ports and %d UDP"
		      " datagrams answered by its two sockets\n",
		      p->cid, tcp, sizeof(addrs) / sizeof(addrs[0]), sizeof(ports) / sizeof(ports[0]),
		      udp);
	/* Ports outside the bindings are not served. */
	ask_tcp("203.0.113.5", 22, line, sizeof(line));
	assert_string_equal(line, "");
	ask_tcp("203.0.113.5", 9000, line, sizeof(line));
	assert_string_equal(line, "");

	/* The counters saw exactly these. */
	st = status(p);
	assert_non_null(st);
	assert_int_equal((int)binding_counter(st, "web", "assigned"), tcp);
	assert_int_equal((int)binding_counter(st, "dns", "assigned"), udp);
	cJSON_Delete(st);

	/* podman stop + rm: CNI DEL removes everything of the pod. */
	assert_int_equal(capture(out, sizeof(out), "%s stop -t 5 %s 2>&1", p->podman, p->name), 0);
	assert_int_equal(capture(out, sizeof(out), "%s rm %s 2>&1", p->podman, p->name), 0);
	state_dir(p, dir, sizeof(dir));
	assert_false(skl_state_exists(dir));
	/* Nothing but the agent's spare dispatchers (its --spares). */
	assert_int_equal(testnet_run("[ -z \"$(ls -A %s | grep -vx ':spare')\" ]", p->root), 0);
	link_fd = bpf_link_get_fd_by_id(p->link_id);
	if (link_fd >= 0) {
		close(link_fd);
		fail_msg("the sk_lookup link %u outlived the container", p->link_id);
	}
	assert_int_equal(errno, ENOENT);
	assert_int_equal(capture(out, sizeof(out), "ip route show 203.0.113.0/24"), 0);
	assert_string_equal(out, "");
	assert_int_not_equal(testnet_run("ip netns list | grep -q '^netns-'"), 0);
}

/* After the network is removed, the host is as before the test. */
static void nothing_left_behind(void **state)
{
	struct podman *p = *state;
	char out[1024];

	assert_int_equal(capture(out, sizeof(out), "%s network rm -f %s 2>&1", p->podman, NETWORK), 0);
	assert_int_not_equal(testnet_run("ip link show %s >/dev/null 2>&1", BRIDGE), 0);
	/* What podman's libcni makes outside our directories and never removes:
	 * its result cache directory (empty once the container is gone), and
	 * the forwarding sysctls the bridge plugin turns on for a gateway. */
	if (!p->var_lib_cni_existed)
		assert_int_equal(testnet_run("rmdir /var/lib/cni/results /var/lib/cni"), 0);
	write_sysctl(FORWARD4, p->forward4);
	write_sysctl(FORWARD6, p->forward6);
	assert_int_equal(snapshot(p, "after"), 0);
	if (testnet_run("diff -u %s/before %s/after", p->tmp, p->tmp) != 0)
		fail_msg("the host differs from before the test (diff above)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container_is_served_on_many_addresses_and_ports),
		cmocka_unit_test(nothing_left_behind),
	};

	return cmocka_run_group_tests_name("podman with the sklookup CNI plugin", tests,
					   podman_setup, podman_teardown);
}
