/*
 * Root tests of the state module (plugin/lib/state_*.c) and netns.c
 * against the real kernel: bpffs under a scratch directory
 * /sys/fs/bpf/sklookup-test-<pid>-<n> (removed by the group teardown),
 * anonymous network namespaces only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "skl_asserts.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dispatcher.h"
#include "netns.h"
#include "record.h"
#include "version.h"
#include "state.h"
#include "testnet.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define THREAD_NETNS "/proc/thread-self/ns/net"

static char scratch[PATH_MAX]; /* this run's directory on bpffs */

struct fixture {
	char root[PATH_MAX];
	int lock_fd;
	int map_fd;
	int orig_netns;	 /* the netns the tests run in */
	int other_netns; /* an anonymous netns, alive while this fd is open */
	int saved_netns; /* set while a test is inside other_netns */
};

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	if (testnet_bpffs_tmpdir(scratch, sizeof(scratch)) < 0) {
		fprintf(stderr, "cannot create a bpffs scratch directory: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (testnet_rm_rf_bpffs(scratch) < 0) {
		fprintf(stderr, "cannot remove %s: %s\n", scratch, strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens a new anonymous netns (lo up) without leaving the current one. */
static int open_new_netns(void)
{
	int saved, fd;

	if (testnet_unshare_netns(&saved) < 0)
		return -1;
	fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (testnet_restore_netns(saved) < 0) {
		/* Cannot go on in the wrong netns. */
		fprintf(stderr, "cannot restore the netns: %s\n", strerror(errno));
		abort();
	}
	return fd;
}

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->saved_netns >= 0 && testnet_restore_netns(fx->saved_netns) < 0)
		abort(); /* later tests must not run in the wrong netns */
	skl_state_unlock(fx->lock_fd);
	close_if_open(fx->map_fd);
	close_if_open(fx->orig_netns);
	close_if_open(fx->other_netns);
	free(fx);
	return 0;
}

static int setup(void **state)
{
	static int next_root;
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->lock_fd = fx->map_fd = fx->saved_netns = fx->orig_netns = fx->other_netns = -1;
	*state = fx;
	if (snprintf(fx->root, sizeof(fx->root), "%s/root%d", scratch, next_root++) >=
		    (int)sizeof(fx->root) ||
	    (fx->orig_netns = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (fx->other_netns = open_new_netns()) < 0) {
		teardown(state); /* cmocka skips teardown when setup fails */
		return -1;
	}
	return 0;
}

/* ---- helpers ---- */

static ino_t ino_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static ino_t current_netns_ino(void)
{
	return ino_of(THREAD_NETNS);
}

static void join(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fail_msg("path %s/%s is too long", dir, name);
}

/* out may be path itself. */
static void parent_dir(char *out, const char *path)
{
	struct skl_err err = { 0 };

	assert_ok(skl_state_parent(path, out, PATH_MAX, &err), err);
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		fail_msg("bpf_obj_get_info_by_fd: %s", strerror(errno));
	return info.id;
}

static int create_map(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "skl_test", 4, 4, 1, NULL);

	if (fd < 0)
		fail_msg("bpf_map_create: %s", strerror(errno));
	return fd;
}

/* Runs fn in a forked child; returns its exit status (-1 if it died). */
static int run_in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) < 0)
		fail_msg("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ADD in miniature: lock, temporary dir, a pinned map, commit, unlock. */
static void add_state(struct fixture *fx, const char *network, const char *container,
		      const char *ifname, char *dir)
{
	char tmp[PATH_MAX], pin[PATH_MAX];
	struct skl_err err = {0};

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, PATH_MAX, fx->root, network, container, ifname, &err),
		  err);
	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	assert_ok(skl_state_mktemp(dir, tmp, sizeof(tmp), &err), err);
	join(pin, tmp, "map");
	close_if_open(fx->map_fd);
	fx->map_fd = create_map();
	assert_int_equal(bpf_obj_pin(fx->map_fd, pin), 0);
	assert_ok(skl_state_commit(tmp, dir, &err), err);
	skl_state_unlock(fx->lock_fd);
	fx->lock_fd = -1;
}

/* ---- bpffs ---- */

static void test_bpffs_is_mounted_tells_bpffs_apart(void **state)
{
	(void)state;
	assert_true(skl_bpffs_is_mounted(scratch));
	assert_true(skl_bpffs_is_mounted(TESTNET_BPFFS_DIR));
	assert_false(skl_bpffs_is_mounted("/proc"));
	assert_false(skl_bpffs_is_mounted("/"));
	assert_false(skl_bpffs_is_mounted("/sys/fs/bpf/sklookup-test-no-such-dir"));
}

static void test_bpffs_ensure_creates_root_0700(void **state)
{
	struct fixture *fx = *state;
	char nested[PATH_MAX];
	struct skl_err err = {0};

	join(nested, fx->root, "deeper");
	assert_ok(skl_bpffs_ensure(nested, &err), err);
	assert_true(skl_state_exists(nested));
	assert_int_equal(mode_of(fx->root), 0700);
	assert_int_equal(mode_of(nested), 0700);
	assert_true(skl_bpffs_is_mounted(nested));
	assert_ok(skl_bpffs_ensure(nested, &err), err); /* again: nothing to do */
}

static void test_bpffs_ensure_explains_dotted_names(void **state)
{
	struct fixture *fx = *state;
	char dotted[PATH_MAX];
	struct skl_err err = {0};

	join(dotted, fx->root, "v1.2");
	assert_int_equal(skl_bpffs_ensure(dotted, &err), -1);
	assert_int_equal(err.code, SKL_CNI_INTERNAL);
	assert_msg_contains(&err, dotted);
	assert_msg_contains(&err, "bpffs refuses names that contain '.'");
	assert_false(exists(dotted));
}

