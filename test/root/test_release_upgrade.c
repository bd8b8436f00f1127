/*
 * From a previous release to this one, with running pods, for each of
 * prev_releases[]: the previous release (built here from git history into
 * the build directory, once) creates pods and registers their sockets; this release,
 * whose map layout differs (the previous release's is 2; 3 added the monitor
 * slot and a lost-events counter, 4 the direct summaries), runs every verb
 * on them: DEL and GC work, what needs this layout's maps
 * refuses naming the release that made the pod and what to run. Then this
 * release's `sklookup-ctl upgrade --all` moves them all to its dispatcher
 * while a steady stream of TCP connections and UDP datagrams runs through
 * pod 0's: none may be refused or lost. After it every verb works; the
 * previous release refuses clearly, its DEL still removes a pod. Then a
 * build with yet another layout (make LAYOUT_ALT=1, the next release) does
 * the same under a second stream, and DEL leaves nothing. The pods and the
 * streams live in the fixture's throwaway netns (cni_fixture.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "cni_fixture.h"
#include "dispatch_fixture.h"
#include "dispatch_abi.h"
#include "release_build.h"
#include "testbin.h"
#include "testnet.h"
#include "traffic_stream.h"

/* The previous releases whose pods this release takes over, and what
 * differs between them: what this release says made their pods, and what
 * their own `sklookup-ctl upgrade` says of a pod this release upgraded
 * (it changes nothing either way). */
static const struct prev_release {
	const char *commit;
	int layout;
	const char *made_by;
	const char *own_upgrade_says;
} prev_releases[] = {
	/* main before upgrades across layouts */
	{ "27f8906", 2, "a release of sklookup from before release identities",
	  "made by another release" },
	/* release 0.4.0: its upgrade reads configs of at most 256 bytes, and
	 * layout 4's is 408 */
	{ "f566e80", 3, "made by another release (sklookup 0.4.0",
	  "is no dispatcher config this release can read; nothing was changed" },
};
#define N_PREV (sizeof(prev_releases) / sizeof(prev_releases[0]))
/* 32 pods to upgrade, one that goes away before (the agent reaps it) and
 * one that this release's DEL removes. */
#define N_PODS 34
#define DELETED_POD (N_PODS - 2)
#define EXTRA_POD N_PODS /* added by the next release after the upgrade */
#define STREAM_TCP_ADDR "203.0.113.7"
#define STREAM_TCP_PORT 80
#define STREAM_UDP_ADDR "2001:db8:200::7"
#define STREAM_UDP_PORT 53
#define OUT_MAX 65536

struct binaries {
	char prevs_plugin[N_PREV][PATH_MAX], prevs_ctl[N_PREV][PATH_MAX];
	const struct prev_release *prev; /* the one of this test */
	const char *prev_plugin, *prev_ctl; /* its binaries: in prevs_* */
	char plugin[PATH_MAX], ctl[PATH_MAX];           /* this release */
	char alt_plugin[PATH_MAX], alt_ctl[PATH_MAX];   /* this release, another layout */
};

static struct binaries bin;

/* ---- the releases ---- */

static int group_setup(void **state)
{
	struct release_bins prev, alt;
	char tree[PATH_MAX];

	(void)state;
	testbin_path(bin.plugin, sizeof(bin.plugin), "sklookup");
	testbin_path(bin.ctl, sizeof(bin.ctl), "sklookup-ctl");
	if (access(bin.plugin, X_OK) || access(bin.ctl, X_OK)) {
		fprintf(stderr, "%s or %s is missing: run make first\n", bin.plugin, bin.ctl);
		return -1;
	}
	if (release_source_tree(tree, sizeof(tree)) || release_build_alt_layout(tree, &alt))
		return -1;
	for (size_t i = 0; i < N_PREV; i++) {
		if (release_build_commit(tree, prev_releases[i].commit, &prev))
			return -1;
		snprintf(bin.prevs_plugin[i], sizeof(bin.prevs_plugin[i]), "%s", prev.plugin);
		snprintf(bin.prevs_ctl[i], sizeof(bin.prevs_ctl[i]), "%s", prev.ctl);
	}
	snprintf(bin.alt_plugin, sizeof(bin.alt_plugin), "%s", alt.plugin);
	snprintf(bin.alt_ctl, sizeof(bin.alt_ctl), "%s", alt.ctl);
	return 0;
}

/* ---- running things ---- */

