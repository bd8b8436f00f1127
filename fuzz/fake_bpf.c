/*
 * The six libbpf calls record.c makes, faked with plain files so that the
 * state record can be fuzzed without BPF (and without root). A "map" is a
 * file: a header (value size, entry count) and the entries; an fd of a map
 * is an fd of such a file, so record.c's close() works as usual. Pinning
 * copies the map to a file at the pin path, which record.c may rename.
 * Only BPF_MAP_TYPE_ARRAY with 4-byte keys is modelled: all record.c uses.
 */
#include "fake_bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

struct header {
	uint32_t value_size, max_entries;
};

static char map_dir[4096];
uint32_t fake_bpf_last_value_size;

static int read_header(int fd, struct header *h)
{
	if (pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int new_map_file(const char *path, uint32_t value_size, uint32_t max_entries)
{
	struct header h = { value_size, max_entries };
	int fd = path ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
		      : open(map_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)sizeof(h) + (off_t)value_size * max_entries) ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Under $TMPDIR, which fuzz/run.sh points into the build directory: a
 * crash ends the process without atexit() cleanup. */
const char *fake_bpf_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!map_dir[0]) {
		snprintf(map_dir, sizeof(map_dir), "%s/skl-fuzz-record-%d", tmp && tmp[0] ? tmp : "/tmp",
			 (int)getpid());
		FUZZ_CHECK(mkdir(map_dir, 0700) == 0 || errno == EEXIST, "mkdir %s", map_dir);
	}
	return map_dir;
}

int fake_bpf_write_map(const char *path, uint32_t value_size, const uint8_t *data, size_t size)
{
	uint32_t entries = (uint32_t)((size + value_size - 1) / value_size);
	int fd;

	unlink(path);
	fd = new_map_file(path, value_size, entries);
	if (fd < 0)
		return -1;
	if (size && pwrite(fd, data, size, sizeof(struct header)) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int bpf_map_create(enum bpf_map_type map_type, const char *map_name, __u32 key_size,
		   __u32 value_size, __u32 max_entries, const struct bpf_map_create_opts *opts)
{
	(void)map_name;
	(void)opts;
	if (map_type != BPF_MAP_TYPE_ARRAY || key_size != sizeof(uint32_t) || !value_size) {
		errno = EINVAL;
		return -1;
	}
	fake_bpf_last_value_size = value_size;
	return new_map_file(NULL, value_size, max_entries);
}

int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)
{
	uint32_t i = *(const uint32_t *)key;
	struct header h;

	(void)flags;
	if (read_header(fd, &h))
		return -1;
	if (i >= h.max_entries) {
		errno = E2BIG;
		return -1;
	}
	return pwrite(fd, value, h.value_size, (off_t)sizeof(h) + (off_t)i * h.value_size) ==
			       (ssize_t)h.value_size ? 0 : -1;
}

int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	uint32_t i = *(const uint32_t *)key;
	struct header h;

	if (read_header(fd, &h))
		return -1;
	if (i >= h.max_entries) {
		errno = ENOENT;
		return -1;
	}
	return pread(fd, value, h.value_size, (off_t)sizeof(h) + (off_t)i * h.value_size) ==
			       (ssize_t)h.value_size ? 0 : -1;
}

int bpf_obj_pin(int fd, const char *pathname)
{
	struct header h;
	struct stat st;
	char *all;
	int out, ret = -1;

	if (read_header(fd, &h) || fstat(fd, &st))
		return -1;
	all = malloc((size_t)st.st_size);
	FUZZ_CHECK(all != NULL, "out of memory");
	out = open(pathname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out >= 0 && pread(fd, all, (size_t)st.st_size, 0) == st.st_size &&
	    write(out, all, (size_t)st.st_size) == st.st_size)
		ret = 0;
	if (out >= 0)
		close(out);
	free(all);
	return ret;
}

int bpf_obj_get(const char *pathname)
{
	return open(pathname, O_RDWR | O_CLOEXEC);
}

int bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len)
{
	struct bpf_map_info m = { .type = BPF_MAP_TYPE_ARRAY, .key_size = sizeof(uint32_t) };
	struct header h;

	if (read_header(bpf_fd, &h))
		return -1;
	m.value_size = h.value_size;
	m.max_entries = h.max_entries;
	if (*info_len > sizeof(m))
		*info_len = sizeof(m);
	memcpy(info, &m, *info_len);
	return 0;
}

/* The record parser never reaches a program: binding a map to one is a
 * kernel matter the fuzzer has nothing to find in. */
int bpf_prog_bind_map(int prog_fd, int map_fd, const struct bpf_prog_bind_opts *opts)
{
	(void)prog_fd;
	(void)map_fd;
	(void)opts;
	return 0;
}
