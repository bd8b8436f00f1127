/*
 * Creating a pod's state: built in a temporary directory next to it and
 * renamed into place, so that a state directory is complete or absent.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "state_internal.h"

int skl_state_mktemp(const char *dir, char *tmp, size_t len, struct skl_err *err)
{
	char container[PATH_MAX];
	int n;

	if (skl_state_parent(dir, container, sizeof(container), err) < 0)
		return -1;
	n = snprintf(tmp, len, "%s/" SKL_STATE_TMP_PREFIX "%s-XXXXXX", container,
		     skl_state_last_component(dir));
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
