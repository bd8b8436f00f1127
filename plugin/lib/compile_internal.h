/*
 * What the compile_*.c files share: the compiler's working state and the
 * steps that build port tables (compile_tables.c).
 */
#ifndef SKL_COMPILE_INTERNAL_H
#define SKL_COMPILE_INTERNAL_H

#include <stdbool.h>

#include "compile.h"

#define PORT_SPACE_END ((unsigned)SKL_PORT_MAX)

struct rule {
	uint8_t family, proto, plen;
	uint8_t addr[SKL_ADDR_BYTES];
	uint16_t lo, hi;
	uint32_t binding;
};

/* All rules of one (family, proto, prefix), and that prefix's merged table. */
struct group {
	const struct rule *rules;
	size_t n_rules;
	uint32_t table_first, table_count;
};

struct seglist {
	size_t n, cap;
	struct skl_segment *v;
};

struct table_index {
	size_t cap; /* power of two */
	struct {
		uint64_t hash;
		uint32_t first, count;
		bool used;
	} *slot;
};

struct compiler {
	struct skl_compiled *out;
	size_t out_seg_cap, out_prefix_cap;
	struct rule *rules;
	size_t n_rules;
	struct group *groups;
	size_t n_groups;
	bool used_plen[2][2][SKL_LENGTHS_MAX]; /* [family][proto is UDP][plen] */
	struct table_index index;
};

/* Grows *v (elements of size bytes) to hold need; -1 on ENOMEM. */
int skl_compile_grow(void **v, size_t *cap, size_t need, size_t size);

/* qsort/bsearch order of struct skl_compiled_prefix. */
int skl_compiled_prefix_cmp(const void *a, const void *b);

/* The group's own table: the narrowest of its ranges per port. */
int skl_compile_own_segments(const struct group *g, struct seglist *out);

/* Fills the gaps of own with the parent prefix's merged table. */
int skl_compile_merge_parent(const struct seglist *own, const struct skl_segment *parent,
			     size_t n_parent, struct seglist *out);

/* Adds a table to the output, sharing it with an identical earlier one. */
int skl_compile_intern_table(struct compiler *cc, const struct seglist *t, struct group *g);

#endif
