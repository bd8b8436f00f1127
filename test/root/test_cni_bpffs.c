/*
 * The plugin's state on bpffs, run directly as a runtime runs it, in the
 * throwaway netns of cni_fixture.h: who may read it (root alone: every
 * directory 0700, every pin 0600, the write-ahead record of a killed ADD
 * included, whatever the runtime's umask; an unprivileged process gets
 * EACCES from open(2) and BPF_OBJ_GET), and bpffs unmounted under a running
 * pod, in a private mount namespace of the test so that no other user of
 * bpffs sees it: while another mount keeps the instance the pod keeps its
 * dispatcher, CHECK fails naming the state, DEL finds the attachment
 * through the kernel and leaves nothing, and ADD works once bpffs is back;
 * once the last mount goes the kernel drops the dispatcher, and DEL and a
 * new ADD (which mounts a fresh bpffs) still work. And spare dispatchers
 * (spare.h): ADD takes one of its limits and serves the pod with it, leaves
 * one of other limits alone, and the node agent keeps them and removes them
 * when it stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "cni.h"
#include "cni_fixture.h"
#include "dispatch_fixture.h"
#include "dispatcher.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "spare.h"
#include "state.h"
#include "testbin.h"
#include "testnet.h"

#define CHECK_FAILED 100 /* the plugin's code for "the attachment is not as ADD left it" */
#define NOBODY 65534
#define MAX_ENTRIES 128
#define PRIVATE_BASE "/mnt" /* a tmpfs there, in the test's own mount namespace */

/* ---- running the plugin ---- */

static int plugin_env(struct cni_fixture *f, const char *binary, const char *command,
		      const char *cid, size_t pod, const cJSON *conf, const char *const *extra_env)
{
	char *text = cJSON_PrintUnformatted(conf);
	const struct cni_call call = { .binary = binary,
				       .command = command,
				       .container_id = cid,
				       .netns = f->pods[pod].path,
				       .ifname = CNI_POD_IFNAME,
				       .stdin_data = text,
				       .extra_env = extra_env };
	int status;

	assert_non_null(text);
	status = cni_fixture_call(f, &call);
	free(text);
	return status;
}

/* A verb that must succeed (ADD's result is checked by test_cni). */
static void plugin_ok(struct cni_fixture *f, const char *command, const char *cid, size_t pod,
		      const cJSON *conf)
{
	int status = plugin_env(f, f->plugin, command, cid, pod, conf, NULL);

	if (status != 0)
		fail_msg("%s %s: exit %d, stdout %s, stderr %s", command, cid, status, f->out,
			 f->err);
}

/* A verb that must fail with exit 1 and the CNI error code, its msg naming
 * each of the needles (NULL-terminated). */
static void plugin_fails(struct cni_fixture *f, const char *command, const char *cid,
			 size_t pod, const cJSON *conf, int code, const char *const *needles)
{
	int status = plugin_env(f, f->plugin, command, cid, pod, conf, NULL);
	cJSON *e;
	const char *msg;

	if (status != 1)
		fail_msg("%s: exit %d, want 1; stdout %s", command, status, f->out);
	e = cJSON_Parse(f->out);
	assert_non_null(e);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "code")), code);
	msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "msg"));
	assert_non_null(msg);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(msg, needles[i]))
			fail_msg("msg does not name \"%s\": %s", needles[i], msg);
	cJSON_Delete(e);
}

/* The default config of pod i with its state under root. */
static cJSON *config_at(struct cni_fixture *f, size_t pod, const char *root)
{
	cJSON *conf = cni_config(f, "1.1.0", pod);

	cJSON_ReplaceItemInObjectCaseSensitive(conf, "bpffsRoot", cJSON_CreateString(root));
	return conf;
}

static void state_dir_at(const char *root, const char *cid, char *out)
{
	struct skl_err err = { 0 };

	if (skl_state_path(out, PATH_MAX, root, CNI_NETWORK, cid, CNI_POD_IFNAME, &err))
		fail_msg("state path: %s", err.msg);
}

/* Nothing of an attachment of pods[0] left in its netns or the host's. */
static void assert_pod0_clean(const struct cni_fixture *f)
{
	cni_assert_pod_clean(f, 0);
	assert_int_equal(cni_count_lines("203.0.113.", "ip -4 route show table all"), 0);
	assert_int_equal(cni_count_lines("2001:db8:200:", "ip -6 route show table all"), 0);
}

