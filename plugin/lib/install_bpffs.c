/* The bpffs step: the plugin pins each pod's state in bpffs, which must be
 * mounted on the host (in the DaemonSet, /sys/fs/bpf is the host's, mounted
 * with Bidirectional propagation, so a mount made here appears there). */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

/* mkdir -p dir, mode 0755 for what it makes. */
static int make_dirs(const char *dir, struct skl_err *err)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "--bpffs \"%s\": give a directory", dir);
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char c = *p;

		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return skl_errf(err, SKL_CNI_IO_FAILURE, "--bpffs %s: cannot make %s: %s", dir,
					path, strerror(errno));
		*p = c;
		if (!c)
			return 0;
	}
}

int skl_install_bpffs(const char *dir, bool *mounted, struct skl_err *err)
{
	int fd, rc = 0;

	*mounted = false;
	if (skl_bpffs_is_mounted(dir))
		return 0;
	if (make_dirs(dir, err))
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_IO_FAILURE, "--bpffs %s: %s", dir, strerror(errno));
	/* The plugin mounts under the same lock: two mounts at once would
	 * stack, the second hiding what is pinned in the first. */
	if (flock(fd, LOCK_EX) < 0) {
		rc = skl_errf(err, SKL_CNI_IO_FAILURE, "--bpffs %s: cannot lock it: %s", dir,
			      strerror(errno));
	} else if (!skl_bpffs_is_mounted(dir)) {
		/* mode=0700: bpffs' default, 1777, would let anyone make
		 * directories in it (such as the plugin's bpffsRoot before its
		 * first ADD). */
		if (mount("bpf", dir, "bpf", 0, "mode=0700"))
			rc = skl_errf(err, SKL_CNI_IO_FAILURE,
				      "cannot mount bpffs at %s: %s: run as root with CAP_SYS_ADMIN "
				      "(in a pod: a privileged container)", dir, strerror(errno));
		else
			*mounted = true;
	}
	close(fd);
	return rc;
}
