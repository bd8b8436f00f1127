/*
 * The "prefixes" table of one generation (dispatch_abi.h): the compiled
 * prefix entries placed in a two-choice cuckoo hash table of buckets, as the
 * program probes it. Pure user-space code, so tests can check the placement
 * without a kernel.
 */
#ifndef SKL_PREFIX_TABLE_H
#define SKL_PREFIX_TABLE_H

#include <stdint.h>

#include "compile.h"

/* Buckets a generation gets for a dispatcher of this many bindings: room
 * for prefix_table_capacity entries at a load a cuckoo table always fills. */
uint32_t skl_prefix_buckets_for(uint32_t bindings);

/* The entries n_buckets buckets promise to hold. */
uint32_t skl_prefix_capacity(uint32_t n_buckets);

/* Places c's prefix entries in buckets[0..n_buckets) (zeroed first), their
 * seg_first offset by seg_base, and sets *seed to the hash seed that worked.
 * -1 when they do not fit (more entries than the capacity, or no seed
 * places them all). */
int skl_prefix_table_build(const struct skl_compiled *c, uint32_t seg_base, uint32_t n_buckets,
			   struct skl_prefix_bucket *buckets, uint32_t *seed);

/* A (masked) address as the table's key words. */
void skl_prefix_table_key(const uint8_t addr[SKL_ADDR_BYTES], __u64 key[2]);

/* What the program's probe finds: the slot holding (tag, key), or NULL. */
const struct skl_prefix_slot *skl_prefix_table_find(const struct skl_prefix_bucket *buckets,
						    uint32_t n_buckets, uint32_t seed,
						    uint32_t tag, const __u64 key[2]);

/* The summary of tree k (skl_lengths_key(0, is_v6, is_udp)) of c: its miss
 * filter, and its answer when the tree is one prefix with one port range
 * (the binding as id_of[the set's index], or the index when id_of is NULL). */
void skl_prefix_summary(const struct skl_compiled *c, uint32_t k, const uint32_t *id_of,
			struct skl_summary *out);

#endif