/* ---- a private mount namespace ---- */

/* The test's private mount namespace (MS_SLAVE: nothing mounted in it
 * reaches any other); -1 while the test is in its own. */
static int saved_mnt = -1, saved_cwd = -1;

static void enter_private_mounts(void)
{
	saved_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	saved_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	assert_true(saved_cwd >= 0 && saved_mnt >= 0);
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), 0);
}

/* Back to the test's mount namespace; the private one and every mount in
 * it go, the bpffs instances the test made with them. */
static int leave_private_mounts(void)
{
	int ret = 0;

	if (saved_mnt >= 0 && setns(saved_mnt, CLONE_NEWNS) < 0)
		ret = -1;
	if (saved_cwd >= 0 && fchdir(saved_cwd) < 0)
		ret = -1;
	if (saved_mnt >= 0)
		close(saved_mnt);
	if (saved_cwd >= 0)
		close(saved_cwd);
	saved_mnt = saved_cwd = -1;
	return ret;
}

static int mounts_teardown(void **state)
{
	int ret = leave_private_mounts();

	return cni_fixture_teardown(state) || ret ? -1 : 0;
}

/* In the private mount namespace, a tmpfs on PRIVATE_BASE with bpf/ for
 * bpffsRoot's parent (no bpffs on it yet) and keep/, open to all like the
 * directories above them: only the plugin's own modes keep anyone out. */
static void private_base(char *bpf, char *keep, char *root)
{
	enter_private_mounts();
	assert_int_equal(mount("tmpfs", PRIVATE_BASE, "tmpfs", 0, "mode=0755"), 0);
	snprintf(bpf, PATH_MAX, "%s/bpf", PRIVATE_BASE);
	snprintf(keep, PATH_MAX, "%s/keep", PRIVATE_BASE);
	snprintf(root, PATH_MAX, "%s/sklookup", bpf);
	assert_int_equal(mkdir(bpf, 0755), 0);
	assert_int_equal(mkdir(keep, 0755), 0);
}

/* ---- who may read the state ---- */

static struct {
	char path[MAX_ENTRIES][PATH_MAX];
	bool dir[MAX_ENTRIES];
	char above[PATH_MAX]; /* bpffsRoot's parent: open to all */
	size_t n, records, tmp_dirs;
	const char *problem; /* the first entry that is not as it should be */
	char why[PATH_MAX + 64];
} seen;

static int note_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	bool dir = type == FTW_D || type == FTW_DP;
	mode_t want = dir ? 0700 : 0600;

	(void)ftw;
	if (seen.n == MAX_ENTRIES)
		return 1;
	snprintf(seen.path[seen.n], PATH_MAX, "%s", path);
	seen.dir[seen.n++] = dir;
	seen.records += !dir && !strcmp(skl_state_last_component(path), SKL_PIN_RECORD);
	seen.tmp_dirs += dir && !strncmp(skl_state_last_component(path), SKL_STATE_TMP_PREFIX,
					  strlen(SKL_STATE_TMP_PREFIX));
	if (!seen.problem && ((st->st_mode & 07777) != want || st->st_uid || st->st_gid ||
			      !(dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode)))) {
		seen.problem = seen.path[seen.n - 1];
		snprintf(seen.why, sizeof(seen.why), "%s: mode %o, owner %u:%u, want %s %o, 0:0",
			 path, st->st_mode, st->st_uid, st->st_gid, dir ? "directory" : "file",
			 want);
	}
	return 0;
}

/* In a forked child: uid and gid 65534, no supplementary groups, hence no
 * capabilities. Every entry (only the pins when pins_only) must refuse
 * open(2), and every pin BPF_OBJ_GET read-write and read-only, with EACCES.
 * Writes the first that does not to fd; exit status 0 when none. */
