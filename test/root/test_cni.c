/*
 * The plugin run directly, as a runtime runs it (CNI_* environment, config
 * on stdin), each test in its own throwaway "host" netns with a pod netns
 * (cni_fixture.h): every verb at every spec version, real traffic, DEL in
 * every state, CHECK failures, GC, STATUS, fault injection after every ADD
 * step, concurrency, and a table of bad inputs. After each failure nothing
 * may be left: no state, link, route or reserved port.
 */
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cni.h"
#include "cni_fixture.h"
#include "dispatch_fixture.h"
#include "dispatcher.h"
#include "netconf.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"
#include "testnet.h"

#define CID "cid-1"
#define N_CONCURRENT 16
#define N_LOOPS 8
#define LOOP_ITERATIONS 5
#define CHECK_FAILED 100 /* the plugin's code for "the attachment is not as ADD left it" */

/* ---- running the plugin ---- */

/* Runs the plugin with conf (NULL: empty stdin) on stdin; f->out, f->err. */
static int plugin_env(struct cni_fixture *f, const char *binary, const char *command,
		      const char *cid, const char *netns, const cJSON *conf,
		      const char *const *extra_env)
{
	char *text = conf ? cJSON_PrintUnformatted(conf) : NULL;
	const struct cni_call call = { .binary = binary,
				       .command = command,
				       .container_id = cid,
				       .netns = netns,
				       .ifname = CNI_POD_IFNAME,
				       .stdin_data = text,
				       .extra_env = extra_env };
	int status = cni_fixture_call(f, &call);

	free(text);
	return status;
}

static int plugin(struct cni_fixture *f, const char *command, const char *cid, const char *netns,
		  const cJSON *conf)
{
	return plugin_env(f, f->plugin, command, cid, netns, conf, NULL);
}

/* Runs a verb that must succeed with empty stdout (DEL, CHECK, GC, STATUS). */
static void plugin_ok(struct cni_fixture *f, const char *command, const char *cid,
		      const char *netns, const cJSON *conf)
{
	int status = plugin(f, command, cid, netns, conf);

	if (status != 0)
		fail_msg("%s %s: exit %d, stdout %s, stderr %s", command, cid ? cid : "", status,
			 f->out, f->err);
	assert_string_equal(f->out, "");
}

/* ADD that must succeed; its result must be prevResult in the conf's version. */
static void add_ok(struct cni_fixture *f, const char *cid, const char *netns, const cJSON *conf)
{
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(conf, "cniVersion");
	cJSON *want = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(conf, "prevResult"), true);
	cJSON *got;
	int status = plugin(f, "ADD", cid, netns, conf);

	if (status != 0)
		fail_msg("ADD %s: exit %d, stdout %s, stderr %s", cid, status, f->out, f->err);
	got = cJSON_Parse(f->out);
	assert_non_null(got);
	cJSON_DeleteItemFromObjectCaseSensitive(want, "cniVersion");
	cJSON_AddStringToObject(want, "cniVersion", version->valuestring);
	if (!cJSON_Compare(want, got, true))
		fail_msg("ADD result %s is not prevResult at %s", f->out, version->valuestring);
	cJSON_Delete(want);
	cJSON_Delete(got);
}

/* "step N" not followed by another digit ("step 1" is not "step 11"). */
static bool names_step(const char *msg, int step)
{
	char needle[32];
	size_t len = (size_t)snprintf(needle, sizeof(needle), "step %d", step);

	for (const char *p = strstr(msg, needle); p; p = strstr(p + 1, needle))
		if (p[len] < '0' || p[len] > '9')
			return true;
	return false;
}

/* stdout is exactly one CNI error object with this code (or alt_code, if
 * not 0), naming each of the needles (NULL-terminated). */
static void assert_error_code(const char *out, int code, int alt_code,
			      const char *const *needles)
{
	static const char *const keys[] = { "cniVersion", "code", "msg", "details" };
	const char *end = NULL;
	cJSON *e = cJSON_ParseWithOpts(out, &end, true), *item;
	const char *version, *msg;

	if (!e || !cJSON_IsObject(e))
		fail_msg("stdout is not one JSON object: %s", out);
	cJSON_ArrayForEach(item, e) {
		bool known = false;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known = known || !strcmp(item->string, keys[i]);
		if (!known)
			fail_msg("unexpected key \"%s\" in the error %s", item->string, out);
	}
	version = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "cniVersion"));
	if (!version || !skl_cni_version_supported(version))
		fail_msg("the error's cniVersion is not a supported version: %s", out);
	item = cJSON_GetObjectItemCaseSensitive(e, "code");
	assert_true(cJSON_IsNumber(item));
	if (item->valueint != code && (!alt_code || item->valueint != alt_code))
		fail_msg("code %d, want %d: %s", item->valueint, code, out);
	msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
	assert_non_null(msg);
	for (size_t i = 0; needles && needles[i]; i++)
		if (!strstr(msg, needles[i]))
			fail_msg("msg does not name \"%s\": %s", needles[i], msg);
	cJSON_Delete(e);
}

static void assert_error(const char *out, int code, const char *const *needles)
{
	assert_error_code(out, code, 0, needles);
}

/* A verb that must fail with exit 1 and this error. */
static void plugin_fails(struct cni_fixture *f, const char *command, const char *cid,
			 const char *netns, const cJSON *conf, int code, const char *needle)
{
	const char *needles[] = { needle, NULL };
	int status = plugin(f, command, cid, netns, conf);

	if (status != 1)
		fail_msg("%s: exit %d, want 1; stdout %s", command, status, f->out);
	assert_error(f->out, code, needles);
}

/* ---- looking at the state ---- */

