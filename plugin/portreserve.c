/*
 * net.ipv4.ip_local_reserved_ports of the current netns: list arithmetic,
 * the kernel's list syntax, and read-modify-write of the sysctl. The
 * read-modify-write is not atomic; that is fine because invocations for one
 * pod are serialised and other pods have their own netns (and sysctl).
 */
#include "portreserve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESERVED_SYSCTL "net.ipv4.ip_local_reserved_ports"
#define EPHEMERAL_SYSCTL "net.ipv4.ip_local_port_range"
#define PORT_LIMIT 65535u
/* The longest list the kernel can print: every other port, ~191 KB. */
#define SYSCTL_READ_MAX (256 * 1024)
#define SYSCTL_READ_FIRST 4096
/* "65535-65535," */
#define RANGE_TEXT_MAX 12

/* ------------------------------------------------------------------------
 * Range lists
 */

/* *out gets room for n ranges (NULL for none). */
static int ranges_alloc(size_t n, struct skl_port_range **out, struct skl_err *err)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory for %zu port ranges", n);
	return 0;
}

/* Frees an empty result so that empty lists are always NULL. */
static void ranges_drop_if_empty(struct skl_port_range **v, size_t n)
{
	if (n == 0) {
		free(*v);
		*v = NULL;
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct skl_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void skl_port_ranges_normalize(struct skl_port_range *v, size_t *n)
{
	size_t out = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), range_cmp);
	for (size_t i = 1; i < *n; i++) {
		if ((uint32_t)v[i].lo <= (uint32_t)v[out].hi + 1) {
			if (v[i].hi > v[out].hi)
				v[out].hi = v[i].hi;
		} else {
			v[++out] = v[i];
		}
	}
	*n = out + 1;
}

static int ranges_normalized_copy(const struct skl_port_range *v, size_t n,
				  struct skl_port_range **out, size_t *n_out, struct skl_err *err)
{
	if (ranges_alloc(n, out, err) < 0)
		return -1;
	if (n)
		memcpy(*out, v, n * sizeof(*v));
	*n_out = n;
	skl_port_ranges_normalize(*out, n_out);
	return 0;
}

static void ranges_push(struct skl_port_range *v, size_t *n, uint32_t lo, uint32_t hi)
{
	v[*n] = (struct skl_port_range){ .lo = (__u16)lo, .hi = (__u16)hi };
	(*n)++;
}

int skl_port_ranges_subtract(const struct skl_port_range *a, size_t na,
			     const struct skl_port_range *b, size_t nb, struct skl_port_range **out,
			     size_t *n_out, struct skl_err *err)
{
	size_t j = 0, n = 0;

	/* Each range of b splits at most one range of a in two. */
	if (ranges_alloc(na + nb, out, err) < 0)
		return -1;
	for (size_t i = 0; i < na; i++) {
		uint32_t lo = a[i].lo, hi = a[i].hi;

		while (j < nb && b[j].hi < lo)
			j++;
		for (size_t k = j; k < nb && b[k].lo <= hi && lo <= hi; k++) {
			if (b[k].lo > lo)
				ranges_push(*out, &n, lo, b[k].lo - 1u);
			lo = (uint32_t)b[k].hi + 1;
		}
		if (lo <= hi)
			ranges_push(*out, &n, lo, hi);
	}
	ranges_drop_if_empty(out, n);
	*n_out = n;
	return 0;
}

/* ------------------------------------------------------------------------
 * The kernel's syntax
 */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Reads a decimal port at *p (before end) and moves *p past it. */
static bool parse_port(const char **p, const char *end, uint32_t *port)
{
	const char *start = *p;
	uint32_t value = 0;

	while (*p < end && **p >= '0' && **p <= '9' && value <= PORT_LIMIT) {
		value = value * 10 + (uint32_t)(**p - '0');
		(*p)++;
	}
	*port = value;
	return *p > start && value <= PORT_LIMIT;
}

/* s is quoted up to end (without the kernel's newline), at most 64 bytes. */
static int list_syntax_error(struct skl_err *err, const char *s, const char *end, const char *at,
			     const char *what)
{
	int shown = end - s > 64 ? 64 : (int)(end - s);

	return skl_errf(err, SKL_CNI_INTERNAL,
			RESERVED_SYSCTL " \"%.*s\" is not a port list: %s at offset %zu; the "
			"syntax is \"1000-2000,3000\" with ports 0-65535",
			shown, s, what, (size_t)(at - s));
}

/* Parses one "N" or "N-M" at *p and moves *p past it. */
static int parse_list_item(const char *s, const char **p, const char *end,
			   struct skl_port_range *range, struct skl_err *err)
{
	uint32_t lo, hi;