static int try_as_nobody(int fd, bool pins_only)
{
	LIBBPF_OPTS(bpf_obj_get_opts, rdonly, .file_flags = BPF_F_RDONLY);
	int got;

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		dprintf(fd, "dropping privileges: %s", strerror(errno));
		return 1;
	}
	/* Everything up to bpffsRoot is open to it: what refuses it below is
	 * the plugin's doing. */
	got = open(seen.above, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (got < 0) {
		dprintf(fd, "open(%s) as uid %d: %s", seen.above, NOBODY, strerror(errno));
		return 1;
	}
	close(got);
	for (size_t i = 0; i < seen.n; i++) {
		const char *p = seen.path[i];

		if (pins_only && seen.dir[i])
			continue;
		got = open(p, O_RDONLY | O_CLOEXEC);
		if (got >= 0 || errno != EACCES) {
			dprintf(fd, "open(%s) as uid %d: %s", p, NOBODY,
				got >= 0 ? "it opened" : strerror(errno));
			return 1;
		}
		if (seen.dir[i])
			continue;
		got = bpf_obj_get(p);
		if (got < 0 && errno == EACCES)
			got = bpf_obj_get_opts(p, &rdonly);
		if (got >= 0 || errno != EACCES) {
			dprintf(fd, "BPF_OBJ_GET of %s as uid %d: %s", p, NOBODY,
				got >= 0 ? "got it" : strerror(errno));
			return 1;
		}
	}
	return 0;
}

static void assert_refused_to_nobody(bool pins_only)
{
	char why[PATH_MAX + 128] = "";
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(try_as_nobody(pipefd[1], pins_only));
	close(pipefd[1]);
	n = read(pipefd[0], why, sizeof(why) - 1);
	close(pipefd[0]);
	why[n > 0 ? n : 0] = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("an unprivileged process: %s", why[0] ? why : "died");
}

static void chmod_dirs(mode_t mode)
{
	for (size_t i = 0; i < seen.n; i++)
		if (seen.dir[i])
			assert_int_equal(chmod(seen.path[i], mode), 0);
}

/* An attachment and the temporary directory of an ADD killed after its
 * last step before the commit, made with umask 0 (a runtime may run
 * plugins so): bpffsRoot, which ADD creates, and everything under it is
 * root's alone, and an unprivileged process can neither open it nor get a
 * pin. Then with the directories opened to it (0711), the pins alone
 * still refuse it. */
static void state_is_root_only(void **state)
{
	struct cni_fixture *f = *state;
	size_t killed = cni_fixture_add_pod(f);
	char bpf[PATH_MAX], keep[PATH_MAX], root[PATH_MAX], env[64];
	const char *const extra[] = { env, NULL };
	cJSON *conf, *conf2;
	mode_t umask_before;
	int status;

	private_base(bpf, keep, root);
	assert_int_equal(mount("bpf", bpf, "bpf", 0, "mode=0755"), 0);
	conf = config_at(f, 0, root);
	conf2 = config_at(f, killed, root);
	cni_set_json(conf2, "routes", "{\"pod\": true, \"host\": false}");
	snprintf(env, sizeof(env), "SKLOOKUP_KILL_STEP=%d", SKL_STEP_RECORD);
	umask_before = umask(0);
	status = plugin_env(f, f->plugin, "ADD", "c1", 0, conf, NULL);
	if (!status)
		status = 256 + plugin_env(f, f->plugin_fi, "ADD", "c2", killed, conf2, extra);
	umask(umask_before);
	if (status != 256 + 128 + SIGKILL)
		fail_msg("ADD c1 (then c2, killed): exit %d, stdout %s", status % 256, f->out);

	memset(&seen, 0, sizeof(seen));
	snprintf(seen.above, sizeof(seen.above), "%s", bpf);
	assert_int_equal(nftw(root, note_entry, 16, FTW_PHYS), 0);
	if (seen.problem)
		fail_msg("%s", seen.why);
	/* The committed record and the killed ADD's, written ahead. */
	assert_int_equal(seen.records, 2);
	assert_int_equal(seen.tmp_dirs, 1);
	/* Each holds its maps, prog, link and record; and bpffsRoot, the
	 * network and the container directories. */
	assert_true(seen.n >= 2 * (SKL_MAP_COUNT + 3) + 4);
	assert_refused_to_nobody(false);
	chmod_dirs(0711);
	assert_refused_to_nobody(true);
	chmod_dirs(0700);

	plugin_ok(f, "DEL", "c2", killed, conf2);
	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_pod0_clean(f);
	cni_assert_pod_clean(f, killed);
	assert_int_equal(cni_dir_entries(root), 0);
}

/* ---- a bpffsRoot someone else prepared ---- */

