/*
 * Root tests of `sklookup-ctl upgrade`, the real binary (build/sklookup-ctl,
 * or $SKL_CTL) run as a child in each test's own fresh netns, against pod
 * state made in-process: a dispatcher loaded, given bindings, attached and
 * pinned under <bpffs scratch>/net/cid/eth0, a listener registered and an
 * established TCP connection through it. Teardown removes every pin, link
 * and netns, also after a failed assertion.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "dispatch_fixture.h"
#include "record.h"
#include "rules.h"
#include "skl_asserts.h"
#include "sockets.h"
#include "state.h"
#include "testbin.h"
#include "testnet.h"
#include "upgrade.h"

#define SERVED_ADDR "192.0.2.5"
#define SERVED_PORT 80
#define BINDINGS "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"192.0.2.0/24\"," \
		 " \"ports\": [\"80\"]}]"
#define OUTPUT_MAX 4096

struct env {
	int saved_netns;
	char root[PATH_MAX];      /* bpffs scratch directory, "" until made */
	char state_dir[PATH_MAX]; /* root/net/cid/eth0 */
	struct skl_dispatcher d;  /* loaded here and pinned into state_dir */
	int listener, client, server; /* server: the accepted end of client */
	int pass_prog;
};

/* What one run of sklookup-ctl printed and returned. */
struct ctl_run {
	int status;
	char out[OUTPUT_MAX], err[OUTPUT_MAX];
};

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	skl_dispatcher_init(&e->d);
	e->listener = e->client = e->server = e->pass_prog = -1;
	if (testnet_unshare_netns(&e->saved_netns)) {
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	int ret = 0;

	close_if_open(e->client);
	close_if_open(e->server);
	close_if_open(e->listener);
	close_if_open(e->pass_prog);
	skl_dispatcher_close(&e->d);
	/* Unpinning drops the link's last reference: it detaches. */
	if (e->root[0] && testnet_rm_rf_bpffs(e->root)) {
		fprintf(stderr, "cannot remove %s: %s\n", e->root, strerror(errno));
		ret = -1;
	}
	if (testnet_restore_netns(e->saved_netns))
		abort(); /* later tests must not run in the wrong netns */
	free(e);
	return ret;
}

/* ---- helpers ---- */

static void join(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fail_msg("path %s/%s is too long", dir, name);
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0700))
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 2 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