struct run {
	int status;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* A sklookup-ctl (ctl) with --bpffs-root, in this netns or, when netns is
 * given, in that one (as a pod's process would be). */
static void ctl_run(const struct cni_fixture *f, const char *ctl, const char *netns,
		    struct run *r, const char *const *args)
{
	const char *argv[16];
	int out = fileno(tmpfile()), err = fileno(tmpfile()), n = 0, status;
	pid_t pid;

	argv[n++] = ctl;
	argv[n++] = "--bpffs-root";
	argv[n++] = f->root;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ns = netns ? open(netns, O_RDONLY | O_CLOEXEC) : -1;

		if (netns && (ns < 0 || setns(ns, CLONE_NEWNET)))
			_exit(126);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(ctl, (char **)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->out = calloc(1, OUT_MAX);
	r->err = calloc(1, OUT_MAX);
	assert_true(r->out && r->err);
	assert_true(pread(out, r->out, OUT_MAX - 1, 0) >= 0);
	assert_true(pread(err, r->err, OUT_MAX - 1, 0) >= 0);
	close(out);
	close(err);
}

#define CTL(f, ctl, netns, r, ...) \
	ctl_run(f, ctl, netns, r, (const char *const[]){ __VA_ARGS__, NULL })

static void ctl_ok(const struct cni_fixture *f, const char *ctl, struct run *r,
		   const char *const *args)
{
	ctl_run(f, ctl, NULL, r, args);
	if (r->status != 0)
		fail_msg("%s %s: exit %d: %s%s", ctl, args[0], r->status, r->out, r->err);
}

#define CTL_OK(f, ctl, r, ...) ctl_ok(f, ctl, r, (const char *const[]){ __VA_ARGS__, NULL })

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("<%s> lacks <%s>", text, part);
}

static char *conf_text[N_PODS + 1];

static const char *cid_of(size_t i)
{
	static char cids[N_PODS + 1][16];

	snprintf(cids[i], sizeof(cids[i]), "rel-%zu", i);
	return cids[i];
}

/* A CNI verb of the plugin binary for pod i with its config. */
static int plugin_run(struct cni_fixture *f, const char *binary, const char *command, size_t i,
		      const char *text)
{
	const struct cni_call call = { .binary = binary, .command = command,
				       .container_id = cid_of(i), .netns = f->pods[i].path,
				       .ifname = CNI_POD_IFNAME, .stdin_data = text };

	return cni_fixture_call(f, &call);
}

static void plugin_ok(struct cni_fixture *f, const char *binary, const char *command, size_t i,
		      const char *text)
{
	int status = plugin_run(f, binary, command, i, text);

	if (status != 0)
		fail_msg("%s %s %s: exit %d: %s %s", binary, command, cid_of(i), status, f->out,
			 f->err);
}

/* Pod i's config; only pod 0 routes in the host (the host routes of
 * several pods would be the same prefixes). */
static char *pod_conf(struct cni_fixture *f, size_t i)
{
	cJSON *conf = cni_config(f, "1.1.0", i);
	char *text;

	if (i)
		cni_set_json(conf, "routes", "{\"pod\": true, \"host\": false}");
	text = cJSON_PrintUnformatted(conf);
	assert_non_null(text);
	return text;
}

/* N_PODS pods made by the previous release. */
static void make_old_pods(struct cni_fixture *f)
{
	for (size_t i = 0; i < N_PODS; i++) {
		size_t pod = i ? cni_fixture_add_pod(f) : 0;

		assert_int_equal(pod, i);
		conf_text[i] = pod_conf(f, i);
		plugin_ok(f, bin.prev_plugin, "ADD", i, conf_text[i]);
	}
}

static void free_confs(void)
{
	for (size_t i = 0; i <= N_PODS; i++) {
		free(conf_text[i]);
		conf_text[i] = NULL;
	}
}

/* ---- the stream ---- */

static void agent_stop(void);

/* The stream of the running test; teardown stops it after a failed assertion. */
static struct stream *stream;

/* Each test's fixture, with the previous release it starts from. */
static int setup_from(void **state, size_t i)
{
	bin.prev = &prev_releases[i];
	bin.prev_plugin = bin.prevs_plugin[i];
	bin.prev_ctl = bin.prevs_ctl[i];
	return cni_fixture_setup(state);
}

static int setup_from_layout_2(void **state)
{
	return setup_from(state, 0);
}

static int setup_from_0_4_0(void **state)
{
	return setup_from(state, 1);
}

static int teardown(void **state)
{
	stream_free(stream);
	stream = NULL;
	agent_stop();
	free_confs();
	return cni_fixture_teardown(state);
}

static void assert_clean_counts(const struct stream_counts *c)
{
	assert_int_equal(c->tcp_refused, 0);
	assert_int_equal(c->tcp_other, 0);
	assert_int_equal(c->udp_sent - c->udp_received, 0);
}

/* Refused by this release, naming the release that made the pod and
 * what to run. */
static void expect_other_release(const struct run *r, const char *what)
{
	if (r->status == 0)
		fail_msg("%s on a pod of the previous release: accepted", what);
	assert_contains(r->err, "made by another release");
	assert_contains(r->err, "sklookup-ctl upgrade");
}

/* ---- the node agent of this release ---- */

static pid_t agent_pid = -1;
static char agent_dir[64], agent_sock[96];

static void agent_start(const struct cni_fixture *f)
{
	char log[128];
	uint64_t until = stream_now_ms() + 5000;

	snprintf(agent_dir, sizeof(agent_dir), "/tmp/sklt-rel-agent-%d", (int)getpid());
	snprintf(agent_sock, sizeof(agent_sock), "%s/agent.sock", agent_dir);
	snprintf(log, sizeof(log), "%s/log", agent_dir);
	assert_int_equal(mkdir(agent_dir, 0700), 0);
	fflush(NULL);
	agent_pid = fork();
	assert_true(agent_pid >= 0);
	if (agent_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL))
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl(bin.ctl, bin.ctl, "--bpffs-root", f->root, "agent", "--socket", agent_sock,
		      "--interval", "1", "--grace", "0", "--spares", "1", (char *)NULL);
		_exit(127);
	}
	while (access(agent_sock, F_OK) && stream_now_ms() < until)
		usleep(10000);
	assert_int_equal(access(agent_sock, F_OK), 0);
}