static void state_dir(const struct cni_fixture *f, const char *network, const char *cid,
		      char *dir)
{
	cni_state_dir(f, network, cid, CNI_POD_IFNAME, dir, PATH_MAX);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static void assert_pins(const char *dir)
{
	assert_true(exists(dir, SKL_PIN_LINK));
	assert_true(exists(dir, SKL_PIN_PROG));
	assert_true(exists(dir, SKL_PIN_RECORD));
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		if (!exists(dir, skl_map_pin_names[i]))
			fail_msg("%s/%s is not pinned", dir, skl_map_pin_names[i]);
}

/* The netns inode the pinned link reports (0: its netns is gone). */
static uint64_t link_netns(const char *dir)
{
	struct skl_dispatcher d;
	struct skl_err err = { 0 };
	uint64_t ino = 0;

	skl_dispatcher_init(&d);
	if (skl_dispatcher_open(&d, dir, &err) || skl_dispatcher_link_netns(&d, &ino, &err)) {
		skl_dispatcher_close(&d);
		fail_msg("%s: %s", dir, err.msg);
	}
	skl_dispatcher_close(&d);
	return ino;
}

static int pod_routes(const struct cni_pod *p, const char *family, const char *route)
{
	return cni_count_lines(route, "ip -n %s %s route show table local", p->name, family);
}

static int host_routes(const char *family, const char *route)
{
	return cni_count_lines(route, "ip %s route show table all", family);
}

/* Everything the default config adds for pod i (with a veth or not). */
static void assert_attached(const struct cni_fixture *f, const char *cid, size_t pod,
			    bool host_routes_expected)
{
	const struct cni_pod *p = &f->pods[pod];
	char dir[PATH_MAX], route[128], reserved[256];

	state_dir(f, CNI_NETWORK, cid, dir);
	assert_pins(dir);
	assert_int_equal(link_netns(dir), cni_netns_ino(p->path));
	/* A link replaced by this ADD may linger a moment (see the fixture). */
	assert_int_equal(cni_prog_count_settled(p->path, 1), 1);
	assert_int_equal(pod_routes(p, "-4", "local 203.0.113.0/24 dev lo"), 1);
	assert_int_equal(pod_routes(p, "-6", "local 2001:db8:200::/64 dev lo"), 1);
	snprintf(route, sizeof(route), "203.0.113.0/24 via %s ", p->v4);
	assert_int_equal(host_routes("-4", route), host_routes_expected);
	snprintf(route, sizeof(route), "2001:db8:200::/64 via %s ", p->v6);
	assert_int_equal(host_routes("-6", route), host_routes_expected);
	cni_reserved_ports(p->path, reserved, sizeof(reserved));
	assert_string_equal(reserved, CNI_WEB_RESERVED);
}

/* ---- ADD, CHECK, DEL at every version ---- */

static void full_cycle(void **state, const char *version)
{
	struct cni_fixture *f = *state;
	const char *netns = f->pods[0].path;
	cJSON *conf = cni_config(f, version, 0);

	add_ok(f, CID, netns, conf);
	assert_attached(f, CID, 0, true);
	if (skl_cni_version_cmp(version, "0.4.0") >= 0)
		plugin_ok(f, "CHECK", CID, netns, conf);
	plugin_ok(f, "DEL", CID, netns, conf);
	cni_assert_nothing_left(f, 0);
	plugin_ok(f, "DEL", CID, netns, conf);
	cni_assert_nothing_left(f, 0);
	assert_int_equal(cni_dir_entries(f->root), 0);
}

static void cycle_0_3_0(void **state)
{
	full_cycle(state, "0.3.0");
}

static void cycle_0_3_1(void **state)
{
	full_cycle(state, "0.3.1");
}

static void cycle_0_4_0(void **state)
{
	full_cycle(state, "0.4.0");
}

static void cycle_1_0_0(void **state)
{
	full_cycle(state, "1.0.0");
}

static void cycle_1_1_0(void **state)
{
	full_cycle(state, "1.1.0");
}

/* ---- real traffic ---- */

/* From the host, the range routed to the pod reaches the one socket of its
 * label, over v4 and v6; a port no binding serves is refused. */
static void traffic_reaches_registered_socket(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char dir[PATH_MAX];
	int web, dns, hits[4];

	add_ok(f, CID, f->pods[0].path, conf);
	state_dir(f, CNI_NETWORK, CID, dir);
	web = cni_pod_server(f, 0, dir, "web", SOCK_STREAM, "127.0.0.1");
	dns = cni_pod_server(f, 0, dir, "dns", SOCK_DGRAM, "::1");
	hits[0] = fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web, 1);
	hits[1] = fixture_deliver(SOCK_STREAM, "203.0.113.200", 8500, &web, 1);
	hits[2] = fixture_deliver(SOCK_DGRAM, "2001:db8:200::5", 53, &dns, 1);
	hits[3] = fixture_deliver(SOCK_STREAM, "203.0.113.7", 22, &web, 1);
	close(web);
	close(dns);
	assert_int_equal(hits[0], 0);
	assert_int_equal(hits[1], 0);
	assert_int_equal(hits[2], 0);
	assert_int_equal(hits[3], -1);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* ---- VERSION and --help ---- */

static void assert_version_output(const char *out, const char *version)
{
	cJSON *o = cJSON_ParseWithOpts(out, NULL, true);
	cJSON *want = cJSON_Parse("[\"0.3.0\", \"0.3.1\", \"0.4.0\", \"1.0.0\", \"1.1.0\"]");

	assert_non_null(o);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "cniVersion")),
			    version);
	assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(o, "supportedVersions"), want,
				  true));
	cJSON_Delete(want);
	cJSON_Delete(o);
}

static void version_lists_supported(void **state)
{
	struct cni_fixture *f = *state;
	struct cni_call call = { .binary = f->plugin,
				 .command = "VERSION",
				 .stdin_data = "{\"cniVersion\": \"1.0.0\"}" };

	assert_int_equal(cni_fixture_call(f, &call), 0);
	assert_version_output(f->out, "1.0.0");
	/* Without a (supported) version to echo, the newest. */
	call.stdin_data = NULL;
	assert_int_equal(cni_fixture_call(f, &call), 0);
	assert_version_output(f->out, "1.1.0");
	call.stdin_data = "{\"cniVersion\": \"0.2.0\"}";
	assert_int_equal(cni_fixture_call(f, &call), 0);
	assert_version_output(f->out, "1.1.0");
}

static void help_prints_usage(void **state)
{
	struct cni_fixture *f = *state;
	const struct cni_call call = { .binary = f->plugin, .arg = "--help" };

	assert_int_equal(cni_fixture_call(f, &call), 0);
	assert_non_null(strstr(f->out, "usage: sklookup"));
	assert_non_null(strstr(f->out, "CNI_COMMAND"));
}

/* ---- DEL in every state ---- */

static void del_without_add(void **state)
{
	struct cni_fixture *f = *state;

	plugin_ok(f, "DEL", CID, f->pods[0].path, cni_config(f, "1.1.0", 0));
	assert_int_equal(cni_dir_entries(f->root), 0);
	cni_assert_nothing_left(f, 0);
}

/* A FIFO as CNI_NETNS: opening it for reading would wait for a writer for
 * ever. ADD and CHECK refuse it at once; DEL of an attachment never added
 * succeeds, as DEL must. */
static void fifo_netns_is_refused_promptly(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char fifo[64];
	time_t start = time(NULL);

	snprintf(fifo, sizeof(fifo), "/tmp/sklt-fifo-%d", (int)getpid());
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(60); /* without O_NONBLOCK the plugin would hang: fail instead */
	plugin_fails(f, "ADD", CID, fifo, conf, 4, "is not a namespace file");
	plugin_fails(f, "CHECK", CID, fifo, conf, 4, "is not a namespace file");
	plugin_ok(f, "DEL", CID, fifo, conf);
	alarm(0);
	unlink(fifo);
	assert_true(time(NULL) - start < 10);
	assert_int_equal(cni_dir_entries(f->root), 0);
	cni_assert_nothing_left(f, 0);
}

/* A pod without a veth whose prevResult address (198.51.100.11) the host
 * reaches over pods[0]'s veth: its host routes outlive its netns. */
static void del_after_netns_deleted(void **state, const char *netns_at_del)
{
	struct cni_fixture *f = *state;
	size_t pod = cni_fixture_add_pod(f);
	const struct cni_pod *p = &f->pods[pod];
	cJSON *conf = cni_config(f, "1.1.0", pod);
	char dir[PATH_MAX];

	add_ok(f, CID, p->path, conf);
	assert_int_equal(host_routes("-4", "203.0.113.0/24 via 198.51.100.11 "), 1);
	assert_int_equal(host_routes("-6", "2001:db8:200::/64 via 2001:db8:100::11 "), 1);
	assert_int_equal(testnet_run("ip netns del %s", p->name), 0);
	plugin_ok(f, "DEL", CID, netns_at_del ? netns_at_del : p->path, conf);
	state_dir(f, CNI_NETWORK, CID, dir);
	assert_false(skl_state_exists(dir));
	cni_assert_nothing_left(f, pod);
	plugin_ok(f, "DEL", CID, netns_at_del ? netns_at_del : p->path, conf);
	assert_int_equal(cni_dir_entries(f->root), 0);
}

static void del_after_netns_deleted_empty_netns(void **state)
{
	del_after_netns_deleted(state, "");
}

static void del_after_netns_deleted_stale_path(void **state)
{
	del_after_netns_deleted(state, NULL);
}

/* libcni drops prevResult when its cache is unreadable. */
static void del_without_prev_result(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);

	add_ok(f, CID, f->pods[0].path, conf);
	cJSON_DeleteItemFromObjectCaseSensitive(conf, "prevResult");
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* containerd re-reads the config at DEL: it may have become invalid. */
static void del_with_changed_invalid_config(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);

	add_ok(f, CID, f->pods[0].path, conf);
	cni_set_json(conf, "bindings",
		     "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		     "  \"ports\": [\"70000\"]}]");
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* Ports the pod had reserved before ADD stay reserved after DEL: ADD
 * records only the ports it added. */