/* A connection to the served address, accepted by the registered listener. */
static void connect_through_dispatcher(struct env *e)
{
	struct sockaddr_storage ss;
	socklen_t len = fixture_addr(SERVED_ADDR, SERVED_PORT, &ss);

	e->client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(e->client >= 0);
	if (connect(e->client, (struct sockaddr *)&ss, len))
		fail_msg("connect %s:%d: %s", SERVED_ADDR, SERVED_PORT, strerror(errno));
	e->server = accept4(e->listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(e->server >= 0);
	set_timeouts(e->client);
	set_timeouts(e->server);
}

/* The pod as the plugin leaves it, plus a registered listener and an
 * established connection. */
static void make_pod(struct env *e)
{
	struct skl_binding_set set;
	struct skl_err err = { 0 };
	char network[PATH_MAX], container[PATH_MAX];
	uint32_t label;

	assert_int_equal(testnet_run("ip route add local 192.0.2.0/24 dev lo"), 0);
	assert_int_equal(testnet_bpffs_tmpdir(e->root, sizeof(e->root)), 0);
	join(network, e->root, "net");
	make_dir(network);
	join(container, network, "cid");
	make_dir(container);
	join(e->state_dir, container, "eth0");
	make_dir(e->state_dir);

	fixture_dispatcher(&e->d, NULL);
	fixture_parse(BINDINGS, &set);
	if (skl_rules_apply(&e->d, &set, &err) || skl_dispatcher_pin(&e->d, e->state_dir, &err))
		fail_msg("pod state: %s", err.msg);
	skl_bindings_free(&set);

	e->listener = fixture_server(SOCK_STREAM, "127.0.0.1", 0, true);
	if (skl_label_lookup(&e->d, "web", &label, &err) ||
	    skl_socket_register(&e->d, label, e->listener, &err))
		fail_msg("register: %s", err.msg);
	connect_through_dispatcher(e);
}

/* Data both ways over the established connection. */
static void assert_connection_works(const struct env *e)
{
	char buf[8];

	assert_int_equal(send(e->client, "ping", 4, 0), 4);
	assert_int_equal(recv(e->server, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(send(e->server, "pong", 4, 0), 4);
	assert_int_equal(recv(e->client, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "pong", 4);
}

static uint64_t assigned_count(const struct env *e)
{
	uint64_t c[SKL_C_COUNT];
	struct skl_err err = { 0 };
	uint32_t label;

	if (skl_label_lookup(&e->d, "web", &label, &err))
		fail_msg("%s", err.msg);
	fixture_counters(&e->d, SKL_COUNTERS_LABEL, label, c);
	return c[SKL_C_ASSIGNED];
}

static struct bpf_prog_info prog_info_of(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail_msg("program info: %s", strerror(errno));
	return info;
}

static uint32_t link_prog_id(const struct env *e)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(e->d.link_fd, &info, &len))
		fail_msg("link info: %s", strerror(errno));
	return info.prog_id;
}

static struct bpf_prog_info pinned_prog_info(const struct env *e, const char *name)
{
	struct bpf_prog_info info;
	char path[PATH_MAX];
	int fd;

	join(path, e->state_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("bpf_obj_get %s: %s", path, strerror(errno));
	info = prog_info_of(fd);
	close(fd);
	return info;
}

static bool pinned(const struct env *e, const char *name)
{
	char path[PATH_MAX];

	join(path, e->state_dir, name);
	return access(path, F_OK) == 0;
}

/* The map ids a program uses. */
static uint32_t prog_map_ids(uint32_t prog_id, uint32_t *ids, uint32_t max)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id);

	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = max;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	assert_true(info.nr_map_ids <= max);
	return info.nr_map_ids;
}

static uint32_t map_id_of(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* The program's own read-only data (its limits-derived bounds), which
 * each load makes anew and the pod does not pin. */
static bool is_own_rodata(uint32_t map_id)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(map_id);
	bool rodata;

	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	rodata = (info.map_flags & BPF_F_RDONLY_PROG) && strstr(info.name, ".rodata");
	return rodata;
}

/* Every map the program uses is one of the pod's pinned maps (with its
 * record, when it has one) or its own read-only data. */
static void assert_uses_pod_maps(const struct env *e, uint32_t prog_id)
{
	uint32_t ids[SKL_MAP_COUNT + 4], n = prog_map_ids(prog_id, ids, SKL_MAP_COUNT + 4);
	char record[PATH_MAX];
	int record_fd;
	uint32_t record_id = 0;

	join(record, e->state_dir, SKL_PIN_RECORD);
	record_fd = bpf_obj_get(record);
	if (record_fd >= 0) {
		record_id = map_id_of(record_fd);
		close(record_fd);
	}
	assert_true(n > 0);
	for (uint32_t k = 0; k < n; k++) {
		bool found = record_id && ids[k] == record_id;

		for (int i = 0; i < SKL_MAP_COUNT && !found; i++)
			found = map_id_of(e->d.map_fd[i]) == ids[k];
		if (!found && !is_own_rodata(ids[k]))
			fail_msg("the program uses map id %u, which is not one of the pod's", ids[k]);
	}
}

/* An sk_lookup program that only returns SK_PASS: an "older" program. */
static int load_pass_program(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_LOOKUP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SK_LOOKUP, "skl_test_pass", "Dual BSD/GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);

	if (fd < 0)
		fail_msg("loading the SK_PASS program: %s", strerror(errno));
	return fd;
}

static void read_all(FILE *f, char *buf)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, OUTPUT_MAX - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Runs sklookup-ctl --bpffs-root ROOT ARGS... in this netns. */
static void run_ctl(const struct env *e, struct ctl_run *r, const char *arg1, const char *arg2)
{
	char ctl_path[PATH_MAX];
	const char *ctl = getenv("SKL_CTL");
	char *argv[] = { (char *)ctl, "--bpffs-root", (char *)e->root, (char *)arg1,
			 (char *)arg2, NULL };
	FILE *out, *err;
	int status;
	pid_t pid;

	if (!ctl) {
		testbin_path(ctl_path, sizeof(ctl_path), "sklookup-ctl");
		ctl = ctl_path;
		argv[0] = ctl_path;
	}
	if (access(ctl, X_OK))
		fail_msg("%s: %s (run make first, or set SKL_CTL)", ctl, strerror(errno));
	out = tmpfile();
	err = tmpfile();
	assert_true(out && err);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execv(ctl, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	read_all(out, r->out);
	read_all(err, r->err);
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("<%s> lacks <%s>", text, part);
}

/* ADD's record of the pod, bound to the program the pod's link runs. */
static void save_record(struct env *e)
{
	struct skl_record rec = { 0 };
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	struct skl_err err = { 0 };

	assert_int_equal(bpf_obj_get_info_by_fd(e->d.link_fd, &info, &len), 0);
	rec.link_id = info.id;
	snprintf(rec.state_dir, sizeof(rec.state_dir), "%s", e->state_dir);
	if (skl_record_save_bound(&rec, e->state_dir, e->d.prog_fd, &err))
		fail_msg("record: %s", err.msg);
}

/* Whether DEL would trust the pod's record when its pins are out of reach. */
static bool record_vouched(const struct env *e)
{
	struct skl_record rec;
	uint32_t id = 0;
	int fd = skl_record_find(e->state_dir, &id, &rec);

	if (fd < 0)
		return false;
	skl_record_free(&rec);
	close(fd);
	return true;
}

/* ---- tests ---- */

/* The link runs an older program (one that passes everything): upgrade puts
 * the real dispatcher back, on the same maps, and the connection, the
 * listener and the counters live through it. */
static void upgrade_replaces_the_program_and_keeps_maps_and_sockets(void **state)
{
	struct env *e = *state;
	struct bpf_prog_info original, now;
	uint32_t pass_id, new_id;
	uint64_t assigned;
	struct ctl_run r;
	char expect[PATH_MAX + 256];

	make_pod(e);
	save_record(e);
	assert_true(record_vouched(e));
	original = prog_info_of(e->d.prog_fd);
	assigned = assigned_count(e);
	assert_int_equal(assigned, 1); /* the established connection */

	e->pass_prog = load_pass_program();
	assert_int_equal(bpf_link_update(e->d.link_fd, e->pass_prog, NULL), 0);
	/* The program in the link no longer holds the record. */
	assert_false(record_vouched(e));
	pass_id = prog_info_of(e->pass_prog).id;
	assert_int_equal(link_prog_id(e), pass_id);
	/* Nothing dispatches now: nobody listens on the served address itself. */
	assert_int_equal(fixture_deliver(SOCK_STREAM, SERVED_ADDR, SERVED_PORT, &e->listener, 1),
			 -1);

	run_ctl(e, &r, "upgrade", NULL);
	if (r.status != 0)
		fail_msg("upgrade exited %d: %s", r.status, r.err);
	new_id = link_prog_id(e);
	assert_int_not_equal(new_id, pass_id);
	assert_int_not_equal(new_id, original.id);
	snprintf(expect, sizeof(expect),
		 "upgraded the dispatcher of %s: program id %u -> %u (maps and sockets kept)\n",
		 e->state_dir, pass_id, new_id);
	assert_string_equal(r.out, expect);

	now = pinned_prog_info(e, "prog");
	assert_int_equal(now.id, new_id);
	assert_memory_equal(now.tag, original.tag, sizeof(now.tag));
	assert_false(pinned(e, SKL_PIN_PROG_NEW));
	assert_uses_pod_maps(e, new_id);
	/* The new program vouches for the pod's record. */
	assert_true(record_vouched(e));

	assert_connection_works(e);
	assert_int_equal(fixture_deliver(SOCK_STREAM, SERVED_ADDR, SERVED_PORT, &e->listener, 1),
			 0);
	assert_int_equal(assigned_count(e), assigned + 1);
}

/* The link already runs this binary's program: nothing changes. */
static void upgrade_when_current_changes_nothing(void **state)
{
	struct env *e = *state;
	uint32_t before;
	struct ctl_run r;
	char expect[PATH_MAX + 256];

	make_pod(e);
	before = link_prog_id(e);

	run_ctl(e, &r, "upgrade", NULL);
	if (r.status != 0)
		fail_msg("upgrade exited %d: %s", r.status, r.err);
	snprintf(expect, sizeof(expect),
		 "the dispatcher of %s is already up to date (program id %u)\n", e->state_dir,
		 before);
	assert_string_equal(r.out, expect);
	assert_int_equal(link_prog_id(e), before);
	assert_int_equal(pinned_prog_info(e, "prog").id, before);

	run_ctl(e, &r, "upgrade", "--json");
	assert_int_equal(r.status, 0);
	snprintf(expect, sizeof(expect),
		 "{\n\t\"stateDir\":\t\"%s\",\n\t\"oldProgramId\":\t%u,\n\t\"newProgramId\":\t%u,"
		 "\n\t\"changed\":\tfalse,\n\t\"newMaps\":\tfalse,\n\t\"sockets\":\t0,"
		 "\n\t\"bindings\":\t0\n}\n", e->state_dir, before, before);
	assert_string_equal(r.out, expect);
	assert_int_equal(link_prog_id(e), before);

	run_ctl(e, &r, "upgrade", "now");
	assert_int_equal(r.status, 2);
	assert_contains(r.err, "upgrade: unknown argument \"now\"");
	assert_connection_works(e);
}

/* A pinned "prog" that is not the linked program (an upgrade interrupted
 * before its rename) is repaired by running upgrade again. */
static void upgrade_repairs_a_stale_program_pin(void **state)
{
	struct env *e = *state;
	struct bpf_prog_info original, now;
	char path[PATH_MAX];
	struct ctl_run r;

	make_pod(e);
	original = prog_info_of(e->d.prog_fd);
	e->pass_prog = load_pass_program();
	join(path, e->state_dir, "prog");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bpf_obj_pin(e->pass_prog, path), 0);
	join(path, e->state_dir, SKL_PIN_PROG_NEW); /* the leftover of that upgrade */
	assert_int_equal(bpf_obj_pin(e->pass_prog, path), 0);

	run_ctl(e, &r, "upgrade", "--json");
	if (r.status != 0)
		fail_msg("upgrade exited %d: %s", r.status, r.err);
	assert_contains(r.out, "\"changed\":\ttrue");
	now = pinned_prog_info(e, "prog");
	assert_int_equal(now.id, link_prog_id(e));
	assert_memory_equal(now.tag, original.tag, sizeof(now.tag));
	assert_false(pinned(e, SKL_PIN_PROG_NEW));
	assert_connection_works(e);
}

/* A pod whose "bindings" map has another value size cannot have its
 * bindings carried to new maps: refused, untouched, naming the map. */
static void upgrade_refuses_an_incompatible_layout(void **state)
{
	struct env *e = *state;
	uint32_t link_before, pinned_before;
	char path[PATH_MAX];
	struct ctl_run r;
	int odd;

	make_pod(e);
	link_before = link_prog_id(e);
	pinned_before = pinned_prog_info(e, "prog").id;
	join(path, e->state_dir, "bindings");
	assert_int_equal(unlink(path), 0);
	odd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "skl_test_odd", 4, 8, 1, NULL);
	assert_true(odd >= 0);
	assert_int_equal(bpf_obj_pin(odd, path), 0);
	close(odd);

	run_ctl(e, &r, "upgrade", NULL);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_contains(r.err, "whose map \"bindings\" this release cannot find or read");
	assert_contains(r.err, "nothing was changed");
	assert_contains(r.err, "re-create the pod");
	assert_int_equal(link_prog_id(e), link_before);
	assert_int_equal(pinned_prog_info(e, "prog").id, pinned_before);
	assert_false(pinned(e, SKL_PIN_PROG_NEW));
	assert_connection_works(e);
}

