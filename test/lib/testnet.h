/* Fixtures for root tests: a private netns for the calling thread, shell
 * commands, and scratch directories on bpffs. Return 0 on success, -1 (with
 * errno) on failure unless said otherwise. */
#ifndef TESTNET_H
#define TESTNET_H

#include <stddef.h>

/* Scratch directories on bpffs are named TESTNET_BPFFS_PREFIX<pid>-<n>; the
 * suite runner reports any left behind as a leak. */
#define TESTNET_BPFFS_DIR "/sys/fs/bpf"
#define TESTNET_BPFFS_PREFIX TESTNET_BPFFS_DIR "/sklookup-test-"

/* Saves the calling thread's netns in *saved_fd, moves the thread into a new
 * anonymous netns and brings its lo up. The netns disappears once nothing
 * refers to it; restore with testnet_restore_netns. */
int testnet_unshare_netns(int *saved_fd);

/* Moves the calling thread back to saved_fd and closes it. */
int testnet_restore_netns(int saved_fd);

/* Runs a printf-formatted shell command with system(); returns its exit
 * status, or -1 if it could not run or was killed by a signal. */
int testnet_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Creates an empty directory TESTNET_BPFFS_PREFIX<pid>-<n> (no trailing '/'),
 * mounting bpffs at TESTNET_BPFFS_DIR first if needed, and writes its path. */
int testnet_bpffs_tmpdir(char *out, size_t len);

/* rm -rf for directories made by testnet_bpffs_tmpdir: refuses any path not
 * starting with TESTNET_BPFFS_PREFIX. A missing directory is success. */
int testnet_rm_rf_bpffs(const char *dir);

#endif