static void reserved_ports_restored_exactly(void **state)
{
	struct cni_fixture *f = *state;
	const struct cni_pod *p = &f->pods[0];
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char reserved[256];

	cni_set_reserved_ports(f, 0, "8500,9500");
	assert_string_equal(p->reserved_before, "8500,9500");
	add_ok(f, CID, p->path, conf);
	cni_reserved_ports(p->path, reserved, sizeof(reserved));
	assert_string_equal(reserved, "8000-8999,9500");
	plugin_ok(f, "CHECK", CID, p->path, conf);
	plugin_ok(f, "DEL", CID, p->path, conf);
	cni_assert_nothing_left(f, 0);
}

/* ---- ADD over stale state ---- */

static void add_twice_leaves_one_state(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char dir[PATH_MAX], container[PATH_MAX];

	add_ok(f, CID, f->pods[0].path, conf);
	add_ok(f, CID, f->pods[0].path, conf);
	assert_attached(f, CID, 0, true);
	state_dir(f, CNI_NETWORK, CID, dir);
	skl_state_parent(dir, container, sizeof(container), NULL);
	/* eth0 alone: no second state, no temporary directory. */
	assert_int_equal(cni_dir_entries(container), 1);
	assert_int_equal(host_routes("-4", "203.0.113.0/24"), 1);
	assert_int_equal(host_routes("-6", "2001:db8:200::/64"), 1);
	plugin_ok(f, "CHECK", CID, f->pods[0].path, conf);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* A second pod whose host route would replace the first pod's: its ADD
 * fails, undoes its own pod side, and the first pod keeps everything. */
static void add_with_host_route_in_the_way_fails_cleanly(void **state)
{
	struct cni_fixture *f = *state;
	size_t second = cni_fixture_add_pod(f);
	cJSON *conf = cni_config(f, "1.1.0", 0), *conf2 = cni_config(f, "1.1.0", second);
	const char *needles[] = { "203.0.113.0/24", "different route", NULL };

	add_ok(f, "c1", f->pods[0].path, conf);
	assert_int_equal(plugin(f, "ADD", "c2", f->pods[second].path, conf2), 1);
	assert_error(f->out, SKL_CNI_INTERNAL, needles);
	assert_attached(f, "c1", 0, true);
	cni_assert_pod_clean(f, second);
	assert_int_equal(host_routes("-4", "198.51.100.11"), 0);
	assert_int_equal(host_routes("-6", "2001:db8:100::11"), 0);
	plugin_ok(f, "CHECK", "c1", f->pods[0].path, conf);
	/* The runtime still DELs the failed ADD: that must not take c1's routes. */
	plugin_ok(f, "DEL", "c2", f->pods[second].path, conf2);
	assert_attached(f, "c1", 0, true);
	cni_assert_pod_clean(f, second);
	plugin_ok(f, "DEL", "c1", f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
	assert_int_equal(cni_dir_entries(f->root), 0);
}

/* ---- CHECK failures ---- */

static void check_fails_without_pod_route(void **state)
{
	struct cni_fixture *f = *state;
	const struct cni_pod *p = &f->pods[0];
	cJSON *conf = cni_config(f, "1.1.0", 0);
	const char *needles[] = { "local 203.0.113.0/24 dev lo", "missing", NULL };

	add_ok(f, CID, p->path, conf);
	plugin_ok(f, "CHECK", CID, p->path, conf);
	assert_int_equal(testnet_run("ip -n %s route del local 203.0.113.0/24 dev lo table local",
				     p->name),
			 0);
	assert_int_equal(plugin(f, "CHECK", CID, p->path, conf), 1);
	assert_error(f->out, CHECK_FAILED, needles);
	plugin_ok(f, "DEL", CID, p->path, conf);
	cni_assert_nothing_left(f, 0);
}

static void check_fails_when_bindings_changed(void **state)
{
	struct cni_fixture *f = *state;
	const char *netns = f->pods[0].path;
	cJSON *conf = cni_config(f, "1.1.0", 0), *changed = cni_config(f, "1.1.0", 0);

	cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(changed, "bindings"), 1);
	add_ok(f, CID, netns, conf);
	plugin_fails(f, "CHECK", CID, netns, changed, CHECK_FAILED, "bindings");
	plugin_ok(f, "CHECK", CID, netns, conf);
	plugin_ok(f, "DEL", CID, netns, conf);
	cni_assert_nothing_left(f, 0);
}

/* The kernel detaches a link from a dying netns asynchronously. */
static void wait_link_detached(const char *dir)
{
	for (int i = 0; i < 200 && link_netns(dir) != 0; i++)
		usleep(10 * 1000);
	assert_int_equal(link_netns(dir), 0);
}

/* Once the pod netns is gone, CHECK fails: at the stale path it cannot be
 * opened; at the same path re-used by a new netns the link reports
 * netns_ino 0. DEL still cleans up. */
static void check_fails_after_netns_deleted(void **state)
{
	struct cni_fixture *f = *state;
	const struct cni_pod *p = &f->pods[0];
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char dir[PATH_MAX];

	add_ok(f, CID, p->path, conf);
	state_dir(f, CNI_NETWORK, CID, dir);
	assert_int_equal(testnet_run("ip netns del %s", p->name), 0);
	plugin_fails(f, "CHECK", CID, p->path, conf, SKL_CNI_INVALID_ENV, "CNI_NETNS");
	wait_link_detached(dir);
	assert_int_equal(testnet_run("ip netns add %s", p->name), 0);
	plugin_fails(f, "CHECK", CID, p->path, conf, CHECK_FAILED, "its netns is gone");
	plugin_ok(f, "DEL", CID, p->path, conf);
	assert_false(skl_state_exists(dir));
	cni_assert_nothing_left(f, 0);
}

static void check_fails_without_state(void **state)
{
	struct cni_fixture *f = *state;

	plugin_fails(f, "CHECK", CID, f->pods[0].path, cni_config(f, "1.1.0", 0), CHECK_FAILED,
		     "no sklookup state");
	assert_int_equal(cni_dir_entries(f->root), 0);
}

/* ---- GC and STATUS ---- */

static cJSON *gc_config(struct cni_fixture *f, const char *key)
{
	cJSON *conf = cni_config(f, "1.1.0", 0);
	const char *valid = "[{\"containerID\": \"c1\", \"ifname\": \"eth0\"}]";

	cJSON_DeleteItemFromObjectCaseSensitive(conf, "prevResult");
	cJSON_DeleteItemFromObjectCaseSensitive(conf, "bindings");
	cJSON_DeleteItemFromObjectCaseSensitive(conf, "routes");
	if (key) {
		cni_set_json(conf, key, valid);
	} else {
		cni_set_json(conf, "cni.dev/valid-attachments", valid);
		cni_set_json(conf, "cni.dev/attachments", valid);
	}
	return conf;
}

struct gc_world {
	size_t pod2, pod3, pod_other;
	cJSON *c1, *c2, *c3, *other;
};

/* c1 on pods[0] (all routes); c2 in its own netns with a host route to
 * 203.0.113.64/26 via 198.51.100.11; c3 without routes; c1 of another
 * network in a fourth netns. */
static void gc_world(struct cni_fixture *f, struct gc_world *w)
{
	w->pod2 = cni_fixture_add_pod(f);
	w->pod3 = cni_fixture_add_pod(f);
	w->pod_other = cni_fixture_add_pod(f);
	w->c1 = cni_config(f, "1.1.0", 0);
	w->c2 = cni_config(f, "1.1.0", w->pod2);
	cni_set_json(w->c2, "bindings",
		     "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.64/26\","
		     "  \"ports\": [\"80\"]}]");
	w->c3 = cni_config(f, "1.1.0", w->pod3);
	cni_set_json(w->c3, "routes", "{\"pod\": false, \"host\": false}");
	w->other = cni_config(f, "1.1.0", w->pod_other);
	cni_set_json(w->other, "routes", "{\"pod\": false, \"host\": false}");
	cJSON_ReplaceItemInObjectCaseSensitive(w->other, "name", cJSON_CreateString("sklt-other"));
	add_ok(f, "c1", f->pods[0].path, w->c1);
	/* c2 is not valid in CNI_NETWORK, but GC there must not touch it here. */
	add_ok(f, "c2", f->pods[w->pod_other].path, w->other);
}

static void gc_add_stale(struct cni_fixture *f, const struct gc_world *w)
{
	add_ok(f, "c2", f->pods[w->pod2].path, w->c2);
	add_ok(f, "c3", f->pods[w->pod3].path, w->c3);
	assert_int_equal(host_routes("-4", "203.0.113.64/26 via 198.51.100.11 "), 1);
	assert_int_equal(cni_prog_count(f->pods[w->pod2].path), 1);
	assert_int_equal(cni_prog_count(f->pods[w->pod3].path), 1);
}

static void gc_assert_only_valid_left(struct cni_fixture *f, const struct gc_world *w)
{
	char dir[PATH_MAX], network[PATH_MAX];

	snprintf(network, sizeof(network), "%s/%s", f->root, CNI_NETWORK);
	assert_int_equal(cni_dir_entries(network), 1);
	state_dir(f, CNI_NETWORK, "c1", dir);
	assert_pins(dir);
	state_dir(f, "sklt-other", "c2", dir);
	assert_pins(dir);
	assert_int_equal(cni_prog_count(f->pods[0].path), 1);
	assert_int_equal(cni_prog_count(f->pods[w->pod_other].path), 1);
	assert_int_equal(cni_prog_count_settled(f->pods[w->pod2].path, 0), 0);
	assert_int_equal(cni_prog_count_settled(f->pods[w->pod3].path, 0), 0);
	assert_int_equal(host_routes("-4", "203.0.113.64/26"), 0);
	assert_int_equal(host_routes("-4", "203.0.113.0/24 via 198.51.100.10 "), 1);
	assert_int_equal(host_routes("-6", "2001:db8:200::/64 via 2001:db8:100::10 "), 1);
}

static void gc_removes_invalid_attachments(void **state)
{
	struct cni_fixture *f = *state;
	struct gc_world w;

	gc_world(f, &w);
	gc_add_stale(f, &w);
	/* libcni sends both keys, and empty attachment variables. */
	plugin_ok(f, "GC", "", "", gc_config(f, NULL));
	gc_assert_only_valid_left(f, &w);
	/* The key's first name alone is enough too. */
	gc_add_stale(f, &w);
	plugin_ok(f, "GC", NULL, NULL, gc_config(f, "cni.dev/attachments"));
	gc_assert_only_valid_left(f, &w);

	plugin_ok(f, "DEL", "c1", f->pods[0].path, w.c1);
	plugin_ok(f, "DEL", "c2", f->pods[w.pod_other].path, w.other);
	cni_assert_nothing_left(f, 0);
	assert_int_equal(cni_dir_entries(f->root), 0);
}

static void gc_needs_1_1_0(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = gc_config(f, NULL);

	cJSON_ReplaceItemInObjectCaseSensitive(conf, "cniVersion", cJSON_CreateString("1.0.0"));
	plugin_fails(f, "GC", "", "", conf, SKL_CNI_INCOMPATIBLE_VERSION, "GC");
}

static void status_at_1_1_0(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);

	cJSON_DeleteItemFromObjectCaseSensitive(conf, "prevResult");
	plugin_ok(f, "STATUS", NULL, NULL, conf);
	plugin_ok(f, "STATUS", "", "", conf);
}