/* The sk_lookup links attached to the netns with inode ino. */
static int links_in_netns(uint64_t ino)
{
	uint32_t id = 0;
	int n = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_LINK_TYPE_NETNS && info.netns.netns_ino == ino &&
		    info.netns.attach_type == BPF_SK_LOOKUP)
			n++;
		close(fd);
	}
	return n;
}

/* Entries of the pod's container directory besides its state directory
 * (an upgrade's temporary directory left behind). */
static int container_leftovers(const struct env *e)
{
	char container[PATH_MAX + 16];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(container, sizeof(container), "%s/net/cid", e->root);
	dir = opendir(container);
	assert_non_null(dir);
	while ((d = readdir(dir)))
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..") && strcmp(d->d_name, "eth0"))
			n++;
	closedir(dir);
	return n;
}

static uint64_t our_netns_ino(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

/* upgrade --new-maps (what a change of map layout takes): new maps and a
 * new link, the listener carried over by the socket-copying program, the
 * bindings and counters too; the established connection lives, the old link
 * is detached, nothing temporary is left. */
static void upgrade_with_new_maps_carries_everything_over(void **state)
{
	struct env *e = *state;
	uint32_t old_prog, old_bindings_id;
	uint64_t assigned, ino = 0;
	struct skl_err err = { 0 };
	struct ctl_run r;

	make_pod(e);
	save_record(e);
	old_prog = link_prog_id(e);
	old_bindings_id = map_id_of(e->d.map_fd[SKL_MAP_BINDINGS]);
	assigned = assigned_count(e);
	assert_int_equal(assigned, 1);

	run_ctl(e, &r, "upgrade", "--new-maps");
	if (r.status != 0)
		fail_msg("upgrade exited %d: %s", r.status, r.err);
	assert_contains(r.out, "to new maps");
	assert_contains(r.out, "1 bindings and 1 sockets carried over");
	/* The old link is detached: its netns reads as gone. */
	assert_ok(skl_link_netns(e->d.link_fd, &ino, &err), err);
	assert_int_equal(ino, 0);
	assert_int_equal(links_in_netns(our_netns_ino()), 1);
	assert_int_equal(container_leftovers(e), 0);

	skl_dispatcher_close(&e->d);
	assert_ok(skl_dispatcher_open(&e->d, e->state_dir, &err), err);
	assert_int_not_equal(link_prog_id(e), old_prog);
	assert_int_not_equal(map_id_of(e->d.map_fd[SKL_MAP_BINDINGS]), old_bindings_id);
	assert_true(record_vouched(e));
	assert_uses_pod_maps(e, link_prog_id(e));
	/* Counters carried over, and counting on. */
	assert_int_equal(assigned_count(e), assigned);
	assert_connection_works(e);
	assert_int_equal(fixture_deliver(SOCK_STREAM, SERVED_ADDR, SERVED_PORT, &e->listener, 1),
			 0);
	assert_int_equal(assigned_count(e), assigned + 1);
}

/* A failure while the new maps are filled (a damaged port chain in the
 * old bindings map) leaves the old dispatcher serving and nothing new. */
static void upgrade_with_new_maps_fails_leaving_the_old_one(void **state)
{
	struct env *e = *state;
	struct skl_binding_value v;
	uint32_t old_prog, id = 0;
	uint64_t ino = 0;
	struct skl_err err = { 0 };
	struct ctl_run r;

	make_pod(e);
	old_prog = link_prog_id(e);
	assert_int_equal(bpf_map_lookup_elem(e->d.map_fd[SKL_MAP_BINDINGS], &id, &v), 0);
	assert_true(v.flags & SKL_BINDING_F_IN_USE);
	v.port_first = 1u << 30;
	assert_int_equal(bpf_map_update_elem(e->d.map_fd[SKL_MAP_BINDINGS], &id, &v, BPF_ANY), 0);

	run_ctl(e, &r, "upgrade", "--new-maps");
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "damaged");
	assert_int_equal(link_prog_id(e), old_prog);
	assert_ok(skl_link_netns(e->d.link_fd, &ino, &err), err);
	assert_int_equal(ino, our_netns_ino());
	assert_int_equal(links_in_netns(ino), 1);
	assert_int_equal(container_leftovers(e), 0);
	assert_int_equal(pinned_prog_info(e, "prog").id, old_prog);
	/* The rule tables were not touched: delivery goes on. */
	assert_connection_works(e);
	assert_int_equal(fixture_deliver(SOCK_STREAM, SERVED_ADDR, SERVED_PORT, &e->listener, 1),
			 0);
}

