/*
 * net.ipv4.ip_local_reserved_ports and ip_local_port_range of the current
 * netns: reading them, and the read-modify-write of the reserved ports. The
 * read-modify-write is not atomic; that is fine because invocations for one
 * pod are serialised and other pods have their own netns (and sysctl).
 */
#include "portreserve_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The longest list the kernel can print: every other port, ~191 KB. */
#define SYSCTL_READ_MAX (256 * 1024)
#define SYSCTL_READ_FIRST 4096

static int open_sysctl(const char *path, const char *name, int flags, int *fd,
		       struct skl_err *err)
{
	*fd = open(path, flags | O_CLOEXEC);
	if (*fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"cannot open %s (%s): %s; it needs root and a mounted /proc", path,
				name, strerror(errno));
	return 0;
}

/* The whole text of a sysctl file. The kernel prints these lists in one
 * read from offset 0 and truncates them to the buffer, so a read that fills
 * the buffer is retried with a bigger one. */
static int read_sysctl(const char *path, const char *name, char **text, struct skl_err *err)
{
	size_t cap = SYSCTL_READ_FIRST;
	ssize_t n;
	int fd, e = 0;

	if (open_sysctl(path, name, O_RDONLY, &fd, err) < 0)
		return -1;
	for (;;) {
		*text = malloc(cap + 1);
		if (!*text) {
			close(fd);
			return skl_errf(err, SKL_CNI_INTERNAL, "out of memory reading %s", path);
		}
		n = pread(fd, *text, cap, 0);
		if (n < 0)
			e = errno;
		else if ((size_t)n == cap && cap >= SYSCTL_READ_MAX)
			e = EFBIG;
		if (e || (size_t)n < cap)
			break;
		free(*text);
		cap *= 2;
	}
	close(fd);
	if (e) {
		free(*text);
		*text = NULL;
		return skl_errf(err, SKL_CNI_INTERNAL, "cannot read %s (%s): %s", path, name,
				strerror(e));
	}
	(*text)[n] = '\0';
	return 0;
}

/* Writes all of text. The kernel parses at most a page per write() and ORs
 * later chunks into the first, so short writes are continued. */
static int write_sysctl(const char *path, const char *name, const char *text,
			struct skl_err *err)
{
	size_t left = strlen(text);
	int fd;

	if (open_sysctl(path, name, O_WRONLY, &fd, err) < 0)
		return -1;
	while (left > 0) {
		ssize_t n = write(fd, text, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			close(fd);
			return skl_errf(err, SKL_CNI_INTERNAL,
					"cannot write %s (%s): %s; it needs root (CAP_NET_ADMIN "
					"in the netns) and a writable /proc/sys",
					path, name, strerror(e));
		}
		text += n;
		left -= (size_t)n;
	}
	close(fd);
	return 0;
}

int skl_ephemeral_ports_read(uint16_t *lo, uint16_t *hi, struct skl_err *err)
{
	char *text;
	int rc;

	if (read_sysctl(SKL_EPHEMERAL_PORTS_PATH, EPHEMERAL_SYSCTL, &text, err) < 0)
		return -1;
	rc = skl_ephemeral_ports_parse(text, lo, hi, err);
	free(text);
	return rc;
}

int skl_reserved_ports_read(struct skl_port_range **out, size_t *n, struct skl_err *err)
{
	char *text;
	int rc;

	if (read_sysctl(SKL_RESERVED_PORTS_PATH, RESERVED_SYSCTL, &text, err) < 0)
		return -1;
	rc = skl_reserved_ports_parse(text, out, n, err);
	free(text);
	return rc;
}

int skl_reserved_ports_write(const struct skl_port_range *v, size_t n, struct skl_err *err)
{
	char *list, *line;
	int rc;

	if (skl_reserved_ports_format(v, n, &list, err) < 0)
		return -1;
	/* A newline ends the list; an empty write would not clear it. */
	if (asprintf(&line, "%s\n", list) < 0) {
		free(list);
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory writing %s",
				SKL_RESERVED_PORTS_PATH);
	}
	free(list);
	rc = write_sysctl(SKL_RESERVED_PORTS_PATH, RESERVED_SYSCTL, line, err);
	free(line);
	return rc;
}

/* The current reserved ports with `extra` added, written back. */
static int write_union(const struct skl_port_range *cur, size_t n_cur,
		       const struct skl_port_range *extra, size_t n_extra, struct skl_err *err)
{
	struct skl_port_range *all;
	size_t n_all = n_cur + n_extra;
	int rc;

	if (skl_port_ranges_alloc(n_all, &all, err) < 0)
		return -1;
	if (n_cur)
		memcpy(all, cur, n_cur * sizeof(*cur));
	if (n_extra)
		memcpy(all + n_cur, extra, n_extra * sizeof(*extra));
	skl_port_ranges_normalize(all, &n_all);
	rc = skl_reserved_ports_write(all, n_all, err);
	free(all);
	return rc;
}

int skl_reserved_ports_add(const struct skl_port_range *add, size_t n,
			   struct skl_port_range **added, size_t *n_added, struct skl_err *err)
{
	struct skl_port_range *cur = NULL, *want = NULL, *fresh = NULL;
	size_t n_cur, n_want, n_fresh = 0;
	int rc = -1;

	*added = NULL;
	*n_added = 0;
	if (skl_reserved_ports_read(&cur, &n_cur, err) < 0 ||
	    skl_port_ranges_normalized_copy(add, n, &want, &n_want, err) < 0 ||
	    skl_port_ranges_subtract(want, n_want, cur, n_cur, &fresh, &n_fresh, err) < 0)
		goto out;
	if (n_fresh && write_union(cur, n_cur, fresh, n_fresh, err) < 0)
		goto out;
	*added = fresh;
	*n_added = n_fresh;
	fresh = NULL;
	rc = 0;
out:
	free(cur);
	free(want);
	free(fresh);
	return rc;
}

int skl_reserved_ports_remove(const struct skl_port_range *v, size_t n, struct skl_err *err)
{
	struct skl_port_range *cur = NULL, *drop = NULL, *rest = NULL;
	size_t n_cur, n_drop, n_rest = 0;
	int rc = -1;

	if (skl_reserved_ports_read(&cur, &n_cur, err) < 0 ||
	    skl_port_ranges_normalized_copy(v, n, &drop, &n_drop, err) < 0 ||
	    skl_port_ranges_subtract(cur, n_cur, drop, n_drop, &rest, &n_rest, err) < 0)
		goto out;
	/* Unchanged lists are not written: removing what is not there needs no
	 * privilege and changes nothing. */
	rc = n_rest == n_cur && (n_cur == 0 || memcmp(rest, cur, n_cur * sizeof(*cur)) == 0)
		     ? 0
		     : skl_reserved_ports_write(rest, n_rest, err);
out:
	free(cur);
	free(drop);
	free(rest);
	return rc;
}
