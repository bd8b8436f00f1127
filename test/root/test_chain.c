/*
 * The plugin in a real chain, driven by libcni (the library containerd,
 * CRI-O and podman use; build/test/cniclient): bridge + host-local +
 * sklookup at cniVersion 0.3.1, 0.4.0 and 1.0.0. ADD, traffic from the
 * "host" to the range reaching a socket registered in the pod, CHECK, DEL,
 * DEL again, and nothing left. The "host" is a throwaway netns, so the
 * bridge and the host routes never touch the machine's real network.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "dispatch_fixture.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"
#include "testbin.h"
#include "testnet.h"


struct chain {
	int saved_netns;
	char pod[64], pod_path[128], root[256], conflist[256], cache[256], ipam[256];
	int servers[2]; /* tcp, udp: in the pod, registered for "web" and "dns" */
};

static int chain_setup(void **state)
{
	static int n;
	struct chain *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->servers[0] = c->servers[1] = -1;
	assert_int_equal(testnet_unshare_netns(&c->saved_netns), 0);
	snprintf(c->pod, sizeof(c->pod), "sklt-chain-%d-%d", getpid(), n++);
	snprintf(c->pod_path, sizeof(c->pod_path), "/var/run/netns/%s", c->pod);
	snprintf(c->conflist, sizeof(c->conflist), "/tmp/%s.conflist", c->pod);
	snprintf(c->cache, sizeof(c->cache), "/tmp/%s-cache", c->pod);
	snprintf(c->ipam, sizeof(c->ipam), "/tmp/%s-ipam", c->pod);
	assert_int_equal(testnet_run("ip netns add %s", c->pod), 0);
	/* Runtimes bring lo up with the loopback plugin, outside the conflist. */
	assert_int_equal(testnet_run("ip -n %s link set lo up", c->pod), 0);
	assert_int_equal(testnet_bpffs_tmpdir(c->root, sizeof(c->root)), 0);
	*state = c;
	return 0;
}

static int chain_teardown(void **state)
{
	struct chain *c = *state;
	int ret;

	for (int i = 0; i < 2; i++)
		if (c->servers[i] >= 0)
			close(c->servers[i]);
	testnet_run("ip netns del %s 2>/dev/null", c->pod);
	testnet_run("rm -rf %s %s %s", c->conflist, c->cache, c->ipam);
	testnet_rm_rf_bpffs(c->root);
	/* The bridge lives in the throwaway host netns and goes with it. */
	ret = testnet_restore_netns(c->saved_netns);
	free(c);
	return ret;
}

static void write_conflist(const struct chain *c, const char *version, const char *extra)
{
	FILE *f = fopen(c->conflist, "w");

	assert_non_null(f);
	fprintf(f,
		"{\"cniVersion\": \"%s\", \"name\": \"sklt-chain\", \"plugins\": ["
		" {\"type\": \"bridge\", \"bridge\": \"sklt-cbr0\", \"isGateway\": true,"
		"  \"ipMasq\": false, \"ipam\": {\"type\": \"host-local\","
		"  \"subnet\": \"198.51.100.0/24\", \"dataDir\": \"%s\"}},"
		" {\"type\": \"sklookup\", \"bpffsRoot\": \"%s\","
		"  \"routes\": {\"pod\": true, \"host\": true},"
		"  \"bindings\": ["
		"   {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		"    \"ports\": [\"80\", \"443\", \"8000-8999\"]},"
		"   {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"203.0.113.0/24\","
		"    \"ports\": [\"53\"]}]%s}]}",
		version, c->ipam, c->root, extra);
	assert_int_equal(fclose(f), 0);
}

