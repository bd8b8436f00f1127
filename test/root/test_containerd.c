/*
 * sklookup under containerd as the kubelet drives it: Debian's containerd
 * (1.6, CRI plugin), runc and the reference plugins, pods started and
 * ended over the CRI gRPC API (runtime.v1.RuntimeService) by our client,
 * the plugin under test (SKL_BUILD) in containerd's CNI bin_dir behind a
 * wrapper that records every call. The fixture (cri_fixture.h) says how
 * containerd is kept apart from the machine's.
 *
 * What containerd sends is asserted as facts others rely on: CNI_ARGS
 * with IgnoreUnknown=1 and K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID and
 * K8S_POD_INFRA_CONTAINER_ID; "io.kubernetes.cri.pod-annotations": null
 * for a pod without annotations; a DEL on StopPodSandbox with the netns
 * and the cached prevResult, and a second DEL on RemovePodSandbox with an
 * empty CNI_NETNS and no prevResult; after a failed ADD, one DEL with the
 * netns and no prevResult; the CNI_ARGS pairs in any order; no CHECK,
 * GC or STATUS; only the lexically first conflist is used.
 *
 * The host (the suite's own netns) probes only 203.0.113.0/24, and only
 * after `ip route get` shows the route into the pod.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "agent_fixture.h"
#include "build_version.h"
#include "cri_fixture.h"
#include "state.h"
#include "testnet.h"

#define ANNOTATION "sklookup.dev/bindings"
#define CAP_ANNOTATIONS "io.kubernetes.cri.pod-annotations"

/* What a kubelet puts on every pod sandbox. */
#define KUBELET_ANNOTATIONS                                                              \
	"kubernetes.io/config.source=api", "kubernetes.io/config.seen=2026-01-01T00:00:00Z", \
		"kubernetes.io/config.hash=0123456789abcdef"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_pod(struct cri_env *e, struct cri_pod *pod, const char *const *annotations)
{
	char err[2048];
	double start = now_s();

	if (crifix_run_pod(e, pod, annotations, err, sizeof(err))) {
		crifix_show_containerd_log(e);
		fail_msg("RunPodSandbox %s failed: %s", pod->name, err);
	}
	print_message("pod %s: sandbox %.12s at %s ready in %.2f s\n", pod->name, pod->id, pod->ip,
		      now_s() - start);
}

/* The annotation that asks for label on the addresses of range, 8080-8090. */
static void bindings_annotation(char *out, size_t len, const char *label, const char *range)
{
	snprintf(out, len,
		 ANNOTATION "=[{\"label\": \"%s\", \"protocol\": \"tcp\", \"prefix\": \"%s\","
			    " \"ports\": [\"8080-8090\"]}]",
		 label, range);
}

/* addr:port reaches the pod's server for label, after the host's route
 * to addr was seen to lead into the pod. */
static void expect_served(const struct cri_pod *pod, const char *label, const char *addr, int port)
{
	char line[256], want[256];

	if (!crifix_route_into_pod(pod, addr)) {
		testnet_run("ip route get %s >&2", addr);
		fail_msg("the host's route to %s does not lead into pod %s (%s): not probing",
			 addr, pod->name, pod->ip);
	}
	crifix_ask_tcp(addr, port, line, sizeof(line));
	snprintf(want, sizeof(want), "%s %s:%d\n", label, addr, port);
	if (strcmp(line, want))
		fail_msg("TCP %s:%d: got \"%s\", want \"%s\"", addr, port, line, want);
}

/* CNI_ARGS is exactly IgnoreUnknown=1 and the pod's four K8S_ keys. */
static void expect_cni_args(const struct cri_pod *pod, const struct cri_call *c,
			    const char *sandbox)
{
	static const char *const keys[] = { "IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME",
					    "K8S_POD_UID", "K8S_POD_INFRA_CONTAINER_ID" };
	const char *want[] = { "1", "sklt", pod->name, pod->uid, sandbox };
	char value[128];
	int pairs = 1;

	for (const char *p = c->args; *p; p++)
		pairs += *p == ';';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!crifix_cni_arg(c->args, keys[i], value, sizeof(value)) || strcmp(value, want[i]))
			fail_msg("%s CNI_ARGS \"%s\": want %s=%s", c->command, c->args, keys[i],
				 want[i]);
	}
	assert_int_equal(pairs, 5);
}