static void status_needs_1_1_0(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.0.0", 0);

	plugin_fails(f, "STATUS", NULL, NULL, conf, SKL_CNI_INCOMPATIBLE_VERSION, "STATUS");
}

/* ---- pod annotations ---- */

/* The bindings in the maps of CID's dispatcher (freed by the caller). */
static void read_pod_bindings(struct cni_fixture *f, struct skl_binding_set *got)
{
	struct skl_dispatcher d;
	struct skl_err err = { 0 };
	char dir[PATH_MAX];
	uint32_t *ids;

	state_dir(f, CNI_NETWORK, CID, dir);
	skl_dispatcher_init(&d);
	assert_int_equal(skl_dispatcher_open(&d, dir, &err), 0);
	assert_int_equal(skl_rules_read(&d, got, &ids, &err), 0);
	skl_dispatcher_close(&d);
	free(ids);
}

static void annotation_binding_accepted(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	struct skl_binding_set got;
	int app4 = 0, app6 = 0;

	cni_set_json(conf, "annotations", "{\"allow\": true}");
	cni_set_json(conf, "runtimeConfig",
		     "{\"io.kubernetes.cri.pod-annotations\": {\"sklookup.dev/bindings\":"
		     " \"[{\\\"label\\\":\\\"app\\\",\\\"protocol\\\":\\\"tcp\\\","
		     "\\\"prefix\\\":\\\"pod\\\",\\\"ports\\\":[\\\"8080\\\"]}]\"}}");
	add_ok(f, CID, f->pods[0].path, conf);
	read_pod_bindings(f, &got);
	for (size_t i = 0; i < got.n; i++) {
		const struct skl_binding_spec *b = &got.v[i];

		if (strcmp(b->label, "app"))
			continue;
		assert_int_equal(b->proto, IPPROTO_TCP);
		assert_int_equal(b->n_ports, 1);
		assert_int_equal(b->ports[0].lo, 8080);
		assert_int_equal(b->ports[0].hi, 8080);
		app4 += b->family == SKL_FAMILY_V4 && b->plen == 32 &&
			!memcmp(b->addr, "\xc6\x33\x64\x0a", 4);
		app6 += b->family == SKL_FAMILY_V6 && b->plen == 128;
	}
	/* web, dns, proxy on both pod addresses, app on both. */
	assert_int_equal(got.n, 6);
	skl_bindings_free(&got);
	assert_int_equal(app4, 1);
	assert_int_equal(app6, 1);
	plugin_ok(f, "CHECK", CID, f->pods[0].path, conf);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* containerd marshals a pod's empty annotation map as null (and a Go
 * runtime a nil slice of bindings likewise): that is no entry, and the pod
 * gets the config's bindings. */