static void test_bpffs_ensure_refuses_a_relative_root(void **state)
{
	struct skl_err err = {0};

	(void)state;
	assert_int_equal(skl_bpffs_ensure("sys/fs/bpf/sklookup", &err), -1);
	assert_int_equal(err.code, SKL_CNI_INVALID_CONFIG);
	assert_msg_contains(&err, "bpffsRoot \"sys/fs/bpf/sklookup\"");
}

/* Counts the mounts at path in this mount namespace. */
static int mounts_at(const char *path)
{
	char line[4096], needle[PATH_MAX + 2];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int count = 0;

	if (!f)
		return -1;
	snprintf(needle, sizeof(needle), " %s ", path);
	while (fgets(line, sizeof(line), f))
		count += strstr(line, needle) != NULL;
	fclose(f);
	return count;
}

/* In a private mount namespace with a tmpfs on /mnt: ensure must mount
 * bpffs at /mnt/bpf (mode 0700) exactly once. Exit code says what broke. */
static int ensure_mounts_in_private_ns(void *arg)
{
	struct skl_err err = {0};
	struct stat st;

	(void)arg;
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/mnt", "tmpfs", 0, "mode=0755") < 0)
		return 10;
	if (skl_bpffs_is_mounted("/mnt"))
		return 11;
	if (skl_bpffs_ensure("/mnt/bpf/sklookup", &err) < 0) {
		fprintf(stderr, "skl_bpffs_ensure: %s\n", err.msg);
		return 12;
	}
	if (!skl_bpffs_is_mounted("/mnt/bpf") || !skl_bpffs_is_mounted("/mnt/bpf/sklookup"))
		return 13;
	/* bpffs sets the sticky bit on its root itself. */
	if (stat("/mnt/bpf", &st) < 0 || (st.st_mode & 0777) != 0700)
		return 14;
	if (skl_bpffs_ensure("/mnt/bpf/sklookup", &err) < 0 || mounts_at("/mnt/bpf") != 1)
		return 15;
	return 0;
}

static void test_bpffs_ensure_mounts_bpffs_when_missing(void **state)
{
	(void)state;
	assert_int_equal(run_in_child(ensure_mounts_in_private_ns, NULL), 0);
}

/* ---- state directories ---- */

static void test_state_lifecycle(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], tmp[PATH_MAX], pin[PATH_MAX], container[PATH_MAX], network[PATH_MAX];
	char tmp_prefix[PATH_MAX];
	struct skl_err err = {0};
	int pinned;

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "net1", HEX64, "eth0", &err), err);
	parent_dir(container, dir);
	parent_dir(network, container);
	assert_false(skl_state_exists(dir));

	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	assert_int_equal(mode_of(container), 0700);
	assert_int_equal(mode_of(network), 0700);

	assert_ok(skl_state_mktemp(dir, tmp, sizeof(tmp), &err), err);
	join(tmp_prefix, container, ":tmp-eth0-");
	assert_memory_equal(tmp, tmp_prefix, strlen(tmp_prefix));
	assert_int_equal(strlen(tmp), strlen(tmp_prefix) + 6);
	assert_int_equal(mode_of(tmp), 0700);

	fx->map_fd = create_map();
	join(pin, tmp, "map");
	assert_int_equal(bpf_obj_pin(fx->map_fd, pin), 0);

	assert_ok(skl_state_commit(tmp, dir, &err), err);
	assert_true(skl_state_exists(dir));
	assert_false(exists(tmp));
	join(pin, dir, "map");
	pinned = bpf_obj_get(pin);
	assert_true(pinned >= 0);
	assert_int_equal(map_id(pinned), map_id(fx->map_fd));
	close(pinned);

	assert_ok(skl_state_remove(dir, &err), err);
	assert_false(skl_state_exists(dir));
	assert_true(bpf_obj_get(pin) < 0);
	assert_false(exists(container));
	assert_false(exists(network));
	assert_true(skl_state_exists(fx->root));
}

static void test_state_commit_refuses_existing_state(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], tmp[PATH_MAX];
	struct skl_err err = {0};

	add_state(fx, "net1", "pod1", "eth0", dir);
	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	assert_ok(skl_state_mktemp(dir, tmp, sizeof(tmp), &err), err);
	assert_int_equal(skl_state_commit(tmp, dir, &err), -1);
	assert_msg_contains(&err, dir);
	assert_msg_contains(&err, "already exists");
	assert_true(exists(tmp));
	assert_ok(skl_state_remove(tmp, &err), err);
	assert_false(exists(tmp));

	/* The first state is untouched. */
	{
		char pin[PATH_MAX];
		int pinned;

		join(pin, dir, "map");
		pinned = bpf_obj_get(pin);
		assert_true(pinned >= 0);
		assert_int_equal(map_id(pinned), map_id(fx->map_fd));
		close(pinned);
	}
	assert_ok(skl_state_remove(dir, &err), err);
}

static void test_state_commit_refuses_an_empty_existing_dir(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], tmp[PATH_MAX], marker[PATH_MAX];
	struct skl_err err = {0};

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "n", "pod", "eth0", &err), err);
	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_ok(skl_state_mktemp(dir, tmp, sizeof(tmp), &err), err);
	join(marker, tmp, "marker");
	assert_int_equal(mkdir(marker, 0700), 0);

	/* A plain rename() would silently replace the empty directory. */
	assert_int_equal(skl_state_commit(tmp, dir, &err), -1);
	assert_msg_contains(&err, "already exists");
	assert_true(exists(marker));
	assert_int_equal(rmdir(marker), 0);
	assert_ok(skl_state_remove(tmp, &err), err);
	assert_ok(skl_state_remove(dir, &err), err);
}

