/*
 * Port tables: each prefix's table of segments (port -> binding), merged
 * with its parent prefix's, and stored once however many prefixes share it.
 */
#include "compile_internal.h"

#include <stdlib.h>
#include <string.h>

#define PORT_SPACE_END ((unsigned)SKL_PORT_MAX)

static int seg_emit(struct seglist *l, uint32_t start, uint32_t binding)
{
	if (l->n && l->v[l->n - 1].binding == binding)
		return 0;
	if (skl_compile_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return -1;
	l->v[l->n++] = (struct skl_segment){ .start = start, .binding = binding };
	return 0;
}

static uint32_t seg_end(const struct skl_segment *v, size_t n, size_t i)
{
	return i + 1 < n ? v[i + 1].start - 1 : PORT_SPACE_END;
}

/* The group's own table: the narrowest of its (laminar) ranges per port,
 * SKL_NONE where none covers it. Rules come sorted by lo, wider first, so
 * a stack holds the chain of ranges that contain the current port. */
int skl_compile_own_segments(const struct group *g, struct seglist *out)
{
	const struct rule **stack = malloc(g->n_rules * sizeof(*stack));
	uint32_t cur = 0;
	size_t sp = 0;
	int ret = -1;

	if (!stack)
		return -1;
	for (size_t i = 0; i < g->n_rules; i++) {
		const struct rule *r = &g->rules[i];

		while (sp && stack[sp - 1]->hi < r->lo) {
			const struct rule *t = stack[--sp];

			if (cur <= t->hi) {
				if (seg_emit(out, cur, t->binding))
					goto out;
				cur = t->hi + 1u;
			}
		}
		if (cur < r->lo) {
			if (seg_emit(out, cur, sp ? stack[sp - 1]->binding : SKL_NONE))
				goto out;
			cur = r->lo;
		}
		/* Identical ranges (same label, or conflicts would have refused
		 * them): the first binding keeps the range. */
		if (sp && stack[sp - 1]->lo == r->lo && stack[sp - 1]->hi == r->hi)
			continue;
		stack[sp++] = r;
	}
	while (sp) {
		const struct rule *t = stack[--sp];

		if (cur <= t->hi) {
			if (seg_emit(out, cur, t->binding))
				goto out;
			cur = t->hi + 1u;
		}
	}
	if (cur <= PORT_SPACE_END && seg_emit(out, cur, SKL_NONE))
		goto out;
	ret = 0;
out:
	free(stack);
	return ret;
}

/* Fills the gaps of own with the parent prefix's merged table. */
int skl_compile_merge_parent(const struct seglist *own, const struct skl_segment *parent,
			     size_t n_parent, struct seglist *out)
{
	size_t i = 0, j = 0;
	uint32_t pos = 0;

	while (pos <= PORT_SPACE_END) {
		uint32_t own_end = seg_end(own->v, own->n, i);
		uint32_t parent_end = seg_end(parent, n_parent, j);
		uint32_t end = own_end < parent_end ? own_end : parent_end;
		uint32_t b = own->v[i].binding != SKL_NONE ? own->v[i].binding : parent[j].binding;

		if (seg_emit(out, pos, b))
			return -1;
		pos = end + 1;
		if (own_end == end)
			i++;
		if (parent_end == end)
			j++;
	}
	return 0;
}

static uint64_t hash_segments(const struct skl_segment *v, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ v[i].start) * 1099511628211ull;
		h = (h ^ v[i].binding) * 1099511628211ull;
	}
	return h;
}

static int index_grow(struct table_index *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : 64;
	__typeof__(ix->slot) slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -1;
	for (size_t i = 0; i < ix->cap; i++) {
		size_t k;

		if (!ix->slot[i].used)
			continue;
		for (k = ix->slot[i].hash & (cap - 1); slot[k].used; k = (k + 1) & (cap - 1))
			;
		slot[k] = ix->slot[i];
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return 0;
}

/* Adds a table to the output, sharing it with an identical earlier one. */
int skl_compile_intern_table(struct compiler *cc, const struct seglist *t, struct group *g)
{
	struct skl_compiled *out = cc->out;
	struct table_index *ix = &cc->index;
	uint64_t h = hash_segments(t->v, t->n);
	size_t k;

	/* At most one table per group: keep the load factor under 1/2. */
	while (cc->n_groups * 2 >= ix->cap)
		if (index_grow(ix))
			return -1;
	for (k = h & (ix->cap - 1); ix->slot[k].used; k = (k + 1) & (ix->cap - 1)) {
		if (ix->slot[k].hash == h && ix->slot[k].count == t->n &&
		    !memcmp(&out->segments[ix->slot[k].first], t->v, t->n * sizeof(*t->v))) {
			g->table_first = ix->slot[k].first;
			g->table_count = ix->slot[k].count;
			return 0;
		}
	}
	if (skl_compile_grow((void **)&out->segments, &cc->out_seg_cap, out->n_segments + t->n,
		 sizeof(*out->segments)))
		return -1;
	memcpy(&out->segments[out->n_segments], t->v, t->n * sizeof(*t->v));
	g->table_first = (uint32_t)out->n_segments;
	g->table_count = (uint32_t)t->n;
	out->n_segments += t->n;
	ix->slot[k].used = true;
	ix->slot[k].hash = h;
	ix->slot[k].first = g->table_first;
	ix->slot[k].count = g->table_count;
	return 0;
}
