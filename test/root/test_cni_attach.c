/*
 * What a cluster network where most pods never use sklookup needs from the
 * plugin: "attach": "when-bound" gives no dispatcher (no program, link,
 * maps, routes or state) to a pod without bindings, and a cheap STATUS,
 * which containerd 2.x sends on every kubelet status poll: with a pod in
 * place it loads no program and mounts nothing (strace shows the system
 * calls), and it fails only when an ADD could not succeed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include "cni_fixture.h"
#include "testbin.h"

#define CID "attach-test"

static cJSON *config(struct cni_fixture *f, const char *version, const char *attach)
{
	cJSON *conf = cni_config(f, version, 0);

	if (attach)
		cJSON_AddStringToObject(conf, "attach", attach);
	return conf;
}

/* Runs the plugin (or binary) with conf on stdin; its exit status. */
static int run(struct cni_fixture *f, const char *binary, const char *command, const char *cid,
	       const char *netns, const cJSON *conf)
{
	char *text = cJSON_PrintUnformatted(conf);
	const struct cni_call call = { .binary = binary ? binary : f->plugin,
				       .command = command,
				       .container_id = cid,
				       .netns = netns,
				       .ifname = CNI_POD_IFNAME,
				       .stdin_data = text };
	int status = cni_fixture_call(f, &call);

	free(text);
	return status;
}

static void run_ok(struct cni_fixture *f, const char *command, const cJSON *conf)
{
	const char *netns = strcmp(command, "STATUS") ? f->pods[0].path : NULL;
	int status = run(f, NULL, command, strcmp(command, "STATUS") ? CID : NULL, netns, conf);

	if (status != 0)
		fail_msg("%s: exit %d, stdout %s, stderr %s", command, status, f->out, f->err);
}

/* The "code" of a CNI error on stdout; -1 when there is none. */
static int error_code(const char *out)
{
	cJSON *e = cJSON_Parse(out);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	int v = cJSON_IsNumber(code) ? code->valueint : -1;

	cJSON_Delete(e);
	return v;
}

static void state_of(struct cni_fixture *f, char *dir, size_t len)
{
	cni_state_dir(f, CNI_NETWORK, CID, CNI_POD_IFNAME, dir, len);
}

/* A pod without bindings on a "when-bound" network: ADD passes prevResult
 * on and leaves nothing of ours; CHECK, DEL and GC agree. */
static void when_bound_pod_without_bindings_gets_nothing(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = config(f, "1.1.0", "when-bound");
	char dir[PATH_MAX];

	cni_set_json(conf, "bindings", "[]");
	run_ok(f, "ADD", conf);
	assert_non_null(strstr(f->out, "198.51.100.10"));
	state_of(f, dir, sizeof(dir));
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(cni_prog_count(f->pods[0].path), 0);
	cni_assert_nothing_left(f, 0);
	run_ok(f, "CHECK", conf);
	run_ok(f, "DEL", conf);
	cni_assert_nothing_left(f, 0);
}

/* "always" (and no "attach") keep today's behaviour: a dispatcher for a
 * pod without bindings, so bindings can be added at run time. */
static void always_attaches_without_bindings(void **state)
{
	struct cni_fixture *f = *state;
	const char *const modes[] = { "always", NULL };

	for (size_t i = 0; i < 2; i++) {
		cJSON *conf = config(f, "1.1.0", modes[i]);

		cni_set_json(conf, "bindings", "[]");
		run_ok(f, "ADD", conf);
		assert_int_equal(cni_prog_count(f->pods[0].path), 1);
		run_ok(f, "CHECK", conf);
		run_ok(f, "DEL", conf);
		cni_assert_nothing_left(f, 0);
	}
}

/* The same network, a pod with bindings (here the annotation's): a
 * dispatcher that serves them. */