static void test_state_mktemp_names_are_unique(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	struct skl_err err = {0};

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "n", "c", "eth0", &err), err);
	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	assert_ok(skl_state_mktemp(dir, a, sizeof(a), &err), err);
	assert_ok(skl_state_mktemp(dir, b, sizeof(b), &err), err);
	assert_string_not_equal(a, b);
	assert_true(skl_state_exists(a));
	assert_true(skl_state_exists(b));
	assert_ok(skl_state_remove(a, &err), err);
	assert_ok(skl_state_remove(b, &err), err);
	assert_false(exists(a));
}

static void test_state_mktemp_reports_a_short_buffer(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], tmp[16];
	struct skl_err err = {0};

	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "n", "c", "eth0", &err), err);
	assert_int_equal(skl_state_mktemp(dir, tmp, sizeof(tmp), &err), -1);
	assert_msg_contains(&err, "does not fit in 16 bytes");
}

static void test_state_dotted_names_work_on_bpffs(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], expected[PATH_MAX];
	struct skl_err err = {0};

	add_state(fx, "my.net", "pod.1", "eth0.100", dir);
	join(expected, fx->root, "my:net/pod:1/eth0:100");
	assert_string_equal(dir, expected);
	assert_true(skl_state_exists(dir));
	assert_ok(skl_state_remove(dir, &err), err);
	assert_false(skl_state_exists(dir));
	join(expected, fx->root, "my:net");
	assert_false(exists(expected));
}

static void test_state_remove_missing_is_success(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX];
	struct skl_err err = {0};

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "n", "gone", "eth0", &err), err);
	assert_ok(skl_state_remove(dir, &err), err);
	assert_ok(skl_state_remove(dir, &err), err);
	assert_true(skl_state_exists(fx->root));
}

static void test_state_remove_keeps_other_interfaces(void **state)
{
	struct fixture *fx = *state;
	char eth0[PATH_MAX], net1[PATH_MAX], container[PATH_MAX], network[PATH_MAX];
	struct skl_err err = {0};

	add_state(fx, "n", "pod", "eth0", eth0);
	add_state(fx, "n", "pod", "net1", net1);
	parent_dir(container, eth0);
	parent_dir(network, container);

	assert_ok(skl_state_remove(eth0, &err), err);
	assert_false(exists(eth0));
	assert_true(skl_state_exists(net1));
	assert_true(skl_state_exists(container));

	assert_ok(skl_state_remove(net1, &err), err);
	assert_false(exists(container));
	assert_false(exists(network));
}

static void test_state_remove_keeps_other_containers(void **state)
{
	struct fixture *fx = *state;
	char a[PATH_MAX], b[PATH_MAX], network[PATH_MAX];
	struct skl_err err = {0};

	add_state(fx, "n", "pod-a", "eth0", a);
	add_state(fx, "n", "pod-b", "eth0", b);
	parent_dir(network, a);
	parent_dir(network, network);

	assert_ok(skl_state_remove(a, &err), err);
	assert_true(skl_state_exists(b));
	assert_true(skl_state_exists(network));
	assert_ok(skl_state_remove(b, &err), err);
	assert_false(exists(network));
	assert_true(skl_state_exists(fx->root));
}

/* ---- walking the tree ---- */

#define SEEN_MAX 8

struct seen {
	int n, stop_at;
	char dir[SEEN_MAX][PATH_MAX];
	char names[SEEN_MAX][3 * NAME_MAX];
	bool temporary[SEEN_MAX];
	int levels;
};

static int note_visit(const struct skl_state_visit *v, void *arg)
{
	struct seen *s = arg;

	if (s->n == SEEN_MAX)
		fail_msg("more than %d directories visited (last %s)", SEEN_MAX, v->dir);
	snprintf(s->dir[s->n], PATH_MAX, "%s", v->dir);
	for (int i = 0; i < s->levels; i++) {
		if (i)
			strcat(s->names[s->n], "|");
		strncat(s->names[s->n], v->name[i], NAME_MAX);
	}
	s->temporary[s->n] = v->temporary;
	return ++s->n == s->stop_at ? 42 : 0;
}

/* Index of dir among those seen, -1 when not seen. */
static int seen_at(const struct seen *s, const char *dir)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->dir[i], dir))
			return i;
	return -1;
}

/* The tree a walk must see through: two networks, a dotted container
 * name, a second interface, a dead ADD's temporary directory, hidden
 * directories (":spare"), symbolic links and a pin where a state
 * directory would be. */
static void build_tree(struct fixture *fx, char (*dirs)[PATH_MAX], char *tmp)
{
	char path[PATH_MAX], target[PATH_MAX], container[PATH_MAX], network[PATH_MAX];
	struct skl_err err = { 0 };

	add_state(fx, "n1", "pod-a", "eth0", dirs[0]);
	add_state(fx, "n1", "pod-a", "net1", dirs[1]);
	add_state(fx, "n2", "pod.b", "eth0", dirs[2]);
	assert_ok(skl_state_mktemp(dirs[0], tmp, PATH_MAX, &err), err);
	join(path, fx->root, ":spare");
	assert_int_equal(mkdir(path, 0700), 0);
	join(target, path, "c");
	assert_int_equal(mkdir(target, 0700), 0);
	join(path, target, "i");
	assert_int_equal(mkdir(path, 0700), 0);
	/* A container and an interface that are links to another pod's. */
	parent_dir(target, dirs[2]);
	parent_dir(container, dirs[0]);
	parent_dir(network, container);
	join(path, network, "alias");
	assert_int_equal(symlink(target, path), 0);
	join(path, container, "eth9");
	assert_int_equal(symlink(dirs[2], path), 0);
	join(path, container, "pinned");
	assert_int_equal(bpf_obj_pin(fx->map_fd, path), 0);
}

