/*
 * Per-pod state in bpffs: <root>/<network>/<container>/<ifname>/.
 *
 * bpffs refuses every name that contains '.' (EPERM: the kernel reserves
 * dotted names), yet container IDs, network names and interface names may
 * contain dots. So a '.' inside a component is stored as ':', a byte no
 * component may contain: the mapping stays one-to-one, and the temporary
 * directory ".tmp-<ifname>-XXXXXX" is stored as ":tmp-<ifname>-XXXXXX",
 * which no state directory can be named (no component starts with '.').
 */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define SKL_NAME_MAX 255  /* container ID, network name: one path component */
#define SKL_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define SKL_BPFFS_DOT ':'
#define SKL_TMP_PREFIX ":tmp-"
#define SKL_DIR_MODE 0700
#define SKL_LOCK_ATTEMPTS 100
#define SKL_LOCK_POLL_MS 10
#define SKL_SHOWN_BYTES 64 /* how much of a bad value a message quotes */

/* Opens the directory at path without following a symbolic link anywhere
 * on the way (bpffsRoot has none, skl_bpffs_check_root, and nothing below
 * it is one): a link swapped in cannot send a removal elsewhere. */
static int open_dir_nofollow(const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };

	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

/* ---- checking names ---- */

static bool is_component_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Quotes value for a message: non-printable bytes as \xNN, long values cut. */
static void quote_value(const char *value, char *out, size_t len)
{
	size_t used = 0, i;

	used += snprintf(out + used, len - used, "\"");
	for (i = 0; value[i] && i < SKL_SHOWN_BYTES && used < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			used += snprintf(out + used, len - used, "%c", c);
		else
			used += snprintf(out + used, len - used, "\\x%02x", c);
	}
	if (used < len)
		snprintf(out + used, len - used, "%s\"", value[i] ? "..." : "");
}

static void describe_byte(char c, char *out, size_t len)
{
	unsigned char b = (unsigned char)c;

	if (b > 0x20 && b < 0x7f)
		snprintf(out, len, "'%c'", b);
	else if (b == ' ')
		snprintf(out, len, "a space");
	else
		snprintf(out, len, "byte 0x%02x", b);
}

/* Says why value cannot be a path component; false if it can. */
static bool component_problem(const char *value, size_t max, char *why, size_t len)
{
	size_t n = strlen(value), i;
	char byte[16];

	if (n == 0) {
		snprintf(why, len, "is empty");
		return true;
	}
	if (n > max) {
		snprintf(why, len, "is %zu characters long", n);
		return true;
	}
	if (value[0] == '.') {
		snprintf(why, len, "starts with '.'");
		return true;
	}
	for (i = 0; i < n; i++) {
		if (!is_component_char(value[i])) {
			describe_byte(value[i], byte, sizeof(byte));
			snprintf(why, len, "contains %s at character %zu", byte, i + 1);
			return true;
		}
	}
	return false;
}

static int check_component(int code, const char *what, const char *value, size_t max,
			   struct skl_err *err)
{
	char why[64], shown[SKL_SHOWN_BYTES * 4 + 8];

	if (!value)
		return skl_errf(err, code, "%s is not set: give 1-%zu characters of "
				"A-Z a-z 0-9 _ . -", what, max);
	if (!component_problem(value, max, why, sizeof(why)))
		return 0;
	quote_value(value, shown, sizeof(shown));
	return skl_errf(err, code,
			"%s %s %s: it must be 1-%zu characters of A-Z a-z 0-9 _ . - "
			"and must not start with '.'",
			what, shown, why, max);
}

int skl_state_check_component(const char *what, const char *value, size_t max,
			      struct skl_err *err)
{
	return check_component(SKL_CNI_INVALID_ENV, what, value, max, err);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Length of root without one trailing '/', which is harmless. */
static size_t root_length(const char *root)
{
	size_t n = strlen(root);

	return n > 1 && root[n - 1] == '/' ? n - 1 : n;
}

static int check_root(const char *root, struct skl_err *err)
{
	char shown[SKL_SHOWN_BYTES * 4 + 8];

	if (!root || !root[0])
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot is empty: use an absolute path such as %s",
				SKL_DEFAULT_BPFFS_ROOT);
	quote_value(root, shown, sizeof(shown));
	if (root[0] != '/')
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot %s is not an absolute path: use one such as %s", shown,
				SKL_DEFAULT_BPFFS_ROOT);
	if (root_length(root) == 1)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot %s is the root directory: use a directory below a "
				"bpffs mount such as %s", shown, SKL_DEFAULT_BPFFS_ROOT);
	if (strstr(root, "//") || strstr(root, "/./") || strstr(root, "/../") ||
	    ends_with(root, "/.") || ends_with(root, "/.."))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bpffsRoot %s is not normalised: write it without \"//\", "
				"\"/./\" and \"/../\" and not ending in \"/.\" or \"/..\"",
				shown);
	return 0;
}

