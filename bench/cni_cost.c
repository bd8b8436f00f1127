/*
 * Figure 4: what sklookup adds to a pod's set-up and tear-down. The plugin
 * binary is exec'd as a runtime does (CNI_* environment, config on stdin)
 * for ADD and DEL with every feature on: bindings with ranges, a "pod"
 * prefix and an all-ports v6 prefix, routes in the pod and on the host,
 * reserved ports. Beside it, in the same rounds, the reference `bridge`
 * plugin (with host-local IPAM) does its ADD and DEL, the usual first
 * plugin of a chain: the ratio says how much sklookup adds to it.
 *
 * Everything happens in throwaway namespaces: this process's private netns
 * is the "host" (veth, bridge and host routes live and die there); each pod
 * netns is held by a child process that exits with us. bpffs state goes
 * under /sys/fs/bpf/sklookup-test-bench-<pid>, IPAM state under
 * /tmp/sklt-bench-<pid>; both are removed at exit, also on Ctrl-C.
 *
 * The first sk_lookup link on a machine flips a kernel static key, and the
 * last one to go flips it back: a node running such pods has it on, so an
 * empty program stays attached in a third throwaway netns during the run.
 *
 * The binary measured against the target is the static one the DaemonSet
 * ships (`make static`, build-static/), when given; the dynamically linked
 * build is measured in the same rounds and shown beside it (it pays ~0.5 ms
 * more for the dynamic loader).
 *
 *   build/bench/cni_cost [rounds] [build dir] [static build dir]
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "baseline_lpm.skel.h"
#include "bench.h"
#include "dispatcher.h"
#include "dispatcher.skel.h"
#include "spare.h"

#define DEFAULT_ROUNDS 31
#define REFERENCE_PLUGINS "/usr/lib/cni"
#define BPFFS "/sys/fs/bpf"
#define BPFFS_MAGIC 0xcafe4a11
#define BPFFS_PREFIX BPFFS "/sklookup-test-bench-"
#define TMP_PREFIX "/tmp/sklt-bench-"

extern char **environ;

static char bpffs_root[128], tmp_dir[128], plugin_dir[4096];
static pid_t pods[3]; /* sklookup's pod, bridge's pod, the static-key keeper */
static volatile pid_t running_plugin; /* a plugin exec'd and not yet reaped */
static volatile pid_t agent;          /* the node agent keeping spares, while it runs */
static int keeper_link = -1, keeper_prog = -1;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* rm -rf, only ever of the two directories this program made. */
static void remove_tree(const char *dir, const char *required_prefix)
{
	if (!dir[0] || strncmp(dir, required_prefix, strlen(required_prefix)) ||
	    strstr(dir, "/.."))
		return;
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void cleanup(void)
{
	/* First the plugin still running, if interrupted: it may be writing
	 * into the directories removed below. */
	if (running_plugin > 0) {
		kill(running_plugin, SIGKILL);
		waitpid(running_plugin, NULL, 0);
		running_plugin = 0;
	}
	if (agent > 0) {
		kill(agent, SIGKILL);
		waitpid(agent, NULL, 0);
		agent = 0;
	}
	if (keeper_link >= 0)
		close(keeper_link);
	if (keeper_prog >= 0)
		close(keeper_prog);
	for (int i = 0; i < 3; i++)
		if (pods[i] > 0) {
			kill(pods[i], SIGKILL);
			waitpid(pods[i], NULL, 0);
			pods[i] = 0;
		}
	remove_tree(bpffs_root, BPFFS_PREFIX);
	remove_tree(tmp_dir, TMP_PREFIX);
}

/* A child that sits in a new netns (lo up) until we exit or kill it. */
static pid_t hold_netns(void)
{
	int ready[2];
	pid_t pid;
	char ok;

	if (pipe(ready))
		bench_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		if (unshare(CLONE_NEWNET) || system("ip link set lo up") != 0)
			_exit(1);
		if (write(ready[1], "y", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &ok, 1) != 1)
		bench_fail("the child holding a pod netns failed to start");
	close(ready[0]);
	return pid;
}

static void keep_static_key_on(void)
{
	char path[64];
	int ns;

	pods[2] = hold_netns();
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pods[2]);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		bench_fail("%s: %s", path, strerror(errno));
	keeper_prog = bench_empty_sk_lookup_prog();
	keeper_link = bpf_link_create(keeper_prog, ns, BPF_SK_LOOKUP, NULL);
	if (keeper_link < 0)
		bench_fail("attaching the keeper program: %s", strerror(errno));
	close(ns);
}

