/*
 * Pods known by their names: the plugin run as containerd runs it, with
 * CNI_ARGS, then the real sklookup-ctl. The namespace, name and uid ADD
 * recorded show in status, bindings list, pods and their --json; --pod
 * selects a pod, says which containers when two pods share a name, and
 * finds none by a name no pod has. A bad CNI_ARGS fails ADD with code 4 and
 * leaves nothing; DEL ignores CNI_ARGS. A record as an older release wrote
 * it (no identity) still works with status, pods and DEL.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "build_version.h"
#include "cni_fixture.h"
#include "record.h"
#include "testbin.h"

#define CID "names-cid.1" /* a '.' as containerd's never have, to see it restored */
#define UID "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
#define CONTAINERD_ARGS(ns, name, cid)                                                        \
	"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=" ns ";K8S_POD_NAME=" name                 \
	";K8S_POD_INFRA_CONTAINER_ID=" cid ";K8S_POD_UID=" UID
#define OUT 65536

/* ADD or DEL of pod i as container cid, CNI_ARGS from env (NULL: unset);
 * the exit status, f->out and f->err. */
static int call(struct cni_fixture *f, const char *command, const char *cid, size_t pod,
		const char *env)
{
	const char *extra[] = { env, NULL };
	cJSON *conf = cni_config(f, "1.0.0", pod);
	char *text;

	/* Only pods[0] has a way out of its netns for host routes. */
	if (pod)
		cni_set_json(conf, "routes", "{\"pod\": true, \"host\": false}");
	text = cJSON_PrintUnformatted(conf);
	const struct cni_call c = { .binary = f->plugin,
				    .command = command,
				    .container_id = cid,
				    .netns = f->pods[pod].path,
				    .ifname = CNI_POD_IFNAME,
				    .stdin_data = text,
				    .extra_env = env ? extra : NULL };
	int status;

	assert_non_null(text);
	status = cni_fixture_call(f, &c);
	free(text);
	return status;
}

static void add_ok(struct cni_fixture *f, const char *cid, size_t pod, const char *env)
{
	if (call(f, "ADD", cid, pod, env))
		fail_msg("ADD %s: stdout %s, stderr %s", cid, f->out, f->err);
}

static void del_ok(struct cni_fixture *f, const char *cid, size_t pod, const char *env)
{
	if (call(f, "DEL", cid, pod, env))
		fail_msg("DEL %s: stdout %s, stderr %s", cid, f->out, f->err);
}

/* build/sklookup-ctl --bpffs-root ROOT ARGS; stdout (and stderr when merge)
 * into out; the exit status. */
static int ctl(const struct cni_fixture *f, bool merge, char *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ctl(const struct cni_fixture *f, bool merge, char *out, const char *fmt, ...)
{
	char bin[PATH_MAX], args[2048], cmd[PATH_MAX + 2048 + 512];
	va_list ap;
	size_t n;
	FILE *p;
	int status;

	testbin_path(bin, sizeof(bin), "sklookup-ctl");
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' --bpffs-root '%s' %s </dev/null %s", bin, f->root, args,
		 merge ? "2>&1" : "2>/dev/null");
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, OUT - 1, p);
	out[n] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static cJSON *ctl_json(const struct cni_fixture *f, char *out, const char *args)
{
	cJSON *doc;

	if (ctl(f, false, out, "--json %s", args))
		fail_msg("sklookup-ctl --json %s failed: %s", args, out);
	doc = cJSON_Parse(out);
	if (!doc)
		fail_msg("sklookup-ctl --json %s: not JSON: %s", args, out);
	return doc;
}

static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("\"%s\" not in:\n%s", needle, text);
}

static void assert_pod_json(const cJSON *pod, const char *ns, const char *name, const char *uid)
{
	const char *want[] = { ns, name, uid }, *keys[] = { "namespace", "name", "uid" };

	assert_true(cJSON_IsObject(pod));
	for (int i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(pod, keys[i]);

		if (want[i])
			assert_string_equal(cJSON_GetStringValue(v), want[i]);
		else if (!cJSON_IsNull(v))
			fail_msg("pod.%s is not null", keys[i]);
	}
}