static void agent_stop(void)
{
	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		waitpid(agent_pid, NULL, 0);
		agent_pid = -1;
	}
	if (agent_dir[0]) {
		release_sh("rm -rf '%s'", agent_dir);
		agent_dir[0] = 0;
	}
}

/* The spares under the fixture's bpffsRoot whose names start with prefix. */
static int spares(const struct cni_fixture *f, const char *prefix)
{
	char cmd[PATH_MAX];

	snprintf(cmd, sizeof(cmd), "ls '%s/:spare' 2>/dev/null || true", f->root);
	return cni_count_lines(prefix, "%s", cmd);
}

/* The agent of this release serves old pods: a pod's request (from this
 * release's client and from the previous release's), reaping a pod whose
 * netns is gone; its spares (this layout) wait for ADDs. */
static void agent_on_old_pods(struct cni_fixture *f)
{
	char dir[PATH_MAX], prefix[16];
	uint64_t until;
	struct run r;

	agent_start(f);
	/* A pod's requests, from this release's client and from the previous
	 * release's (the agent speaks both protocol versions): the pod's
	 * layout is not this release's, and the answer says so. */
	ctl_run(f, bin.ctl, f->pods[0].path, &r,
		(const char *const[]){ "--agent", agent_sock, "status", NULL });
	expect_other_release(&r, "status through the agent");
	run_free(&r);
	ctl_run(f, bin.prev_ctl, f->pods[0].path, &r,
		(const char *const[]){ "--agent", agent_sock, "status", NULL });
	expect_other_release(&r, "the previous release's status through this agent");
	run_free(&r);
	/* Pod N_PODS - 1 goes away without a DEL: the agent removes its state. */
	cni_state_dir(f, CNI_NETWORK, cid_of(N_PODS - 1), CNI_POD_IFNAME, dir, sizeof(dir));
	assert_int_equal(testnet_run("ip netns del %s", f->pods[N_PODS - 1].name), 0);
	until = stream_now_ms() + 10000;
	while (access(dir, F_OK) == 0 && stream_now_ms() < until)
		usleep(50000);
	assert_int_not_equal(access(dir, F_OK), 0);
	/* Its spares are of this release's layout. */
	snprintf(prefix, sizeof(prefix), "v%d-", SKL_ABI_VERSION);
	until = stream_now_ms() + 5000;
	while (spares(f, prefix) < 1 && stream_now_ms() < until)
		usleep(50000);
	assert_int_equal(spares(f, prefix), 1);
}

/* ---- the test ---- */

static long json_number(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	if (!p)
		fail_msg("<%s> lacks <%s>", text, key);
	p += strlen(key);
	while (*p && (*p == '"' || *p == ':' || *p == ' ' || *p == '\t'))
		p++;
	return strtol(p, NULL, 10);
}

