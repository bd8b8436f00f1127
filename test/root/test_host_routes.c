/*
 * The host routes (routes.host) as a BGP daemon sees them: a route of the
 * plugin's protocol (173) on a node is an announcement that the range is
 * served there (README, "How traffic for a range reaches the pod in a
 * cluster"). So it appears only once the pod's ADD is complete, two pods
 * on a node never both take one prefix, and CHECK reports a host route that
 * is missing or no longer the plugin's. By direct invocation in the
 * fixture's throwaway host netns (cni_fixture.h).
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cni.h"
#include "cni_fixture.h"
#include "dispatch_fixture.h"
#include "state.h"
#include "testnet.h"

static int call(struct cni_fixture *f, const char *binary, const char *command, const char *cid,
		size_t pod, const cJSON *conf, const char *const *extra_env)
{
	char *text = cJSON_PrintUnformatted(conf);
	const struct cni_call c = { .binary = binary,
				    .command = command,
				    .container_id = cid,
				    .netns = f->pods[pod].path,
				    .ifname = CNI_POD_IFNAME,
				    .stdin_data = text,
				    .extra_env = extra_env };
	int status = cni_fixture_call(f, &c);

	free(text);
	return status;
}

static void call_ok(struct cni_fixture *f, const char *command, const char *cid, size_t pod,
		    const cJSON *conf)
{
	int status = call(f, f->plugin, command, cid, pod, conf, NULL);

	if (status)
		fail_msg("%s %s: exit %d, stdout %s, stderr %s", command, cid, status, f->out,
			 f->err);
}

/* A verb that must fail (exit 1) with an error whose text holds each needle. */
static void call_fails(struct cni_fixture *f, const char *command, const char *cid, size_t pod,
		       const cJSON *conf, const char *needle, const char *needle2)
{
	int status = call(f, f->plugin, command, cid, pod, conf, NULL);

	if (status != 1 || !strstr(f->out, needle) || (needle2 && !strstr(f->out, needle2)))
		fail_msg("%s %s: exit %d, want 1 and \"%s\"%s%s%s in the error: %s", command, cid,
			 status, needle, needle2 ? " and \"" : "", needle2 ? needle2 : "",
			 needle2 ? "\"" : "", f->out);
}

/* Lines of the host's IPv4 main table that lead to the range. */
static int host_routes_to_range(void)
{
	return cni_count_lines("203.0.113.", "ip -4 route show table main");
}

/* The gateway the host's route to addr goes through, by the kernel's own
 * lookup (longest prefix first). */
static void route_get_via(const char *addr, char *via, size_t len)
{
	char command[128];
	FILE *p;

	snprintf(command, sizeof(command),
		 "ip -4 route get %s | sed -n 's/.* via \\([0-9.]*\\) .*/\\1/p'", addr);
	p = popen(command, "r");
	assert_non_null(p);
	if (!fgets(via, (int)len, p))
		via[0] = 0;
	via[strcspn(via, "\n")] = 0;
	pclose(p);
}

/* ADD killed (SIGKILL) right after any step but the host routes' (the
 * record and the commit included): the host never had a route to the
 * range, so no BGP daemon ever announced a pod that was half-built. DEL
 * then leaves nothing. */
static void host_route_only_after_commit(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char env[64];
	const char *const extra[] = { env, NULL };

	for (int step = 1; step < SKL_STEP_COUNT; step++) {
		if (step == SKL_STEP_HOST_ROUTES)
			continue;
		snprintf(env, sizeof(env), "SKLOOKUP_KILL_STEP=%d", step);
		assert_int_equal(call(f, f->plugin_fi, "ADD", "c1", 0, conf, extra),
				 128 + SIGKILL);
		if (host_routes_to_range())
			fail_msg("a host route to 203.0.113.0/24 exists after ADD step %d, before "
				 "the pod's ADD completed", step);
		call_ok(f, "DEL", "c1", 0, conf);
		cni_assert_nothing_left(f, 0);
	}
	/* That step adds it (the last one). */
	assert_int_equal(SKL_STEP_HOST_ROUTES, SKL_STEP_COUNT - 1);
	snprintf(env, sizeof(env), "SKLOOKUP_KILL_STEP=%d", SKL_STEP_HOST_ROUTES);
	assert_int_equal(call(f, f->plugin_fi, "ADD", "c1", 0, conf, extra), 128 + SIGKILL);
	assert_int_equal(host_routes_to_range(), 1);
	call_ok(f, "DEL", "c1", 0, conf);
	cni_assert_nothing_left(f, 0);
}

/* Two pods, one prefix: the second ADD is refused with an error that says
 * another pod holds it and how to resolve it; the first pod keeps its
 * route. */
