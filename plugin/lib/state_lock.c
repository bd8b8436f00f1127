/*
 * The pod's lock: an exclusive flock on its container directory, held by
 * every writer of the pod's state and maps (ADD, DEL, GC, sklookup-ctl,
 * the node agent), taken on the directory still at its path (not one a
 * concurrent removal unlinked while we waited).
 */
#include "state.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state_internal.h"

#define SKL_LOCK_ATTEMPTS 100
#define SKL_LOCK_POLL_MS 10

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
		skl_state_mkdir_error(failed, errnum, err);
		return LOCK_FAILED;
	}
	fd = skl_state_open_dir_nofollow(container);
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

	if (skl_state_parent(dir, container, sizeof(container), err) < 0)
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

	if (skl_state_parent(dir, container, sizeof(container), err) < 0)
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
