/*
 * The arithmetic of port range lists: sorting and merging, subtracting, and
 * the plan of which served ports to reserve. Pure: no I/O.
 */
#include "portreserve_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* *out gets room for n ranges (NULL for none). */
int skl_port_ranges_alloc(size_t n, struct skl_port_range **out, struct skl_err *err)
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
void skl_port_ranges_drop_if_empty(struct skl_port_range **v, size_t n)
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

int skl_port_ranges_normalized_copy(const struct skl_port_range *v, size_t n,
				    struct skl_port_range **out, size_t *n_out, struct skl_err *err)
{
	if (skl_port_ranges_alloc(n, out, err) < 0)
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
	if (skl_port_ranges_alloc(na + nb, out, err) < 0)
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
	skl_port_ranges_drop_if_empty(out, n);
	*n_out = n;
	return 0;
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
	if (skl_port_ranges_alloc(n_served, add, err) < 0)
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
	skl_port_ranges_drop_if_empty(add, n);
	*n_add = n;
	*n_skipped = skipped;
	return 0;
}
