/* Which file of the CNI config directory the runtime reads: containerd
 * (go-cni) and CRI-O take libcni's ConfFiles (every entry that is not a
 * directory, hidden ones too, ending in .conf, .conflist or .json), sort
 * them as Go strings (bytes) and use the first. */
#include "install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool config_extension(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (!strcmp(dot, ".conf") || !strcmp(dot, ".conflist") || !strcmp(dot, ".json"));
}

int skl_install_first_config(const char *conf_dir, char *name, size_t size, struct skl_err *err)
{
	DIR *dir = opendir(conf_dir);
	struct dirent *e;
	bool found = false;

	if (!dir)
		return skl_errf(err, SKL_CNI_IO_FAILURE, "--cni-conf-dir %s: %s", conf_dir,
				strerror(errno));
	while ((errno = 0, e = readdir(dir))) {
		struct stat st;

		if (!config_extension(e->d_name))
			continue;
		if (found && strcmp(e->d_name, name) >= 0)
			continue;
		/* libcni skips directories only (as lstat sees them: a link
		 * to a directory counts, and fails there). */
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode))
			continue;
		if (strlen(e->d_name) >= size) {
			closedir(dir);
			return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s/%s: name too long", conf_dir,
					e->d_name);
		}
		snprintf(name, size, "%s", e->d_name);
		found = true;
	}
	if (errno) {
		int saved = errno;

		closedir(dir);
		return skl_errf(err, SKL_CNI_IO_FAILURE, "--cni-conf-dir %s: %s", conf_dir,
				strerror(saved));
	}
	closedir(dir);
	return found ? 0 : 1;
}