static void when_bound_pod_with_annotation_attaches(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = config(f, "1.1.0", "when-bound");

	cni_set_json(conf, "bindings", "[]");
	cni_set_json(conf, "annotations", "{\"allow\": true}");
	cni_set_json(conf, "runtimeConfig",
		     "{\"io.kubernetes.cri.pod-annotations\": {\"sklookup.dev/bindings\": "
		     "\"[{\\\"label\\\": \\\"web\\\", \\\"protocol\\\": \\\"tcp\\\", "
		     "\\\"prefix\\\": \\\"pod\\\", \\\"ports\\\": [\\\"8080\\\"]}]\"}}");
	run_ok(f, "ADD", conf);
	assert_int_equal(cni_prog_count(f->pods[0].path), 1);
	run_ok(f, "CHECK", conf);
	run_ok(f, "DEL", conf);
	cni_assert_nothing_left(f, 0);
}

/* A pod re-added without bindings (its annotation removed) loses the
 * dispatcher an earlier ADD gave it. */
static void when_bound_readd_without_bindings_removes_dispatcher(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *with = config(f, "1.1.0", "when-bound");
	cJSON *without = config(f, "1.1.0", "when-bound");
	char dir[PATH_MAX];

	run_ok(f, "ADD", with);
	assert_int_equal(cni_prog_count(f->pods[0].path), 1);
	cni_set_json(without, "bindings", "[]");
	run_ok(f, "ADD", without);
	state_of(f, dir, sizeof(dir));
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(cni_prog_count_settled(f->pods[0].path, 0), 0);
	cni_assert_nothing_left(f, 0);
	run_ok(f, "DEL", without);
}

/* sklookup-ctl on such a pod says why there is no dispatcher and what to do. */
static void ctl_explains_pod_without_dispatcher(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = config(f, "1.1.0", "when-bound");
	char ctl[PATH_MAX], cmd[PATH_MAX * 2], out[4096] = "";
	size_t n;
	FILE *p;
	int status;

	cni_set_json(conf, "bindings", "[]");
	run_ok(f, "ADD", conf);
	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	snprintf(cmd, sizeof(cmd),
		 "echo '[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": "
		 "\"203.0.113.0/24\", \"ports\": [\"80\"]}]' | "
		 "%s --bpffs-root %s --container %s bindings add - 2>&1",
		 ctl, f->root, CID);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	if (!strstr(out, "when-bound") || !strstr(out, "re-create"))
		fail_msg("sklookup-ctl does not explain the missing dispatcher: %s", out);
	run_ok(f, "DEL", conf);
}

static void bad_attach_value_refused(void **state)
{
	struct cni_fixture *f = *state;
	const char *const values[] = { "\"sometimes\"", "\"\"", "true", "null" };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		cJSON *conf = config(f, "1.1.0", NULL);
		char dir[PATH_MAX];
		int status;

		cni_set_json(conf, "attach", values[i]);
		status = run(f, NULL, "ADD", CID, f->pods[0].path, conf);
		if (status != 1 || error_code(f->out) != 7 || !strstr(f->out, "attach:") ||
		    !strstr(f->out, "when-bound"))
			fail_msg("attach %s: exit %d, stdout %s", values[i], status, f->out);
		state_of(f, dir, sizeof(dir));
		assert_int_equal(access(dir, F_OK), -1);
		cni_assert_nothing_left(f, 0);
	}
}

/* ---- STATUS ---- */

/* A script that runs `prefix... plugin` (the plugin under test) with the
 * runtime's environment and stdin. */
