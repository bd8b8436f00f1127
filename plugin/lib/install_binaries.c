/* The binaries step: the static sklookup and sklookup-ctl copied into the
 * CNI bin directory by rename(), so a runtime starting the plugin at that
 * moment runs the old binary or the new one, never a half-written file. */
#include "install.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const skl_install_binaries[2] = { "sklookup", "sklookup-ctl" };

static int join(char *out, size_t size, const char *dir, const char *name, struct skl_err *err)
{
	size_t n = strlen(dir);
	/* "/" (the node image's root) + name: one slash. */
	const char *sep = n && dir[n - 1] == '/' ? "" : "/";

	if ((size_t)snprintf(out, size, "%s%s%s", dir, sep, name) >= size)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s/%s: path too long", dir, name);
	return 0;
}

int skl_install_binary(const char *from, const char *bin_dir, const char *name, bool *changed,
		       struct skl_err *err)
{
	char src[PATH_MAX], dest[PATH_MAX], *data = NULL, *old = NULL;
	size_t len, old_len;
	mode_t mode;
	int rc = -1;

	*changed = false;
	if (join(src, sizeof(src), from, name, err) || join(dest, sizeof(dest), bin_dir, name, err))
		return -1;
	if (skl_install_read(src, SKL_INSTALL_BINARY_MAX, &data, &len, &mode, err)) {
		skl_err_prefix(err, "--from %s (the directory that holds sklookup and "
			       "sklookup-ctl)", from);
		return -1;
	}
	if (!(mode & 0100)) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: not executable (--from: the directory "
			 "that holds sklookup and sklookup-ctl)", src);
		goto out;
	}
	/* An identical binary is left alone (same inode: nothing for a
	 * runtime to notice). A dest that cannot be read is replaced. */
	if (!skl_install_read(dest, SKL_INSTALL_BINARY_MAX, &old, &old_len, NULL, NULL) &&
	    old_len == len && !memcmp(old, data, len)) {
		rc = 0;
		goto out;
	}
	if (skl_install_put(dest, data, len, 0755, "--cni-bin-dir", err))
		goto out;
	*changed = true;
	rc = 0;
out:
	free(old);
	free(data);
	return rc;
}

int skl_install_remove_binary(const char *bin_dir, const char *name, bool *removed,
			      struct skl_err *err)
{
	char path[PATH_MAX];

	*removed = false;
	if (join(path, sizeof(path), bin_dir, name, err))
		return -1;
	if (unlink(path)) {
		if (errno == ENOENT)
			return 0;
		return skl_errf(err, SKL_CNI_IO_FAILURE, "cannot remove %s: %s (--cni-bin-dir)", path,
				strerror(errno));
	}
	*removed = true;
	return 0;
}