/* keep/secret: root's alone, with two files that no DEL may touch. */
static void make_secret(const char *keep, char *secret)
{
	char file[PATH_MAX + 8];

	snprintf(secret, PATH_MAX, "%s/secret", keep);
	assert_int_equal(mkdir(secret, 0700), 0);
	for (int i = 0; i < 2; i++) {
		int fd;

		snprintf(file, sizeof(file), "%s/f%d", secret, i);
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
}

static void assert_secret_intact(const char *secret)
{
	assert_int_equal(cni_dir_entries(secret), 2);
}

/* As uid 65534: bpffsRoot (mode 0777) and the pod's network and container
 * directories, with the pod's state directory a symlink to secret. */
static int prepare_as_nobody(const char *root, const char *dir, const char *secret)
{
	char path[PATH_MAX];

	umask(0);
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return 1;
	if (mkdir(root, 0777))
		return 2;
	snprintf(path, sizeof(path), "%s", dir);
	*strrchr(path, '/') = 0;
	*strrchr(path, '/') = 0;
	if (mkdir(path, 0777)) /* the network directory */
		return 3;
	snprintf(path, sizeof(path), "%s", dir);
	*strrchr(path, '/') = 0;
	if (mkdir(path, 0777) || symlink(secret, dir))
		return 4;
	return 0;
}

/* bpffs mounted with its default mode (1777, open to all), where an
 * unprivileged user made bpffsRoot before the first ADD and a symlink to a
 * directory of root's where the pod's state would be. ADD and DEL refuse
 * bpffsRoot, naming it, its owner and the fix; nothing is attached and no
 * file of that directory goes. */
static void untrusted_root_is_refused(void **state)
{
	struct cni_fixture *f = *state;
	char bpf[PATH_MAX], keep[PATH_MAX], root[PATH_MAX], dir[PATH_MAX], secret[PATH_MAX];
	const char *needles[] = { root, "is not owned by root", "owner uid 65534", "remove it",
				  NULL };
	cJSON *conf;
	pid_t pid;
	int status;

	private_base(bpf, keep, root);
	assert_int_equal(mount("bpf", bpf, "bpf", 0, NULL), 0);
	make_secret(keep, secret);
	state_dir_at(root, "c1", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(prepare_as_nobody(root, dir, secret));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	conf = config_at(f, 0, root);

	/* What the secret holds is checked first: DEL once removed it all. */
	status = plugin_env(f, f->plugin, "DEL", "c1", 0, conf, NULL);
	assert_secret_intact(secret);
	assert_int_equal(status, 1);
	plugin_fails(f, "DEL", "c1", 0, conf, SKL_CNI_INVALID_CONFIG, needles);
	plugin_fails(f, "ADD", "c1", 0, conf, SKL_CNI_INVALID_CONFIG, needles);
	assert_int_equal(cni_prog_count(f->pods[0].path), 0);
	assert_secret_intact(secret);
	assert_pod0_clean(f);
}

/* Under a trusted bpffsRoot only root makes entries; still, a symlink where
 * the pod's state directory belongs is not followed by DEL. */
static void del_never_follows_a_link_below_root(void **state)
{
	struct cni_fixture *f = *state;
	char bpf[PATH_MAX], keep[PATH_MAX], root[PATH_MAX], dir[PATH_MAX], secret[PATH_MAX];
	char container[PATH_MAX];
	const char *needles[] = { dir, "symbolic link", NULL };
	cJSON *conf;
	int status;

	private_base(bpf, keep, root);
	make_secret(keep, secret);
	conf = config_at(f, 0, root);
	plugin_ok(f, "ADD", "c1", 0, conf);
	plugin_ok(f, "DEL", "c1", 0, conf);
	state_dir_at(root, "c1", dir);
	snprintf(container, sizeof(container), "%s", dir);
	*strrchr(container, '/') = 0;
	*strrchr(container, '/') = 0;
	assert_int_equal(mkdir(container, 0700), 0); /* the network's (DEL removed it) */
	snprintf(container, sizeof(container), "%s", dir);
	*strrchr(container, '/') = 0;
	assert_int_equal(mkdir(container, 0700), 0);
	assert_int_equal(symlink(secret, dir), 0);

	status = plugin_env(f, f->plugin, "DEL", "c1", 0, conf, NULL);
	assert_secret_intact(secret);
	assert_int_equal(status, 1);
	plugin_fails(f, "DEL", "c1", 0, conf, SKL_CNI_INTERNAL, needles);
	assert_int_equal(unlink(dir), 0);
	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_pod0_clean(f);
}

/* ---- bpffs unmounted under a running pod ---- */

static void add_and_serve(struct cni_fixture *f, const cJSON *conf, const char *bpf,
			  const char *dir, int *web)
{
	plugin_ok(f, "ADD", "c1", 0, conf);
	assert_true(skl_bpffs_is_mounted(bpf)); /* ADD mounted it */
	*web = cni_pod_server(f, 0, dir, "web", SOCK_STREAM, "127.0.0.1");
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, web, 1), 0);
}