static void write_wrapper(const struct cni_fixture *f, const char *path, const char *prefix)
{
	FILE *w = fopen(path, "w");

	assert_non_null(w);
	fprintf(w, "#!/bin/sh\nexec %s %s\n", prefix, f->plugin);
	assert_int_equal(fclose(w), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

/* Runs STATUS under strace; how many traced calls name each needle. */
static void traced_status(struct cni_fixture *f, const cJSON *conf, int *prog_loads,
			  int *mounts, int *bpf_calls)
{
	char dir[] = "/tmp/sklt-status-XXXXXX", wrapper[PATH_MAX], trace[PATH_MAX];
	char prefix[PATH_MAX + 160];
	int status;

	assert_non_null(mkdtemp(dir));
	snprintf(wrapper, sizeof(wrapper), "%s/sklookup", dir);
	snprintf(trace, sizeof(trace), "%s/trace", dir);
	/* LeakSanitizer cannot run under ptrace: a sanitized plugin's leak
	 * check is off for this one traced call. */
	snprintf(prefix, sizeof(prefix),
		 "env ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
		 "strace -f -qq -e trace=bpf,mount -o %s",
		 trace);
	write_wrapper(f, wrapper, prefix);
	status = run(f, wrapper, "STATUS", NULL, NULL, conf);
	*prog_loads = cni_count_lines("BPF_PROG_LOAD", "cat %s", trace);
	*mounts = cni_count_lines("mount(", "cat %s", trace);
	*bpf_calls = cni_count_lines("bpf(", "cat %s", trace);
	unlink(trace);
	unlink(wrapper);
	rmdir(dir);
	if (status != 0)
		fail_msg("STATUS under strace: exit %d, stdout %s, stderr %s", status, f->out,
			 f->err);
}

/* With a pod in place, STATUS proves the kernel with the pod's pinned
 * program: no program load (no verifier) and no mount. On a node with no
 * pod yet it loads a probe, which also shows the trace sees loads. */
static void status_loads_nothing_with_a_pod_in_place(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = config(f, "1.1.0", NULL);
	cJSON *status_conf = config(f, "1.1.0", NULL);
	int loads, mounts, calls;

	cJSON_DeleteItemFromObjectCaseSensitive(status_conf, "prevResult");
	traced_status(f, status_conf, &loads, &mounts, &calls);
	assert_true(loads >= 1); /* no pod yet: the probe */
	run_ok(f, "ADD", conf);
	traced_status(f, status_conf, &loads, &mounts, &calls);
	if (loads != 0 || mounts != 0 || calls > 4)
		fail_msg("STATUS with a pod in place: %d program loads, %d mounts, %d bpf calls",
			 loads, mounts, calls);
	run_ok(f, "DEL", conf);
	cni_assert_nothing_left(f, 0);
}

/* Without a capability ADD needs, STATUS says which (and ADD fails too):
 * a node whose plugin cannot work must not look ready. */
static void status_fails_without_net_admin(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = config(f, "1.1.0", NULL);
	char dir[] = "/tmp/sklt-status-XXXXXX", wrapper[PATH_MAX];
	int status;

	cJSON_DeleteItemFromObjectCaseSensitive(conf, "prevResult");
	run_ok(f, "ADD", config(f, "1.1.0", NULL)); /* the cheap path must check too */
	assert_non_null(mkdtemp(dir));
	snprintf(wrapper, sizeof(wrapper), "%s/sklookup", dir);
	write_wrapper(f, wrapper, "setpriv --bounding-set=-net_admin --inh-caps=-net_admin");
	status = run(f, wrapper, "STATUS", NULL, NULL, conf);
	unlink(wrapper);
	rmdir(dir);
	if (status != 1 || error_code(f->out) != 50 || !strstr(f->out, "CAP_NET_ADMIN"))
		fail_msg("STATUS without CAP_NET_ADMIN: exit %d, stdout %s", status, f->out);
	run_ok(f, "STATUS", conf);
	run_ok(f, "DEL", config(f, "1.1.0", NULL));
	cni_assert_nothing_left(f, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cni_fixture_setup, cni_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(when_bound_pod_without_bindings_gets_nothing),
		T(always_attaches_without_bindings),
		T(when_bound_pod_with_annotation_attaches),
		T(when_bound_readd_without_bindings_removes_dispatcher),
		T(ctl_explains_pod_without_dispatcher),
		T(bad_attach_value_refused),
		T(status_loads_nothing_with_a_pod_in_place),
		T(status_fails_without_net_admin),
	};

	return cmocka_run_group_tests_name("CNI attach and STATUS", tests, NULL, NULL);
}