/* ---- building paths ---- */

static void encode_dots(char *s)
{
	for (; *s; s++)
		if (*s == '.')
			*s = SKL_BPFFS_DOT;
}

int skl_state_path(char *out, size_t len, const char *root, const char *network,
		   const char *container, const char *ifname, struct skl_err *err)
{
	size_t root_len;
	int n;

	if (check_root(root, err) < 0 ||
	    check_component(SKL_CNI_INVALID_CONFIG, "network name", network, SKL_NAME_MAX,
			    err) < 0 ||
	    check_component(SKL_CNI_INVALID_ENV, "CNI_CONTAINERID", container, SKL_NAME_MAX,
			    err) < 0 ||
	    check_component(SKL_CNI_INVALID_ENV, "CNI_IFNAME", ifname, SKL_IFNAME_MAX, err) < 0)
		return -1;
	root_len = root_length(root);
	n = snprintf(out, len, "%.*s/%s/%s/%s", (int)root_len, root, network, container,
		     ifname);
	if (n < 0 || (size_t)n >= len)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"the state directory under bpffsRoot \"%.*s\" would be %d bytes "
				"long, more than the %zu available: use a shorter bpffsRoot",
				(int)root_len, root, n, len ? len - 1 : 0);
	encode_dots(out + root_len);
	return 0;
}

/* Writes the directory part of path (everything before the last '/'). */
static int parent_of(const char *path, char *out, size_t len, struct skl_err *err)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return skl_errf(err, SKL_CNI_INTERNAL, "%s is not an absolute path", path);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return skl_errf(err, SKL_CNI_INTERNAL, "path %s is too long", path);
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static const char *last_component(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* ---- creating directories ---- */

/* mkdir -p path: returns 0 or the errno of the first failure, the failing
 * prefix of path in failed. */
static int make_dirs(const char *path, char *failed, size_t len)
{
	char partial[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(partial))
		return ENAMETOOLONG;
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(partial, path, i);
		partial[i] = '\0';
		if (mkdir(partial, SKL_DIR_MODE) < 0 && errno != EEXIST) {
			snprintf(failed, len, "%s", partial);
			return errno;
		}
	}
	return 0;
}

static int mkdir_error(const char *path, int errnum, struct skl_err *err)
{
	const char *hint = "";

	if (errnum == EPERM && strchr(last_component(path), '.'))
		hint = " (bpffs refuses names that contain '.')";
	return skl_errf(err, SKL_CNI_INTERNAL, "cannot create directory %s: %s%s", path,
			strerror(errnum), hint);
}

/* ---- bpffs mount ---- */

bool skl_bpffs_is_mounted(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

/* True if the deepest existing directory on the way to path is on bpffs
 * (then mkdir -p creates the rest on bpffs). */
static bool nearest_existing_is_bpffs(const char *path)
{
	char probe[PATH_MAX];
	struct statfs fs;

	snprintf(probe, sizeof(probe), "%s", path);
	while (statfs(probe, &fs) < 0) {
		char *slash = strrchr(probe, '/');

		if (errno != ENOENT || !slash || slash == probe)
			return false;
		*slash = '\0';
	}
	return fs.f_type == BPF_FS_MAGIC;
}

/* Mounts bpffs at dir unless a concurrent invocation just did (the caller
 * holds the flock that serialises this). */
static int mount_bpffs_locked(const char *dir, struct skl_err *err)
{
	if (skl_bpffs_is_mounted(dir))
		return 0;
	if (mount("bpf", dir, "bpf", 0, "mode=0700") < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot mount bpffs at %s (mount -t bpf bpf %s): %s", dir, dir,
				strerror(errno));
	return 0;
}

static int walk_root(const char *root, bool create, struct skl_err *err);

static int mount_bpffs(const char *dir, struct skl_err *err)
{
	int fd, rc;

	if (walk_root(dir, true, err) < 0)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot open %s: %s", dir, strerror(errno));
	/* Two invocations mounting at once would stack mounts and hide pins. */
	if (flock(fd, LOCK_EX) < 0)
		rc = skl_errf(err, SKL_CNI_INTERNAL, "cannot lock %s: %s", dir, strerror(errno));
	else
		rc = mount_bpffs_locked(dir, err);
	close(fd);
	return rc;
}

/* ---- trusting bpffsRoot ---- */

static int untrusted(const char *root, const char *path, const struct stat *st,
		     const char *why, const char *fix, struct skl_err *err)
{
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"bpffsRoot %s cannot be trusted: %s %s (owner uid %u, mode %04o); %s",
			root, path, why, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777), fix);
}