/* Runs the libcni client; returns its exit status, stdout in *out. */
static int cniclient(const struct chain *c, const char *verb, const char *netns,
		     const char *annotations, char *out, size_t len)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cni_path[PATH_MAX + 16], cniclient[PATH_MAX];

		snprintf(cni_path, sizeof(cni_path), "/usr/lib/cni:%s", testbin_dir());
		testbin_path(cniclient, sizeof(cniclient), "test/cniclient");
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		if (annotations)
			execl(cniclient, cniclient, "--cni-path", cni_path, "--cache-dir", c->cache,
			      "--annotations", annotations, verb, c->conflist, "cid-chain", netns,
			      "eth0", (char *)NULL);
		else
			execl(cniclient, cniclient, "--cni-path", cni_path, "--cache-dir", c->cache,
			      verb, c->conflist, "cid-chain", netns, "eth0", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (ssize_t n; (n = read(pipefd[0], out + used, len - used - 1)) > 0;)
		used += (size_t)n;
	out[used] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void state_dir(const struct chain *c, char *dir, size_t len)
{
	struct skl_err err;

	assert_int_equal(skl_state_path(dir, len, c->root, "sklt-chain", "cid-chain", "eth0", &err),
			 0);
}

/* Servers inside the pod, registered for the labels through the pins. */
static void register_servers(struct chain *c)
{
	struct skl_dispatcher d;
	struct skl_err err = { 0 };
	char dir[PATH_MAX];
	uint32_t web, dns;
	int pod, saved;

	state_dir(c, dir, sizeof(dir));
	pod = open(c->pod_path, O_RDONLY | O_CLOEXEC);
	assert_true(pod >= 0);
	assert_int_equal(skl_netns_enter(pod, &saved, &err), 0);
	c->servers[0] = fixture_server(SOCK_STREAM, "127.0.0.1", 0, true);
	c->servers[1] = fixture_server(SOCK_DGRAM, "127.0.0.1", 0, true);
	if (skl_dispatcher_open(&d, dir, &err) || skl_label_lookup(&d, "web", &web, &err) ||
	    skl_label_lookup(&d, "dns", &dns, &err) ||
	    skl_socket_register(&d, web, c->servers[0], &err) ||
	    skl_socket_register(&d, dns, c->servers[1], &err))
		fail_msg("register: %s", err.msg);
	skl_dispatcher_close(&d);
	assert_int_equal(skl_netns_leave(saved, &err), 0);
	close(pod);
}

static bool bpffs_network_empty(const struct chain *c)
{
	char dir[PATH_MAX], network[PATH_MAX];

	state_dir(c, dir, sizeof(dir));
	skl_state_parent(dir, network, sizeof(network), NULL);
	skl_state_parent(network, network, sizeof(network), NULL);
	return !skl_state_exists(network);
}

static void full_cycle(void **state, const char *version)
{
	struct chain *c = *state;
	char out[16384], dir[PATH_MAX];
	cJSON *result;
	bool has_check = strcmp(version, "0.3.1") != 0;

	write_conflist(c, version, "");
	assert_int_equal(cniclient(c, "add", c->pod_path, NULL, out, sizeof(out)), 0);
	result = cJSON_Parse(out);
	assert_non_null(result);
	assert_string_equal(cJSON_GetObjectItem(result, "cniVersion")->valuestring, version);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(result, "ips")) >= 1);
	cJSON_Delete(result);
	state_dir(c, dir, sizeof(dir));
	assert_true(skl_state_exists(dir));

	/* The host reaches the range through the pod; one socket takes all of it. */
	register_servers(c);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &c->servers[0], 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.200", 443, &c->servers[0], 1), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.99", 8765, &c->servers[0], 1), 0);
	assert_int_equal(fixture_deliver(SOCK_DGRAM, "203.0.113.9", 53, &c->servers[1], 1), 0);
	/* A port no binding serves is refused in the pod. */
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 22, &c->servers[0], 1), -1);

	if (has_check)
		assert_int_equal(cniclient(c, "check", c->pod_path, NULL, out, sizeof(out)), 0);
	assert_int_equal(cniclient(c, "del", c->pod_path, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_true(bpffs_network_empty(c));
	assert_int_not_equal(testnet_run("ip route | grep -q 203.0.113"), 0);
	assert_int_equal(cniclient(c, "del", c->pod_path, NULL, out, sizeof(out)), 0);
}

static void chain_0_3_1(void **state)
{
	full_cycle(state, "0.3.1");
}

static void chain_0_4_0(void **state)
{
	full_cycle(state, "0.4.0");
}

static void chain_1_0_0(void **state)
{
	full_cycle(state, "1.0.0");
}

/* DEL after the pod's netns is gone, with an empty CNI_NETNS: success, and
 * the host routes and pins are removed. */
static void del_after_netns_gone(void **state)
{
	struct chain *c = *state;
	char out[16384];

	write_conflist(c, "1.0.0", "");
	assert_int_equal(cniclient(c, "add", c->pod_path, NULL, out, sizeof(out)), 0);
	assert_int_equal(testnet_run("ip route | grep -q '203.0.113.0/24 via 198.51.100'"), 0);
	assert_int_equal(testnet_run("ip netns del %s", c->pod), 0);
	assert_int_equal(cniclient(c, "del", "", NULL, out, sizeof(out)), 0);
	assert_true(bpffs_network_empty(c));
	assert_int_not_equal(testnet_run("ip route | grep -q 203.0.113"), 0);
	assert_int_equal(cniclient(c, "del", "", NULL, out, sizeof(out)), 0);
}

/* A pod annotation (the runtime's pod-annotations capability) adds a
 * binding when the network allows it. */
static void annotation_through_runtime_capability(void **state)
{
	struct chain *c = *state;
	struct skl_binding_set got;
	struct skl_dispatcher d;
	struct skl_err err = { 0 };
	char out[16384], dir[PATH_MAX];
	uint32_t *ids;
	bool found = false;

	write_conflist(c, "1.0.0",
		       ", \"capabilities\": {\"io.kubernetes.cri.pod-annotations\": true},"
		       " \"annotations\": {\"allow\": true, \"allowedPrefixes\": [\"pod\"]}");
	assert_int_equal(cniclient(c, "add", c->pod_path,
				   "{\"sklookup.dev/bindings\": \"[{\\\"label\\\": \\\"app\\\", "
				   "\\\"protocol\\\": \\\"tcp\\\", \\\"prefix\\\": \\\"pod\\\", "
				   "\\\"ports\\\": [\\\"8080\\\"]}]\"}",
				   out, sizeof(out)),
			 0);
	state_dir(c, dir, sizeof(dir));
	assert_int_equal(skl_dispatcher_open(&d, dir, &err), 0);
	assert_int_equal(skl_rules_read(&d, &got, &ids, &err), 0);
	for (size_t i = 0; i < got.n; i++)
		found = found || (!strcmp(got.v[i].label, "app") && got.v[i].plen == 32 &&
				  got.v[i].ports[0].lo == 8080);
	assert_true(found);
	assert_int_equal(got.n, 3);
	free(ids);
	skl_bindings_free(&got);
	skl_dispatcher_close(&d);
	assert_int_equal(cniclient(c, "check", c->pod_path,
				   "{\"sklookup.dev/bindings\": \"[{\\\"label\\\": \\\"app\\\", "
				   "\\\"protocol\\\": \\\"tcp\\\", \\\"prefix\\\": \\\"pod\\\", "
				   "\\\"ports\\\": [\\\"8080\\\"]}]\"}",
				   out, sizeof(out)),
			 0);
	assert_int_equal(cniclient(c, "del", c->pod_path, NULL, out, sizeof(out)), 0);
	assert_true(bpffs_network_empty(c));
}

/* The same annotation on a network that does not allow it fails the ADD,
 * and libcni's chain leaves nothing of sklookup behind. */
static void annotation_refused_by_policy(void **state)
{
	struct chain *c = *state;
	char out[16384];

	write_conflist(c, "1.0.0",
		       ", \"capabilities\": {\"io.kubernetes.cri.pod-annotations\": true}");
	assert_int_equal(cniclient(c, "add", c->pod_path,
				   "{\"sklookup.dev/bindings\": \"[{\\\"label\\\": \\\"app\\\", "
				   "\\\"protocol\\\": \\\"tcp\\\", \\\"prefix\\\": \\\"pod\\\", "
				   "\\\"ports\\\": [\\\"8080\\\"]}]\"}",
				   out, sizeof(out)),
			 2);
	assert_true(bpffs_network_empty(c));
	assert_int_equal(cniclient(c, "del", c->pod_path, NULL, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(chain_0_3_1, chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(chain_0_4_0, chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(chain_1_0_0, chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(del_after_netns_gone, chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(annotation_through_runtime_capability, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(annotation_refused_by_policy, chain_setup,
						chain_teardown),
	};

	return cmocka_run_group_tests_name("libcni chain", tests, NULL, NULL);
}