static bool has_prev_result(const struct cri_call *c)
{
	return cJSON_GetObjectItem(c->config, "prevResult") != NULL;
}

/* The runtimeConfig entry for the pod annotations as containerd sent it. */
static const cJSON *sent_annotations(const struct cri_call *c)
{
	const cJSON *rc = cJSON_GetObjectItem(c->config, "runtimeConfig");

	assert_non_null(rc);
	assert_true(cJSON_HasObjectItem(rc, CAP_ANNOTATIONS));
	return cJSON_GetObjectItem(rc, CAP_ANNOTATIONS);
}

/* A pod's whole life as containerd tells the plugin: ADD, then on Stop a
 * DEL with the netns and the cached prevResult, then on Remove a DEL with
 * an empty CNI_NETNS and no prevResult; every one succeeded. */
static void expect_add_del_del(const struct cri_env *e, const struct cri_pod *pod,
			       const char *sandbox, const char *netns)
{
	struct cri_call calls[CRI_MAX_CALLS];
	size_t n = crifix_calls(e, pod->name, calls, CRI_MAX_CALLS);
	static const char *const commands[] = { "ADD", "DEL", "DEL" };

	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(calls[i].command, commands[i]);
		assert_string_equal(calls[i].container, sandbox);
		assert_int_equal(calls[i].status, 0);
		assert_non_null(calls[i].config);
		expect_cni_args(pod, &calls[i], sandbox);
	}
	assert_string_equal(calls[0].netns, netns);
	assert_string_equal(calls[1].netns, netns);
	assert_true(has_prev_result(&calls[0])); /* bridge's result, as prevResult of the chain */
	assert_true(has_prev_result(&calls[1]));
	assert_string_equal(calls[2].netns, "");
	assert_false(has_prev_result(&calls[2]));
	print_message("pod %s: ADD CNI_ARGS=\"%s\"; DEL netns=%s prevResult=yes;"
		      " DEL netns=\"\" prevResult=no\n",
		      pod->name, calls[0].args, calls[1].netns);
	crifix_free_calls(calls, n);
}

/* Nothing of the pod is left on the host: no state directory (pins), no
 * sk_lookup link, no route via its address, no netns file. */
static void expect_pod_gone(const struct cri_env *e, const struct cri_pod *pod, const char *sandbox,
			    const char *ip, const char *netns, uint32_t link_id)
{
	char dir[PATH_MAX], out[4096];
	struct cri_pod gone = { 0 };

	snprintf(gone.id, sizeof(gone.id), "%s", sandbox);
	crifix_state_dir(e, &gone, dir, sizeof(dir));
	assert_false(skl_state_exists(dir));
	assert_int_equal(access(dir, F_OK), -1);
	if (link_id) {
		int fd = bpf_link_get_fd_by_id(link_id);

		if (fd >= 0) {
			close(fd);
			fail_msg("pod %s: the sk_lookup link %u outlived it", pod->name, link_id);
		}
		assert_int_equal(errno, ENOENT);
	}
	assert_int_equal(crifix_capture(out, sizeof(out), "ip -o route show table all |"
							  " grep -F ' via %s ' || true", ip), 0);
	assert_string_equal(out, "");
	assert_int_equal(access(netns, F_OK), -1);
}

static int pod_teardown(void **state)
{
	crifix_forget_pods(*state);
	return 0;
}

/* ---- cases ---- */

/* The case: the annotation's range is served by a socket that a
 * process with no privileges registered through the node agent. */