/* The netns takes no more sk_lookup programs (the kernel allows 64): the
 * new dispatcher cannot be attached, and everything built for it goes. */
static void upgrade_with_new_maps_fails_to_attach(void **state)
{
	struct env *e = *state;
	int extra[63], n = 0, ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	uint32_t old_prog;
	struct ctl_run r;

	make_pod(e);
	old_prog = link_prog_id(e);
	e->pass_prog = load_pass_program();
	assert_true(ns >= 0);
	while (n < 63 && (extra[n] = bpf_link_create(e->pass_prog, ns, BPF_SK_LOOKUP, NULL)) >= 0)
		n++;
	close(ns);
	run_ctl(e, &r, "upgrade", "--new-maps");
	for (int i = 0; i < n; i++)
		close(extra[i]);
	assert_int_equal(n, 63);
	assert_int_equal(r.status, 1);
	assert_contains(r.err, "attaching the dispatcher to the netns");
	assert_int_equal(container_leftovers(e), 0);
	assert_int_equal(link_prog_id(e), old_prog);
	assert_int_equal(pinned_prog_info(e, "prog").id, old_prog);
	assert_connection_works(e);
	assert_int_equal(fixture_deliver(SOCK_STREAM, SERVED_ADDR, SERVED_PORT, &e->listener, 1),
			 0);
}