static void test_state_walk_visits_each_state_dir_once(void **state)
{
	struct fixture *fx = *state;
	char dirs[3][PATH_MAX], tmp[PATH_MAX];
	struct seen s = { .levels = 3 };

	build_tree(fx, dirs, tmp);
	assert_int_equal(skl_state_walk(fx->root, SKL_STATE_FROM_ROOT, 0, note_visit, &s), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++) {
		int at = seen_at(&s, dirs[i]);

		assert_true(at >= 0);
		assert_false(s.temporary[at]);
	}
	assert_string_equal(s.names[seen_at(&s, dirs[2])], "n2|pod:b|eth0");
	/* A trailing '/' on the start changes nothing. */
	memset(&s, 0, sizeof(s));
	s.levels = 3;
	snprintf(tmp, sizeof(tmp), "%.4000s/", fx->root);
	assert_int_equal(skl_state_walk(tmp, SKL_STATE_FROM_ROOT, 0, note_visit, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(seen_at(&s, dirs[1]) >= 0);
}

static void test_state_walk_reports_temporaries_when_asked(void **state)
{
	struct fixture *fx = *state;
	char dirs[3][PATH_MAX], tmp[PATH_MAX], container[PATH_MAX];
	struct seen s = { .levels = 1 };

	build_tree(fx, dirs, tmp);
	parent_dir(container, dirs[0]);
	assert_int_equal(skl_state_walk(container, SKL_STATE_FROM_CONTAINER, 0, note_visit, &s),
			 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(seen_at(&s, tmp), -1);

	memset(&s, 0, sizeof(s));
	s.levels = 1;
	assert_int_equal(skl_state_walk(container, SKL_STATE_FROM_CONTAINER,
					SKL_STATE_WALK_TEMPORARIES, note_visit, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.temporary[seen_at(&s, tmp)]);
	assert_false(s.temporary[seen_at(&s, dirs[0])]);
	assert_string_equal(s.names[seen_at(&s, tmp)], skl_state_last_component(tmp));
	/* From the root too, at the last level only (not ":spare/c/i"). */
	memset(&s, 0, sizeof(s));
	s.levels = 3;
	assert_int_equal(skl_state_walk(fx->root, SKL_STATE_FROM_ROOT,
					SKL_STATE_WALK_TEMPORARIES, note_visit, &s), 0);
	assert_int_equal(s.n, 4);
	assert_true(s.temporary[seen_at(&s, tmp)]);
}

static void test_state_walk_lists_containers_and_stops_when_asked(void **state)
{
	struct fixture *fx = *state;
	char dirs[3][PATH_MAX], tmp[PATH_MAX], container[PATH_MAX], network[PATH_MAX];
	struct seen s = { .levels = 1 };

	build_tree(fx, dirs, tmp);
	parent_dir(container, dirs[0]);
	parent_dir(network, container);
	/* One level below a network directory: its containers, no link. */
	assert_int_equal(skl_state_walk(network, SKL_STATE_FROM_CONTAINER, 0, note_visit, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.dir[0], container);

	memset(&s, 0, sizeof(s));
	s.levels = 3;
	s.stop_at = 1;
	assert_int_equal(skl_state_walk(fx->root, SKL_STATE_FROM_ROOT, 0, note_visit, &s), 42);
	assert_int_equal(s.n, 1);
	/* A start that is missing or a link is walked as empty. */
	join(tmp, fx->root, "missing");
	assert_int_equal(skl_state_walk(tmp, SKL_STATE_FROM_ROOT, 0, note_visit, &s), 0);
	join(tmp, network, "alias");
	assert_int_equal(skl_state_walk(tmp, SKL_STATE_FROM_CONTAINER, 0, note_visit, &s), 0);
	assert_int_equal(s.n, 1);
}

static void test_state_link_netns_refuses_what_is_no_link(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], pin[PATH_MAX];
	struct skl_err err = { 0 };
	uint64_t ino = 7;

	add_state(fx, "n", "pod", "eth0", dir);
	assert_int_equal(skl_state_link_netns(dir, &ino, &err), -1);
	assert_msg_contains(&err, "cannot open the pinned link");
	/* A map pinned where the link belongs is not read as one. */
	join(pin, dir, SKL_PIN_LINK);
	assert_int_equal(bpf_obj_pin(fx->map_fd, pin), 0);
	assert_int_equal(skl_state_link_netns(dir, &ino, &err), -1);
	assert_int_equal(ino, 7);
	assert_int_equal(skl_link_netns(fx->map_fd, &ino, &err), -1);
	assert_int_equal(ino, 7);
}

/* 0 if a non-blocking exclusive flock on the directory fails with EWOULDBLOCK. */
static int try_lock_refused(void *container)
{
	int fd = open(container, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return 10;
	return flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1;
}

static int try_lock_granted(void *container)
{
	int fd = open(container, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return 10;
	return flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1;
}

static void test_state_lock_is_exclusive(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], container[PATH_MAX];
	struct skl_err err = {0};

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "n", "pod", "eth0", &err), err);
	parent_dir(container, dir);

	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	assert_int_equal(run_in_child(try_lock_refused, container), 0);
	skl_state_unlock(fx->lock_fd);
	fx->lock_fd = -1;
	assert_int_equal(run_in_child(try_lock_granted, container), 0);
	assert_ok(skl_state_remove(dir, &err), err);
}

/* Waits until pid is blocked in flock (a "->" waiter line in /proc/locks). */
static bool wait_for_blocked_flock(pid_t pid)
{
	struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
	char line[256];
	int tries;

	for (tries = 0; tries < 500; tries++) {
		FILE *f = fopen("/proc/locks", "r");
		bool blocked = false;

		if (!f)
			return false;
		while (fgets(line, sizeof(line), f)) {
			char *write = strstr(line, "WRITE ");

			if (strstr(line, "-> FLOCK") && write && atoi(write + 6) == pid)
				blocked = true;
		}
		fclose(f);
		if (blocked)
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

struct relock {
	const char *dir;
	ino_t removed_ino; /* the container directory that gets removed */
	int parent_lock_fd; /* inherited: it shares the parent's flock */
};

/* Locks dir's container and checks the lock is on the live directory, not
 * the one removed while this child waited. */
static int lock_after_removal(void *arg)
{
	struct relock *r = arg;
	char container[PATH_MAX];
	struct skl_err err = {0};
	struct stat held, current;
	int fd;

	alarm(10); /* fail rather than hang if the lock never comes */
	/* Our copy of the parent's fd would keep its lock alive after it unlocks. */
	close(r->parent_lock_fd);
	if (skl_state_lock(r->dir, &fd, &err) < 0) {
		fprintf(stderr, "skl_state_lock: %s\n", err.msg);
		return 10;
	}
	parent_dir(container, r->dir);
	if (fstat(fd, &held) < 0 || stat(container, &current) < 0)
		return 11;
	if (held.st_nlink == 0 || held.st_ino == r->removed_ino)
		return 12;
	return held.st_ino == current.st_ino ? 0 : 13;
}

static void test_state_lock_follows_a_removed_container(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], container[PATH_MAX];
	struct skl_err err = {0};
	struct relock r;
	pid_t pid;
	int status;

	assert_ok(skl_bpffs_ensure(fx->root, &err), err);
	assert_ok(skl_state_path(dir, sizeof(dir), fx->root, "n", "pod", "eth0", &err), err);
	parent_dir(container, dir);
	assert_ok(skl_state_lock(dir, &fx->lock_fd, &err), err);
	r.dir = dir;
	r.removed_ino = ino_of(container);
	r.parent_lock_fd = fx->lock_fd;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(lock_after_removal(&r));
	if (!wait_for_blocked_flock(pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("the child never blocked on the container lock");
	}
	/* DEL under the lock removes the (empty) container directory. */
	assert_ok(skl_state_remove(dir, &err), err);
	assert_false(exists(container));
	skl_state_unlock(fx->lock_fd);
	fx->lock_fd = -1;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(skl_state_exists(container));
	assert_ok(skl_state_remove(dir, &err), err);
}

/* ---- network namespaces ---- */

static void test_netns_open_accepts_a_netns(void **state)
{
	struct skl_err err = {0};
	int fd = -1;

	(void)state;
	assert_ok(skl_netns_open("/proc/self/ns/net", &fd, &err), err);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	{
		struct stat st;

		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_ino, ino_of("/proc/self/ns/net"));
	}
	close(fd);
}

static void test_netns_open_refuses_another_namespace_type(void **state)
{
	struct skl_err err = {0};
	int fd = -1;

	(void)state;
	assert_int_equal(skl_netns_open("/proc/self/ns/uts", &fd, &err), -1);
	assert_int_equal(fd, -1);
	assert_int_equal(err.code, SKL_CNI_INVALID_ENV);
	assert_msg_contains(&err, "/proc/self/ns/uts is a UTS namespace");
	assert_msg_contains(&err, "not a network namespace");
}

static void test_netns_open_refuses_a_plain_file(void **state)
{
	struct skl_err err = {0};
	int fd = -1;

	(void)state;
	assert_int_equal(skl_netns_open("/proc/version", &fd, &err), -1);
	assert_int_equal(fd, -1);
	assert_int_equal(err.code, SKL_CNI_INVALID_ENV);
	assert_msg_contains(&err, "/proc/version is not a namespace file");
}

static void test_netns_open_refuses_a_missing_path(void **state)
{
	struct skl_err err = {0};
	int fd = -1;

	(void)state;
	assert_int_equal(skl_netns_open("/var/run/netns/sklt-no-such-netns", &fd, &err), -1);
	assert_int_equal(fd, -1);
	assert_int_equal(err.code, SKL_CNI_INVALID_ENV);
	assert_msg_contains(&err, "/var/run/netns/sklt-no-such-netns");
	assert_msg_contains(&err, strerror(ENOENT));
}

static void test_netns_enter_leave_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct skl_err err = {0};
	ino_t orig = current_netns_ino();
	uint64_t other;

	assert_ok(skl_netns_ino(fx->other_netns, &other, &err), err);
	assert_true(other != orig);

	assert_ok(skl_netns_enter(fx->other_netns, &fx->saved_netns, &err), err);
	assert_int_equal(current_netns_ino(), other);
	assert_ok(skl_netns_leave(fx->saved_netns, &err), err);
	fx->saved_netns = -1;
	assert_int_equal(current_netns_ino(), orig);
}

static void test_netns_enter_refuses_a_non_netns_fd(void **state)
{
	struct fixture *fx = *state;
	struct skl_err err = {0};
	ino_t orig = current_netns_ino();
	int uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);

	assert_true(uts >= 0);
	assert_int_equal(skl_netns_enter(uts, &fx->saved_netns, &err), -1);
	close(uts);
	assert_int_equal(fx->saved_netns, -1);
	assert_msg_contains(&err, "setns");
	assert_int_equal(current_netns_ino(), orig);
}

static void test_netns_cookies_differ_between_netns(void **state)
{
	struct fixture *fx = *state;
	struct skl_err err = {0};
	ino_t orig = current_netns_ino();
	uint64_t here = 0, there = 0;

	assert_ok(skl_netns_cookie(fx->orig_netns, &here, &err), err);
	assert_ok(skl_netns_cookie(fx->other_netns, &there, &err), err);
	assert_true(here != 0);
	assert_true(there != 0);
	assert_true(here != there);
	assert_int_equal(current_netns_ino(), orig); /* always leaves */
}

static int socket_in(int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	return fd;
}

static void test_socket_cookies_match_their_netns(void **state)
{
	struct fixture *fx = *state;
	struct skl_err err = {0};
	uint64_t netns_here, netns_there, a = 0, b = 0, c = 0;
	int udp = socket_in(SOCK_DGRAM), tcp = socket_in(SOCK_STREAM), remote;

	assert_ok(skl_netns_cookie(fx->orig_netns, &netns_here, &err), err);
	assert_ok(skl_netns_cookie(fx->other_netns, &netns_there, &err), err);
	assert_ok(skl_socket_netns_cookie(udp, &a, &err), err);
	assert_ok(skl_socket_netns_cookie(tcp, &b, &err), err);
	close(udp);
	close(tcp);
	assert_int_equal(a, b);
	assert_int_equal(a, netns_here);

	assert_ok(skl_netns_enter(fx->other_netns, &fx->saved_netns, &err), err);
	remote = socket_in(SOCK_DGRAM);
	assert_ok(skl_netns_leave(fx->saved_netns, &err), err);
	fx->saved_netns = -1;
	assert_ok(skl_socket_netns_cookie(remote, &c, &err), err);
	close(remote);
	assert_int_equal(c, netns_there);
	assert_true(c != a);
}

static void test_netns_cookie_of_a_non_netns_fails_in_place(void **state)
{
	struct skl_err err = {0};
	ino_t orig = current_netns_ino();
	int uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	uint64_t cookie = 0;

	(void)state;
	assert_true(uts >= 0);
	assert_int_equal(skl_netns_cookie(uts, &cookie, &err), -1);
	close(uts);
	assert_int_equal(cookie, 0);
	assert_int_equal(err.code, SKL_CNI_INTERNAL);
	assert_int_equal(current_netns_ino(), orig);
}

static void test_socket_netns_cookie_refuses_a_non_socket(void **state)
{
	struct fixture *fx = *state;
	struct skl_err err = {0};
	uint64_t cookie = 0;

	assert_int_equal(skl_socket_netns_cookie(fx->orig_netns, &cookie, &err), -1);
	assert_msg_contains(&err, "SO_NETNS_COOKIE");
	assert_msg_contains(&err, strerror(ENOTSOCK));
}

static void test_netns_ino_matches_stat(void **state)
{
	struct fixture *fx = *state;
	struct skl_err err = {0};
	struct stat st;
	uint64_t ino = 0;

	assert_ok(skl_netns_ino(fx->orig_netns, &ino, &err), err);
	assert_int_equal(ino, ino_of("/proc/self/ns/net"));
	assert_ok(skl_netns_ino(fx->other_netns, &ino, &err), err);
	assert_int_equal(fstat(fx->other_netns, &st), 0);
	assert_int_equal(ino, st.st_ino);
	assert_true(ino != ino_of("/proc/self/ns/net"));
}

/* ---- the shared fixtures themselves ---- */

static void test_testnet_unshare_gives_a_fresh_netns_with_lo_up(void **state)
{
	struct fixture *fx = *state;
	ino_t orig = current_netns_ino();

	assert_int_equal(testnet_unshare_netns(&fx->saved_netns), 0);
	assert_true(current_netns_ino() != orig);
	assert_int_equal(testnet_run("ip -o link show lo | grep -q '[<,]UP[,>]'"), 0);
	assert_int_equal(testnet_run("test $(ip -o link show | wc -l) -eq 1"), 0);
	assert_int_equal(testnet_restore_netns(fx->saved_netns), 0);
	fx->saved_netns = -1;
	assert_int_equal(current_netns_ino(), orig);
}

static void test_testnet_run_returns_the_exit_status(void **state)
{
	(void)state;
	assert_int_equal(testnet_run("exit %d", 0), 0);
	assert_int_equal(testnet_run("exit %d", 7), 7);
	assert_int_equal(testnet_run("kill -9 $$"), -1);
}

static void test_testnet_rm_rf_refuses_foreign_paths(void **state)
{
	(void)state;
	assert_int_equal(testnet_rm_rf_bpffs("/sys/fs/bpf"), -1);
	assert_int_equal(testnet_rm_rf_bpffs(TESTNET_BPFFS_PREFIX), -1);
	assert_int_equal(testnet_rm_rf_bpffs("/tmp/sklookup-test-1"), -1);
	assert_int_equal(testnet_rm_rf_bpffs(TESTNET_BPFFS_PREFIX "1/../../x"), -1);
	assert_int_equal(testnet_rm_rf_bpffs(TESTNET_BPFFS_PREFIX "no-such-dir"), 0);
}

/* The id of the map pinned at dir/record. */
static uint32_t record_map_id(const char *dir)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/record", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("opening %s: %s", path, strerror(errno));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

/* ADD saves its record about ten times: a record of one chunk is updated
 * in place (one syscall, which a crash cannot tear), one that needs more
 * is pinned anew and renamed over; every save reads back as written. */
static void test_record_saves_in_place_until_it_grows(void **state)
{
	struct fixture *fx = *state;
	struct skl_record rec = { .netns_ino = 4026531840u }, back;
	struct skl_route route = { .family = SKL_FAMILY_V4, .plen = 24, .addr = { 203, 0, 113 } };
	struct skl_err err = { 0 };
	uint32_t first_id;

	assert_int_equal(mkdir(fx->root, 0700), 0);
	assert_ok(skl_record_save(&rec, fx->root, &err), err);
	first_id = record_map_id(fx->root);
	rec.netns_ino = 4026531841u;
	assert_ok(skl_record_add_route(&rec.pod_routes, &rec.n_pod_routes, &route, &err), err);
	assert_ok(skl_record_save(&rec, fx->root, &err), err);
	assert_int_equal(record_map_id(fx->root), first_id);
	assert_ok(skl_record_load(fx->root, &back, &err), err);
	assert_int_equal(back.netns_ino, 4026531841u);
	assert_int_equal(back.n_pod_routes, 1);
	skl_record_free(&back);

	/* 200 routes do not fit one 4 KiB chunk. */
	for (int i = 1; i < 200; i++) {
		route.addr[3] = (uint8_t)i;
		route.plen = 32;
		assert_ok(skl_record_add_route(&rec.host_routes, &rec.n_host_routes, &route, &err),
			  err);
	}
	assert_ok(skl_record_save(&rec, fx->root, &err), err);
	assert_int_not_equal(record_map_id(fx->root), first_id);
	assert_ok(skl_record_load(fx->root, &back, &err), err);
	assert_int_equal(back.n_host_routes, 199);
	assert_int_equal(back.n_pod_routes, 1);
	skl_record_free(&back);
	skl_record_free(&rec);
	assert_int_equal(testnet_rm_rf_bpffs(fx->root), 0);
}

/* Writes text as the record pinned in dir (one 4 KiB chunk, as record.c). */
static void pin_record_text(const char *dir, const char *text)
{
	char chunk[4096] = { 0 }, path[PATH_MAX];
	uint32_t zero = 0;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "record", 4, sizeof(chunk), 1, NULL);

	assert_true(fd >= 0 && strlen(text) < sizeof(chunk));
	memcpy(chunk, text, strlen(text));
	assert_int_equal(bpf_map_update_elem(fd, &zero, chunk, BPF_ANY), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, SKL_PIN_RECORD);
	unlink(path);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
}

/* A record names the release that wrote it (the release and its map
 * layout); one of an earlier release, without them, still loads and says
 * so; a release of the wrong type is a bad record. */
static void test_record_names_its_release(void **state)
{
	struct fixture *fx = *state;
	struct skl_record rec = { .netns_ino = 4026531840u }, back;
	struct skl_err err = { 0 };
	char text[256], expect[256];

	assert_int_equal(mkdir(fx->root, 0700), 0);
	assert_ok(skl_record_save(&rec, fx->root, &err), err);
	assert_ok(skl_record_load(fx->root, &back, &err), err);
	assert_string_equal(back.release, skl_version);
	assert_int_equal(back.abi, SKL_ABI_VERSION);
	skl_record_release_text(&back, text, sizeof(text));
	snprintf(expect, sizeof(expect), "sklookup %s, map layout %u", skl_version,
		 SKL_ABI_VERSION);
	assert_string_equal(text, expect);
	skl_record_free(&back);

	pin_record_text(fx->root, "{\"version\":1,\"netnsIno\":1,\"podRoutes\":[],"
				  "\"hostRoutes\":[],\"reservedPorts\":[],\"unreservedRanges\":0}");
	assert_ok(skl_record_load(fx->root, &back, &err), err);
	assert_string_equal(back.release, "");
	skl_record_release_of(fx->root, text, sizeof(text));
	assert_string_equal(text, "a release of sklookup from before release identities were "
				  "recorded");
	skl_record_free(&back);

	pin_record_text(fx->root, "{\"version\":1,\"netnsIno\":1,\"podRoutes\":[],"
				  "\"hostRoutes\":[],\"reservedPorts\":[],\"unreservedRanges\":0,"
				  "\"release\":5,\"abi\":2}");
	assert_int_equal(skl_record_load(fx->root, &back, &err), -1);
	assert_non_null(strstr(err.msg, "has a bad field"));
	assert_int_equal(testnet_rm_rf_bpffs(fx->root), 0);
}

/* A state directory of another release: its "config" holds 4 KiB values,
 * far more than this binary's struct skl_config. Opening it must say so
 * without reading a value into that struct (ASan sees any overflow). */
static void test_dispatcher_open_refuses_another_layout(void **state)
{
	struct fixture *fx = *state;
	struct skl_dispatcher d, opened;
	struct skl_limits limits;
	struct skl_err err = { 0 };
	char dir[PATH_MAX], pin[PATH_MAX];
	int big;

	assert_int_equal(mkdir(fx->root, 0700), 0);
	join(dir, fx->root, "pod");
	assert_int_equal(mkdir(dir, 0700), 0);
	skl_limits_default(&limits);
	assert_ok(skl_dispatcher_load(&d, &limits, 0, &err), err);
	assert_ok(skl_dispatcher_attach(&d, fx->other_netns, &err), err);
	assert_ok(skl_dispatcher_pin(&d, dir, &err), err);
	skl_dispatcher_close(&d);
	join(pin, dir, "config");
	assert_int_equal(unlink(pin), 0);
	big = bpf_map_create(BPF_MAP_TYPE_ARRAY, "skl_test_big", 4, 4096, 1, NULL);
	assert_true(big >= 0);
	assert_int_equal(bpf_obj_pin(big, pin), 0);
	close(big);

	assert_int_equal(skl_dispatcher_open(&opened, dir, &err), -1);
	assert_non_null(strstr(err.msg, "made by another release"));
	assert_non_null(strstr(err.msg, "map \"config\" has value size 4096"));
	assert_int_equal(testnet_rm_rf_bpffs(fx->root), 0);
}

/* DEL trusts a record found through the kernel only when its link's
 * program holds that map: a map merely named "record" that names a state
 * directory and a real link is not used. */
static void test_record_find_trusts_only_a_bound_record(void **state)
{
	struct fixture *fx = *state;
	struct skl_record rec = { .netns_ino = 4026531840u }, found;
	struct skl_dispatcher d;
	struct skl_limits limits;
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info), id;
	struct skl_err err = { 0 };
	char vouched_dir[PATH_MAX], forged_dir[PATH_MAX], vouched[64], forged[64];
	int fd;

	snprintf(vouched, sizeof(vouched), "/sklt/vouched-%d", (int)getpid());
	snprintf(forged, sizeof(forged), "/sklt/forged-%d", (int)getpid());
	assert_int_equal(mkdir(fx->root, 0700), 0);
	join(vouched_dir, fx->root, "a");
	join(forged_dir, fx->root, "b");
	assert_int_equal(mkdir(vouched_dir, 0700), 0);
	assert_int_equal(mkdir(forged_dir, 0700), 0);
	skl_limits_default(&limits);
	assert_ok(skl_dispatcher_load(&d, &limits, 0, &err), err);
	assert_ok(skl_dispatcher_attach(&d, fx->other_netns, &err), err);
	assert_int_equal(bpf_obj_get_info_by_fd(d.link_fd, &info, &len), 0);
	rec.link_id = info.id;
	snprintf(rec.state_dir, sizeof(rec.state_dir), "%s", vouched);
	assert_ok(skl_record_save(&rec, vouched_dir, &err), err);
	assert_ok(skl_record_bind(vouched_dir, d.prog_fd, &err), err);
	snprintf(rec.state_dir, sizeof(rec.state_dir), "%s", forged);
	assert_ok(skl_record_save(&rec, forged_dir, &err), err);

	id = 0;
	fd = skl_record_find(vouched, &id, &found);
	assert_true(fd >= 0);
	assert_string_equal(found.state_dir, vouched);
	skl_record_free(&found);
	close(fd);
	id = 0;
	fd = skl_record_find(forged, &id, &found);
	if (fd >= 0) {
		skl_record_free(&found);
		close(fd);
	}
	skl_dispatcher_close(&d);
	assert_int_equal(testnet_rm_rf_bpffs(fx->root), 0);
	assert_int_equal(fd, -1);
}