static void test_annotation_pod_served_through_agent(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *pod = crifix_pod(e, "web");
	char annotation[512], sandbox[96], ip[64], netns[128], dir[PATH_MAX];
	const char *annotations[] = { annotation, KUBELET_ANNOTATIONS, NULL };
	struct cri_call calls[CRI_MAX_CALLS];
	uint32_t link_id;
	size_t n;

	bindings_annotation(annotation, sizeof(annotation), "web", "203.0.113.0/24");
	run_pod(e, pod, annotations);
	crifix_state_dir(e, pod, dir, sizeof(dir));
	assert_true(skl_state_exists(dir));
	link_id = crifix_link_id(e, pod);
	assert_int_not_equal(link_id, 0);

	crifix_serve(e, pod, "web");
	assert_true(agentfix_log_has("uid 65534: register web: ok"));
	expect_served(pod, "web", "203.0.113.1", 8080);
	expect_served(pod, "web", "203.0.113.77", 8085);
	expect_served(pod, "web", "203.0.113.254", 8090);

	/* ADD got the annotations as an object of strings. */
	n = crifix_calls(e, pod->name, calls, CRI_MAX_CALLS);
	assert_int_equal(n, 1);
	assert_string_equal(calls[0].command, "ADD");
	expect_cni_args(pod, &calls[0], pod->id);
	assert_string_equal(
		cJSON_GetStringValue(cJSON_GetObjectItem(sent_annotations(&calls[0]), ANNOTATION)),
		strchr(annotation, '=') + 1);
	crifix_free_calls(calls, n);

	snprintf(sandbox, sizeof(sandbox), "%s", pod->id);
	snprintf(ip, sizeof(ip), "%s", pod->ip);
	snprintf(netns, sizeof(netns), "%s", pod->netns);
	crifix_stop_pod(e, pod);
	crifix_remove_pod(e, pod);
	expect_pod_gone(e, pod, sandbox, ip, netns, link_id);
	expect_add_del_del(e, pod, sandbox, netns);
}

/* A pod with only the kubelet's own annotations starts and ends cleanly. */
static void test_kubelet_annotations_only(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *pod = crifix_pod(e, "plain");
	const char *annotations[] = { KUBELET_ANNOTATIONS, NULL };
	char sandbox[96], ip[64], netns[128], state_name[32];
	struct cri_call calls[CRI_MAX_CALLS];
	const cJSON *sent;
	uint32_t link_id;
	size_t n;

	run_pod(e, pod, annotations);
	assert_int_equal(crifix_pod_state(e, pod, state_name, sizeof(state_name)), 0);
	assert_string_equal(state_name, "SANDBOX_READY");
	link_id = crifix_link_id(e, pod);

	n = crifix_calls(e, pod->name, calls, CRI_MAX_CALLS);
	assert_int_equal(n, 1);
	sent = sent_annotations(&calls[0]);
	assert_true(cJSON_IsObject(sent));
	assert_int_equal(cJSON_GetArraySize(sent), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(sent,
								      "kubernetes.io/config.source")),
			    "api");
	crifix_free_calls(calls, n);

	snprintf(sandbox, sizeof(sandbox), "%s", pod->id);
	snprintf(ip, sizeof(ip), "%s", pod->ip);
	snprintf(netns, sizeof(netns), "%s", pod->netns);
	crifix_stop_pod(e, pod);
	crifix_remove_pod(e, pod);
	expect_pod_gone(e, pod, sandbox, ip, netns, link_id);
	expect_add_del_del(e, pod, sandbox, netns);
}

/* containerd sends null for a pod without annotations (Go's empty map):
 * the ADD succeeds. */
static void test_no_annotations_sends_null(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *pod = crifix_pod(e, "bare");
	char sandbox[96], ip[64], netns[128];
	struct cri_call calls[CRI_MAX_CALLS];
	uint32_t link_id;
	size_t n;

	run_pod(e, pod, NULL);
	link_id = crifix_link_id(e, pod);
	n = crifix_calls(e, pod->name, calls, CRI_MAX_CALLS);
	assert_int_equal(n, 1);
	assert_int_equal(calls[0].status, 0);
	assert_true(cJSON_IsNull(sent_annotations(&calls[0])));
	crifix_free_calls(calls, n);

	snprintf(sandbox, sizeof(sandbox), "%s", pod->id);
	snprintf(ip, sizeof(ip), "%s", pod->ip);
	snprintf(netns, sizeof(netns), "%s", pod->netns);
	crifix_stop_pod(e, pod);
	crifix_remove_pod(e, pod);
	expect_pod_gone(e, pod, sandbox, ip, netns, link_id);
	expect_add_del_del(e, pod, sandbox, netns);
}