/* A pod of a layout with other rule tables (its "search" map another
 * size, here gone) and without one counters map ("totals"): upgrade finds
 * the layout differs, builds new maps, compiles the tables anew, and the
 * missing counters start from zero. */
static void upgrade_to_new_maps_when_tables_differ(void **state)
{
	struct env *e = *state;
	struct skl_err err = { 0 };
	char path[PATH_MAX];
	struct ctl_run r;

	make_pod(e);
	save_record(e);
	join(path, e->state_dir, "search");
	assert_int_equal(unlink(path), 0);
	join(path, e->state_dir, "totals");
	assert_int_equal(unlink(path), 0);

	run_ctl(e, &r, "upgrade", NULL);
	if (r.status != 0)
		fail_msg("upgrade exited %d: %s", r.status, r.err);
	assert_contains(r.out, "to new maps (layout " SKL_STR(SKL_ABI_VERSION) " -> " SKL_STR(SKL_ABI_VERSION) ")");
	assert_contains(r.out, "1 bindings and 1 sockets carried over");
	assert_int_equal(container_leftovers(e), 0);
	skl_dispatcher_close(&e->d);
	assert_ok(skl_dispatcher_open(&e->d, e->state_dir, &err), err);
	assert_int_equal(links_in_netns(our_netns_ino()), 1);
	assert_connection_works(e);
	assert_int_equal(fixture_deliver(SOCK_STREAM, SERVED_ADDR, SERVED_PORT, &e->listener, 1),
			 0);
	assert_int_equal(assigned_count(e), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			upgrade_replaces_the_program_and_keeps_maps_and_sockets, env_setup,
			env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_when_current_changes_nothing, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_repairs_a_stale_program_pin, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_refuses_an_incompatible_layout, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_with_new_maps_carries_everything_over,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_with_new_maps_fails_leaving_the_old_one,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_to_new_maps_when_tables_differ, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(upgrade_with_new_maps_fails_to_attach, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