static void null_runtime_config_entries_accepted(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.0.0", 0);
	struct skl_binding_set got;

	cni_set_json(conf, "annotations", "{\"allow\": true}");
	cni_set_json(conf, "runtimeConfig",
		     "{\"io.kubernetes.cri.pod-annotations\": null, \"bindings\": null}");
	add_ok(f, CID, f->pods[0].path, conf);
	read_pod_bindings(f, &got);
	/* The config's own bindings, as without a runtimeConfig. */
	assert_int_equal(got.n, 4);
	skl_bindings_free(&got);
	plugin_ok(f, "CHECK", CID, f->pods[0].path, conf);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* ---- stdin size ---- */

/* SKL_MAX_STDIN is what a runtime may send: a config of exactly that size
 * (padded with whitespace) is accepted. */
static void stdin_of_max_size_accepted(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char *text = cJSON_PrintUnformatted(conf), *padded = malloc(SKL_MAX_STDIN);
	size_t len = strlen(text);
	struct cni_call call = { .binary = f->plugin,
				 .command = "ADD",
				 .container_id = CID,
				 .netns = f->pods[0].path,
				 .ifname = CNI_POD_IFNAME,
				 .stdin_data = padded,
				 .stdin_len = SKL_MAX_STDIN };
	int status;

	assert_non_null(padded);
	assert_true(len < SKL_MAX_STDIN);
	memcpy(padded, text, len);
	memset(padded + len, ' ', SKL_MAX_STDIN - len);
	free(text);
	status = cni_fixture_call(f, &call);
	free(padded);
	if (status != 0)
		fail_msg("ADD of %d bytes: exit %d, %s", SKL_MAX_STDIN, status, f->out);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* ---- fault injection ---- */

/* ADD failing right after step N took effect leaves nothing; the next ADD
 * works and DEL cleans up. */
static void add_fails_after_step(void **state)
{
	struct cni_fixture *f = *state;
	int step = *(const int *)f->param;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char env[64];
	const char *const extra[] = { env, NULL };
	int status;

	snprintf(env, sizeof(env), "SKLOOKUP_FAIL_STEP=%d", step);
	status = plugin_env(f, f->plugin_fi, "ADD", CID, f->pods[0].path, conf, extra);
	assert_int_not_equal(status, 0);
	assert_error(f->out, SKL_CNI_INTERNAL, NULL);
	if (!names_step(f->out, step))
		fail_msg("the error does not name step %d: %s", step, f->out);
	assert_int_equal(cni_dir_entries(f->root), 0);
	cni_assert_nothing_left(f, 0);

	add_ok(f, CID, f->pods[0].path, conf);
	assert_attached(f, CID, 0, true);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* ADD killed (SIGKILL) right after step N: no cleanup ran. */
static void add_killed_after_step(struct cni_fixture *f, int step, const cJSON *conf)
{
	char env[64];
	const char *const extra[] = { env, NULL };

	snprintf(env, sizeof(env), "SKLOOKUP_KILL_STEP=%d", step);
	assert_int_equal(plugin_env(f, f->plugin_fi, "ADD", CID, f->pods[0].path, conf, extra),
			 128 + SIGKILL);
}

/* Then DEL leaves nothing (its temporary state is undone through the
 * record written ahead), and a new ADD and DEL work. */
static void killed_add_then_del(void **state)
{
	struct cni_fixture *f = *state;
	int step = *(const int *)f->param;
	cJSON *conf = cni_config(f, "1.1.0", 0);

	add_killed_after_step(f, step, conf);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	assert_int_equal(cni_dir_entries(f->root), 0);
	cni_assert_nothing_left(f, 0);
	add_ok(f, CID, f->pods[0].path, conf);
	assert_attached(f, CID, 0, true);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* Or the runtime retries ADD at once: exactly one correct state results. */
static void killed_add_then_add(void **state)
{
	struct cni_fixture *f = *state;
	int step = *(const int *)f->param;
	cJSON *conf = cni_config(f, "1.1.0", 0);

	add_killed_after_step(f, step, conf);
	add_ok(f, CID, f->pods[0].path, conf);
	assert_attached(f, CID, 0, true);
	assert_int_equal(cni_prog_count_settled(f->pods[0].path, 1), 1);
	plugin_ok(f, "CHECK", CID, f->pods[0].path, conf);
	plugin_ok(f, "DEL", CID, f->pods[0].path, conf);
	cni_assert_nothing_left(f, 0);
}

/* ---- GC after a crash ---- */

/* An ADD is killed (SIGKILL) right after step N while other pods are
 * attached: c1 (pods[0], routes in pod and host) and c3 (its own netns,
 * routes in the pod) are in cni.dev/valid-attachments; c2 (committed) and
 * ck (the killed ADD) are not, and their netns live on. GC removes all that
 * the records of c2 and ck name, written ahead of each change: pins, links,
 * routes in the pod and the host, reserved ports. c1 and c3 keep theirs and
 * their traffic. */
static void killed_add_then_gc(void **state)
{
	struct cni_fixture *f = *state;
	int step = *(const int *)f->param;
	size_t p2 = cni_fixture_add_pod(f), p3 = cni_fixture_add_pod(f), pk = cni_fixture_add_pod(f);
	cJSON *c1 = cni_config(f, "1.1.0", 0), *c2 = cni_config(f, "1.1.0", p2);
	cJSON *c3 = cni_config(f, "1.1.0", p3), *ck = cni_config(f, "1.1.0", pk);
	cJSON *gc = gc_config(f, "cni.dev/valid-attachments");
	char env[64], dir[PATH_MAX], network[PATH_MAX], reserved[256];
	const char *const extra[] = { env, NULL };
	int web1, web3;

	cni_set_json(c2, "bindings",
		     "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.64/26\","
		     "  \"ports\": [\"80\", \"8500\"]}]");
	cni_set_json(c3, "routes", "{\"pod\": true, \"host\": false}");
	cni_set_json(ck, "bindings",
		     "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.128/26\","
		     "  \"ports\": [\"80\", \"8000-8999\"]}]");
	cni_set_json(gc, "cni.dev/valid-attachments",
		     "[{\"containerID\": \"c1\", \"ifname\": \"eth0\"},"
		     " {\"containerID\": \"c3\", \"ifname\": \"eth0\"}]");
	add_ok(f, "c1", f->pods[0].path, c1);
	add_ok(f, "c2", f->pods[p2].path, c2);
	add_ok(f, "c3", f->pods[p3].path, c3);
	assert_int_equal(host_routes("-4", "203.0.113.64/26 via 198.51.100.11 "), 1);
	cni_reserved_ports(f->pods[p2].path, reserved, sizeof(reserved));
	assert_string_equal(reserved, "8500");
	snprintf(env, sizeof(env), "SKLOOKUP_KILL_STEP=%d", step);
	assert_int_equal(plugin_env(f, f->plugin_fi, "ADD", "ck", f->pods[pk].path, ck, extra),
			 128 + SIGKILL);

	plugin_ok(f, "GC", "", "", gc);
	snprintf(network, sizeof(network), "%s/%s", f->root, CNI_NETWORK);
	assert_int_equal(cni_dir_entries(network), 2);
	state_dir(f, CNI_NETWORK, "c2", dir);
	skl_state_parent(dir, dir, sizeof(dir), NULL);
	assert_false(skl_state_exists(dir));
	state_dir(f, CNI_NETWORK, "ck", dir);
	skl_state_parent(dir, dir, sizeof(dir), NULL);
	assert_false(skl_state_exists(dir));
	cni_assert_pod_clean(f, p2);
	cni_assert_pod_clean(f, pk);
	assert_int_equal(host_routes("-4", "203.0.113.64/26"), 0);
	assert_int_equal(host_routes("-4", "203.0.113.128/26"), 0);

	assert_attached(f, "c1", 0, true);
	assert_attached(f, "c3", p3, false);
	state_dir(f, CNI_NETWORK, "c1", dir);
	web1 = cni_pod_server(f, 0, dir, "web", SOCK_STREAM, "127.0.0.1");
	state_dir(f, CNI_NETWORK, "c3", dir);
	web3 = cni_pod_server(f, p3, dir, "web", SOCK_STREAM, "127.0.0.1");
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web1, 1), 0);
	assert_int_equal(cni_deliver_in_pod(f, p3, SOCK_STREAM, "203.0.113.9", 8080, web3), 0);
	close(web1);
	close(web3);
	plugin_ok(f, "CHECK", "c1", f->pods[0].path, c1);
	plugin_ok(f, "CHECK", "c3", f->pods[p3].path, c3);

	plugin_ok(f, "DEL", "c1", f->pods[0].path, c1);
	plugin_ok(f, "DEL", "c3", f->pods[p3].path, c3);
	cni_assert_nothing_left(f, 0);
	cni_assert_pod_clean(f, p3);
	assert_int_equal(cni_dir_entries(f->root), 0);
}

/* ---- concurrency ---- */

/* Configs for pods[1..n], routes only in the pod (the host routes of
 * different pods would be the same prefixes). */
static void concurrent_pods(struct cni_fixture *f, size_t n, char **texts)
{
	for (size_t i = 0; i < n; i++) {
		size_t pod = cni_fixture_add_pod(f);
		cJSON *conf = cni_config(f, "1.1.0", pod);

		assert_int_equal(pod, i + 1);
		cni_set_json(conf, "routes", "{\"pod\": true, \"host\": false}");
		texts[i] = cJSON_PrintUnformatted(conf);
		assert_non_null(texts[i]);
	}
}

static struct cni_call pod_call(const struct cni_fixture *f, const char *command, size_t i,
				const char *cid, const char *text)
{
	return (struct cni_call){ .binary = f->plugin,
				  .command = command,
				  .container_id = cid,
				  .netns = f->pods[i + 1].path,
				  .ifname = CNI_POD_IFNAME,
				  .stdin_data = text };
}

/* Starts one verb for n pods at once, then waits for all; all must succeed. */
static void run_all_at_once(const struct cni_fixture *f, const char *command, size_t n,
			    char **texts)
{
	struct cni_proc procs[N_CONCURRENT];
	int status[N_CONCURRENT];
	char cids[N_CONCURRENT][16], *outs[N_CONCURRENT];

	assert_true(n <= N_CONCURRENT);
	for (size_t i = 0; i < n; i++) {
		struct cni_call call;

		snprintf(cids[i], sizeof(cids[i]), "p%zu", i);
		call = pod_call(f, command, i, cids[i], texts[i]);
		assert_int_equal(cni_start(&call, &procs[i]), 0);
	}
	for (size_t i = 0; i < n; i++)
		status[i] = cni_finish(&procs[i], &outs[i], NULL);
	for (size_t i = 0; i < n; i++) {
		if (status[i] != 0)
			fail_msg("%s p%zu: exit %d, %s", command, i, status[i], outs[i]);
		free(outs[i]);
	}
}

static void concurrent_add_and_del(void **state)
{
	struct cni_fixture *f = *state;
	char *texts[N_CONCURRENT], network[PATH_MAX];

	concurrent_pods(f, N_CONCURRENT, texts);
	run_all_at_once(f, "ADD", N_CONCURRENT, texts);
	snprintf(network, sizeof(network), "%s/%s", f->root, CNI_NETWORK);
	assert_int_equal(cni_dir_entries(network), N_CONCURRENT);
	for (size_t i = 0; i < N_CONCURRENT; i++) {
		const struct cni_pod *p = &f->pods[i + 1];
		char dir[PATH_MAX], cid[16];

		snprintf(cid, sizeof(cid), "p%zu", i);
		state_dir(f, CNI_NETWORK, cid, dir);
		assert_int_equal(link_netns(dir), cni_netns_ino(p->path));
		assert_int_equal(cni_prog_count(p->path), 1);
		assert_int_equal(pod_routes(p, "-4", "local 203.0.113.0/24 dev lo"), 1);
	}
	run_all_at_once(f, "DEL", N_CONCURRENT, texts);
	for (size_t i = 0; i < N_CONCURRENT; i++) {
		cni_assert_nothing_left(f, i + 1);
		free(texts[i]);
	}
	assert_int_equal(cni_dir_entries(f->root), 0);
}

/* In a forked child, no cmocka: exit status 0, or 1 + the failed call. */
static void add_del_loop(const struct cni_fixture *f, size_t i, const char *text)
{
	char cid[16];

	snprintf(cid, sizeof(cid), "p%zu", i);
	for (int k = 0; k < LOOP_ITERATIONS; k++) {
		struct cni_call add = pod_call(f, "ADD", i, cid, text);
		struct cni_call del = pod_call(f, "DEL", i, cid, text);

		if (cni_call_run(&add, NULL, NULL) != 0)
			_exit(1 + 2 * k);
		if (cni_call_run(&del, NULL, NULL) != 0)
			_exit(2 + 2 * k);
	}
	_exit(0);
}

static void concurrent_add_del_loops(void **state)
{
	struct cni_fixture *f = *state;
	char *texts[N_LOOPS];
	pid_t pids[N_LOOPS];
	int status[N_LOOPS];

	concurrent_pods(f, N_LOOPS, texts);
	fflush(NULL);
	for (size_t i = 0; i < N_LOOPS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			add_del_loop(f, i, texts[i]);
	}
	for (size_t i = 0; i < N_LOOPS; i++) {
		status[i] = -1;
		if (pids[i] > 0 && waitpid(pids[i], &status[i], 0) != pids[i])
			status[i] = -1;
	}
	for (size_t i = 0; i < N_LOOPS; i++) {
		free(texts[i]);
		assert_true(pids[i] > 0);
		if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0)
			fail_msg("loop p%zu failed at call %d", i, WEXITSTATUS(status[i]));
	}
	for (size_t i = 0; i < N_LOOPS; i++)
		cni_assert_nothing_left(f, i + 1);
	assert_int_equal(cni_dir_entries(f->root), 0);
}

/* ---- bad inputs ---- */

/* An environment value the table leaves unset (NULL there means default). */
static const char unset_marker[] = "<unset>";
#define UNSET unset_marker

static char long_container_id[301];

/* One change to the default config: the value (JSON text) at a dotted
 * path, or the key's removal when value is NULL. */
struct patch {
	const char *path;
	const char *value;
};

struct bad_input {
	const char *name;
	const char *command;                          /* NULL: ADD */
	const char *version;                          /* NULL: 1.1.0 */
	const char *container_id, *netns, *ifname;    /* NULL: default; UNSET */
	struct patch patches[3];
	void (*mutate)(cJSON *conf);
	const char *raw;                              /* stdin instead of the config */
	int code;
	int alt_code; /* another acceptable code, or 0 */
	const char *needles[4]; /* NULL-terminated */
};

static void add_huge_string(cJSON *conf)
{
	char *big = malloc(SKL_MAX_STDIN + 2);

	assert_non_null(big);
	memset(big, 'x', SKL_MAX_STDIN + 1);
	big[SKL_MAX_STDIN + 1] = 0;
	cJSON_AddStringToObject(conf, "padding", big);
	free(big);
}

#define ANNOTATION(json)                                                                        \
	{ "runtimeConfig", "{\"io.kubernetes.cri.pod-annotations\": {\"sklookup.dev/bindings\": " \
			   json "}}" }
#define ALLOW_ANNOTATIONS { "annotations", "{\"allow\": true, \"allowedPrefixes\": [\"pod\"]}" }
#define BINDINGS(json) { "bindings", json }

static const struct bad_input bad_inputs[] = {
	{ .name = "unknown CNI_COMMAND", .command = "FROB", .code = 4,
	  .needles = { "CNI_COMMAND", "FROB" } },
	{ .name = "CNI_CONTAINERID missing", .container_id = UNSET, .code = 4,
	  .needles = { "CNI_CONTAINERID" } },
	{ .name = "CNI_CONTAINERID empty", .container_id = "", .code = 4,
	  .needles = { "CNI_CONTAINERID" } },
	{ .name = "CNI_CONTAINERID ../etc", .container_id = "../etc", .code = 4,
	  .needles = { "CNI_CONTAINERID" } },
	{ .name = "CNI_CONTAINERID a/b", .container_id = "a/b", .code = 4,
	  .needles = { "CNI_CONTAINERID", "'/'" } },
	{ .name = "CNI_CONTAINERID 300 characters", .container_id = long_container_id, .code = 4,
	  .needles = { "CNI_CONTAINERID", "300" } },
	{ .name = "CNI_CONTAINERID leading dot", .container_id = ".hidden", .code = 4,
	  .needles = { "CNI_CONTAINERID", "'.'" } },
	{ .name = "CNI_IFNAME missing", .ifname = UNSET, .code = 4, .needles = { "CNI_IFNAME" } },
	{ .name = "CNI_IFNAME 16 characters", .ifname = "eth0123456789abc", .code = 4,
	  .needles = { "CNI_IFNAME", "16" } },
	{ .name = "CNI_IFNAME .", .ifname = ".", .code = 4, .needles = { "CNI_IFNAME" } },
	{ .name = "CNI_IFNAME with a colon", .ifname = "eth0:1", .code = 4,
	  .needles = { "CNI_IFNAME", "':'" } },
	{ .name = "CNI_NETNS missing on ADD", .netns = UNSET, .code = 4,
	  .needles = { "CNI_NETNS" } },
	{ .name = "CNI_NETNS nonexistent", .netns = "/var/run/netns/sklt-no-such-netns",
	  .code = 4, .needles = { "CNI_NETNS", "sklt-no-such-netns" } },
	/* The plugin runs in the test's host netns: this is its own. skel
	 * answers 8 (ErrInvalidNetNS); 4 (invalid CNI_NETNS) is fine too. */
	{ .name = "CNI_NETNS the plugin's own netns", .netns = "/proc/self/ns/net", .code = 8,
	  .alt_code = 4, .needles = { "CNI_NETNS", "own network namespace" } },
	{ .name = "CNI_NETNS regular file", .netns = "/etc/passwd", .code = 4,
	  .needles = { "CNI_NETNS", "/etc/passwd" } },
	{ .name = "CNI_NETNS a mount namespace", .netns = "/proc/self/ns/mnt", .code = 4,
	  .needles = { "CNI_NETNS", "not a network namespace" } },
	{ .name = "stdin empty", .raw = "", .code = 6, .needles = { "stdin" } },
	{ .name = "stdin not JSON", .raw = "{\"cniVersion\": ", .code = 6, .needles = { "stdin" } },
	{ .name = "stdin a JSON array", .raw = "[{\"cniVersion\": \"1.0.0\"}]", .code = 6,
	  .needles = { "stdin", "object" } },
	{ .name = "stdin over 4 MiB", .mutate = add_huge_string, .code = 6,
	  .needles = { "stdin", "4194304" } },
	{ .name = "cniVersion missing", .patches = { { "cniVersion", NULL } }, .code = 1,
	  .needles = { "cniVersion", "1.1.0" } },
	{ .name = "cniVersion 0.2.0", .patches = { { "cniVersion", "\"0.2.0\"" } }, .code = 1,
	  .needles = { "cniVersion", "0.2.0" } },
	{ .name = "cniVersion a number", .patches = { { "cniVersion", "1.0" } }, .code = 7,
	  .needles = { "cniVersion", "string" } },
	{ .name = "name missing", .patches = { { "name", NULL } }, .code = 7,
	  .needles = { "name" } },
	{ .name = "name a/b", .patches = { { "name", "\"a/b\"" } }, .code = 7,
	  .needles = { "name", "'/'" } },
	{ .name = "type not sklookup", .patches = { { "type", "\"bridge\"" } }, .code = 7,
	  .needles = { "type", "bridge" } },
	{ .name = "prevResult missing on ADD", .patches = { { "prevResult", NULL } }, .code = 7,
	  .needles = { "prevResult", "chained" } },
	{ .name = "prevResult an array", .patches = { { "prevResult", "[]" } }, .code = 7,
	  .needles = { "prevResult" } },
	{ .name = "prevResult address not an IP",
	  .patches = { { "prevResult.ips", "[{\"address\": \"banana/24\", \"interface\": 2}]" } },
	  .code = 6, .needles = { "prevResult.ips[0].address", "banana" } },
	{ .name = "pod prefix without pod addresses", .patches = { { "prevResult.ips", "[]" } },
	  .code = 7, .needles = { "bindings[2].prefix", "pod" } },
	{ .name = "bindings not an array", .patches = { BINDINGS("{}") }, .code = 7,
	  .needles = { "bindings", "array" } },
	{ .name = "binding without label",
	  .patches = { BINDINGS("[{\"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\"}]") },
	  .code = 7, .needles = { "bindings[0]", "label" } },
	{ .name = "binding label invalid",
	  .patches = { BINDINGS("[{\"label\": \"-web\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\"}]") },
	  .code = 7, .needles = { "bindings[0].label", "-web" } },
	{ .name = "binding protocol sctp",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"sctp\","
				" \"prefix\": \"203.0.113.0/24\"}]") },
	  .code = 7, .needles = { "bindings[0].protocol", "sctp" } },
	{ .name = "port 70000",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\", \"ports\": [\"70000\"]}]") },
	  .code = 7, .needles = { "bindings[0].ports[0]", "70000" } },
	{ .name = "ports empty",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\", \"ports\": []}]") },
	  .code = 7, .needles = { "bindings[0].ports" } },
	{ .name = "prefix with host bits",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.1/24\"}]") },
	  .code = 7, .needles = { "bindings[0]", "203.0.113.0/24" } },
	{ .name = "missing neither drop nor pass",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\", \"missing\": \"ignore\"}]") },
	  .code = 7, .needles = { "bindings[0].missing", "ignore" } },
	{ .name = "conflicting bindings",
	  .patches = { BINDINGS("[{\"label\": \"a\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\", \"ports\": [\"80-90\"]},"
				" {\"label\": \"b\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\", \"ports\": [\"85-95\"]}]") },
	  .code = 7, .needles = { "bindings[0]", "bindings[1]" } },
	{ .name = "unknown key in a binding",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"tcp\","
				" \"prefix\": \"203.0.113.0/24\", \"colour\": \"red\"}]") },
	  .code = 7, .needles = { "bindings[0]", "colour" } },
	{ .name = "routes not an object", .patches = { { "routes", "true" } }, .code = 7,
	  .needles = { "routes" } },
	{ .name = "routes unknown key",
	  .patches = { { "routes", "{\"pod\": true, \"tunnel\": true}" } }, .code = 2,
	  .needles = { "routes.tunnel" } },
	{ .name = "routes.pod a string", .patches = { { "routes.pod", "\"yes\"" } }, .code = 7,
	  .needles = { "routes.pod" } },
	{ .name = "limits.bindings 0", .patches = { { "limits", "{\"bindings\": 0}" } }, .code = 7,
	  .needles = { "limits.bindings" } },
	{ .name = "limits unknown key", .patches = { { "limits", "{\"maps\": 4}" } }, .code = 2,
	  .needles = { "limits.maps" } },
	{ .name = "more bindings than limits.bindings",
	  .patches = { { "limits", "{\"bindings\": 2}" } }, .code = 7,
	  .needles = { "limits.bindings" } },
	{ .name = "bpffsRoot relative", .patches = { { "bpffsRoot", "\"sys/fs/bpf/sklookup\"" } },
	  .code = 7, .needles = { "bpffsRoot" } },
	{ .name = "annotations unknown key",
	  .patches = { { "annotations", "{\"allow\": true, \"trust\": true}" } }, .code = 2,
	  .needles = { "annotations.trust" } },
	{ .name = "annotation while not allowed",
	  .patches = { ANNOTATION("\"[{\\\"label\\\": \\\"app\\\", \\\"protocol\\\": \\\"tcp\\\","
				  " \\\"prefix\\\": \\\"pod\\\", \\\"ports\\\": [\\\"8080\\\"]}]\"") },
	  .code = 7, .needles = { "sklookup.dev/bindings", "allow" } },
	{ .name = "annotation on port 80",
	  .patches = { ALLOW_ANNOTATIONS,
		       ANNOTATION("\"[{\\\"label\\\": \\\"app\\\", \\\"protocol\\\": \\\"tcp\\\","
				  " \\\"prefix\\\": \\\"pod\\\", \\\"ports\\\": [\\\"80\\\"]}]\"") },
	  .code = 7, .needles = { "sklookup.dev/bindings", "allowedPorts" } },
	{ .name = "annotation prefix outside allowedPrefixes",
	  .patches = { ALLOW_ANNOTATIONS,
		       ANNOTATION("\"[{\\\"label\\\": \\\"app\\\", \\\"protocol\\\": \\\"tcp\\\","
				  " \\\"prefix\\\": \\\"203.0.113.0/24\\\","
				  " \\\"ports\\\": [\\\"8080\\\"]}]\"") },
	  .code = 7, .needles = { "sklookup.dev/bindings", "allowedPrefixes", "203.0.113.0/24" } },
	{ .name = "annotation not JSON",
	  .patches = { ALLOW_ANNOTATIONS, ANNOTATION("\"[{\\\"label\\\": \"") },
	  .code = 7, .needles = { "sklookup.dev/bindings" } },
	{ .name = "runtimeConfig.bindings invalid",
	  .patches = { { "runtimeConfig", "{\"bindings\": [{\"label\": \"web\", \"protocol\": \"tcp\","
				   " \"prefix\": \"203.0.113.0/24\", \"ports\": [\"0\"]}]}" } },
	  .code = 7, .needles = { "runtimeConfig.bindings[0].ports[0]" } },
	{ .name = "pod6 binding without IPv6 in prevResult",
	  .patches = { BINDINGS("[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"pod6\"}]"),
		       { "prevResult.ips",
			 "[{\"address\": \"198.51.100.10/24\", \"interface\": 2}]" } },
	  .code = 7, .needles = { "bindings[0].prefix", "pod6" } },
	/* Fails after the link, the pod routes and the reserved ports exist. */
	{ .name = "routes.host for a v6 binding without a v6 pod address",
	  .patches = { { "prevResult.ips",
			 "[{\"address\": \"198.51.100.10/24\", \"interface\": 2}]" } },
	  .code = 7, .needles = { "routes.host", "bindings[1]", "IPv6" } },
	{ .name = "CHECK at 0.3.1", .command = "CHECK", .version = "0.3.1", .code = 1,
	  .needles = { "CHECK", "0.3.1" } },
	{ .name = "GC at 1.0.0", .command = "GC", .version = "1.0.0", .container_id = "",
	  .netns = "", .ifname = "", .code = 1, .needles = { "GC", "1.0.0" } },
};

