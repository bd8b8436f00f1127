/*
 * The BPF map I/O of an apply: whole arrays in one call each, and the wait
 * for a grace period after which no program reads the old generation.
 */
#include "rules_internal.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define FALLBACK_GRACE_US (50 * 1000)

int skl_rules_kernel_err(struct skl_err *err, const char *what)
{
	return skl_errf(err, SKL_CNI_INTERNAL, "%s: %s", what, strerror(errno));
}

/* Waits until no BPF program run that started before now is still running
 * (MEMBARRIER_CMD_GLOBAL is a synchronize_rcu()). */
int skl_rules_wait_for_readers(struct skl_err *err)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return 0;
	/* nohz_full kernels refuse it; a program run takes nanoseconds, so
	 * this sleep is a grace period many times over. */
	if (errno == EINVAL) {
		usleep(FALLBACK_GRACE_US);
		return 0;
	}
	return skl_rules_kernel_err(err, "membarrier");
}

/* Reads a whole BPF array in one call (a lookup per element costs a
 * syscall each, and an ADD reads every array it writes). */
int skl_rules_read_array(int fd, uint32_t n, void *values, size_t size, struct skl_err *err)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys)), out_batch, done = 0;
	int ret = 0;

	if (!keys)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	while (done < n) {
		uint32_t count = n - done;

		if (bpf_map_lookup_batch(fd, done ? &out_batch : NULL, &out_batch, keys,
					 (char *)values + (size_t)done * size, &count, NULL) &&
		    errno != ENOENT) {
			ret = skl_rules_kernel_err(err, "reading a BPF array");
			break;
		}
		done += count;
		if (!count || errno == ENOENT)
			break;
	}
	if (!ret && done != n)
		ret = skl_errf(err, SKL_CNI_INTERNAL, "reading a BPF array: %u of %u entries",
			       done, n);
	free(keys);
	return ret;
}

/* Writes entries [0, n) of values to keys first.. of a BPF array at once. */
int skl_rules_write_array(int fd, uint32_t first, uint32_t n, const void *values,
			  const char *what, struct skl_err *err)
{
	uint32_t *keys, count = n;
	int ret = 0;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (bpf_map_update_batch(fd, keys, values, &count, NULL) || count != n)
		ret = skl_rules_kernel_err(err, what);
	free(keys);
	return ret;
}