/* An annotation outside the network's policy fails the ADD: the kubelet
 * sees the plugin's message, containerd sends DEL, nothing is left. */
static void test_failed_add_then_del(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *pod = crifix_pod(e, "refused");
	char annotation[512], err[4096];
	const char *annotations[] = { annotation, NULL };
	struct cri_call calls[CRI_MAX_CALLS];
	char ip[64] = "";
	size_t n;

	bindings_annotation(annotation, sizeof(annotation), "web", "198.18.0.0/24");
	assert_int_not_equal(crifix_run_pod(e, pod, annotations, err, sizeof(err)), 0);
	print_message("RunPodSandbox refused: %s\n", err);
	assert_non_null(strstr(err, "allowedPrefixes"));
	assert_string_equal(pod->id, "");

	n = crifix_calls(e, pod->name, calls, CRI_MAX_CALLS);
	assert_true(n >= 2);
	assert_string_equal(calls[0].command, "ADD");
	assert_int_not_equal(calls[0].status, 0);
	expect_cni_args(pod, &calls[0], calls[0].container);
	for (size_t i = 1; i < n; i++) {
		assert_string_equal(calls[i].command, "DEL");
		assert_string_equal(calls[i].container, calls[0].container);
		assert_int_equal(calls[i].status, 0);
		print_message("failed ADD, then DEL netns=\"%s\" prevResult=%s\n", calls[i].netns,
			      has_prev_result(&calls[i]) ? "yes" : "no");
	}
	/* The DEL comes while the netns is there, and without prevResult:
	 * libcni caches only a successful ADD's result. */
	assert_int_equal(n, 2);
	assert_string_equal(calls[1].netns, calls[0].netns);
	assert_false(has_prev_result(&calls[1]));
	/* The address bridge gave it, from the ADD's prevResult. */
	{
		cJSON *ips = cJSON_GetObjectItem(cJSON_GetObjectItem(calls[0].config, "prevResult"),
						 "ips");
		const char *cidr = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetArrayItem(ips, 0), "address"));

		assert_non_null(cidr);
		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(cidr, "/"), cidr);
	}
	expect_pod_gone(e, pod, calls[0].container, ip, calls[0].netns, 0);
	print_message("failed ADD of %.12s: %zu calls (ADD, then DEL x%zu)\n", calls[0].container, n,
		      n - 1);
	crifix_free_calls(calls, n);
}

/* containerd killed and started again while two pods serve: the pods and
 * their traffic stay (the plugin's state is in bpffs, not containerd), and
 * Stop and Remove still remove everything. */
static void test_containerd_restart_keeps_pods(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *a = crifix_pod(e, "keep-a"), *b = crifix_pod(e, "keep-b");
	char ann_a[512], ann_b[512], state_name[32];
	const char *annotations_a[] = { ann_a, NULL }, *annotations_b[] = { ann_b, NULL };
	char sandbox[2][96], ip[2][64], netns[2][128];
	uint32_t link[2];
	struct cri_pod *pods[2] = { a, b };
	uint64_t restart;

	bindings_annotation(ann_a, sizeof(ann_a), "low", "203.0.113.0/25");
	bindings_annotation(ann_b, sizeof(ann_b), "high", "203.0.113.128/25");
	run_pod(e, a, annotations_a);
	run_pod(e, b, annotations_b);
	crifix_serve(e, a, "low");
	crifix_serve(e, b, "high");
	expect_served(a, "low", "203.0.113.5", 8080);
	expect_served(b, "high", "203.0.113.200", 8080);

	crifix_containerd_kill(e, SIGKILL);
	/* Without containerd, traffic goes on. */
	expect_served(a, "low", "203.0.113.6", 8081);
	expect_served(b, "high", "203.0.113.201", 8081);
	restart = agentfix_now_ms();
	crifix_containerd_start(e);
	print_message("containerd answered CRI again %.1f s after its restart\n",
		      (agentfix_now_ms() - restart) / 1000.0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(crifix_pod_state(e, pods[i], state_name, sizeof(state_name)), 0);
		assert_string_equal(state_name, "SANDBOX_READY");
	}
	expect_served(a, "low", "203.0.113.7", 8082);
	expect_served(b, "high", "203.0.113.202", 8082);

	for (size_t i = 0; i < 2; i++) {
		link[i] = crifix_link_id(e, pods[i]);
		assert_int_not_equal(link[i], 0);
		snprintf(sandbox[i], sizeof(sandbox[i]), "%s", pods[i]->id);
		snprintf(ip[i], sizeof(ip[i]), "%s", pods[i]->ip);
		snprintf(netns[i], sizeof(netns[i]), "%s", pods[i]->netns);
		crifix_stop_pod(e, pods[i]);
		crifix_remove_pod(e, pods[i]);
		expect_pod_gone(e, pods[i], sandbox[i], ip[i], netns[i], link[i]);
		expect_add_del_del(e, pods[i], sandbox[i], netns[i]);
	}
}