/* CHECK passes, and DEL leaves nothing in the pod, the host or root. */
static void check_and_delete(struct cni_fixture *f, const cJSON *conf, const char *root)
{
	plugin_ok(f, "CHECK", "c1", 0, conf);
	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_pod0_clean(f);
	assert_int_equal(cni_dir_entries(root), 0);
}

/* bpffs is unmounted where the state lives while another mount (another
 * mount namespace, a DaemonSet's hostPath) keeps the instance: the pins
 * and so the link live on out of reach. The pod keeps its dispatcher; CHECK
 * fails naming the state and bpffs; DEL finds the attachment through the
 * kernel (not for another netns), undoes its record and detaches its link,
 * leaving nothing in the pod or the host, also when repeated; once the
 * instance is mounted there again, ADD replaces the orphaned pins and
 * works. */
static void bpffs_unmounted_while_another_mount_keeps_it(void **state)
{
	struct cni_fixture *f = *state;
	char bpf[PATH_MAX], keep[PATH_MAX], root[PATH_MAX], dir[PATH_MAX];
	const char *needles[] = { dir, "bpffs is not mounted", NULL };
	size_t other = cni_fixture_add_pod(f);
	struct skl_record rec;
	cJSON *conf;
	int web;

	private_base(bpf, keep, root);
	conf = config_at(f, 0, root);
	state_dir_at(root, "c1", dir);
	add_and_serve(f, conf, bpf, dir, &web);
	assert_int_equal(mount(bpf, keep, NULL, MS_BIND, NULL), 0);

	assert_int_equal(umount2(bpf, 0), 0);
	assert_false(skl_bpffs_is_mounted(bpf));
	assert_false(skl_state_exists(dir));
	assert_int_equal(cni_prog_count(f->pods[0].path), 1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.8", 443, &web, 1), 0);
	plugin_fails(f, "CHECK", "c1", 0, conf, CHECK_FAILED, needles);

	/* The same state path with another netns is another attachment (the
	 * runtime of another mount namespace): DEL leaves this one alone. */
	plugin_ok(f, "DEL", "c1", other, conf);
	assert_int_equal(cni_prog_count(f->pods[0].path), 1);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.9", 8500, &web, 1), 0);

	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_pod0_clean(f);
	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_pod0_clean(f);
	close(web);

	/* The instance back at its place: the orphaned pins are there, their
	 * record blanked by the DEL that undid it (nothing undoes it twice). */
	assert_int_equal(mount(keep, bpf, NULL, MS_BIND, NULL), 0);
	assert_true(skl_state_exists(dir));
	assert_int_not_equal(skl_record_load(dir, &rec, NULL), 0);
	assert_int_equal(cni_prog_count(f->pods[0].path), 0);
	add_and_serve(f, conf, bpf, dir, &web);
	close(web);
	check_and_delete(f, conf, root);
}

/* The last mount of the instance goes: the kernel drops its pins, and with
 * the link the dispatcher (the pod's traffic meets the normal lookup);
 * CHECK fails naming the state and bpffs; DEL succeeds and, with no record
 * left to say what ADD added, removes the routes this config gives the pod
 * that carry the plugin's route protocol, on the host and in the pod; ADD
 * mounts a fresh bpffs and works. A route to the same prefix that is not
 * the plugin's stays. */
static void bpffs_unmounted_for_good(void **state)
{
	struct cni_fixture *f = *state;
	char bpf[PATH_MAX], keep[PATH_MAX], root[PATH_MAX], dir[PATH_MAX];
	const char *needles[] = { dir, "bpffs is not mounted", NULL };
	cJSON *conf;
	int web;

	private_base(bpf, keep, root);
	conf = config_at(f, 0, root);
	cni_set_json(conf, "bindings",
		     "[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		     "  \"ports\": [\"80\"]}]");
	state_dir_at(root, "c1", dir);
	add_and_serve(f, conf, bpf, dir, &web);
	assert_int_equal(cni_count_lines("proto 173", "ip -4 route show 203.0.113.0/24"), 1);

	assert_int_equal(umount2(bpf, 0), 0);
	assert_int_equal(cni_prog_count_settled(f->pods[0].path, 0), 0);
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web, 1), -1);
	plugin_fails(f, "CHECK", "c1", 0, conf, CHECK_FAILED, needles);
	/* The pod's route made someone else's (proto static) stays; the
	 * host's, still the plugin's, goes. */
	assert_int_equal(testnet_run("nsenter --net=%s ip route replace local 203.0.113.0/24 dev lo"
				     " table local proto static", f->pods[0].path), 0);
	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_int_equal(cni_count_lines("203.0.113.", "ip -4 route show table all"), 0);
	assert_int_equal(cni_count_lines("203.0.113.0/24 dev lo proto static",
					 "nsenter --net=%s ip -4 route show table local",
					 f->pods[0].path), 1);
	assert_int_equal(testnet_run("nsenter --net=%s ip route del local 203.0.113.0/24 dev lo"
				     " table local", f->pods[0].path), 0);
	close(web);

	add_and_serve(f, conf, bpf, dir, &web);
	close(web);
	check_and_delete(f, conf, root);
}