/* bpffsRoot must be root's alone: not writable by others, no symlink; a
 * root that does not exist yet is fine (ADD creates it). */
static void test_bpffs_check_root_refuses_what_others_could_prepare(void **state)
{
	struct fixture *fx = *state;
	char link[PATH_MAX], below[PATH_MAX];
	struct skl_err err = { 0 };

	assert_ok(skl_bpffs_check_root(fx->root, &err), err);
	assert_int_equal(mkdir(fx->root, 0700), 0);
	assert_ok(skl_bpffs_check_root(fx->root, &err), err);
	assert_int_equal(chmod(fx->root, 0773), 0);
	assert_int_equal(skl_bpffs_check_root(fx->root, &err), -1);
	assert_int_equal(err.code, SKL_CNI_INVALID_CONFIG);
	assert_msg_contains(&err, "is writable by group or others");
	assert_msg_contains(&err, "mode 0773");
	assert_msg_contains(&err, "chmod 0700");
	/* Sticky does not make bpffsRoot itself safe. */
	assert_int_equal(chmod(fx->root, 01777), 0);
	assert_int_equal(skl_bpffs_check_root(fx->root, &err), -1);
	/* A parent may be group/other writable when sticky, not otherwise. */
	assert_int_equal(chmod(fx->root, 0700), 0);
	join(below, fx->root, "below");
	assert_int_equal(chmod(fx->root, 01777), 0);
	assert_ok(skl_bpffs_check_root(below, &err), err);
	assert_int_equal(chmod(fx->root, 0777), 0);
	assert_int_equal(skl_bpffs_check_root(below, &err), -1);
	assert_msg_contains(&err, "chmod go-w");
	assert_int_equal(chmod(fx->root, 0700), 0);

	snprintf(link, sizeof(link), "%.4000s-link", fx->root);
	assert_int_equal(symlink(fx->root, link), 0);
	assert_int_equal(skl_bpffs_check_root(link, &err), -1);
	assert_msg_contains(&err, "is a symbolic link");
	/* ensure creates nothing through it. */
	join(below, link, "below");
	assert_int_equal(skl_bpffs_ensure(below, &err), -1);
	assert_msg_contains(&err, "is a symbolic link");
	join(below, fx->root, "below");
	assert_false(exists(below));
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(fx->root), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bpffs_is_mounted_tells_bpffs_apart),
		T(test_bpffs_ensure_creates_root_0700),
		T(test_bpffs_ensure_explains_dotted_names),
		T(test_bpffs_ensure_refuses_a_relative_root),
		T(test_bpffs_ensure_mounts_bpffs_when_missing),
		T(test_bpffs_check_root_refuses_what_others_could_prepare),
		T(test_state_lifecycle),
		T(test_state_commit_refuses_existing_state),
		T(test_state_commit_refuses_an_empty_existing_dir),
		T(test_state_mktemp_names_are_unique),
		T(test_state_mktemp_reports_a_short_buffer),
		T(test_state_dotted_names_work_on_bpffs),
		T(test_state_remove_missing_is_success),
		T(test_state_remove_keeps_other_interfaces),
		T(test_state_remove_keeps_other_containers),
		T(test_state_walk_visits_each_state_dir_once),
		T(test_state_walk_reports_temporaries_when_asked),
		T(test_state_walk_lists_containers_and_stops_when_asked),
		T(test_state_link_netns_refuses_what_is_no_link),
		T(test_state_lock_is_exclusive),
		T(test_state_lock_follows_a_removed_container),
		T(test_record_saves_in_place_until_it_grows),
		T(test_record_names_its_release),
		T(test_dispatcher_open_refuses_another_layout),
		T(test_record_find_trusts_only_a_bound_record),
		T(test_netns_open_accepts_a_netns),
		T(test_netns_open_refuses_another_namespace_type),
		T(test_netns_open_refuses_a_plain_file),
		T(test_netns_open_refuses_a_missing_path),
		T(test_netns_enter_leave_round_trip),
		T(test_netns_enter_refuses_a_non_netns_fd),
		T(test_netns_cookies_differ_between_netns),
		T(test_socket_cookies_match_their_netns),
		T(test_netns_cookie_of_a_non_netns_fails_in_place),
		T(test_socket_netns_cookie_refuses_a_non_socket),
		T(test_netns_ino_matches_stat),
		T(test_testnet_unshare_gives_a_fresh_netns_with_lo_up),
		T(test_testnet_run_returns_the_exit_status),
		T(test_testnet_rm_rf_refuses_foreign_paths),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
