/* Files replaced whole: a temporary file beside the target, renamed over it
 * once complete and on disk, so a reader never sees a partial file. */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is on disk once the directory is: a crash after we said
 * "installed" must not bring the old file back. Best effort: some
 * filesystems refuse fsync on a directory. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int skl_install_put(const char *path, const void *data, size_t len, mode_t mode, const char *what,
		    struct skl_err *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	const char *step;
	int fd;

	dir_of(path, dir, sizeof(dir));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.sklookup-XXXXXX.tmp", dir) >= sizeof(tmp))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: path too long", path);
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_IO_FAILURE,
				"cannot create a file in %s (%s): it must be a writable directory of "
				"the host (%s)", dir, strerror(errno), what);
	step = "write";
	if (write_all(fd, data, len))
		goto fail;
	step = "chmod";
	if (fchmod(fd, mode))
		goto fail;
	step = "fsync";
	if (fsync(fd))
		goto fail;
	step = "close";
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, path))
		goto fail;
	sync_dir(dir);
	return 0;
fail:
	skl_errf(err, SKL_CNI_IO_FAILURE, "%s: %s failed (%s); %s is unchanged (%s)", tmp, step,
		 strerror(errno), path, what);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int skl_install_read(const char *path, size_t max, char **data, size_t *len, mode_t *mode,
		     struct skl_err *err)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd;

	*data = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return skl_errf(err, SKL_CNI_IO_FAILURE, "cannot read %s: %s%s", path,
				strerror(errno),
				errno == ELOOP ? " (a symbolic link: replace it with the file)" : "");
	if (fstat(fd, &st)) {
		skl_errf(err, SKL_CNI_IO_FAILURE, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "%s: %s", path,
				!S_ISREG(st.st_mode) ? "not a regular file" : "larger than the limit");
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return skl_errf(err, SKL_CNI_INTERNAL, "%s: out of memory", path);
	}
	/* Read to the end: a file may grow between fstat and read; anything
	 * past the size seen is refused rather than cut. */
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			skl_errf(err, SKL_CNI_IO_FAILURE, "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			skl_errf(err, SKL_CNI_TRY_AGAIN_LATER, "%s changed while read: try again",
				 path);
			goto fail;
		}
	}
	close(fd);
	buf[got] = 0;
	*data = buf;
	*len = got;
	if (mode)
		*mode = st.st_mode & 07777;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

int skl_install_check_dir(const char *dir, const char *what, const char *host_path,
			  struct skl_err *err)
{
	struct stat st;
	const char *why = "not a directory";

	if (stat(dir, &st))
		why = errno == ENOENT ? "no such directory" : strerror(errno);
	else if (S_ISDIR(st.st_mode))
		return 0;
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"%s %s: %s: mount the host's %s there, or give its path", what, dir, why,
			host_path);
}