/* The object of `pods --json` for container cid. */
static const cJSON *pods_entry(const cJSON *arr, const char *cid)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr)
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "container")),
			    cid))
			return o;
	fail_msg("no pod of container %s in pods --json", cid);
	return NULL;
}

static double number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("\"%s\" is not a number", key);
	return v->valuedouble;
}

/* How many bindings bindings list shows for container cid. */
static double bindings_in_force(const struct cni_fixture *f, char *out, const char *cid)
{
	char args[128];
	cJSON *arr;
	int n;

	snprintf(args, sizeof(args), "--container %s bindings list", cid);
	arr = ctl_json(f, out, args);
	n = cJSON_GetArraySize(arr);
	cJSON_Delete(arr);
	assert_true(n >= 3); /* CNI_DEFAULT_BINDINGS, "pod" resolved to each family */
	return n;
}

/* ---- the tests ---- */

static void names_shown_everywhere(void **state)
{
	struct cni_fixture *f = *state;
	char *out = malloc(OUT), dir[PATH_MAX];
	cJSON *doc;
	const cJSON *o;
	int fd;

	assert_non_null(out);
	add_ok(f, CID, 0, CONTAINERD_ARGS("default", "web-0", CID));
	cni_state_dir(f, CNI_NETWORK, CID, CNI_POD_IFNAME, dir, sizeof(dir));
	fd = cni_pod_server(f, 0, dir, "web", SOCK_STREAM, "0.0.0.0");

	assert_int_equal(ctl(f, true, out, "--container %s status", CID), 0);
	assert_has(out, "pod default/web-0 (uid " UID ")\n");
	assert_int_equal(ctl(f, true, out, "--container %s bindings list", CID), 0);
	assert_has(out, "pod default/web-0 (uid " UID ")\n");

	/* --pod wherever --container is taken. */
	assert_int_equal(ctl(f, true, out, "--pod default/web-0 status"), 0);
	assert_has(out, "pod default/web-0");
	assert_has(out, dir);
	assert_int_equal(ctl(f, true, out, "--pod=default/web-0 bindings"), 0);
	assert_has(out, "203.0.113.0/24");

	doc = ctl_json(f, out, "--pod default/web-0 status");
	assert_pod_json(cJSON_GetObjectItemCaseSensitive(doc, "pod"), "default", "web-0", UID);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "stateDir")), dir);
	cJSON_Delete(doc);
	doc = ctl_json(f, out, "--pod default/web-0 metrics");
	assert_pod_json(cJSON_GetObjectItemCaseSensitive(doc, "pod"), "default", "web-0", UID);
	cJSON_Delete(doc);

	assert_int_equal(ctl(f, true, out, "pods"), 0);
	assert_has(out, "POD");
	assert_has(out, "default/web-0");
	assert_has(out, CID);
	doc = ctl_json(f, out, "pods");
	assert_int_equal(cJSON_GetArraySize(doc), 1);
	o = pods_entry(doc, CID);
	assert_pod_json(cJSON_GetObjectItemCaseSensitive(o, "pod"), "default", "web-0", UID);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "network")), CNI_NETWORK);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "ifname")), CNI_POD_IFNAME);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "stateDir")), dir);
	assert_true(number(o, "netnsIno") == (double)cni_netns_ino(f->pods[0].path));
	assert_true(number(o, "bindings") == bindings_in_force(f, out, CID));
	assert_true(number(o, "sockets") == 1);
	/* The release that made it, as its record says. */
	assert_int_equal(strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "release")) ?: "",
				 SKL_RELEASE " (git ", strlen(SKL_RELEASE " (git ")),
			 0);
	cJSON_Delete(doc);

	close(fd);
	del_ok(f, CID, 0, NULL);
	cni_assert_nothing_left(f, 0);
	free(out);
}