/* The counters of pod 0's "web" label: "assigned" in status --json. */
static long web_assigned(const struct cni_fixture *f, const char *ctl)
{
	struct run r;
	const char *web;
	long n;

	CTL_OK(f, ctl, &r, "--container", cid_of(0), "status", "--json");
	web = strstr(r.out, "\"name\":\t\"web\"");
	if (!web)
		fail_msg("no label web in %s", r.out);
	n = json_number(web, "\"assigned\"");
	run_free(&r);
	return n;
}

/* GC by this release with every pod valid: it removes none of them. */
static void gc_keeping_all(struct cni_fixture *f)
{
	cJSON *conf = cni_config(f, "1.1.0", 0), *valid = cJSON_CreateArray();
	char *text;

	cJSON_DeleteItemFromObjectCaseSensitive(conf, "prevResult");
	for (size_t i = 0; i < N_PODS; i++) {
		cJSON *a = cJSON_CreateObject();

		cJSON_AddStringToObject(a, "containerID", cid_of(i));
		cJSON_AddStringToObject(a, "ifname", CNI_POD_IFNAME);
		cJSON_AddItemToArray(valid, a);
	}
	cJSON_AddItemToObject(conf, "cni.dev/valid-attachments", valid);
	text = cJSON_PrintUnformatted(conf);
	assert_non_null(text);
	{
		const struct cni_call call = { .binary = bin.plugin, .command = "GC",
					       .stdin_data = text };
		int status = cni_fixture_call(f, &call);

		free(text);
		if (status != 0)
			fail_msg("GC: exit %d: %s %s", status, f->out, f->err);
	}
	for (size_t i = 0; i < N_PODS; i++) {
		char dir[PATH_MAX];

		cni_state_dir(f, CNI_NETWORK, cid_of(i), CNI_POD_IFNAME, dir, sizeof(dir));
		if (access(dir, F_OK))
			fail_msg("GC removed the valid pod %s", cid_of(i));
	}
}

/* This release's verbs on pods of the previous one (another map layout). */
static void new_verbs_on_old_pods(struct cni_fixture *f, int listener)
{
	char pid[16], tcp_fd[16];
	struct run r;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(tcp_fd, sizeof(tcp_fd), "%d", listener);
	/* What needs this layout's maps: refused, saying what to run. */
	CTL(f, bin.ctl, NULL, &r, "--container", cid_of(0), "register", "web", "--pid", pid,
	    "--fd", tcp_fd);
	expect_other_release(&r, "register");
	run_free(&r);
	CTL(f, bin.ctl, NULL, &r, "--container", cid_of(0), "status");
	expect_other_release(&r, "status");
	assert_contains(r.err, bin.prev->made_by);
	run_free(&r);
	CTL(f, bin.ctl, NULL, &r, "--container", cid_of(1), "bindings");
	expect_other_release(&r, "bindings");
	run_free(&r);
	CTL(f, bin.ctl, NULL, &r, "--container", cid_of(1), "unregister", "web");
	expect_other_release(&r, "unregister");
	run_free(&r);
	assert_int_not_equal(plugin_run(f, bin.plugin, "CHECK", 0, conf_text[0]), 0);
	assert_contains(f->out, "sklookup-ctl upgrade");
	/* What needs only the state: the node's listing, GC, DEL. */
	CTL_OK(f, bin.ctl, &r, "pods");
	assert_contains(r.out, cid_of(0));
	run_free(&r);
	gc_keeping_all(f);
	/* The previous release still serves them, after all that. */
	CTL_OK(f, bin.prev_ctl, &r, "--container", cid_of(0), "status");
	run_free(&r);
	plugin_ok(f, bin.prev_plugin, "CHECK", 0, conf_text[0]);
	/* DEL by this release leaves nothing of an old pod. */
	plugin_ok(f, bin.plugin, "DEL", DELETED_POD, conf_text[DELETED_POD]);
	cni_assert_pod_clean(f, DELETED_POD);
	{
		char dir[PATH_MAX];

		cni_state_dir(f, CNI_NETWORK, cid_of(DELETED_POD), CNI_POD_IFNAME, dir,
			      sizeof(dir));
		assert_int_not_equal(access(dir, F_OK), 0);
	}
}

/* `upgrade --all` by ctl while a stream runs through pod 0; the stream's
 * counts must be clean, the upgrade must say want. */
