/*
 * Removing a pod's state: unpinning what its directory holds (opened
 * without following a symbolic link), the directory, then its container
 * and network directories if that left them empty.
 */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "state_internal.h"

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
	int fd = skl_state_open_dir_nofollow(dir);
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

	if (skl_state_parent(dir, container, sizeof(container), err) < 0 ||
	    remove_if_empty(container, err) < 0 ||
	    skl_state_parent(container, network, sizeof(network), err) < 0)
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
