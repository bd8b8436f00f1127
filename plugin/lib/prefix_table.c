/*
 * Cuckoo placement of prefix entries (prefix_table.h): every entry goes to
 * one of its two buckets; a full pair moves an occupant to its other bucket,
 * and so on, for a bounded number of moves. A seed that leaves an entry
 * homeless is replaced by the next one.
 */
#include "prefix_table.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

/* Entries per generation a binding may bring (its own and search markers);
 * a set that needs more is refused with an error naming limits.bindings. */
#define ENTRIES_PER_BINDING 2
#define ENTRIES_SLACK 24
/* Two slots per bucket and two choices fill to ~0.9 (0.85 with room for
 * the moves and seeds below): the table is memory the pod is charged for. */
#define LOAD_NUM 17
#define LOAD_DEN 20
#define MAX_MOVES 500
#define MAX_SEEDS 32

uint32_t skl_prefix_capacity(uint32_t n_buckets)
{
	return (uint32_t)((uint64_t)n_buckets * SKL_PREFIX_SLOTS * LOAD_NUM / LOAD_DEN);
}

uint32_t skl_prefix_buckets_for(uint32_t bindings)
{
	uint64_t entries = (uint64_t)ENTRIES_PER_BINDING * bindings + ENTRIES_SLACK;
	uint64_t per = (uint64_t)SKL_PREFIX_SLOTS * LOAD_NUM;

	return (uint32_t)((entries * LOAD_DEN + per - 1) / per);
}

static uint64_t slot_hash(uint32_t seed, const struct skl_prefix_slot *s)
{
	return skl_prefix_hash(seed, s->tag, s->addr[0], s->addr[1]);
}

static int slot_equal(const struct skl_prefix_slot *s, uint32_t tag, const __u64 key[2])
{
	return s->tag == tag && s->addr[0] == key[0] && s->addr[1] == key[1];
}

void skl_prefix_table_key(const uint8_t addr[SKL_ADDR_BYTES], __u64 key[2])
{
	uint32_t w[4];

	memcpy(w, addr, sizeof(w));
	key[0] = skl_addr_pair(w[0], w[1]);
	key[1] = skl_addr_pair(w[2], w[3]);
}

const struct skl_prefix_slot *skl_prefix_table_find(const struct skl_prefix_bucket *buckets,
						    uint32_t n_buckets, uint32_t seed,
						    uint32_t tag, const __u64 key[2])
{
	uint64_t h = skl_prefix_hash(seed, tag, key[0], key[1]);

	for (int second = 0; second <= 1; second++) {
		const struct skl_prefix_bucket *b =
			&buckets[skl_prefix_bucket_of(h, second, n_buckets)];

		for (int i = 0; i < SKL_PREFIX_SLOTS; i++)
			if (slot_equal(&b->slot[i], tag, key))
				return &b->slot[i];
	}
	return NULL;
}

/* A free slot of bucket b, or NULL. */
static struct skl_prefix_slot *free_slot(struct skl_prefix_bucket *b)
{
	for (int i = 0; i < SKL_PREFIX_SLOTS; i++)
		if (!b->slot[i].tag)
			return &b->slot[i];
	return NULL;
}

/* Places s, moving occupants as needed; 0, or -1 with a homeless entry. */
static int place(struct skl_prefix_bucket *buckets, uint32_t n_buckets, uint32_t seed,
		 struct skl_prefix_slot s, uint64_t *rng)
{
	for (int move = 0; move < MAX_MOVES; move++) {
		uint64_t h = slot_hash(seed, &s);
		uint32_t b1 = skl_prefix_bucket_of(h, 0, n_buckets);
		uint32_t b2 = skl_prefix_bucket_of(h, 1, n_buckets);
		struct skl_prefix_slot *f = free_slot(&buckets[b1]), tmp;
		uint32_t victim_bucket;
		int victim;

		if (!f)
			f = free_slot(&buckets[b2]);
		if (f) {
			*f = s;
			return 0;
		}
		/* Both full: evict a pseudo-random occupant of either bucket. */
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		victim_bucket = (*rng >> 8) & 1 ? b2 : b1;
		victim = (int)(*rng % SKL_PREFIX_SLOTS);
		tmp = buckets[victim_bucket].slot[victim];
		buckets[victim_bucket].slot[victim] = s;
		s = tmp;
	}
	return -1;
}

