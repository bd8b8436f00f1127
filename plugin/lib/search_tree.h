/*
 * The search over prefix lengths as the BPF program walks it: a tree of
 * skl_search_node built from one (family, protocol)'s lengths in use. The
 * tree takes the same path as the binary search the compiler places its
 * markers for (compile.c, build_prefixes): the longest length first, then
 * skl_search_mid over the others, a hit going longer.
 */
#ifndef SKL_SEARCH_TREE_H
#define SKL_SEARCH_TREE_H

#include <stdint.h>

#include "dispatch_abi.h"

/* The length a search over lengths[lo..hi] probes: the upper middle, so
 * with two lengths left the longer goes first and a hit there ends the
 * search (a /24 under a /16, below the hosts: 2 probes, not 3). */
static inline int skl_search_mid(int lo, int hi)
{
	return (lo + hi + 1) / 2;
}

/* The tree of lengths l of (family, proto): *root (stored by the caller at
 * its root slot) and nodes[0..*n_nodes) to be stored at slots first_slot..,
 * which the root and the nodes refer to. nodes has room for SKL_LENGTHS_MAX
 * entries. An empty l gives a root not in use. The prefix-table fields
 * (seed, buckets) are left to the caller. */
void skl_search_tree_build(const struct skl_lengths *l, uint8_t family, uint8_t proto,
			   uint32_t first_slot, struct skl_search_node *root,
			   struct skl_search_node *nodes, uint32_t *n_nodes);

/* The mask word w (0..3) of a plen-bit prefix, network byte order. */
uint32_t skl_search_mask_word(unsigned int plen, unsigned int w);

#endif
