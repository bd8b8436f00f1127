/* Fixtures for root tests; see testnet.h. */
#include "testnet.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define TESTNET_BPF_FS_MAGIC 0xcafe4a11
#define TESTNET_MAX_OPEN_FDS 16

int testnet_unshare_netns(int *saved_fd)
{
	int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (saved < 0)
		return -1;
	if (unshare(CLONE_NEWNET) < 0) {
		int saved_errno = errno;

		close(saved);
		errno = saved_errno;
		return -1;
	}
	if (testnet_run("ip link set lo up") != 0) {
		testnet_restore_netns(saved);
		errno = EIO;
		return -1;
	}
	*saved_fd = saved;
	return 0;
}

int testnet_restore_netns(int saved_fd)
{
	int rc = setns(saved_fd, CLONE_NEWNET);
	int saved_errno = errno;

	close(saved_fd);
	errno = saved_errno;
	return rc;
}

int testnet_run(const char *fmt, ...)
{
	char command[4096];
	va_list ap;
	int n, status;

	va_start(ap, fmt);
	n = vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(command)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fflush(NULL); /* keep the command's output after ours */
	status = system(command);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int ensure_bpffs_mounted(void)
{
	struct statfs fs;

	if (statfs(TESTNET_BPFFS_DIR, &fs) == 0 && fs.f_type == TESTNET_BPF_FS_MAGIC)
		return 0;
	return mount("bpf", TESTNET_BPFFS_DIR, "bpf", 0, "mode=0700");
}

int testnet_bpffs_tmpdir(char *out, size_t len)
{
	static unsigned int next;
	int n;

	if (ensure_bpffs_mounted() < 0)
		return -1;
	for (;;) {
		n = snprintf(out, len, TESTNET_BPFFS_PREFIX "%d-%u", (int)getpid(), next++);
		if (n < 0 || (size_t)n >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(out, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int testnet_rm_rf_bpffs(const char *dir)
{
	size_t prefix_len = strlen(TESTNET_BPFFS_PREFIX);

	if (strncmp(dir, TESTNET_BPFFS_PREFIX, prefix_len) != 0 || strlen(dir) == prefix_len ||
	    strstr(dir, "/..")) {
		errno = EINVAL;
		return -1;
	}
	if (nftw(dir, remove_entry, TESTNET_MAX_OPEN_FDS, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return errno == ENOENT ? 0 : -1;
	return 0;
}