static int try_seed(const struct skl_compiled *c, uint32_t seg_base, uint32_t n_buckets,
		    struct skl_prefix_bucket *buckets, uint32_t seed)
{
	uint64_t rng = 0x2545f4914f6cdd1dull ^ seed;

	memset(buckets, 0, (size_t)n_buckets * sizeof(*buckets));
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct skl_compiled_prefix *p = &c->prefixes[i];
		struct skl_prefix_slot s = {
			.tag = skl_prefix_tag(p->family, p->proto, p->plen),
			.seg_first = seg_base + p->seg_first,
			.seg_count = p->seg_count,
		};

		skl_prefix_table_key(p->addr, s.addr);
		if (place(buckets, n_buckets, seed, s, &rng))
			return -1;
	}
	return 0;
}

int skl_prefix_table_build(const struct skl_compiled *c, uint32_t seg_base, uint32_t n_buckets,
			   struct skl_prefix_bucket *buckets, uint32_t *seed)
{
	if (!n_buckets || c->n_prefixes > skl_prefix_capacity(n_buckets))
		return -1;
	for (uint32_t s = 1; s <= MAX_SEEDS; s++)
		if (!try_seed(c, seg_base, n_buckets, buckets, s * 0x9e3779b9u)) {
			*seed = s * 0x9e3779b9u;
			return 0;
		}
	return -1;
}

/* Whether p's port table is one range: ports *first..*last go to binding
 * *binding (an index into the set), every other port to none. Such a table
 * has at most three segments: none, the range, none. */
static bool single_range(const struct skl_compiled *c, const struct skl_compiled_prefix *p,
			 uint32_t *first, uint32_t *last, uint32_t *binding)
{
	const struct skl_segment *seg = c->segments + p->seg_first;
	uint32_t bound = 0, n_bound = 0;

	if (!p->seg_count || p->seg_count > 3)
		return false;
	for (uint32_t k = 0; k < p->seg_count; k++)
		if (seg[k].binding != SKL_NONE) {
			bound = k;
			n_bound++;
		}
	if (n_bound != 1)
		return false;
	*binding = seg[bound].binding;
	*first = seg[bound].start;
	*last = bound + 1 < p->seg_count ? seg[bound + 1].start - 1 : SKL_PORT_MAX;
	return true;
}

void skl_prefix_summary(const struct skl_compiled *c, uint32_t k, const uint32_t *id_of,
			struct skl_summary *out)
{
	const struct skl_lengths *l = &c->lengths[k];
	uint8_t family = k & 2 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	uint8_t proto = k & 1 ? IPPROTO_UDP : IPPROTO_TCP;
	const struct skl_compiled_prefix *only = NULL; /* the last prefix of the tree */
	uint32_t first, last, binding;
	uint8_t ones[SKL_ADDR_BYTES];
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->direct_ports = SKL_INLINE_NONE;
	if (!l->n)
		return;
	memset(ones, 0xff, sizeof(ones));
	skl_prefix_mask(ones, family, l->len[0]);
	skl_prefix_table_key(ones, out->mask);
	/* Markers lie under their prefixes: they set no other bit. */
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct skl_compiled_prefix *p = &c->prefixes[i];
		__u64 key[2];

		if (p->family != family || p->proto != proto)
			continue;
		skl_prefix_table_key(p->addr, key);
		out->bits |= 1ull << skl_summary_bit(key[0] & out->mask[0], key[1] & out->mask[1]);
		only = p;
		n++;
	}
	/* One prefix (one length, so no markers either) whose port table is
	 * one range: the summary answers it (dispatch_abi.h). */
	if (n == 1 && single_range(c, only, &first, &last, &binding)) {
		skl_prefix_table_key(only->addr, out->direct_addr);
		out->direct_binding = id_of ? id_of[binding] : binding;
		out->direct_ports = skl_inline_ports(first, last);
	}
}