static void second_pod_same_prefix_refused(void **state)
{
	struct cni_fixture *f = *state;
	size_t second = cni_fixture_add_pod(f);
	cJSON *c1 = cni_config(f, "1.1.0", 0), *c2 = cni_config(f, "1.1.0", second);

	call_ok(f, "ADD", "c1", 0, c1);
	call_fails(f, "ADD", "c2", second, c2, "another pod", "via 198.51.100.10 proto 173");
	assert_int_equal(cni_count_lines("203.0.113.0/24 via 198.51.100.10 ",
					 "ip -4 route show table main proto 173"),
			 1);
	assert_int_equal(host_routes_to_range(), 1);
	call_ok(f, "CHECK", "c1", 0, c1);
	call_ok(f, "DEL", "c2", second, c2);
	cni_assert_pod_clean(f, second);
	call_ok(f, "DEL", "c1", 0, c1);
	cni_assert_nothing_left(f, 0);
}

/* A longer prefix inside another pod's range is allowed, as documented:
 * the longest prefix wins, on the node and (announced) in the cluster.
 * Once that pod is gone, the whole range is the first pod's again. */
static void nested_prefix_longest_wins(void **state)
{
	struct cni_fixture *f = *state;
	size_t second = cni_fixture_add_pod(f);
	cJSON *c1 = cni_config(f, "1.1.0", 0), *c2 = cni_config(f, "1.1.0", second);
	char via[64], dir[PATH_MAX];
	int web;

	cni_set_json(c2, "bindings",
		     "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.64/26\","
		     "  \"ports\": [\"80\"]}]");
	call_ok(f, "ADD", "c1", 0, c1);
	call_ok(f, "ADD", "c2", second, c2);
	route_get_via("203.0.113.70", via, sizeof(via));
	assert_string_equal(via, "198.51.100.11");
	route_get_via("203.0.113.7", via, sizeof(via));
	assert_string_equal(via, "198.51.100.10");
	call_ok(f, "CHECK", "c1", 0, c1);
	call_ok(f, "CHECK", "c2", second, c2);

	call_ok(f, "DEL", "c2", second, c2);
	cni_assert_pod_clean(f, second);
	route_get_via("203.0.113.70", via, sizeof(via));
	assert_string_equal(via, "198.51.100.10");
	cni_state_dir(f, CNI_NETWORK, "c1", CNI_POD_IFNAME, dir, sizeof(dir));
	web = cni_pod_server(f, 0, dir, "web", SOCK_STREAM, "127.0.0.1");
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.70", 80, &web, 1), 0);
	close(web);
	call_ok(f, "DEL", "c1", 0, c1);
	cni_assert_nothing_left(f, 0);
}

/* CHECK reports a host route that is missing, replaced by another
 * protocol's (a BGP export of protocol 173 would no longer announce it), or
 * taken by a foreign route to the same prefix; and passes once it is back. */
static void check_reports_missing_or_foreign_host_route(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);

	call_ok(f, "ADD", "c1", 0, conf);
	call_ok(f, "CHECK", "c1", 0, conf);

	assert_int_equal(testnet_run("ip route del 203.0.113.0/24"), 0);
	call_fails(f, "CHECK", "c1", 0, conf, "203.0.113.0/24 via 198.51.100.10", "is missing");

	assert_int_equal(testnet_run("ip route add 203.0.113.0/24 via 198.51.100.10 proto static"),
			 0);
	call_fails(f, "CHECK", "c1", 0, conf, "has protocol 4, not the plugin's 173", NULL);

	assert_int_equal(testnet_run("ip route replace 203.0.113.0/24 dev %s proto 173",
				     f->host_veth),
			 0);
	call_fails(f, "CHECK", "c1", 0, conf, "203.0.113.0/24 via 198.51.100.10",
		   "a foreign route (dev ");

	assert_int_equal(testnet_run("ip route replace 203.0.113.0/24 via 198.51.100.10 proto 173"),
			 0);
	call_ok(f, "CHECK", "c1", 0, conf);
	call_ok(f, "DEL", "c1", 0, conf);
	cni_assert_nothing_left(f, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(host_route_only_after_commit, cni_fixture_setup,
						cni_fixture_teardown),
		cmocka_unit_test_setup_teardown(second_pod_same_prefix_refused, cni_fixture_setup,
						cni_fixture_teardown),
		cmocka_unit_test_setup_teardown(nested_prefix_longest_wins, cni_fixture_setup,
						cni_fixture_teardown),
		cmocka_unit_test_setup_teardown(check_reports_missing_or_foreign_host_route,
						cni_fixture_setup, cni_fixture_teardown),
	};

	return cmocka_run_group_tests_name("host routes: what a BGP daemon announces", tests, NULL,
					   NULL);
}