static void make_dirs(void)
{
	struct statfs fs;

	if (statfs(BPFFS, &fs) || fs.f_type != BPFFS_MAGIC)
		if (mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
			bench_fail("mounting bpffs at %s: %s", BPFFS, strerror(errno));
	snprintf(bpffs_root, sizeof(bpffs_root), BPFFS_PREFIX "%d", (int)getpid());
	snprintf(tmp_dir, sizeof(tmp_dir), TMP_PREFIX "%d", (int)getpid());
	if (mkdir(bpffs_root, 0700) || mkdir(tmp_dir, 0700))
		bench_fail("mkdir %s, %s: %s", bpffs_root, tmp_dir, strerror(errno));
}

/* sklookup's pod: a veth pair made by hand (the interface a first plugin
 * would have made), v4 and v6. */
static void make_sklookup_pod(void)
{
	pods[0] = hold_netns();
	bench_sh("ip link add sklb-h type veth peer name eth0 netns %d && "
		 "ip addr add 198.51.100.1/25 dev sklb-h && "
		 "ip addr add 2001:db8:100::1/64 dev sklb-h nodad && ip link set sklb-h up && "
		 "nsenter --net=/proc/%d/ns/net sh -c 'ip addr add 198.51.100.2/25 dev eth0 && "
		 "ip addr add 2001:db8:100::2/64 dev eth0 nodad && ip link set eth0 up'",
		 (int)pods[0], (int)pods[0]);
}

static void sklookup_config(char *buf, size_t len)
{
	snprintf(buf, len,
		 "{\"cniVersion\": \"1.0.0\", \"name\": \"sklt-bench\", \"type\": \"sklookup\","
		 " \"bpffsRoot\": \"%s\","
		 " \"routes\": {\"pod\": true, \"host\": true},"
		 " \"bindings\": ["
		 "  {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		 "   \"ports\": [\"80\", \"443\", \"8000-8999\"]},"
		 "  {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"203.0.113.0/24\","
		 "   \"ports\": [\"53\"]},"
		 "  {\"label\": \"any\", \"protocol\": \"tcp\", \"prefix\": \"2001:db8:203::/64\"},"
		 "  {\"label\": \"app\", \"protocol\": \"tcp\", \"prefix\": \"pod\","
		 "   \"ports\": [\"40000-40099\", \"9090\"]}],"
		 " \"prevResult\": {\"cniVersion\": \"1.0.0\","
		 "  \"interfaces\": [{\"name\": \"eth0\", \"sandbox\": \"/proc/%d/ns/net\"}],"
		 "  \"ips\": [{\"address\": \"198.51.100.2/25\", \"gateway\": \"198.51.100.1\","
		 "            \"interface\": 0},"
		 "           {\"address\": \"2001:db8:100::2/64\", \"gateway\": \"2001:db8:100::1\","
		 "            \"interface\": 0}]}}",
		 bpffs_root, (int)pods[0]);
}

/* conf at cniVersion 1.1.0 (every "1.0.0" in it). */
static void status_config(const char *conf, char *buf, size_t len)
{
	const char *at;
	size_t n = 0;

	while ((at = strstr(conf, "1.0.0")) && n + (size_t)(at - conf) + 6 < len) {
		memcpy(buf + n, conf, (size_t)(at - conf));
		n += (size_t)(at - conf);
		memcpy(buf + n, "1.1.0", 5);
		n += 5;
		conf = at + 5;
	}
	snprintf(buf + n, len - n, "%s", conf);
}

static void bridge_config(char *buf, size_t len)
{
	snprintf(buf, len,
		 "{\"cniVersion\": \"1.0.0\", \"name\": \"sklt-bench-br\", \"type\": \"bridge\","
		 " \"bridge\": \"sklb-br0\", \"isGateway\": true, \"ipMasq\": false,"
		 " \"ipam\": {\"type\": \"host-local\", \"subnet\": \"198.51.100.128/25\","
		 "  \"dataDir\": \"%s/ipam\"}}",
		 tmp_dir);
}

struct plugin_run {
	const char *binary, *command, *container;
	pid_t pod;
	const char *config;
};

/* Execs a plugin as a runtime would; returns the wall time in ms. */
static double run_plugin(const struct plugin_run *p)
{
	char env_cmd[64], env_id[128], env_netns[64], env_path[8192];
	char *envp[] = { env_cmd, env_id, env_netns, "CNI_IFNAME=eth0", env_path,
			 "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char *argv[] = { (char *)p->binary, NULL };
	posix_spawn_file_actions_t fa;
	int in[2], out[2], status;
	char output[8192];
	size_t used = 0;
	uint64_t t0, t1;
	pid_t pid;
	ssize_t n;

	snprintf(env_cmd, sizeof(env_cmd), "CNI_COMMAND=%s", p->command);
	snprintf(env_id, sizeof(env_id), "CNI_CONTAINERID=%s", p->container);
	snprintf(env_netns, sizeof(env_netns), "CNI_NETNS=/proc/%d/ns/net", (int)p->pod);
	snprintf(env_path, sizeof(env_path), "CNI_PATH=%s:%s", REFERENCE_PLUGINS, plugin_dir);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		bench_fail("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	t0 = bench_now_ns();
	if (posix_spawn(&pid, p->binary, &fa, NULL, argv, envp))
		bench_fail("exec %s: %s", p->binary, strerror(errno));
	running_plugin = pid;
	close(in[0]);
	close(out[1]);
	if (write(in[1], p->config, strlen(p->config)) != (ssize_t)strlen(p->config))
		bench_fail("writing the config to %s", p->binary);
	close(in[1]);
	while ((n = read(out[0], output + used, sizeof(output) - 1 - used)) > 0)
		used += (size_t)n;
	output[used] = 0;
	waitpid(pid, &status, 0);
	t1 = bench_now_ns();
	running_plugin = 0;
	close(out[0]);
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_fail("%s %s failed (status %d): %s", p->binary, p->command, status, output);
	return (double)(t1 - t0) / 1e6;
}

/* What the kernel's verifier takes to load a program, as it reports it. */
struct verification {
	double ms;   /* "verification time" */
	long insns;  /* "processed N insns" */
};

static struct verification verify(struct bpf_object *obj)
{
	static char log[1 << 16];
	struct verification v = { -1, -1 };
	struct bpf_program *prog;
	const char *p;

	bpf_object__for_each_program(prog, obj) {
		bpf_program__set_log_level(prog, 4); /* statistics only */
		bpf_program__set_log_buf(prog, log, sizeof(log));
	}
	log[0] = 0;
	if (bpf_object__load(obj))
		bench_fail("loading a program to read its verifier statistics: %s", log);
	p = strstr(log, "verification time ");
	if (p)
		v.ms = strtol(p + strlen("verification time "), NULL, 10) / 1000.0;
	p = strstr(log, "processed ");
	if (p)
		v.insns = strtol(p + strlen("processed "), NULL, 10);
	return v;
}

#define VERIFY_RUNS 7

/* Median of VERIFY_RUNS loads of the dispatcher and of the baseline. */
static void verify_both(struct verification *ours, struct verification *lpm)
{
	double ms_ours[VERIFY_RUNS], ms_lpm[VERIFY_RUNS];

	for (int i = 0; i < VERIFY_RUNS; i++) {
		struct dispatcher_bpf *d = dispatcher_bpf__open();
		struct baseline_lpm_bpf *b = baseline_lpm_bpf__open();
		struct skl_limits limits;

		if (!d || !b)
			bench_fail("opening the BPF objects: %s", strerror(errno));
		/* As ADD loads it: the bounds of the default limits. */
		skl_limits_default(&limits);
		skl_dispatcher_skel_bounds(d, limits.bindings, skl_segments_per_gen(&limits));
		*ours = verify(d->obj);
		*lpm = verify(b->obj);
		ms_ours[i] = ours->ms;
		ms_lpm[i] = lpm->ms;
		dispatcher_bpf__destroy(d);
		baseline_lpm_bpf__destroy(b);
	}
	ours->ms = bench_median(ms_ours, VERIFY_RUNS);
	lpm->ms = bench_median(ms_lpm, VERIFY_RUNS);
}

/* The dispatcher's verification is most of an ADD: shown beside the
 * tubular-style baseline's, which is built the same way. */
static void report_verification(double add_ms)
{
	struct verification v_ours, v_lpm;
	char value[64], baseline[64];

	verify_both(&v_ours, &v_lpm);
	printf("  BPF verification (median of %d loads): the dispatcher %.2f ms, %ld instructions "
	       "processed (%.0f%% of the median ADD); the LPM baseline %.2f ms, %ld\n",
	       VERIFY_RUNS, v_ours.ms, v_ours.insns, 100 * v_ours.ms / add_ms, v_lpm.ms,
	       v_lpm.insns);
	snprintf(value, sizeof(value), "%.2f ms, %ld insns", v_ours.ms, v_ours.insns);
	snprintf(baseline, sizeof(baseline), "%.2f ms, %ld LPM", v_lpm.ms, v_lpm.insns);
	bench_result("4 verifier time of the dispatcher (every ADD)", value, baseline,
		     v_ours.ms / v_lpm.ms, "-", BENCH_INFO);
}

enum { SKL_ADD, SKL_DEL, BR_ADD, BR_DEL, SKL_VERSION, SKL_STATUS, STATIC_ADD, STATIC_DEL,
       STATIC_VERSION, STATIC_STATUS, SPARE_ADD, SPARE_DEL, SPARE_BR_ADD, SPARE_BR_DEL, N_OPS };

/* Calls of one round (one_round), and of one spare round. */
#define ROUND_OPS 10
#define SPARE_ROUND_OPS 4

/* STATUS as containerd 2.x sends it on every kubelet status poll: the same
 * config at 1.1.0 (STATUS needs it), with the pod in place. */
static char status_conf[4096];

/* The same pod is added and deleted by both builds in turn (ADD, DEL, then
 * the other build's ADD, DEL): each ADD finds the pod as a runtime would. */
static void one_round(int r, double ms[N_OPS][BENCH_MAX_ROUNDS], const char *skl_conf,
		      const char *br_conf, const char *skl_binary, const char *static_binary)
{
	/* STATUS runs while the pod of the ADD before it is in place. */
	const char *bridge = REFERENCE_PLUGINS "/bridge";
	struct plugin_run runs[N_OPS] = {
		[SKL_ADD] = { skl_binary, "ADD", "bench-skl", pods[0], skl_conf },
		[SKL_DEL] = { skl_binary, "DEL", "bench-skl", pods[0], skl_conf },
		[BR_ADD] = { bridge, "ADD", "bench-br", pods[1], br_conf },
		[BR_DEL] = { bridge, "DEL", "bench-br", pods[1], br_conf },
		[SKL_VERSION] = { skl_binary, "VERSION", "bench-skl", pods[0], skl_conf },
		[STATIC_ADD] = { static_binary, "ADD", "bench-skl", pods[0], skl_conf },
		[STATIC_DEL] = { static_binary, "DEL", "bench-skl", pods[0], skl_conf },
		[STATIC_VERSION] = { static_binary, "VERSION", "bench-skl", pods[0], skl_conf },
		[SKL_STATUS] = { skl_binary, "STATUS", "bench-skl", pods[0], status_conf },
		[STATIC_STATUS] = { static_binary, "STATUS", "bench-skl", pods[0], status_conf },
	};
	/* Alternate who goes first, so none always runs on a warmer cache. */
	static const int orders[2][ROUND_OPS] = {
		{ BR_ADD, SKL_ADD, SKL_STATUS, BR_DEL, SKL_DEL, STATIC_ADD, STATIC_STATUS, STATIC_DEL,
		  SKL_VERSION, STATIC_VERSION },
		{ STATIC_ADD, STATIC_STATUS, BR_ADD, STATIC_DEL, BR_DEL, SKL_ADD, SKL_STATUS, SKL_DEL,
		  STATIC_VERSION, SKL_VERSION },
	};

	for (int k = 0; k < ROUND_OPS; k++) {
		int op = orders[r % 2][k];

		if (!static_binary && op >= STATIC_ADD)
			continue;
		ms[op][r] = run_plugin(&runs[op]);
	}
}

/* The node agent as the DaemonSet runs it, keeping one spare dispatcher
 * under the bench's bpffsRoot (spare.h). */
static void start_agent(const char *static_build)
{
	char ctl[PATH_MAX + 32], sock[256];
	char *argv[] = { ctl, "--bpffs-root", bpffs_root, "agent", "--socket", sock,
			 "--spares", "1", NULL };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	posix_spawn_file_actions_t fa;
	pid_t pid;

	snprintf(ctl, sizeof(ctl), "%s/sklookup-ctl", static_build);
	snprintf(sock, sizeof(sock), "%s/agent.sock", tmp_dir);
	posix_spawn_file_actions_init(&fa);
	if (devnull >= 0)
		posix_spawn_file_actions_adddup2(&fa, devnull, STDERR_FILENO);
	if (posix_spawn(&pid, ctl, &fa, NULL, argv, environ))
		bench_fail("starting %s agent: %s", ctl, strerror(errno));
	agent = pid;
	posix_spawn_file_actions_destroy(&fa);
	if (devnull >= 0)
		close(devnull);
}

/* Stops it (SIGTERM: it removes its spares) and checks it exited cleanly. */
static void stop_agent(void)
{
	int status;

	kill(agent, SIGTERM);
	waitpid(agent, &status, 0);
	agent = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		bench_fail("the agent exited with status 0x%x", status);
}

static uint32_t prog_id_at(const char *path)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(path);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		bench_fail("reading the program pinned at %s: %s", path, strerror(errno));
	close(fd);
	return info.id;
}

static int first_prog_id(const char *dir, void *arg)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/prog", dir);
	*(uint32_t *)arg = prog_id_at(path);
	return 1;
}

/* The program of the (only) spare. */
static uint32_t spare_prog_id(void)
{
	struct skl_limits limits;
	uint32_t id = 0;

	skl_limits_default(&limits);
	if (!skl_spare_each(bpffs_root, &limits, first_prog_id, &id))
		bench_fail("no spare under %s", bpffs_root);
	return id;
}

static uint32_t pod_prog_id(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sklt-bench/bench-skl/eth0/prog", bpffs_root);
	return prog_id_at(path);
}

/* Waits (5 s at most) until the agent has a spare ready: a node where pods
 * do not start faster than one per refill (~2 ms of the agent's time). */
static void wait_for_spare(void)
{
	struct skl_limits limits;

	skl_limits_default(&limits);
	for (int i = 0; i < 5000; i++) {
		if (skl_spare_count(bpffs_root, &limits) > 0)
			return;
		usleep(1000);
	}
	bench_fail("the agent made no spare dispatcher within 5 s");
}

/* ADD taking the agent's spare, and its DEL, beside the bridge's. */
static void spare_round(int r, double ms[N_OPS][BENCH_MAX_ROUNDS], const char *skl_conf,
			const char *br_conf, const char *static_binary)
{
	const char *bridge = REFERENCE_PLUGINS "/bridge";
	struct plugin_run runs[N_OPS] = {
		[SPARE_ADD] = { static_binary, "ADD", "bench-skl", pods[0], skl_conf },
		[SPARE_DEL] = { static_binary, "DEL", "bench-skl", pods[0], skl_conf },
		[SPARE_BR_ADD] = { bridge, "ADD", "bench-br", pods[1], br_conf },
		[SPARE_BR_DEL] = { bridge, "DEL", "bench-br", pods[1], br_conf },
	};
	static const int orders[2][SPARE_ROUND_OPS] = {
		{ SPARE_BR_ADD, SPARE_ADD, SPARE_BR_DEL, SPARE_DEL },
		{ SPARE_ADD, SPARE_BR_ADD, SPARE_DEL, SPARE_BR_DEL },
	};

	for (int k = 0; k < SPARE_ROUND_OPS; k++) {
		int op = orders[r % 2][k];
		uint32_t spare_prog;

		/* Every measured call runs with the agent idle. */
		wait_for_spare();
		spare_prog = spare_prog_id();
		ms[op][r] = run_plugin(&runs[op]);
		if (op == SPARE_ADD && pod_prog_id() != spare_prog)
			bench_fail("ADD did not take the agent's spare dispatcher");
	}
}

/* A target below 0: no target, shown as "-". */
static void report_pair(const char *name, double ms[N_OPS][BENCH_MAX_ROUNDS], int ours,
			int theirs, int rounds, double target)
{
	double ratio[BENCH_MAX_ROUNDS], med;
	char value[64], baseline[64], tgt[16];

	for (int r = 0; r < rounds; r++)
		ratio[r] = ms[ours][r] / ms[theirs][r];
	med = bench_median(ratio, rounds);
	snprintf(value, sizeof(value), "%.2f ms", bench_median(ms[ours], rounds));
	snprintf(baseline, sizeof(baseline), "%.2f ms bridge", bench_median(ms[theirs], rounds));
	if (target < 0) {
		bench_result(name, value, baseline, med, "-", BENCH_INFO);
		return;
	}
	snprintf(tgt, sizeof(tgt), "<= %.2f", target);
	bench_result(name, value, baseline, med, tgt, bench_at_most(med, target));
}

/* STATUS beside VERSION, which only execs and answers: what STATUS adds
 * to the exec is its own work, asked for every few seconds. */
static void report_status(double ms[N_OPS][BENCH_MAX_ROUNDS], int status, int version,
			  int rounds)
{
	double ratio[BENCH_MAX_ROUNDS], med;
	char value[64], baseline[64];

	for (int r = 0; r < rounds; r++)
		ratio[r] = ms[status][r] / ms[version][r];
	med = bench_median(ratio, rounds);
	snprintf(value, sizeof(value), "%.2f ms", bench_median(ms[status], rounds));
	snprintf(baseline, sizeof(baseline), "%.2f ms VERSION", bench_median(ms[version], rounds));
	bench_result("4 CNI STATUS with a pod in place vs VERSION (the exec alone)", value,
		     baseline, med, "<= 1.50", bench_at_most(med, 1.5));
}

int main(int argc, char **argv)
{
	static double ms[N_OPS][BENCH_MAX_ROUNDS];
	static const char *const op_names[N_OPS] = {
		[SKL_ADD] = "sklookup ADD", [SKL_DEL] = "sklookup DEL", [BR_ADD] = "bridge ADD",
		[BR_DEL] = "bridge DEL", [SKL_VERSION] = "sklookup VERSION (exec floor)",
		[SKL_STATUS] = "sklookup STATUS, pod in place",
		[STATIC_STATUS] = "sklookup STATUS, static",
		[STATIC_ADD] = "sklookup ADD, static",
		[STATIC_DEL] = "sklookup DEL, static",
		[STATIC_VERSION] = "sklookup VERSION, static",
		[SPARE_ADD] = "sklookup ADD, static, spare",
		[SPARE_DEL] = "sklookup DEL, static, spare",
		[SPARE_BR_ADD] = "bridge ADD (spare rounds)",
		[SPARE_BR_DEL] = "bridge DEL (spare rounds)",
	};
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	const char *build = argc > 2 ? argv[2] : "build";
	const char *static_build = argc > 3 ? argv[3] : NULL;
	char skl_conf[4096], br_conf[1024], skl_binary[4096 + 16], static_binary[PATH_MAX + 16];
	double warm[N_OPS][BENCH_MAX_ROUNDS];

	bench_init("cni_cost");
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		bench_fail("rounds: use 1..%d", BENCH_MAX_ROUNDS);
	if (!realpath(build, plugin_dir))
		bench_fail("build directory %s: %s", build, strerror(errno));
	snprintf(skl_binary, sizeof(skl_binary), "%s/sklookup", plugin_dir);
	if (access(skl_binary, X_OK) || access(REFERENCE_PLUGINS "/bridge", X_OK) ||
	    access(REFERENCE_PLUGINS "/host-local", X_OK))
		bench_fail("needs %s and the reference plugins bridge and host-local in %s",
			   skl_binary, REFERENCE_PLUGINS);
	if (static_build) {
		char dir[PATH_MAX];

		if (!realpath(static_build, dir))
			bench_fail("static build directory %s: %s", static_build, strerror(errno));
		snprintf(static_binary, sizeof(static_binary), "%s/sklookup", dir);
		if (access(static_binary, X_OK))
			bench_fail("needs %s (make static)", static_binary);
	}
	bench_private_netns();
	bench_on_cleanup(cleanup);
	make_dirs();
	make_sklookup_pod();
	pods[1] = hold_netns();
	keep_static_key_on();
	sklookup_config(skl_conf, sizeof(skl_conf));
	status_config(skl_conf, status_conf, sizeof(status_conf));
	bridge_config(br_conf, sizeof(br_conf));

	/* The first round creates the bridge; not counted. */
	one_round(0, warm, skl_conf, br_conf, skl_binary, static_build ? static_binary : NULL);
	for (int r = 0; r < rounds; r++)
		one_round(r, ms, skl_conf, br_conf, skl_binary, static_build ? static_binary : NULL);

	/* Then as on a node running the agent (the DaemonSet does): ADD takes
	 * a spare dispatcher loaded ahead of time. */
	if (static_build) {
		char dir[PATH_MAX];

		if (!realpath(static_build, dir))
			bench_fail("static build directory %s: %s", static_build, strerror(errno));
		start_agent(dir);
		for (int r = 0; r < rounds; r++)
			spare_round(r, ms, skl_conf, br_conf, static_binary);
		stop_agent();
	}

	printf("figure 4: CNI plugin exec'd, wall time per call in ms, median (min) of %d "
	       "rounds\n", rounds);
	for (int op = 0; op < (static_build ? N_OPS : STATIC_ADD); op++)
		printf("  %-30s %7.2f (%7.2f)\n", op_names[op], bench_median(ms[op], rounds),
		       bench_min(ms[op], rounds));
	if (static_build) {
		report_pair("4 CNI ADD, sklookup (static, agent's spare dispatcher) vs bridge+host-local",
			    ms, SPARE_ADD, SPARE_BR_ADD, rounds, 0.25);
		report_pair("4 CNI ADD, sklookup (static, no agent) vs bridge+host-local", ms,
			    STATIC_ADD, BR_ADD, rounds, -1);
		report_pair("4 CNI ADD, sklookup (dynamically linked) vs bridge+host-local", ms,
			    SKL_ADD, BR_ADD, rounds, -1);
		report_verification(bench_median(ms[STATIC_ADD], rounds));
		report_pair("4 CNI DEL, sklookup (static) vs bridge+host-local", ms,
			    STATIC_DEL, BR_DEL, rounds, 0.10);
		report_pair("4 CNI DEL, sklookup (dynamically linked) vs bridge+host-local", ms,
			    SKL_DEL, BR_DEL, rounds, -1);
		report_status(ms, STATIC_STATUS, STATIC_VERSION, rounds);
	} else {
		report_pair("4 CNI ADD, sklookup vs bridge+host-local", ms, SKL_ADD, BR_ADD, rounds,
			    0.25);
		report_verification(bench_median(ms[SKL_ADD], rounds));
		report_pair("4 CNI DEL, sklookup vs bridge+host-local", ms, SKL_DEL, BR_DEL, rounds,
			    0.10);
		report_status(ms, SKL_STATUS, SKL_VERSION, rounds);
	}
	return 0;
}