#define N_BAD_INPUTS (sizeof(bad_inputs) / sizeof(bad_inputs[0]))

/* The value at a dotted path's parent, and the last key in *key. */
static cJSON *patch_parent(cJSON *conf, const char *path, char *key, size_t len)
{
	const char *dot;
	cJSON *obj = conf;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, len, "%.*s", (int)(dot - path), path);
		obj = cJSON_GetObjectItemCaseSensitive(obj, key);
		assert_non_null(obj);
		path = dot + 1;
	}
	snprintf(key, len, "%s", path);
	return obj;
}

static void apply_patch(cJSON *conf, const struct patch *p)
{
	char key[64];
	cJSON *parent = patch_parent(conf, p->path, key, sizeof(key));

	if (p->value)
		cni_set_json(parent, key, p->value);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
}

static const char *env_value(const char *v, const char *fallback)
{
	return v == UNSET ? NULL : v ? v : fallback;
}

static void bad_input_refused(void **state)
{
	struct cni_fixture *f = *state;
	const struct bad_input *t = f->param;
	const char *version = t->version ? t->version : "1.1.0";
	cJSON *conf = cni_config(f, version, 0);
	char *text;
	struct cni_call call = { .binary = f->plugin,
				 .command = t->command ? t->command : "ADD",
				 .container_id = env_value(t->container_id, CID),
				 .netns = env_value(t->netns, f->pods[0].path),
				 .ifname = env_value(t->ifname, CNI_POD_IFNAME) };
	int status;

	for (size_t i = 0; i < 3 && t->patches[i].path; i++)
		apply_patch(conf, &t->patches[i]);
	if (t->mutate)
		t->mutate(conf);
	text = cJSON_PrintUnformatted(conf);
	assert_non_null(text);
	call.stdin_data = t->raw ? t->raw : text;
	status = cni_fixture_call(f, &call);
	free(text);
	if (status != 1)
		fail_msg("exit %d, want 1; stdout %s; stderr %s", status, f->out, f->err);
	assert_error_code(f->out, t->code, t->alt_code, t->needles);
	assert_int_equal(cni_dir_entries(f->root), 0);
	cni_assert_nothing_left(f, 0);
}