	if (!parse_port(p, end, &lo))
		return list_syntax_error(err, s, end, *p, "expected a port");
	hi = lo;
	if (*p < end && **p == '-') {
		(*p)++;
		if (!parse_port(p, end, &hi))
			return list_syntax_error(err, s, end, *p, "expected a port after '-'");
	}
	if (lo > hi)
		return list_syntax_error(err, s, end, *p, "a range ends below its start");
	*range = (struct skl_port_range){ .lo = (__u16)lo, .hi = (__u16)hi };
	return 0;
}

int skl_reserved_ports_parse(const char *s, struct skl_port_range **out, size_t *n,
			     struct skl_err *err)
{
	const char *p = s, *end = s + strlen(s);
	size_t count = 0, items = 1;

	while (end > s && is_space(end[-1]))
		end--;
	*out = NULL;
	*n = 0;
	if (p == end)
		return 0;
	for (const char *c = p; c < end; c++)
		items += *c == ',';
	if (ranges_alloc(items, out, err) < 0)
		return -1;
	for (;;) {
		if (parse_list_item(s, &p, end, &(*out)[count], err) < 0)
			goto fail;
		count++;
		if (p == end)
			break;
		if (*p != ',') {
			list_syntax_error(err, s, end, p, "expected ',' or the end");
			goto fail;
		}
		p++;
	}
	skl_port_ranges_normalize(*out, &count);
	*n = count;
	return 0;
fail:
	free(*out);
	*out = NULL;
	return -1;
}

int skl_reserved_ports_format(const struct skl_port_range *v, size_t n, char **out,
			      struct skl_err *err)
{
	size_t cap = n * RANGE_TEXT_MAX + 1, used = 0;
	char *text = malloc(cap);

	if (!text)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory formatting %zu port ranges",
				n);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "," : "";

		if (v[i].lo == v[i].hi)
			used += (size_t)snprintf(text + used, cap - used, "%s%u", sep, v[i].lo);
		else
			used += (size_t)snprintf(text + used, cap - used, "%s%u-%u", sep, v[i].lo,
						 v[i].hi);
	}
	*out = text;
	return 0;
}

int skl_ephemeral_ports_parse(const char *s, uint16_t *lo, uint16_t *hi, struct skl_err *err)
{
	const char *p = s, *end = s + strlen(s);
	uint32_t first, last;

	while (p < end && is_space(*p))
		p++;
	if (!parse_port(&p, end, &first) || p == end || !is_space(*p))
		goto bad;
	while (p < end && is_space(*p))
		p++;
	if (!parse_port(&p, end, &last))
		goto bad;
	while (p < end && is_space(*p))
		p++;
	if (p != end || first > last)
		goto bad;
	*lo = (uint16_t)first;
	*hi = (uint16_t)last;
	return 0;
bad:
	return skl_errf(err, SKL_CNI_INTERNAL,
			EPHEMERAL_SYSCTL " \"%.64s\" is not a port range: expected two ports "
			"\"LOW HIGH\" with LOW <= HIGH",
			s);
}

/* ------------------------------------------------------------------------
 * Plan
 */

static bool covers(uint32_t lo, uint32_t hi, uint16_t eph_lo, uint16_t eph_hi)
{
	return lo <= eph_lo && hi >= eph_hi;
}

int skl_reserved_ports_plan(const struct skl_port_range *served, size_t n_served, uint16_t eph_lo,
			    uint16_t eph_hi, struct skl_port_range **add, size_t *n_add,
			    size_t *n_skipped, struct skl_err *err)
{
	size_t n = 0, skipped = 0;

	*n_add = 0;
	*n_skipped = 0;
	if (ranges_alloc(n_served, add, err) < 0)
		return -1;
	for (size_t i = 0; eph_lo <= eph_hi && i < n_served; i++) {
		uint32_t lo = served[i].lo > eph_lo ? served[i].lo : eph_lo;
		uint32_t hi = served[i].hi < eph_hi ? served[i].hi : eph_hi;

		if (covers(served[i].lo, served[i].hi, eph_lo, eph_hi))
			skipped++;
		else if (lo <= hi)
			ranges_push(*add, &n, lo, hi);
	}
	skl_port_ranges_normalize(*add, &n);
	if (n == 1 && covers((*add)[0].lo, (*add)[0].hi, eph_lo, eph_hi)) {
		/* Several served ranges that together cover the whole range. */
		for (size_t i = 0; i < n_served; i++)
			skipped += !covers(served[i].lo, served[i].hi, eph_lo, eph_hi) &&
				   served[i].lo <= eph_hi && served[i].hi >= eph_lo;
		n = 0;
	}
	ranges_drop_if_empty(add, n);
	*n_add = n;
	*n_skipped = skipped;
	return 0;
}

/* ------------------------------------------------------------------------
 * The sysctl files
 */

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

	if (ranges_alloc(n_all, &all, err) < 0)
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
	    ranges_normalized_copy(add, n, &want, &n_want, err) < 0 ||
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
	    ranges_normalized_copy(v, n, &drop, &n_drop, err) < 0 ||
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