/* ---- spare dispatchers ---- */

/* Spares a failed test left are the fixture root's to remove. */
static int spares_teardown(void **state)
{
	struct cni_fixture *f = *state;

	skl_spare_clear(f->root);
	return cni_fixture_teardown(state);
}

static uint32_t prog_id_at(const char *dir)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/prog", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("opening %s: %s", path, strerror(errno));
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

struct prog_ids {
	uint32_t *ids;
	int n, max;
};

static int note_prog_id(const char *dir, void *arg)
{
	struct prog_ids *p = arg;

	if (p->n < p->max)
		p->ids[p->n++] = prog_id_at(dir);
	return 0;
}

/* The program ids of the spares of limits l under root (at most max). */
static int spare_prog_ids(const char *root, const struct skl_limits *l, uint32_t *ids, int max)
{
	struct prog_ids p = { .ids = ids, .max = max };

	skl_spare_each(root, l, note_prog_id, &p);
	return p.n;
}

static void make_spare(const char *root, const struct skl_limits *l)
{
	struct skl_err err = { 0 };

	if (skl_spare_make(root, l, &err))
		fail_msg("making a spare: %s", err.msg);
}

/* The netns cookie the dispatcher in dir was told it serves. */
static uint64_t config_cookie(const char *dir)
{
	struct skl_dispatcher d;
	struct skl_config cfg;
	struct skl_err err = { 0 };

	if (skl_dispatcher_open(&d, dir, &err) || skl_dispatcher_config(&d, &cfg, &err))
		fail_msg("opening %s: %s", dir, err.msg);
	skl_dispatcher_close(&d);
	return cfg.netns_cookie;
}