/* Stop alone already removes the pod's network and everything of the
 * plugin (DEL with the netns); Remove's DEL (no netns) finds nothing and
 * succeeds; the plugin's tree holds nothing of the pod. */
static void test_stop_then_remove_leaves_nothing(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *pod = crifix_pod(e, "ended");
	char annotation[512], sandbox[96], ip[64], netns[128], out[4096];
	const char *annotations[] = { annotation, NULL };
	struct cri_call calls[CRI_MAX_CALLS];
	uint32_t link_id;
	size_t n;

	bindings_annotation(annotation, sizeof(annotation), "web", "203.0.113.0/24");
	run_pod(e, pod, annotations);
	crifix_serve(e, pod, "web");
	expect_served(pod, "web", "203.0.113.9", 8080);
	link_id = crifix_link_id(e, pod);
	assert_int_not_equal(link_id, 0);
	snprintf(sandbox, sizeof(sandbox), "%s", pod->id);
	snprintf(ip, sizeof(ip), "%s", pod->ip);
	snprintf(netns, sizeof(netns), "%s", pod->netns);

	crifix_stop_pod(e, pod);
	expect_pod_gone(e, pod, sandbox, ip, netns, link_id);
	n = crifix_calls(e, pod->name, calls, CRI_MAX_CALLS);
	assert_int_equal(n, 2);
	assert_string_equal(calls[1].command, "DEL");
	crifix_free_calls(calls, n);
	/* The host no longer routes the range anywhere. */
	assert_int_equal(crifix_capture(out, sizeof(out), "ip -o route show 203.0.113.0/24"), 0);
	assert_string_equal(out, "");

	crifix_remove_pod(e, pod);
	expect_pod_gone(e, pod, sandbox, ip, netns, link_id);
	expect_add_del_del(e, pod, sandbox, netns);
	/* Nothing but the agent's spare dispatchers in the plugin's tree. */
	assert_int_equal(testnet_run("[ -z \"$(ls -A %s | grep -vx ':spare')\" ]", e->root), 0);
}

/* Over the whole suite containerd 1.6 sent ADD and DEL only (no CHECK, GC
 * or STATUS), each for the lexically first conflist only. */
static void test_only_add_and_del_of_the_first_conflist(void **state)
{
	struct cri_env *e = *state;
	struct cri_call calls[CRI_MAX_CALLS];
	size_t n = crifix_calls(e, NULL, calls, CRI_MAX_CALLS), adds = 0, dels = 0;

	assert_true(n > 0 && n < CRI_MAX_CALLS);
	for (size_t i = 0; i < n; i++) {
		const char *network = cJSON_GetStringValue(cJSON_GetObjectItem(calls[i].config,
									      "name"));

		if (strcmp(calls[i].command, "ADD") && strcmp(calls[i].command, "DEL"))
			fail_msg("containerd sent %s", calls[i].command);
		adds += !strcmp(calls[i].command, "ADD");
		dels += !strcmp(calls[i].command, "DEL");
		assert_non_null(network);
		assert_string_equal(network, CRI_NETWORK);
	}
	print_message("containerd sent %zu ADD and %zu DEL, all for %s\n", adds, dels, CRI_NETWORK);
	crifix_free_calls(calls, n);
}

/* ---- the node image (make image) ---- */