/* ---- the suite ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, cni_fixture_setup, cni_fixture_teardown)

static const struct CMUnitTest fixed_tests[] = {
	T(cycle_0_3_0),
	T(cycle_0_3_1),
	T(cycle_0_4_0),
	T(cycle_1_0_0),
	T(cycle_1_1_0),
	T(traffic_reaches_registered_socket),
	T(version_lists_supported),
	T(help_prints_usage),
	T(del_without_add),
	T(fifo_netns_is_refused_promptly),
	T(del_after_netns_deleted_empty_netns),
	T(del_after_netns_deleted_stale_path),
	T(del_without_prev_result),
	T(del_with_changed_invalid_config),
	T(reserved_ports_restored_exactly),
	T(add_twice_leaves_one_state),
	T(add_with_host_route_in_the_way_fails_cleanly),
	T(check_fails_without_pod_route),
	T(check_fails_when_bindings_changed),
	T(check_fails_after_netns_deleted),
	T(check_fails_without_state),
	T(gc_removes_invalid_attachments),
	T(gc_needs_1_1_0),
	T(status_at_1_1_0),
	T(status_needs_1_1_0),
	T(annotation_binding_accepted),
	T(null_runtime_config_entries_accepted),
	T(stdin_of_max_size_accepted),
	T(concurrent_add_and_del),
	T(concurrent_add_del_loops),
};

#define N_FIXED (sizeof(fixed_tests) / sizeof(fixed_tests[0]))
#define N_STEP_TESTS 4 /* failed, killed then DEL, killed then ADD, killed then GC */
#define N_TESTS (N_FIXED + N_STEP_TESTS * (SKL_STEP_COUNT - 1) + N_BAD_INPUTS)