static void upgrade_under_stream_n(struct cni_fixture *f, const char *ctl, int listener, int udp,
				   const char *before_ctl, const char *want, const char *title,
				   int n_pods)
{
	char upgraded[96];
	struct stream_target target = { .netns = f->pods[0].path, .tcp_addr = STREAM_TCP_ADDR,
					.tcp_port = STREAM_TCP_PORT, .udp_addr = STREAM_UDP_ADDR,
					.udp_port = STREAM_UDP_PORT, .listener = listener,
					.udp_server = udp };
	struct stream *s = stream = stream_new();
	long assigned_before;
	uint64_t start, took;
	bool flowing;
	struct run r;

	assert_non_null(s);
	assert_int_equal(stream_start(s, &target), 0);
	assert_true(stream_wait(s, 20, 5000));
	assigned_before = web_assigned(f, before_ctl);
	s->phase = 1;
	start = stream_now_ms();
	ctl_run(f, ctl, NULL, &r, (const char *const[]){ "upgrade", "--all", NULL });
	took = stream_now_ms() - start;
	s->phase = 0;
	flowing = stream_wait(s, s->all.tcp_ok + 20, 5000);
	assert_int_equal(stream_stop(s), 0);
	printf("# %s: upgrade --all of %d pods: %llu ms\n", title, n_pods,
	       (unsigned long long)took);
	stream_print("during the upgrade", &s->during);
	stream_print("the whole stream", &s->all);
	if (r.status != 0)
		fail_msg("upgrade --all: exit %d: %s%s", r.status, r.out, r.err);
	snprintf(upgraded, sizeof(upgraded), "%d upgraded, 0 already up to date, 0 skipped, 0 failed",
		 n_pods);
	assert_contains(r.out, upgraded);
	assert_contains(r.out, want);
	run_free(&r);
	assert_clean_counts(&s->during);
	assert_clean_counts(&s->all);
	assert_true(flowing && s->during.tcp_ok > 0 && s->during.udp_sent > 0);
	/* Counters carried over, and counting on. */
	assert_true(web_assigned(f, ctl) >= assigned_before + 20);
	stream_free(s);
	stream = NULL;
}