/* One component, opened from its parent without following a symlink:
 * a directory owned by root that no one else may write to (a parent of
 * bpffsRoot may be, when sticky, as bpffs' own root and /tmp are: no one
 * else can then rename or remove what root made there). *next: its fd,
 * or -1 when it does not exist. */
static int check_component_dir(const char *root, int dir, const char *name, const char *path,
			       bool is_root, int *next, struct skl_err *err)
{
	struct stat st;
	int fd;

	*next = -1;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "cannot inspect %s: %s",
						      path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return untrusted(root, path, &st, "is a symbolic link",
				 "give bpffsRoot as a path without symbolic links", err);
	if (!S_ISDIR(st.st_mode))
		return untrusted(root, path, &st, "is not a directory",
				 "remove it or choose another bpffsRoot", err);
	fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "cannot open %s: %s",
						      path, strerror(errno));
	/* What was opened, not what was looked at: it may have been swapped. */
	if (fstat(fd, &st) < 0) {
		close(fd);
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot inspect %s: %s", path,
				strerror(errno));
	}
	if (st.st_uid != 0) {
		close(fd);
		return untrusted(root, path, &st, "is not owned by root",
				 "someone else made it: remove it (the plugin creates bpffsRoot "
				 "itself, mode 0700) or chown root", err);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (is_root || !(st.st_mode & S_ISVTX))) {
		close(fd);
		return untrusted(root, path, &st, "is writable by group or others",
				 is_root ? "chmod 0700 it" : "chmod go-w it (or make it sticky, +t)",
				 err);
	}
	*next = fd;
	return 0;
}

/* Checks each directory of root from / down, without following a symlink;
 * with create, makes a missing one (mode 0700) from its checked parent's
 * fd, so that nothing planted meanwhile can redirect the creation. */
static int walk_root(const char *root, bool create, struct skl_err *err)
{
	char path[PATH_MAX], trimmed[PATH_MAX];
	size_t len;
	int dir, next = -1, rc = 0;

	if (check_root(root, err) < 0)
		return -1;
	len = root_length(root);
	if (len >= sizeof(trimmed))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "bpffsRoot is longer than %d bytes",
				PATH_MAX - 1);
	snprintf(trimmed, sizeof(trimmed), "%.*s", (int)len, root);
	dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot open /: %s", strerror(errno));
	for (const char *name = trimmed + 1; *name;) {
		const char *end = strchrnul(name, '/');
		char component[NAME_MAX + 1];

		snprintf(component, sizeof(component), "%.*s", (int)(end - name), name);
		snprintf(path, sizeof(path), "%.*s", (int)(end - trimmed), trimmed);
		if (create && mkdirat(dir, component, SKL_DIR_MODE) < 0 && errno != EEXIST) {
			rc = mkdir_error(path, errno, err);
			break;
		}
		rc = check_component_dir(trimmed, dir, component, path, !*end, &next, err);
		if (rc == 0 && next < 0 && create)
			rc = skl_errf(err, SKL_CNI_INTERNAL, "%s vanished while being created",
				      path);
		if (rc < 0 || next < 0) /* an error, or the rest does not exist yet */
			break;
		close(dir);
		dir = next;
		name = *end ? end + 1 : end;
	}
	close(dir);
	return rc;
}

int skl_bpffs_check_root(const char *root, struct skl_err *err)
{
	return walk_root(root, false, err);
}