#define IMAGE "build/sklookup-image.tar"
#define IMAGE_STATIC_DIR "build-static"

/* A JSON file of the image archive (a path in it), parsed. */
static cJSON *archive_json(const char *member)
{
	static char out[1 << 16];

	if (crifix_capture(out, sizeof(out), "tar -xOf " IMAGE " %s", member) != 0)
		fail_msg("%s has no %s", IMAGE, member);
	return cJSON_Parse(out);
}

/* blobs/sha256/<hex> for a "sha256:<hex>" digest. */
static void blob_path(char *out, size_t len, const cJSON *descriptor)
{
	const char *digest = cJSON_GetStringValue(cJSON_GetObjectItem(descriptor, "digest"));

	assert_non_null(digest);
	assert_int_equal(strncmp(digest, "sha256:", 7), 0);
	snprintf(out, len, "blobs/sha256/%s", digest + 7);
}

/* The image holds exactly the two static binaries, byte for byte, with
 * sklookup-ctl as its entrypoint; ctr imports it and runs both binaries
 * from it (nothing else in the image: no shell, no libc), podman loads
 * it under the same name. */
static void test_node_image_loads_with_ctr_and_podman(void **state)
{
	struct cri_env *e = *state;
	char name[128], layer[128], config_blob[128], out[8192], cg[96], tags[160];
	cJSON *index, *manifest, *config, *entry;
	struct stat st;

	if (stat(IMAGE, &st))
		fail_msg(IMAGE " is missing: run make image (make test does)");
	index = archive_json("index.json");
	assert_non_null(index);
	entry = cJSON_GetArrayItem(cJSON_GetObjectItem(index, "manifests"), 0);
	snprintf(name, sizeof(name), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(entry, "annotations"),
							  "io.containerd.image.name")) ?: "");
	assert_int_equal(strncmp(name, "localhost/sklookup:", 19), 0);
	blob_path(layer, sizeof(layer), entry);
	cJSON_Delete(index);
	manifest = archive_json(layer);
	assert_non_null(manifest);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "layers")), 1);
	blob_path(config_blob, sizeof(config_blob), cJSON_GetObjectItem(manifest, "config"));
	blob_path(layer, sizeof(layer),
		  cJSON_GetArrayItem(cJSON_GetObjectItem(manifest, "layers"), 0));
	cJSON_Delete(manifest);
	config = archive_json(config_blob);
	assert_non_null(config);
	entry = cJSON_GetObjectItem(cJSON_GetObjectItem(config, "config"), "Entrypoint");
	assert_int_equal(cJSON_GetArraySize(entry), 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(entry, 0)), "/sklookup-ctl");
	cJSON_Delete(config);

	/* tar -t of the layer: the two binaries, nothing else. */
	assert_int_equal(crifix_capture(out, sizeof(out), "tar -xOf " IMAGE " %s | tar -tvzf -",
					layer),
			 0);
	print_message("%s: %s, %lld bytes; its layer:\n%s", IMAGE, name, (long long)st.st_size, out);
	assert_int_equal(crifix_capture(out, sizeof(out), "tar -xOf " IMAGE " %s | tar -tzf -", layer),
			 0);
	assert_string_equal(out, "sklookup\nsklookup-ctl\n");
	for (int i = 0; i < 2; i++)
		assert_int_equal(testnet_run("tar -xOf " IMAGE " %s | tar -xOzf - %s |"
					     " cmp -s - " IMAGE_STATIC_DIR "/%s",
					     layer, i ? "sklookup-ctl" : "sklookup",
					     i ? "sklookup-ctl" : "sklookup"),
				 0);

	/* containerd: imported, and both binaries run from it alone. */
	assert_int_equal(crifix_capture(out, sizeof(out),
					"ctr -a %s -n sklt-image images import " IMAGE " 2>&1 &&"
					" ctr -a %s -n sklt-image images ls -q",
					e->sock, e->sock),
			 0);
	assert_non_null(strstr(out, name));
	snprintf(cg, sizeof(cg), "/%s/image", e->cgroup);
	for (int i = 0; i < 2; i++) {
		if (crifix_capture(out, sizeof(out),
				   "ctr -a %s -n sklt-image run --rm --cgroup %s %s sklt-image-%d"
				   " /%s --version 2>&1",
				   e->sock, cg, name, getpid(), i ? "sklookup-ctl" : "sklookup") != 0)
			fail_msg("ctr run %s: %s", name, out);
		assert_non_null(strstr(out, SKL_RELEASE));
	}
	assert_int_equal(testnet_run("ctr -a %s -n sklt-image images rm %s >/dev/null", e->sock,
				     name),
			 0);

	/* podman, with storage of this suite's own. */
	if (crifix_capture(out, sizeof(out),
			   "printf '[engine]\\nevents_logger = \"none\"\\n' > %s/containers.conf &&"
			   " CONTAINERS_CONF=%s/containers.conf podman --root %s/podman/root"
			   " --runroot %s/podman/run --tmpdir %s/podman/tmp load -i " IMAGE " 2>&1 &&"
			   " CONTAINERS_CONF=%s/containers.conf podman --root %s/podman/root"
			   " --runroot %s/podman/run --tmpdir %s/podman/tmp image inspect"
			   " --format '{{.RepoTags}} {{.Config.Entrypoint}}' %s 2>&1",
			   e->tmp, e->tmp, e->tmp, e->tmp, e->tmp, e->tmp, e->tmp, e->tmp, e->tmp,
			   name) != 0)
		fail_msg("podman load " IMAGE ": %s", out);
	print_message("podman: %s", out);
	assert_non_null(strstr(out, "[/sklookup-ctl]"));
	snprintf(tags, sizeof(tags), "[%s]", name);
	assert_non_null(strstr(out, tags));
}

