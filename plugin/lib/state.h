/*
 * Per-pod state in bpffs: <root>/<network>/<container>/<ifname>/ holds the
 * pinned link, program and maps of one attachment. Created in a temporary
 * directory and renamed into place; serialised per container with flock.
 */
#ifndef SKL_STATE_H
#define SKL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "skl_error.h"

#define SKL_DEFAULT_BPFFS_ROOT "/sys/fs/bpf/sklookup"

/* An ADD builds a pod's state in ":tmp-<ifname>-XXXXXX" next to it. */
#define SKL_STATE_TMP_PREFIX ":tmp-"

/* Checks that a value can be one path component: 1..max bytes of
 * [A-Za-z0-9_.-], not "." or "..", not starting with "." (temporary
 * directories do). `what` names it in the message ("CNI_CONTAINERID"). */
int skl_state_check_component(const char *what, const char *value, size_t max,
			      struct skl_err *err);

/* Builds <root>/<network>/<container>/<ifname> after checking each part.
 * root must be absolute and normalised (no "..", no "//"). */
int skl_state_path(char *out, size_t len, const char *root, const char *network,
		   const char *container, const char *ifname, struct skl_err *err);

/* Writes the directory part of path (everything before its last '/') to
 * out, which may be path itself: a state directory's container directory,
 * a container directory's network directory. */
int skl_state_parent(const char *path, char *out, size_t len, struct skl_err *err);

/* The last component of path (path itself when it has no '/'). */
const char *skl_state_last_component(const char *path);

/* True for a name under bpffsRoot that is no network, container or
 * interface: it starts with '.' or ':' (no component may; a '.' inside one
 * is stored as ':'). ADD's temporary directories and the spares are such. */
bool skl_state_name_hidden(const char *name);

/* One directory a walk visits: its path, its names below where the walk
 * began (name[0] first; levels of them), and whether it is a temporary
 * directory (a hidden ':' name, reported only with SKL_STATE_WALK_TEMPORARIES). */
struct skl_state_visit {
	const char *dir;
	const char *name[3];
	bool temporary;
};

/* Where a walk begins, as the number of levels down to the state
 * directories: bpffsRoot (NETWORK/CONTAINER/IFNAME), a network directory
 * (CONTAINER/IFNAME), or a container directory (IFNAME). With levels one
 * less, it visits the containers (levels 1 below a network directory). */
enum skl_state_levels {
	SKL_STATE_FROM_CONTAINER = 1,
	SKL_STATE_FROM_NETWORK = 2,
	SKL_STATE_FROM_ROOT = 3,
};

#define SKL_STATE_WALK_TEMPORARIES 1u /* also visit ':' names at the last level */

/* Calls fn for each directory levels below start (a state directory when
 * levels matches start's place in the tree). Hidden names are skipped at
 * every level but the last, where SKL_STATE_WALK_TEMPORARIES reports the
 * ':' ones (temporary set). Nothing is followed through a symbolic link;
 * what is not a directory is skipped. Stops at fn's first non-zero value
 * and returns it; 0 when fn never stopped it (or start cannot be opened).
 * Whether start can be trusted is the caller's to check
 * (skl_bpffs_check_root). */
int skl_state_walk(const char *start, int levels, unsigned flags,
		   int (*fn)(const struct skl_state_visit *v, void *arg), void *arg);

/* The netns inode the sk_lookup link pinned in the state directory dir is
 * attached to (0: detached, its netns is gone). Fails (SKL_CNI_INTERNAL)
 * when there is no pinned link or it is no netns sk_lookup link. */
int skl_state_link_netns(const char *dir, uint64_t *ino, struct skl_err *err);

/* The same for a link fd. */
int skl_link_netns(int link_fd, uint64_t *ino, struct skl_err *err);

/* Makes sure bpffs is mounted at the parent of root (mounts it if the parent
 * is not on bpffs, mode 0700) and that root exists, mode 0700, and can be
 * trusted (skl_bpffs_check_root). */
int skl_bpffs_ensure(const char *root, struct skl_err *err);

/* Refuses a bpffsRoot someone other than root could have prepared: each
 * existing directory on the way to it (and it) must be no symbolic link,
 * owned by root and not writable by group or others (a parent may be if
 * sticky, as bpffs' own root is). A part that does not exist yet is fine:
 * skl_bpffs_ensure creates it as root (and then checks again). The
 * message names the directory, its owner and mode, and the fix. */
int skl_bpffs_check_root(const char *root, struct skl_err *err);

/* True if path is on a bpffs mount. */
bool skl_bpffs_is_mounted(const char *path);

/* Creates the parents of dir (mode 0700) and takes an exclusive flock on
 * dir's parent (the container directory). *lock_fd is released by
 * skl_state_unlock. */
int skl_state_lock(const char *dir, int *lock_fd, struct skl_err *err);
void skl_state_unlock(int lock_fd);

/* The same lock on an existing pod, creating nothing: every writer of a
 * pod's maps (ADD, DEL, GC, sklookup-ctl, the node agent) holds this one
 * lock, so two never interleave. Waits up to wait_ms (LOCK_NB polls; < 0:
 * for ever), then fails with SKL_CNI_TRY_AGAIN_LATER ("busy, try again").
 * Fails with SKL_CNI_UNKNOWN_CONTAINER when dir is gone. */
#define SKL_STATE_LOCK_WAIT_MS 5000 /* for writers that serve others (the agent) */
int skl_state_lock_existing(const char *dir, int wait_ms, int *lock_fd, struct skl_err *err);

/* Creates an empty temporary directory next to dir (":tmp-<ifname>-XXXXXX":
 * bpffs refuses names with a dot, and no state name holds a colon;
 * mode 0700) and writes its path to tmp. */
int skl_state_mktemp(const char *dir, char *tmp, size_t len, struct skl_err *err);

/* Renames tmp to dir. Fails if dir exists. */
int skl_state_commit(const char *tmp, const char *dir, struct skl_err *err);

/* True if dir exists. */
bool skl_state_exists(const char *dir);

/* Unpins everything in dir and removes it, then removes the container and
 * network directories if they became empty. A missing dir is success. */
int skl_state_remove(const char *dir, struct skl_err *err);

/* Unpins everything in dir and removes it, leaving its parents. */
int skl_state_remove_dir(const char *dir, struct skl_err *err);

#endif
