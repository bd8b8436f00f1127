#include "cri_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "agent_fixture.h"
#include "state.h"
#include "testbin.h"
#include "testnet.h"

#define VAR_LIB "/var/lib"
#define CONTAINERD_WAIT_S "60" /* a loaded 2-CPU machine has taken more than 20 s */

static const char *const reference_plugins[] = { "bridge", "host-local", "loopback", NULL };

static char runc_path[64];
static char helper_path[PATH_MAX];

int crifix_capture(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	size_t used = 0;
	va_list ap;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	for (size_t n; used < len - 1 && (n = fread(out + used, 1, len - 1 - used, p)) > 0;)
		used += n;
	out[used] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_text(const char *path, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int write_text(const char *path, mode_t mode, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;
	int ret;

	if (!f)
		return -1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ret = fclose(f);
	return ret || chmod(path, mode) ? -1 : 0;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

int crifix_client(const struct cri_env *e, char *out, size_t out_len, char *err, size_t err_len,
		  const char *const *args)
{
	const struct child_opts o = { .fd3 = -1 };
	const char *argv[40] = { e->client, "-s", e->sock };
	size_t n = 3;
	int status;

	for (; args[n - 3]; n++) {
		assert_true(n + 1 < sizeof(argv) / sizeof(argv[0]));
		argv[n] = args[n - 3];
	}
	argv[n] = NULL;
	status = child_run(&o, out, out_len, err, err_len, (char *const *)argv);
	chomp(out);
	chomp(err);
	return status;
}

/* ---- containerd ---- */

/* The CNI bin_dir: the reference plugins, and the plugin under test behind
 * a wrapper that appends one line per call to calls.log (command,
 * container, netns, CNI_ARGS, exit status, stdin: containerd's JSON is one
 * line) and passes stdin, stdout and the status through. */
static int write_cni_bin(const struct cri_env *e)
{
	char path[PATH_MAX], target[PATH_MAX];

	for (size_t i = 0; reference_plugins[i]; i++) {
		snprintf(path, sizeof(path), "%s/cni-bin/%s", e->tmp, reference_plugins[i]);
		snprintf(target, sizeof(target), "/usr/lib/cni/%s", reference_plugins[i]);
		if (symlink(target, path))
			return -1;
	}
	snprintf(path, sizeof(path), "%s/cni-bin/sklookup", e->tmp);
	return write_text(path, 0755,
			  "#!/bin/sh\n"
			  "in=$(cat)\n"
			  "out=$(printf '%%s' \"$in\" | %s)\n"
			  "status=$?\n"
			  "printf '%%s\\t%%s\\t%%s\\t%%s\\t%%s\\t%%s\\n' \"$CNI_COMMAND\" \"$CNI_CONTAINERID\""
			  " \"$CNI_NETNS\" \"$CNI_ARGS\" \"$status\" \"$in\" >>%s/calls.log\n"
			  "printf '%%s' \"$out\"\n"
			  "exit $status\n",
			  e->plugin, e->tmp);
}

/* Bindings come from the pod annotation only, inside 203.0.113.0/24 on
 * 8000-8999; routes to them in the pod and on the host. cniVersion 1.0.0:
 * containerd 1.6 cannot parse a 1.1.0 result. */
static int write_conflist(const struct cri_env *e)
{
	char path[PATH_MAX];

	/* containerd reads only the lexically first conflist: this one never
	 * reaches the plugin (the suite checks that no call names it). */
	snprintf(path, sizeof(path), "%s/net.d/20-%s.conflist", e->tmp, CRI_IGNORED_NETWORK);
	if (write_text(path, 0644,
		       "{\"cniVersion\": \"1.0.0\", \"name\": \"%s\", \"plugins\": [\n"
		       " {\"type\": \"sklookup\", \"bpffsRoot\": \"%s\"}]}\n",
		       CRI_IGNORED_NETWORK, e->root))
		return -1;
	snprintf(path, sizeof(path), "%s/net.d/10-%s.conflist", e->tmp, CRI_NETWORK);
	return write_text(
		path, 0644,
		"{\"cniVersion\": \"1.0.0\", \"name\": \"%s\", \"plugins\": [\n"
		" {\"type\": \"bridge\", \"bridge\": \"%s\", \"isGateway\": true, \"ipMasq\": false,\n"
		"  \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"%s\"}]],\n"
		"           \"dataDir\": \"%s/ipam\"}},\n"
		" {\"type\": \"sklookup\", \"bpffsRoot\": \"%s\",\n"
		"  \"capabilities\": {\"io.kubernetes.cri.pod-annotations\": true},\n"
		"  \"annotations\": {\"allow\": true, \"allowedPrefixes\": [\"203.0.113.0/24\"],\n"
		"                  \"allowedPorts\": [\"8000-8999\"]},\n"
		"  \"routes\": {\"pod\": true, \"host\": true}}]}\n",
		CRI_NETWORK, CRI_BRIDGE, CRI_SUBNET, e->tmp, e->root);
}

/* Everything containerd keeps is under tmp. restrict_oom_score_adj: the
 * sandbox asks for -998, which needs CAP_SYS_RESOURCE (absent here). */
static int write_config(const struct cri_env *e)
{
	char path[PATH_MAX];
	const char *cri = "plugins.\"io.containerd.grpc.v1.cri\"";

	snprintf(path, sizeof(path), "%s/config.toml", e->tmp);
	return write_text(
		path, 0644,
		"version = 2\n"
		"root = \"%s/root\"\n"
		"state = \"%s/state\"\n"
		"disabled_plugins = [\"io.containerd.internal.v1.opt\","
		" \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\","
		" \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\"]\n"
		"[grpc]\n  address = \"%s\"\n"
		"[ttrpc]\n  address = \"%s.ttrpc\"\n"
		"[%s]\n"
		"  sandbox_image = \"%s\"\n"
		"  restrict_oom_score_adj = true\n"
		"  [%s.containerd]\n"
		"    snapshotter = \"overlayfs\"\n"
		"    default_runtime_name = \"runc\"\n"
		"    [%s.containerd.runtimes.runc]\n"
		"      runtime_type = \"io.containerd.runc.v2\"\n"
		"      [%s.containerd.runtimes.runc.options]\n"
		"        BinaryName = \"%s\"\n"
		"        Root = \"%s/runc\"\n"
		"  [%s.cni]\n"
		"    bin_dir = \"%s/cni-bin\"\n"
		"    conf_dir = \"%s/net.d\"\n"
		"    max_conf_num = 1\n",
		e->tmp, e->tmp, e->sock, e->sock, cri, CRI_PAUSE_IMAGE, cri, cri, cri, runc_path,
		e->tmp, cri, e->tmp, e->tmp);
}

static int start_containerd(struct cri_env *e)
{
	char config[PATH_MAX], log[PATH_MAX], out[512], err[1024];
	const char *const version[] = { "version", "--wait", CONTAINERD_WAIT_S, NULL };

	snprintf(config, sizeof(config), "%s/config.toml", e->tmp);
	snprintf(log, sizeof(log), "%s/containerd.log", e->tmp);
	fflush(NULL);
	e->containerd = fork();
	if (e->containerd < 0)
		return -1;
	if (e->containerd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execlp("containerd", "containerd", "--config", config, (char *)NULL);
		_exit(127);
	}
	if (crifix_client(e, out, sizeof(out), err, sizeof(err), version) != 0) {
		fprintf(stderr, "containerd did not answer within " CONTAINERD_WAIT_S " s: %s\n", err);
		crifix_show_containerd_log(e);
		return -1;
	}
	return 0;
}

void crifix_containerd_start(struct cri_env *e)
{
	if (start_containerd(e))
		fail_msg("containerd did not start (its log is above)");
}

void crifix_containerd_kill(struct cri_env *e, int sig)
{
	if (e->containerd <= 0)
		return;
	kill(e->containerd, sig);
	for (int i = 0; i < 500 && waitpid(e->containerd, NULL, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	if (waitpid(e->containerd, NULL, WNOHANG) == 0) {
		kill(e->containerd, SIGKILL);
		waitpid(e->containerd, NULL, 0);
	}
	e->containerd = 0;
}

void crifix_show_containerd_log(const struct cri_env *e)
{
	testnet_run("echo '---- containerd log (errors) ----' >&2;"
		    " grep -E 'level=(error|fatal)' %s/containerd.log | tail -n 20 >&2",
		    e->tmp);
}

/* ---- setup and teardown ---- */

static bool usable(const char *cmd)
{
	char out[256];

	return crifix_capture(out, sizeof(out), "command -v %s >/dev/null 2>&1", cmd) == 0;
}

/* Every process this suite's containerd started: its shims (the
 * containerd-shim-runc-v2 processes whose command line names this suite's
 * socket, found by pid in /proc, since containerd 1.6 keeps no pid file of
 * them) are killed; runc then deletes what they ran. */
static void kill_shims(const struct cri_env *e)
{
	testnet_run("for d in /proc/[0-9]*; do"
		    " [ \"$(readlink $d/exe 2>/dev/null)\" = \"$(command -v containerd-shim-runc-v2)\" ] &&"
		    " tr '\\0' ' ' <$d/cmdline 2>/dev/null | grep -qF -- ' -address %s ' &&"
		    " kill -9 \"${d#/proc/}\"; done;"
		    " for c in $(%s --root %s/runc/k8s.io list -q 2>/dev/null); do"
		    " %s --root %s/runc/k8s.io delete --force \"$c\" >/dev/null 2>&1; done; true",
		    e->sock, runc_path, e->tmp, runc_path, e->tmp);
}

/* Everything but the pods' CRI life: containerd, its shims and what they
 * ran, the agent, mounts, directories, cgroups, the bpffs root. */
static void release(struct cri_env *e)
{
	crifix_containerd_kill(e, SIGTERM);
	kill_shims(e);
	if (e->agent > 0) {
		agentfix_stop(e->agent, SIGTERM, 5000, NULL);
		e->agent = 0;
	}
	agentfix_clean();
	/* containerd's and podman's overlay and shm mounts and the pods' netns
	 * files, all in the suite's mount namespace. */
	if (e->tmp[0]) {
		testnet_run("awk '$2 ~ \"^(%s|/run/netns)/\" { print $2 }' /proc/self/mounts | sort -r |"
			    " xargs -r -n1 umount -l 2>/dev/null",
			    e->tmp);
		testnet_run("rm -rf %s", e->tmp);
	}
	if (e->cgroup[0])
		testnet_run("for d in /sys/fs/cgroup/*/%s; do [ -d \"$d\" ] &&"
			    " find \"$d\" -depth -type d -exec rmdir {} + 2>/dev/null; done; true",
			    e->cgroup);
	if (e->root[0])
		testnet_rm_rf_bpffs(e->root);
}

static void cleanup(struct cri_env *e)
{
	crifix_forget_pods(e);
	release(e);
}

static struct cri_env *current; /* for the signal handler */

/* A suite stopped by SIGINT or SIGTERM (the runner's timeout) leaves
 * nothing either: no CRI calls here, the servers and shims are killed. */
static void on_signal(int sig)
{
	if (current) {
		for (size_t i = 0; i < CRI_MAX_PODS; i++)
			if (current->pods[i].srv.pid > 0)
				kill(current->pods[i].srv.pid, SIGKILL);
		release(current);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int prepare(struct cri_env *e)
{
	char out[512];

	if (!usable("containerd") || !usable("ctr") || !usable("runc")) {
		fprintf(stderr, "containerd, ctr and runc are needed (scripts/install-deps.sh)\n");
		return -1;
	}
	if (crifix_capture(runc_path, sizeof(runc_path), "command -v runc") != 0)
		return -1;
	chomp(runc_path);
	testbin_path(e->client, sizeof(e->client), "test/cri/cri-client");
	testbin_path(e->pause_tar, sizeof(e->pause_tar), "test/cri/pause.tar");
	testbin_path(e->plugin, sizeof(e->plugin), "sklookup");
	testbin_path(helper_path, sizeof(helper_path), "test/root/helper_lfd_server");
	if (access(e->client, X_OK) || access(e->pause_tar, R_OK) || access(e->plugin, X_OK) ||
	    access(helper_path, X_OK)) {
		fprintf(stderr, "build %s, %s, %s and %s first (make all tests)\n", e->client,
			e->pause_tar, e->plugin, helper_path);
		return -1;
	}
	if (agentfix_group_setup())
		return -1;
	snprintf(e->tmp, sizeof(e->tmp), "/tmp/sklt-cri-%d", getpid());
	snprintf(e->sock, sizeof(e->sock), "%s/containerd.sock", e->tmp);
	snprintf(e->cgroup, sizeof(e->cgroup), "sklt-cri-%d", getpid());
	if (testnet_run("rm -rf %s && mkdir -p -m 0700 %s/cni-bin %s/net.d %s/ipam",
			e->tmp, e->tmp, e->tmp, e->tmp))
		return -1;
	/* What the runtimes keep in /var/lib whatever their settings (libcni's
	 * result cache /var/lib/cni, podman's blob cache /var/lib/containers)
	 * goes to a tmpfs of the suite's mount namespace, not the machine. */
	if (mount("tmpfs", VAR_LIB, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"))
		return -1;
	if (testnet_bpffs_tmpdir(e->root, sizeof(e->root)) || write_cni_bin(e) ||
	    write_conflist(e) || write_config(e))
		return -1;
	e->agent = agentfix_start(e->root, NULL);
	if (start_containerd(e))
		return -1;
	if (crifix_capture(out, sizeof(out), "ctr -a %s -n k8s.io images import %s 2>&1", e->sock,
			   e->pause_tar) != 0) {
		fprintf(stderr, "ctr images import %s: %s\n", e->pause_tar, out);
		return -1;
	}
	return 0;
}

int crifix_setup(void **state)
{
	struct cri_env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	for (size_t i = 0; i < CRI_MAX_PODS; i++)
		e->pods[i].np.netns = -1;
	*state = e;
	current = e;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (prepare(e)) {
		crifix_teardown(state);
		return -1;
	}
	return 0;
}

int crifix_teardown(void **state)
{
	struct cri_env *e = *state;

	if (e) {
		cleanup(e);
		free(e);
	}
	*state = NULL;
	current = NULL;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return 0;
}

/* ---- pods ---- */

struct cri_pod *crifix_pod(struct cri_env *e, const char *name)
{
	for (size_t i = 0; i < CRI_MAX_PODS; i++) {
		struct cri_pod *p = &e->pods[i];

		if (p->name[0])
			continue;
		memset(p, 0, sizeof(*p));
		p->np.netns = -1;
		snprintf(p->name, sizeof(p->name), "%s", name);
		snprintf(p->uid, sizeof(p->uid), "uid-%s", name);
		return p;
	}
	fail_msg("more than %d pods", CRI_MAX_PODS);
	return NULL;
}

static void fill_status(struct cri_env *e, struct cri_pod *pod)
{
	const char *const args[] = { "status", pod->id, NULL };
	char out[4096], err[1024];
	cJSON *st;

	if (crifix_client(e, out, sizeof(out), err, sizeof(err), args))
		fail_msg("PodSandboxStatus %s: %s", pod->id, err);
	st = cJSON_Parse(out);
	assert_non_null(st);
	snprintf(pod->ip, sizeof(pod->ip), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(st, "ip")) ?: "");
	snprintf(pod->netns, sizeof(pod->netns), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(st, "netns")) ?: "");
	cJSON_Delete(st);
	if (!pod->ip[0] || !pod->netns[0])
		fail_msg("pod %s: no address or netns in its status: %s", pod->name, out);
	pod->np.netns = open(pod->netns, O_RDONLY | O_CLOEXEC);
	assert_true(pod->np.netns >= 0);
}

int crifix_run_pod(struct cri_env *e, struct cri_pod *pod, const char *const *annotations,
		   char *err, size_t err_len)
{
	char cgroup[80], out[256];
	const char *args[32] = { "run",	       "--name",	  pod->name, "--namespace",
				 "sklt",       "--uid",		  pod->uid,  "--cgroup-parent",
				 cgroup };
	size_t n = 9;
	int status;

	snprintf(cgroup, sizeof(cgroup), "/%s", e->cgroup);
	for (size_t i = 0; annotations && annotations[i]; i++) {
		assert_true(n + 3 < sizeof(args) / sizeof(args[0]));
		args[n++] = "--annotation";
		args[n++] = annotations[i];
	}
	args[n] = NULL;
	status = crifix_client(e, out, sizeof(out), err, err_len, args);
	if (status)
		return status;
	if (strlen(out) >= sizeof(pod->id))
		fail_msg("RunPodSandbox answered \"%s\", not a sandbox ID", out);
	memcpy(pod->id, out, strlen(out) + 1);
	assert_int_equal(strlen(pod->id), 64);
	fill_status(e, pod);
	return 0;
}

int crifix_pod_state(const struct cri_env *e, const struct cri_pod *pod, char *state, size_t len)
{
	const char *const args[] = { "status", pod->id, NULL };
	char out[4096], err[1024];
	cJSON *st;
	int status = crifix_client(e, out, sizeof(out), err, sizeof(err), args);

	state[0] = 0;
	if (status)
		return status;
	st = cJSON_Parse(out);
	snprintf(state, len, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(st, "state")) ?: "");
	cJSON_Delete(st);
	return 0;
}

static void close_netns(struct cri_pod *pod)
{
	if (pod->np.netns >= 0)
		close(pod->np.netns);
	pod->np.netns = -1;
}

void crifix_stop_pod(struct cri_env *e, struct cri_pod *pod)
{
	const char *const args[] = { "stop", pod->id, NULL };
	char out[256], err[1024];

	crifix_stop_server(pod);
	close_netns(pod);
	if (crifix_client(e, out, sizeof(out), err, sizeof(err), args))
		fail_msg("StopPodSandbox %s: %s", pod->name, err);
}

void crifix_remove_pod(struct cri_env *e, struct cri_pod *pod)
{
	const char *const args[] = { "rm", pod->id, NULL };
	char out[256], err[1024];

	if (crifix_client(e, out, sizeof(out), err, sizeof(err), args))
		fail_msg("RemovePodSandbox %s: %s", pod->name, err);
	pod->id[0] = 0;
}

void crifix_serve(struct cri_env *e, struct cri_pod *pod, const char *label)
{
	const struct child_opts o = { .pod = &pod->np, .unprivileged = true, .fd3 = -1,
				      .stdin_pipe = true };
	const char *argv[] = { agentfix_ctl_path(), "exec", "--label", label, "--listen",
			       "tcp://[::]:8080", "--", helper_path, "60", NULL };
	char line[256], out[2048], err[2048];

	(void)e;
	child_spawn(&pod->srv, &o, (char *const *)argv);
	if (!child_read_line(&pod->srv, line, sizeof(line), 10000) || strcmp(line, "ready 1\n")) {
		close(pod->srv.in);
		pod->srv.in = -1;
		child_finish(&pod->srv, out, sizeof(out), err, sizeof(err), 2000);
		pod->srv.pid = 0;
		agentfix_show_log();
		fail_msg("the server in pod %s did not start (\"%s\"): %s%s", pod->name, line, out,
			 err);
	}
}

void crifix_stop_server(struct cri_pod *pod)
{
	if (pod->srv.pid <= 0)
		return;
	if (pod->srv.in >= 0)
		close(pod->srv.in);
	pod->srv.in = -1;
	child_finish(&pod->srv, NULL, 0, NULL, 0, 5000);
	pod->srv.pid = 0;
}

void crifix_forget_pods(struct cri_env *e)
{
	for (size_t i = 0; i < CRI_MAX_PODS; i++) {
		struct cri_pod *p = &e->pods[i];
		char out[256], err[1024];

		crifix_stop_server(p);
		close_netns(p);
		if (p->id[0] && e->containerd > 0) {
			const char *const stop[] = { "stop", p->id, NULL };
			const char *const rm[] = { "rm", p->id, NULL };

			crifix_client(e, out, sizeof(out), err, sizeof(err), stop);
			crifix_client(e, out, sizeof(out), err, sizeof(err), rm);
		}
		memset(p, 0, sizeof(*p));
		p->np.netns = -1;
	}
}

/* ---- the recorded calls ---- */

const char *crifix_cni_arg(const char *args, const char *key, char *value, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = args; p && *p;) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			snprintf(value, len, "%.*s", (int)(n - klen - 1), p + klen + 1);
			return value;
		}
		p = end ? end + 1 : p + n;
	}
	return NULL;
}

/* Splits a tab-separated line into at most n fields (the last keeps the rest). */
static size_t split_tabs(char *line, char **fields, size_t n)
{
	size_t i = 0;

	fields[i++] = line;
	for (char *p = line; *p && i < n; p++) {
		if (*p == '\t') {
			*p = 0;
			fields[i++] = p + 1;
		}
	}
	return i;
}

size_t crifix_calls(const struct cri_env *e, const char *pod_name, struct cri_call *calls,
		    size_t max)
{
	char path[PATH_MAX], value[128], *line = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/calls.log", e->tmp);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && getline(&line, &cap, f) > 0) {
		char *fields[6];
		struct cri_call *c = &calls[n];

		line[strcspn(line, "\n")] = 0;
		if (split_tabs(line, fields, 6) != 6)
			continue;
		if (pod_name && (!crifix_cni_arg(fields[3], "K8S_POD_NAME", value, sizeof(value)) ||
				 strcmp(value, pod_name)))
			continue;
		snprintf(c->command, sizeof(c->command), "%s", fields[0]);
		snprintf(c->container, sizeof(c->container), "%s", fields[1]);
		snprintf(c->netns, sizeof(c->netns), "%s", fields[2]);
		snprintf(c->args, sizeof(c->args), "%s", fields[3]);
		c->status = atoi(fields[4]);
		c->config = cJSON_Parse(fields[5]);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

void crifix_free_calls(struct cri_call *calls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(calls[i].config);
}

/* ---- the host ---- */

void crifix_state_dir(const struct cri_env *e, const struct cri_pod *pod, char *dir, size_t len)
{
	struct skl_err err;

	assert_int_equal(skl_state_path(dir, len, e->root, CRI_NETWORK, pod->id, "eth0", &err), 0);
}

uint32_t crifix_link_id(const struct cri_env *e, const struct cri_pod *pod)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int fd;

	crifix_state_dir(e, pod, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/link", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

bool crifix_route_into_pod(const struct cri_pod *pod, const char *addr)
{
	char out[512], want[128];

	if (crifix_capture(out, sizeof(out), "ip -o route get %s 2>&1", addr) != 0)
		return false;
	snprintf(want, sizeof(want), " via %s dev %s ", pod->ip, CRI_BRIDGE);
	return strstr(out, want) != NULL;
}

void crifix_ask_tcp(const char *addr, int port, char *line, size_t len)
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
	close(fd);
}