int main(void)
{
	static struct CMUnitTest tests[N_TESTS];
	static const struct {
		const char *name;
		void (*fn)(void **);
	} step_tests[N_STEP_TESTS] = {
		{ "add_fails_after_step_%d", add_fails_after_step },
		{ "add_killed_after_step_%d_then_del", killed_add_then_del },
		{ "add_killed_after_step_%d_then_add", killed_add_then_add },
		{ "add_killed_after_step_%d_then_gc", killed_add_then_gc },
	};
	static char names[N_STEP_TESTS * SKL_STEP_COUNT + N_BAD_INPUTS][96];
	static int steps[SKL_STEP_COUNT];
	size_t n = 0;

	memset(long_container_id, 'a', sizeof(long_container_id) - 1);
	for (; n < N_FIXED; n++)
		tests[n] = fixed_tests[n];
	for (int k = 0; k < N_STEP_TESTS; k++)
		for (int step = 1; step < SKL_STEP_COUNT; step++, n++) {
			char *name = names[k * SKL_STEP_COUNT + step];

			steps[step] = step;
			snprintf(name, sizeof(names[0]), step_tests[k].name, step);
			tests[n] = (struct CMUnitTest){ .name = name,
							.test_func = step_tests[k].fn,
							.setup_func = cni_fixture_setup,
							.teardown_func = cni_fixture_teardown,
							.initial_state = &steps[step] };
		}
	for (size_t i = 0; i < N_BAD_INPUTS; i++, n++) {
		char *name = names[N_STEP_TESTS * SKL_STEP_COUNT + i];

		snprintf(name, sizeof(names[0]), "bad input: %s", bad_inputs[i].name);
		tests[n] = (struct CMUnitTest){ .name = name,
						.test_func = bad_input_refused,
						.setup_func = cni_fixture_setup,
						.teardown_func = cni_fixture_teardown,
						.initial_state = (void *)&bad_inputs[i] };
	}
	return _cmocka_run_group_tests("sklookup CNI plugin", tests, n, NULL, NULL);
}
