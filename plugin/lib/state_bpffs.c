/*
 * bpffsRoot: mounting bpffs under it when needed, and refusing a root
 * someone other than root could have prepared (every directory on the way
 * checked from / down without following a symbolic link).
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "state_internal.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

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

	if (skl_state_check_root_syntax(root, err) < 0)
		return -1;
	len = skl_state_root_length(root);
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
			rc = skl_state_mkdir_error(path, errno, err);
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

	if (skl_state_check_root_syntax(root, err) < 0)
		return -1;
	if (skl_state_root_length(root) >= sizeof(trimmed))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "bpffsRoot is longer than %d bytes",
				PATH_MAX - 1);
	snprintf(trimmed, sizeof(trimmed), "%.*s", (int)skl_state_root_length(root), root);
	/* Before creating anything along a path someone else prepared. */
	if (skl_bpffs_check_root(trimmed, err) < 0 ||
	    skl_state_parent(trimmed, parent, sizeof(parent), err) < 0)
		return -1;
	if (!nearest_existing_is_bpffs(parent) && mount_bpffs(parent, err) < 0)
		return -1;
	return walk_root(trimmed, true, err);
}