int skl_bpffs_ensure(const char *root, struct skl_err *err)
{
	char parent[PATH_MAX];
	char trimmed[PATH_MAX];

	if (check_root(root, err) < 0)
		return -1;
	if (root_length(root) >= sizeof(trimmed))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "bpffsRoot is longer than %d bytes",
				PATH_MAX - 1);
	snprintf(trimmed, sizeof(trimmed), "%.*s", (int)root_length(root), root);
	/* Before creating anything along a path someone else prepared. */
	if (skl_bpffs_check_root(trimmed, err) < 0 ||
	    parent_of(trimmed, parent, sizeof(parent), err) < 0)
		return -1;
	if (!nearest_existing_is_bpffs(parent) && mount_bpffs(parent, err) < 0)
		return -1;
	return walk_root(trimmed, true, err);
}

/* ---- locking ---- */

enum lock_attempt { LOCK_TAKEN, LOCK_FAILED, LOCK_RETRY, LOCK_GONE, LOCK_BUSY };

/* True if fd still is the directory at path (not removed while we waited). */
static bool still_at_path(int fd, const char *path)
{
	struct stat held, current;

	return fstat(fd, &held) == 0 && held.st_nlink > 0 && stat(path, &current) == 0 &&
	       held.st_dev == current.st_dev && held.st_ino == current.st_ino;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The exclusive flock on fd: waits for ever (wait_ms < 0), or polls with
 * LOCK_NB until wait_ms passed (then EWOULDBLOCK), so that a caller serving
 * others (the agent) is never stuck behind a lock. */
static int take_flock(int fd, int wait_ms)
{
	const struct timespec pause = { .tv_nsec = SKL_LOCK_POLL_MS * 1000000L };
	long deadline = now_ms() + wait_ms;

	for (;;) {
		if (flock(fd, wait_ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || now_ms() >= deadline)
			return -1;
		nanosleep(&pause, NULL);
	}
}

/* One try at locking container: created first when create is set, else it
 * must exist (LOCK_GONE). */
static enum lock_attempt lock_once(const char *container, bool create, int wait_ms,
				   int *lock_fd, struct skl_err *err)
{
	char failed[PATH_MAX];
	int errnum = create ? make_dirs(container, failed, sizeof(failed)) : 0;
	int fd;

	/* ENOENT: a concurrent remove took away the network directory. */
	if (errnum == ENOENT)
		return LOCK_RETRY;
	if (errnum) {
		mkdir_error(failed, errnum, err);
		return LOCK_FAILED;
	}
	fd = open_dir_nofollow(container);
	if (fd < 0 && errno == ENOENT)
		return create ? LOCK_RETRY : LOCK_GONE;
	if (fd < 0) {
		skl_errf(err, SKL_CNI_INTERNAL, "cannot open %s: %s", container, strerror(errno));
		return LOCK_FAILED;
	}
	if (take_flock(fd, wait_ms) < 0) {
		int errnum = errno;

		close(fd);
		if (errnum == EWOULDBLOCK)
			return LOCK_BUSY;
		skl_errf(err, SKL_CNI_INTERNAL, "cannot lock %s: %s", container,
			 strerror(errnum));
		return LOCK_FAILED;
	}
	if (!still_at_path(fd, container)) {
		close(fd);
		return create ? LOCK_RETRY : LOCK_GONE;
	}
	*lock_fd = fd;
	return LOCK_TAKEN;
}

int skl_state_lock(const char *dir, int *lock_fd, struct skl_err *err)
{
	char container[PATH_MAX];
	int attempt;

	if (parent_of(dir, container, sizeof(container), err) < 0)
		return -1;
	for (attempt = 0; attempt < SKL_LOCK_ATTEMPTS; attempt++) {
		switch (lock_once(container, true, -1, lock_fd, err)) {
		case LOCK_TAKEN:
			return 0;
		case LOCK_RETRY:
			break;
		default:
			return -1;
		}
	}
	return skl_errf(err, SKL_CNI_TRY_AGAIN_LATER,
			"cannot lock %s: it was removed %d times while waiting; try again",
			container, SKL_LOCK_ATTEMPTS);
}

int skl_state_lock_existing(const char *dir, int wait_ms, int *lock_fd, struct skl_err *err)
{
	char container[PATH_MAX];

	if (parent_of(dir, container, sizeof(container), err) < 0)
		return -1;
	switch (lock_once(container, false, wait_ms, lock_fd, err)) {
	case LOCK_TAKEN:
		break;
	case LOCK_GONE:
		return skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
				"the pod's state %s is gone (was the pod deleted?)", dir);
	case LOCK_BUSY:
		return skl_errf(err, SKL_CNI_TRY_AGAIN_LATER,
				"the pod's state %s is busy: another change to this pod (the "
				"plugin, sklookup-ctl or the node agent) has held its lock for "
				"%d ms; try again", dir, wait_ms);
	default:
		return -1;
	}
	if (!skl_state_exists(dir)) {
		skl_state_unlock(*lock_fd);
		*lock_fd = -1;
		return skl_errf(err, SKL_CNI_UNKNOWN_CONTAINER,
				"the pod's state %s is gone (was the pod deleted?)", dir);
	}
	return 0;
}

void skl_state_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}