/* podman as a node runs the DaemonSet's installer: the image's own
 * sklookup-ctl (no shell in it) with the host's CNI directories mounted
 * where the DaemonSet mounts them. The hard RLIMIT_NOFILE here is 20000
 * (ENVIRONMENT.md): podman's default of more fails. */
static void podman(const struct cri_env *e, char *out, size_t len, const char *args)
{
	if (crifix_capture(out, len,
			   "printf '[containers]\\ndefault_ulimits = [\"nofile=20000:20000\","
			   " \"nproc=4096:4096\"]\\n[engine]\\nevents_logger = \"none\"\\n"
			   "cgroup_manager = \"cgroupfs\"\\n'"
			   " > %s/containers.conf &&"
			   " CONTAINERS_CONF=%s/containers.conf podman --root %s/podman/root"
			   " --runroot %s/podman/run --tmpdir %s/podman/tmp %s 2>&1",
			   e->tmp, e->tmp, e->tmp, e->tmp, e->tmp, args) != 0)
		fail_msg("podman %s: %s", args, out);
}

/* The install-then-run: the node has the reference plugins and a
 * conflist of bridge + host-local only; the image's installer, run by
 * podman with the DaemonSet's host mounts on this suite's directories,
 * puts the static plugin into the bin_dir and merges the entry into the
 * conflist; then containerd (started after, as on a node) runs a pod with
 * the bindings annotation through the plugin it installed, the range is
 * served, and Stop and Remove leave nothing. */