static uint64_t pod_cookie(const struct cni_fixture *f, size_t pod)
{
	struct skl_err err = { 0 };
	uint64_t cookie;
	int fd = open(f->pods[pod].path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(skl_netns_cookie(fd, &cookie, &err), 0);
	close(fd);
	return cookie;
}

/* ADD takes the spare of its limits: the pod runs that very program, told
 * the pod's netns, with the pod's bindings; traffic is dispatched, CHECK
 * passes, DEL leaves nothing, and no spare is left. */
static void add_takes_a_spare_of_its_limits(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	struct skl_limits l;
	char dir[PATH_MAX];
	uint32_t spare;
	int web;

	skl_limits_default(&l);
	make_spare(f->root, &l);
	assert_int_equal(spare_prog_ids(f->root, &l, &spare, 1), 1);
	plugin_ok(f, "ADD", "c1", 0, conf);
	assert_int_equal(skl_spare_count(f->root, &l), 0);
	state_dir_at(f->root, "c1", dir);
	assert_int_equal(prog_id_at(dir), spare);
	assert_true(config_cookie(dir) == pod_cookie(f, 0));
	web = cni_pod_server(f, 0, dir, "web", SOCK_STREAM, "127.0.0.1");
	assert_int_equal(fixture_deliver(SOCK_STREAM, "203.0.113.7", 80, &web, 1),
			 0);
	plugin_ok(f, "CHECK", "c1", 0, conf);
	plugin_ok(f, "DEL", "c1", 0, conf);
	close(web);
	assert_pod0_clean(f);
}

/* A spare of other limits is not the pod's: ADD loads its own and leaves
 * it; clearing removes it. */
static void add_leaves_a_spare_of_other_limits(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	struct skl_limits other = { .bindings = 32, .labels = 8, .port_ranges = 64 };
	char dir[PATH_MAX];
	uint32_t spare;

	make_spare(f->root, &other);
	assert_int_equal(spare_prog_ids(f->root, &other, &spare, 1), 1);
	plugin_ok(f, "ADD", "c1", 0, conf);
	state_dir_at(f->root, "c1", dir);
	assert_int_not_equal(prog_id_at(dir), spare);
	assert_int_equal(skl_spare_count(f->root, &other), 1);
	plugin_ok(f, "DEL", "c1", 0, conf);
	skl_spare_clear(f->root);
	assert_int_equal(skl_spare_count(f->root, NULL), 0);
	assert_pod0_clean(f);
}

/* Waits (5 s at most) until root holds n spares of limits l. */
static void wait_for_spares(const char *root, const struct skl_limits *l, int n)
{
	for (int i = 0; i < 500 && skl_spare_count(root, l) != n; i++)
		usleep(10 * 1000);
	assert_int_equal(skl_spare_count(root, l), n);
}

/* The agent keeps --spares spares: it makes them at start, replaces the one
 * an ADD takes, and removes them all when it stops. */
static void agent_keeps_spares_and_removes_them(void **state)
{
	struct cni_fixture *f = *state;
	cJSON *conf = cni_config(f, "1.1.0", 0);
	char ctl[PATH_MAX], sock[128], dir[PATH_MAX], spare_dir[PATH_MAX];
	uint32_t before[2], after[2];
	struct skl_limits l;
	int status;
	pid_t agent;

	skl_limits_default(&l);
	testbin_path(ctl, sizeof(ctl), "sklookup-ctl");
	snprintf(sock, sizeof(sock), "/tmp/sklt-spare-agent-%d.sock", (int)getpid());
	agent = fork();
	assert_true(agent >= 0);
	if (agent == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(ctl, ctl, "--bpffs-root", f->root, "agent", "--socket", sock, "--spares", "2",
		      (char *)NULL);
		_exit(127);
	}
	wait_for_spares(f->root, &l, 2);
	assert_int_equal(spare_prog_ids(f->root, &l, before, 2), 2);
	plugin_ok(f, "ADD", "c1", 0, conf);
	state_dir_at(f->root, "c1", dir);
	assert_true(prog_id_at(dir) == before[0] || prog_id_at(dir) == before[1]);
	wait_for_spares(f->root, &l, 2);
	assert_int_equal(spare_prog_ids(f->root, &l, after, 2), 2);
	assert_true(after[0] != prog_id_at(dir) && after[1] != prog_id_at(dir));
	kill(agent, SIGTERM);
	assert_int_equal(waitpid(agent, &status, 0), agent);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(skl_spare_count(f->root, NULL), 0);
	snprintf(spare_dir, sizeof(spare_dir), "%s/" SKL_SPARE_DIR, f->root);
	assert_int_equal(access(spare_dir, F_OK), -1);
	plugin_ok(f, "DEL", "c1", 0, conf);
	assert_pod0_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(state_is_root_only, cni_fixture_setup,
						mounts_teardown),
		cmocka_unit_test_setup_teardown(untrusted_root_is_refused, cni_fixture_setup,
						mounts_teardown),
		cmocka_unit_test_setup_teardown(del_never_follows_a_link_below_root,
						cni_fixture_setup, mounts_teardown),
		cmocka_unit_test_setup_teardown(bpffs_unmounted_while_another_mount_keeps_it,
						cni_fixture_setup, mounts_teardown),
		cmocka_unit_test_setup_teardown(bpffs_unmounted_for_good, cni_fixture_setup,
						mounts_teardown),
		cmocka_unit_test_setup_teardown(add_takes_a_spare_of_its_limits, cni_fixture_setup,
						spares_teardown),
		cmocka_unit_test_setup_teardown(add_leaves_a_spare_of_other_limits,
						cni_fixture_setup, spares_teardown),
		cmocka_unit_test_setup_teardown(agent_keeps_spares_and_removes_them,
						cni_fixture_setup, spares_teardown),
	};

	return cmocka_run_group_tests_name("sklookup state on bpffs", tests, NULL, NULL);
}