/* ---- temporary directory, commit, exists ---- */

int skl_state_mktemp(const char *dir, char *tmp, size_t len, struct skl_err *err)
{
	char container[PATH_MAX];
	int n;

	if (parent_of(dir, container, sizeof(container), err) < 0)
		return -1;
	n = snprintf(tmp, len, "%s/" SKL_TMP_PREFIX "%s-XXXXXX", container,
		     last_component(dir));
	if (n < 0 || (size_t)n >= len)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"temporary directory name for %s does not fit in %zu bytes", dir,
				len);
	if (!mkdtemp(tmp)) {
		int errnum = errno;

		tmp[0] = '\0';
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot create a temporary directory in %s: %s", container,
				strerror(errnum));
	}
	return 0;
}

int skl_state_commit(const char *tmp, const char *dir, struct skl_err *err)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST || errno == ENOTEMPTY)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"state %s already exists: this attachment was added before; "
				"DEL it first", dir);
	return skl_errf(err, SKL_CNI_INTERNAL, "cannot rename %s to %s: %s", tmp, dir,
			strerror(errno));
}

bool skl_state_exists(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- removal ---- */

static int unlink_entries(DIR *d, const char *dir, struct skl_err *err)
{
	struct dirent *entry;

	for (errno = 0; (entry = readdir(d)); errno = 0) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), entry->d_name, 0) < 0 && errno != ENOENT)
			return skl_errf(err, SKL_CNI_INTERNAL, "cannot unpin %s/%s: %s", dir,
					entry->d_name, strerror(errno));
	}
	if (errno)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot list %s: %s", dir, strerror(errno));
	return 0;
}

static int unpin_all(const char *dir, struct skl_err *err)
{
	int fd = open_dir_nofollow(dir);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	int rc;

	if (!d && fd >= 0)
		close(fd);
	if (!d && errno == ELOOP)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"%s is (or lies below) a symbolic link, which no state directory "
				"is: not removing what it leads to; remove the link", dir);
	if (!d)
		return errno == ENOENT ? 0 : skl_errf(err, SKL_CNI_INTERNAL, "cannot open %s: %s",
						      dir, strerror(errno));
	rc = unlink_entries(d, dir, err);
	closedir(d);
	return rc;
}

/* rmdir that treats "someone else still uses it" and "already gone" as done. */
static int remove_if_empty(const char *dir, struct skl_err *err)
{
	if (rmdir(dir) == 0 || errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST ||
	    errno == EBUSY)
		return 0;
	return skl_errf(err, SKL_CNI_INTERNAL, "cannot remove %s: %s", dir, strerror(errno));
}

/* Removes the container and network directories above dir if empty; never
 * goes higher, so nothing at or above bpffsRoot is touched. */
static int remove_empty_parents(const char *dir, struct skl_err *err)
{
	char container[PATH_MAX], network[PATH_MAX];

	if (parent_of(dir, container, sizeof(container), err) < 0 ||
	    remove_if_empty(container, err) < 0 ||
	    parent_of(container, network, sizeof(network), err) < 0)
		return -1;
	return remove_if_empty(network, err);
}

int skl_state_remove_dir(const char *dir, struct skl_err *err)
{
	if (unpin_all(dir, err) < 0)
		return -1;
	if (rmdir(dir) < 0 && errno != ENOENT)
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot remove %s: %s", dir,
				strerror(errno));
	return 0;
}

int skl_state_remove(const char *dir, struct skl_err *err)
{
	if (skl_state_remove_dir(dir, err))
		return -1;
	return remove_empty_parents(dir, err);
}