static void pod_selection_errors(void **state)
{
	struct cni_fixture *f = *state;
	size_t second = cni_fixture_add_pod(f);
	char *out = malloc(OUT);

	assert_non_null(out);
	add_ok(f, "cid-a", 0, CONTAINERD_ARGS("shop", "cart-1", "cid-a"));
	/* Not found: exit 3, the name and where to look. */
	assert_int_equal(ctl(f, true, out, "--pod shop/cart-2 status"), 3);
	assert_has(out, "shop/cart-2");
	assert_has(out, "sklookup-ctl pods");
	/* Not a name: a usage error naming the form. */
	assert_int_equal(ctl(f, true, out, "--pod 'a/b/c' status"), 2);
	assert_has(out, "NAMESPACE/NAME");
	assert_int_equal(ctl(f, true, out, "--pod / status"), 2);
	/* pods lists all: no selection. */
	assert_int_equal(ctl(f, true, out, "--pod shop/cart-1 pods"), 2);

	/* The pod recreated: a second sandbox of the same name. */
	add_ok(f, "cid-b", second, CONTAINERD_ARGS("shop", "cart-1", "cid-b"));
	assert_int_equal(ctl(f, true, out, "--pod shop/cart-1 status"), 2);
	assert_has(out, "shop/cart-1");
	assert_has(out, "cid-a");
	assert_has(out, "cid-b");
	assert_has(out, "--container");
	/* Both filters: the one of that container. */
	assert_int_equal(ctl(f, true, out, "--pod shop/cart-1 --container cid-b status"), 0);
	assert_has(out, "/cid-b/");

	del_ok(f, "cid-a", 0, NULL);
	assert_int_equal(ctl(f, true, out, "--pod shop/cart-1 status"), 0);
	assert_has(out, "/cid-b/");
	del_ok(f, "cid-b", second, NULL);
	cni_assert_nothing_left(f, 0);
	free(out);
}

/* Each bad CNI_ARGS, and what its message must name. */
static const struct {
	const char *args, *needle;
} bad_args[] = {
	{ "K8S_POD_NAME=a;K8S_POD_NAME=b", "K8S_POD_NAME is given twice" },
	{ "K8S_POD_NAME=a;Unknown=1", "unknown key Unknown" },
	{ "K8S_POD_NAME", "has no '='" },
	{ "K8S_POD_NAME=a;;K8S_POD_UID=b", "pair 2 is empty" },
	{ "=x", "empty key" },
	{ "K8S_POD_NAME=a\x1b[2J", "byte 0x1b" },
	{ "K8S_POD_NAME=a/b", "K8S_POD_NAME" },
	{ "IgnoreUnknown=maybe;K8S_POD_NAME=a", "IgnoreUnknown" },
};

static void bad_cni_args_refused_leaving_nothing(void **state)
{
	struct cni_fixture *f = *state;
	char env[8192], *huge;

	for (size_t i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		snprintf(env, sizeof(env), "CNI_ARGS=%s", bad_args[i].args);
		if (call(f, "ADD", CID, 0, env) != 1)
			fail_msg("ADD with CNI_ARGS %s: not refused: %s", bad_args[i].args, f->out);
		assert_has(f->out, "\"code\":\t4");
		assert_has(f->out, "CNI_ARGS");
		assert_has(f->out, bad_args[i].needle);
		cni_assert_nothing_left(f, 0);
	}
	/* Huge: refused by its size. */
	huge = malloc(70000);
	assert_non_null(huge);
	memset(huge, 'n', 69999);
	huge[69999] = 0;
	memcpy(huge, "CNI_ARGS=K8S_POD_NAME=", 22);
	assert_int_equal(call(f, "ADD", CID, 0, huge), 1);
	assert_has(f->out, "more than 4096");
	cni_assert_nothing_left(f, 0);
	free(huge);

	/* DEL cleans up whatever CNI_ARGS it gets. */
	add_ok(f, CID, 0, CONTAINERD_ARGS("default", "web-0", CID));
	del_ok(f, CID, 0, "CNI_ARGS=K8S_POD_NAME=a;K8S_POD_NAME=b;;\x01");
	cni_assert_nothing_left(f, 0);
}

/* What libcni callers other than containerd send: nothing, or podman's
 * name only. */