static void upgrade_all_under_traffic(void **state)
{
	struct cni_fixture *f = *state;
	char pid[16], tcp_fd[16], udp_fd[16], want[64], spare_prefix[16];
	int listener, udp;
	struct run r;

	make_old_pods(f);
	/* Pod 0's sockets, registered by the previous release's sklookup-ctl. */
	listener = cni_pod_socket(f, 0, SOCK_STREAM, "127.0.0.1");
	udp = cni_pod_socket(f, 0, SOCK_DGRAM, "::1");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(tcp_fd, sizeof(tcp_fd), "%d", listener);
	snprintf(udp_fd, sizeof(udp_fd), "%d", udp);
	CTL_OK(f, bin.prev_ctl, &r, "--container", cid_of(0), "register", "web", "--pid", pid,
	       "--fd", tcp_fd);
	run_free(&r);
	CTL_OK(f, bin.prev_ctl, &r, "--container", cid_of(0), "register", "dns", "--pid", pid,
	       "--fd", udp_fd);
	run_free(&r);
	new_verbs_on_old_pods(f, listener);
	agent_on_old_pods(f);

	/* This release's upgrade across its layout change, under traffic. */
	snprintf(want, sizeof(want), "to new maps (layout %d -> %d)", bin.prev->layout,
		 SKL_ABI_VERSION);
	upgrade_under_stream_n(f, bin.ctl, listener, udp, bin.prev_ctl, want,
			       "previous release -> this one", N_PODS - 2);
	/* Now every verb of this release works on them. */
	CTL_OK(f, bin.ctl, &r, "--container", cid_of(0), "status");
	assert_contains(r.out, "made by sklookup ");
	snprintf(want, sizeof(want), ", map layout %d\n", SKL_ABI_VERSION);
	assert_contains(r.out, want);
	run_free(&r);
	CTL_OK(f, bin.ctl, &r, "--container", cid_of(0), "register", "web", "--pid", pid, "--fd",
	       tcp_fd);
	run_free(&r);
	CTL_OK(f, bin.ctl, &r, "--container", cid_of(1), "bindings");
	assert_contains(r.out, "203.0.113.0/24");
	run_free(&r);
	plugin_ok(f, bin.plugin, "CHECK", 0, conf_text[0]);
	CTL_OK(f, bin.ctl, &r, "upgrade", "--all");
	assert_contains(r.out, "0 upgraded, 32 already up to date");
	run_free(&r);
	/* Rollback: the previous release refuses the new layout clearly, and
	 * its DEL still removes such a pod entirely. */
	CTL(f, bin.prev_ctl, NULL, &r, "--container", cid_of(0), "status");
	assert_int_not_equal(r.status, 0);
	assert_contains(r.err, "made by another release");
	run_free(&r);
	CTL(f, bin.prev_ctl, NULL, &r, "--container", cid_of(0), "upgrade");
	assert_int_equal(r.status, 1);
	assert_contains(r.err, bin.prev->own_upgrade_says);
	run_free(&r);
	plugin_ok(f, bin.prev_plugin, "DEL", 1, conf_text[1]);
	cni_assert_pod_clean(f, 1);

	/* The next release (another layout) before its upgrade: it names the
	 * release that made the pod and what to run, for sklookup-ctl and for
	 * CHECK alike; then its upgrade, under traffic too. */
	CTL(f, bin.alt_ctl, NULL, &r, "--container", cid_of(0), "status");
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "was made by another release (sklookup ");
	snprintf(want, sizeof(want), "map layout %d)", SKL_ABI_VERSION);
	assert_contains(r.err, want);
	assert_contains(r.err, "run \"sklookup-ctl upgrade\" of this release");
	run_free(&r);
	assert_int_not_equal(plugin_run(f, bin.alt_plugin, "CHECK", 0, conf_text[0]), 0);
	assert_contains(f->out, "run \\\"sklookup-ctl upgrade\\\" of this release");
	snprintf(want, sizeof(want), "to new maps (layout %d -> 1002)", SKL_ABI_VERSION);
	/* 31 pods now: pod 1 went with the previous release's DEL. */
	upgrade_under_stream_n(f, bin.alt_ctl, listener, udp, bin.ctl, want,
			       "this release -> the next layout", 31);
	CTL_OK(f, bin.alt_ctl, &r, "--container", cid_of(0), "status", "--json");
	assert_contains(r.out, "map layout 1002\"");
	assert_contains(r.out, "\"slot\":\t\"udp6\"");
	run_free(&r);
	CTL_OK(f, bin.alt_ctl, &r, "--container", cid_of(0), "bindings");
	assert_contains(r.out, "203.0.113.0/24");
	assert_contains(r.out, "2001:db8:200::/64");
	run_free(&r);
	plugin_ok(f, bin.alt_plugin, "CHECK", 0, conf_text[0]);
	/* The next release's ADD does not take a spare of this layout. */
	assert_int_equal(cni_fixture_add_pod(f), EXTRA_POD);
	conf_text[EXTRA_POD] = pod_conf(f, EXTRA_POD);
	plugin_ok(f, bin.alt_plugin, "ADD", EXTRA_POD, conf_text[EXTRA_POD]);
	snprintf(spare_prefix, sizeof(spare_prefix), "v%d-", SKL_ABI_VERSION);
	assert_int_equal(spares(f, spare_prefix), 1);
	CTL_OK(f, bin.alt_ctl, &r, "--container", cid_of(EXTRA_POD), "status", "--json");
	assert_contains(r.out, "map layout 1002\"");
	run_free(&r);
	/* This release's binaries (and agent) say which release made the pod
	 * and what to run. */
	CTL(f, bin.ctl, NULL, &r, "--container", cid_of(0), "status");
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "made by another release (sklookup ");
	assert_contains(r.err, "map layout 1002)");
	assert_contains(r.err, "run \"sklookup-ctl upgrade\"");
	run_free(&r);
	ctl_run(f, bin.ctl, f->pods[0].path, &r,
		(const char *const[]){ "--agent", agent_sock, "status", NULL });
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "made by another release (sklookup ");
	run_free(&r);

	close(listener);
	close(udp);
	for (size_t i = 0; i <= EXTRA_POD; i++)
		if (i != 1 && i != DELETED_POD)
			plugin_ok(f, bin.alt_plugin, "DEL", i, conf_text[i]);
	agent_stop();
	assert_int_equal(spares(f, ""), 0);
	cni_assert_nothing_left(f, 0);
	for (size_t i = 1; i <= EXTRA_POD; i++)
		cni_assert_pod_clean(f, i);
	free_confs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "upgrade_all_under_traffic from layout 2 (27f8906)", upgrade_all_under_traffic,
		  setup_from_layout_2, teardown, NULL },
		{ "upgrade_all_under_traffic from release 0.4.0 (layout 3)", upgrade_all_under_traffic,
		  setup_from_0_4_0, teardown, NULL },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
