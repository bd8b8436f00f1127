#include "ctl_fixture.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dispatch_fixture.h"
#include "rules.h"
#include "sockets.h"
#include "testbin.h"
#include "testnet.h"

void ctl_pod_create(struct ctl_pod *p, const char *bindings_json)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };
	char path[512];

	memset(p, 0, sizeof(*p));
	skl_dispatcher_init(&p->d);
	assert_int_equal(testnet_unshare_netns(&p->saved_netns), 0);
	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip route add local 198.51.100.0/24 dev lo"), 0);
	assert_int_equal(testnet_run("ip -6 route add local 2001:db8::/32 dev lo"), 0);
	assert_int_equal(testnet_bpffs_tmpdir(p->root, sizeof(p->root)), 0);
	snprintf(path, sizeof(path), "%s/net", p->root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/net/" CTL_POD_CONTAINER, p->root);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true((size_t)snprintf(p->dir, sizeof(p->dir), "%.200s/eth0", path) < sizeof(p->dir));
	assert_int_equal(mkdir(p->dir, 0700), 0);
	fixture_dispatcher(&p->d, NULL);
	fixture_parse(bindings_json, &set);
	if (skl_rules_apply(&p->d, &set, &err) || skl_dispatcher_pin(&p->d, p->dir, &err))
		fail_msg("pod state: %s", err.msg);
	skl_bindings_free(&set);
}

void ctl_pod_destroy(struct ctl_pod *p)
{
	skl_dispatcher_close(&p->d);
	if (p->root[0])
		testnet_rm_rf_bpffs(p->root);
	testnet_restore_netns(p->saved_netns);
}

void ctl_pod_register(struct ctl_pod *p, const char *label, int fd)
{
	struct skl_err err = { 0 };
	uint32_t id;

	if (skl_label_lookup(&p->d, label, &id, &err) || skl_socket_register(&p->d, id, fd, &err))
		fail_msg("register %s: %s", label, err.msg);
}

int ctl_run(const struct ctl_pod *p, bool merge_stderr, char *out, size_t len, const char *fmt,
	    ...)
{
	char args[1024], cmd[PATH_MAX + 2048], ctl[PATH_MAX];
	size_t used = 0;
	va_list ap;
	FILE *f;
	int status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	snprintf(cmd, sizeof(cmd), "%s --bpffs-root %s %s %s", ctl, p->root, args,
		 merge_stderr ? "2>&1" : "2>/dev/null");
	f = popen(cmd, "r");
	assert_non_null(f);
	for (size_t n; used < len - 1 && (n = fread(out + used, 1, len - 1 - used, f)) > 0;)
		used += n;
	out[used] = 0;
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