static void podman_and_plain_libcni(void **state)
{
	struct cni_fixture *f = *state;
	size_t second = cni_fixture_add_pod(f);
	char *out = malloc(OUT);
	cJSON *doc;

	assert_non_null(out);
	add_ok(f, "plain", 0, NULL);
	add_ok(f, "podman", second, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=my_ctr;IP=10.88.0.5");
	assert_int_equal(ctl(f, true, out, "--pod my_ctr status"), 0);
	assert_has(out, "pod my_ctr\n");
	assert_int_equal(ctl(f, true, out, "--container plain status"), 0);
	assert_true(!strncmp(out, "pod state ", 10)); /* no name line */
	doc = ctl_json(f, out, "pods");
	assert_int_equal(cJSON_GetArraySize(doc), 2);
	assert_pod_json(cJSON_GetObjectItem(pods_entry(doc, "plain"), "pod"), NULL, NULL, NULL);
	assert_pod_json(cJSON_GetObjectItem(pods_entry(doc, "podman"), "pod"), NULL, "my_ctr", NULL);
	cJSON_Delete(doc);
	del_ok(f, "plain", 0, NULL);
	del_ok(f, "podman", second, NULL);
	cni_assert_nothing_left(f, 0);
	free(out);
}

/* The record rewritten as the release before this one wrote it: the same
 * fields, no "pod" (skl_record_text leaves it out when nothing is known). */
static void rewrite_as_older_record(const char *dir)
{
	struct skl_record rec;
	struct skl_err err = { 0 };
	char *text;

	if (skl_record_load(dir, &rec, &err))
		fail_msg("record: %s", err.msg);
	assert_string_equal(rec.pod.name, "web-0");
	memset(&rec.pod, 0, sizeof(rec.pod));
	text = skl_record_text(&rec);
	assert_non_null(text);
	assert_null(strstr(text, "\"pod\""));
	free(text);
	if (skl_record_save(&rec, dir, &err))
		fail_msg("record: %s", err.msg);
	skl_record_free(&rec);
}

static void older_record_still_works(void **state)
{
	struct cni_fixture *f = *state;
	char *out = malloc(OUT), dir[PATH_MAX];
	cJSON *doc;
	const cJSON *o;

	assert_non_null(out);
	add_ok(f, CID, 0, CONTAINERD_ARGS("default", "web-0", CID));
	cni_state_dir(f, CNI_NETWORK, CID, CNI_POD_IFNAME, dir, sizeof(dir));
	rewrite_as_older_record(dir);

	assert_int_equal(ctl(f, true, out, "--container %s status", CID), 0);
	assert_true(!strncmp(out, "pod state ", 10));
	doc = ctl_json(f, out, "--container " CID " status");
	assert_pod_json(cJSON_GetObjectItem(doc, "pod"), NULL, NULL, NULL);
	cJSON_Delete(doc);
	assert_int_equal(ctl(f, true, out, "pods"), 0);
	assert_has(out, "\n-  ");
	assert_has(out, CID);
	doc = ctl_json(f, out, "pods");
	o = pods_entry(doc, CID);
	assert_pod_json(cJSON_GetObjectItem(o, "pod"), NULL, NULL, NULL);
	assert_true(number(o, "bindings") == bindings_in_force(f, out, CID));
	cJSON_Delete(doc);
	assert_int_equal(ctl(f, true, out, "--pod default/web-0 status"), 3);

	del_ok(f, CID, 0, NULL);
	cni_assert_nothing_left(f, 0);
	free(out);
}

/* No pod on the node: an empty list, also before any ADD made bpffsRoot. */
static void pods_on_an_empty_node(void **state)
{
	struct cni_fixture *f = *state;
	char *out = malloc(OUT);
	cJSON *doc;

	assert_non_null(out);
	assert_int_equal(ctl(f, true, out, "pods"), 0);
	assert_true(!strncmp(out, "POD ", 4) && !strchr(out, '\n')[1]);
	/* The later --bpffs-root wins: a root no ADD has made yet. */
	assert_int_equal(ctl(f, true, out, "--bpffs-root /sys/fs/bpf/sklt-names-none-%d pods",
			     (int)getpid()), 0);
	assert_true(!strncmp(out, "POD ", 4) && !strchr(out, '\n')[1]);
	doc = ctl_json(f, out, "--bpffs-root /sys/fs/bpf/sklt-names-none pods");
	assert_true(cJSON_IsArray(doc) && cJSON_GetArraySize(doc) == 0);
	cJSON_Delete(doc);
	free(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cni_fixture_setup, cni_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(names_shown_everywhere),
		T(pod_selection_errors),
		T(bad_cni_args_refused_leaving_nothing),
		T(podman_and_plain_libcni),
		T(older_record_still_works),
		T(pods_on_an_empty_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