static void test_installed_by_the_image_then_serves(void **state)
{
	struct cri_env *e = *state;
	struct cri_pod *pod = crifix_pod(e, "installed");
	char annotation[512], out[8192], args[2048], conflist[PATH_MAX], saved[PATH_MAX];
	char sandbox[96], ip[64], netns[128], name[128];
	const char *annotations[] = { annotation, KUBELET_ANNOTATIONS, NULL };
	cJSON *doc, *plugins;
	uint32_t link_id;

	if (access(IMAGE, R_OK))
		fail_msg(IMAGE " is missing: run make image (make test does)");
	crifix_containerd_kill(e, SIGTERM);
	/* The node before: no sklookup in bin_dir, and its conflist without
	 * the plugin (the suite's own is kept aside and put back). */
	snprintf(conflist, sizeof(conflist), "%s/net.d/10-%s.conflist", e->tmp, CRI_NETWORK);
	snprintf(saved, sizeof(saved), "%s/saved-%s.conflist", e->tmp, CRI_NETWORK);
	assert_int_equal(testnet_run("mv %s/cni-bin/sklookup %s/saved-sklookup && cp %s %s &&"
				     " jq -c 'del(.plugins[1])' %s > %s.new && mv %s.new %s",
				     e->tmp, e->tmp, conflist, saved, saved, conflist, conflist,
				     conflist),
			 0);
	assert_int_equal(testnet_run("jq -c '.plugins[1]' %s > %s/sklookup-entry.json", saved,
				     e->tmp),
			 0);

	podman(e, out, sizeof(out), "load -q -i " IMAGE);
	assert_non_null(strstr(out, "localhost/sklookup:"));
	snprintf(name, sizeof(name), "%s", strstr(out, "localhost/sklookup:"));
	name[strcspn(name, " \n")] = 0;
	snprintf(args, sizeof(args),
		 "run --rm --network none --security-opt label=disable"
		 " -v %s/cni-bin:/host/opt/cni/bin -v %s/net.d:/host/etc/cni/net.d"
		 " -v %s/sklookup-entry.json:/etc/sklookup/sklookup-entry.json:ro %s"
		 " install --from=/ --entry-file=/etc/sklookup/sklookup-entry.json binaries config",
		 e->tmp, e->tmp, e->tmp, name);
	podman(e, out, sizeof(out), args);
	print_message("the image's installer: %s", out);

	/* What it did: the image's static plugin in bin_dir, the entry last in
	 * the (lexically first) conflist, bridge untouched. */
	assert_int_equal(testnet_run("cmp -s %s/cni-bin/sklookup " IMAGE_STATIC_DIR "/sklookup",
				     e->tmp),
			 0);
	assert_int_equal(crifix_capture(out, sizeof(out), "cat %s", conflist), 0);
	doc = cJSON_Parse(out);
	plugins = cJSON_GetObjectItem(doc, "plugins");
	assert_int_equal(cJSON_GetArraySize(plugins), 2);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(plugins, 0),
								     "type")),
			    "bridge");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(plugins, 1),
								     "type")),
			    "sklookup");
	cJSON_Delete(doc);

	/* containerd as the node starts it, and a pod through that plugin. */
	crifix_containerd_start(e);
	bindings_annotation(annotation, sizeof(annotation), "web", "203.0.113.0/24");
	run_pod(e, pod, annotations);
	link_id = crifix_link_id(e, pod);
	assert_int_not_equal(link_id, 0);
	crifix_serve(e, pod, "web");
	expect_served(pod, "web", "203.0.113.1", 8080);
	expect_served(pod, "web", "203.0.113.200", 8090);
	snprintf(sandbox, sizeof(sandbox), "%s", pod->id);
	snprintf(ip, sizeof(ip), "%s", pod->ip);
	snprintf(netns, sizeof(netns), "%s", pod->netns);
	crifix_stop_pod(e, pod);
	crifix_remove_pod(e, pod);
	expect_pod_gone(e, pod, sandbox, ip, netns, link_id);

	/* The suite's own plugin and conflist back. */
	crifix_containerd_kill(e, SIGTERM);
	assert_int_equal(testnet_run("mv %s/saved-sklookup %s/cni-bin/sklookup && mv %s %s", e->tmp,
				     e->tmp, saved, conflist),
			 0);
	crifix_containerd_start(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_annotation_pod_served_through_agent, pod_teardown),
		cmocka_unit_test_teardown(test_kubelet_annotations_only, pod_teardown),
		cmocka_unit_test_teardown(test_no_annotations_sends_null, pod_teardown),
		cmocka_unit_test_teardown(test_failed_add_then_del, pod_teardown),
		cmocka_unit_test_teardown(test_containerd_restart_keeps_pods, pod_teardown),
		cmocka_unit_test_teardown(test_stop_then_remove_leaves_nothing, pod_teardown),
		cmocka_unit_test(test_only_add_and_del_of_the_first_conflist),
		cmocka_unit_test(test_node_image_loads_with_ctr_and_podman),
		cmocka_unit_test_teardown(test_installed_by_the_image_then_serves, pod_teardown),
	};

	return cmocka_run_group_tests_name("containerd (CRI) with the sklookup CNI plugin", tests,
					   crifix_setup, crifix_teardown);
}
