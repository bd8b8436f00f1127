/*
 * Compiled tables vs the reference precedence rule. The probes are the
 * places where a compiler goes wrong: each binding's first and last
 * address, the first address of its upper half (where a longer prefix may
 * start), the sibling prefix just outside it, and the ports at and around
 * the edges of its ranges, for both protocols.
 */
#include "check_compiled.h"

#include <netinet/in.h>
#include <stdlib.h>

#include "fuzz.h"
#include "prefix_table.h"

#define MAX_RANGES_PROBED 4

static unsigned int max_plen(uint8_t family)
{
	return family == SKL_FAMILY_V6 ? 128 : 32;
}

static void flip_bit(uint8_t addr[16], unsigned int bit)
{
	addr[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

static void set_host_bits(uint8_t addr[16], uint8_t family, unsigned int plen)
{
	for (unsigned int bit = plen; bit < max_plen(family); bit++)
		addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static void check_lengths(const struct skl_compiled *c)
{
	for (int key = 0; key < 4; key++) {
		const struct skl_lengths *l = &c->lengths[key];
		unsigned int top = key >= 2 ? 128 : 32; /* skl_lengths_key: 2, 3 are v6 */

		FUZZ_CHECK(l->n <= SKL_LENGTHS_MAX, "lengths[%d].n = %u", key, l->n);
		for (uint32_t i = 0; i < l->n; i++) {
			FUZZ_CHECK(l->len[i] <= top, "lengths[%d].len[%u] = %u", key, i,
				   l->len[i]);
			FUZZ_CHECK(i == 0 || l->len[i - 1] < l->len[i],
				   "lengths[%d] not strictly ascending at %u", key, i);
		}
	}
}

static bool length_in_use(const struct skl_compiled *c, const struct skl_compiled_prefix *p)
{
	const struct skl_lengths *l =
		&c->lengths[skl_lengths_key(0, p->family == SKL_FAMILY_V6, p->proto == IPPROTO_UDP)];

	for (uint32_t i = 0; i < l->n; i++)
		if (l->len[i] == p->plen)
			return true;
	return false;
}

static int prefix_cmp(const struct skl_compiled_prefix *x, const struct skl_compiled_prefix *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* What the BPF program indexes with: a table must start at port 0, be
 * sorted, stay inside the segment array and name real bindings. */
static void check_tables(const struct skl_binding_set *set, const struct skl_compiled *c)
{
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct skl_compiled_prefix *p = &c->prefixes[i];

		FUZZ_CHECK(p->family <= SKL_FAMILY_V6 && p->plen <= max_plen(p->family),
			   "prefix %zu: family %u plen %u", i, p->family, p->plen);
		FUZZ_CHECK(length_in_use(c, p), "prefix %zu: plen %u not in lengths", i, p->plen);
		/* The program looks prefixes up by key: sorted, one entry each. */
		FUZZ_CHECK(i == 0 || prefix_cmp(&c->prefixes[i - 1], p) < 0,
			   "prefix %zu is not after prefix %zu", i, i - 1);
		if (!p->seg_count)
			continue;
		FUZZ_CHECK(p->seg_first < c->n_segments &&
				   p->seg_count <= c->n_segments - p->seg_first,
			   "prefix %zu: segments %u+%u of %zu", i, p->seg_first, p->seg_count,
			   c->n_segments);
		FUZZ_CHECK(c->segments[p->seg_first].start == 0, "prefix %zu: table starts at %u",
			   i, c->segments[p->seg_first].start);
		for (uint32_t k = p->seg_first; k < p->seg_first + p->seg_count; k++) {
			const struct skl_segment *s = &c->segments[k];

			FUZZ_CHECK(s->start <= 65535, "segment %u starts at %u", k, s->start);
			FUZZ_CHECK(k == p->seg_first || c->segments[k - 1].start < s->start,
				   "segment %u not after segment %u", k, k - 1);
			FUZZ_CHECK(s->binding == SKL_NONE || s->binding < set->n,
				   "segment %u names binding %u of %zu", k, s->binding, set->n);
		}
	}
}

/* The miss filter of a summary lets the address (key) through. */
static bool filter_passes(const struct skl_summary *sum, const __u64 key[2])
{
	return (sum->bits >> skl_summary_bit(key[0] & sum->mask[0], key[1] & sum->mask[1])) & 1;
}

/* What the program answers from a direct summary (dispatch_abi.h) for the
 * address (key) and port. */
static uint32_t direct_answer(const struct skl_summary *sum, const __u64 key[2], uint32_t port)
{
	uint32_t lo = sum->direct_ports & 0xffff, hi = sum->direct_ports >> 16;

	if ((key[0] & sum->mask[0]) != sum->direct_addr[0] ||
	    (key[1] & sum->mask[1]) != sum->direct_addr[1] || port < lo || port > hi)
		return SKL_NONE;
	return sum->direct_binding;
}

/* The prefix table the program probes, at the size a dispatcher of this
 * many bindings gets: when the entries are within its capacity, it holds
 * every one with its port table. */
static void check_prefix_table(const struct skl_binding_set *set, const struct skl_compiled *c)
{
	uint32_t n_buckets = skl_prefix_buckets_for((uint32_t)set->n), seed;
	struct skl_prefix_bucket *buckets = calloc(n_buckets, sizeof(*buckets));

	FUZZ_CHECK(buckets != NULL, "out of memory");
	/* More entries than that are refused by the apply, with an error. */
	if (c->n_prefixes > skl_prefix_capacity(n_buckets)) {
		free(buckets);
		return;
	}
	FUZZ_CHECK(!skl_prefix_table_build(c, 0, n_buckets, buckets, &seed),
		   "%zu prefix entries did not fit %u buckets", c->n_prefixes, n_buckets);
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct skl_compiled_prefix *p = &c->prefixes[i];
		const struct skl_prefix_slot *s;
		__u64 key[2];

		skl_prefix_table_key(p->addr, key);
		s = skl_prefix_table_find(buckets, n_buckets, seed,
					  skl_prefix_tag(p->family, p->proto, p->plen), key);
		FUZZ_CHECK(s && s->seg_first == p->seg_first && s->seg_count == p->seg_count,
			   "prefix %zu not found in the prefix table as compiled", i);
	}
	free(buckets);
}

static void probe(const struct skl_binding_set *set, const struct skl_compiled *c,
		  uint8_t family, const uint8_t addr[16], uint32_t port)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };

	__u64 key[2];

	if (port > 65535)
		return;
	skl_prefix_table_key(addr, key);
	for (size_t i = 0; i < sizeof(protos); i++) {
		uint32_t want = skl_bindings_resolve(set, protos[i], family, addr, (uint16_t)port);
		uint32_t got = skl_compiled_lookup(c, protos[i], family, addr, (uint16_t)port);
		struct skl_summary sum;
		char text[64];

		skl_prefix_summary(c, skl_lengths_key(0, family == SKL_FAMILY_V6,
						      protos[i] == IPPROTO_UDP),
				   NULL, &sum);
		FUZZ_CHECK(want == SKL_NONE || filter_passes(&sum, key),
			   "proto %u: the miss filter turns away an address binding %u holds",
			   protos[i], want);
		FUZZ_CHECK(sum.direct_ports == SKL_INLINE_NONE || direct_answer(&sum, key, port) == want,
			   "proto %u port %u: the direct summary answers %d, the reference %d",
			   protos[i], port, (int)direct_answer(&sum, key, port), (int)want);
		if (want == got)
			continue;
		skl_prefix_format(family, (uint8_t)max_plen(family), addr, text, sizeof(text));
		FUZZ_CHECK(want == got, "proto %u %s port %u: reference picks binding %d, "
			   "compiled tables pick %d", protos[i], text, port, (int)want, (int)got);
	}
}

static void probe_ports(const struct skl_binding_set *set, const struct skl_compiled *c,
			const struct skl_binding_spec *b, const uint8_t addr[16])
{
	probe(set, c, b->family, addr, 0);
	probe(set, c, b->family, addr, 1);
	probe(set, c, b->family, addr, 65535);
	for (size_t k = 0; k < b->n_ports && k < MAX_RANGES_PROBED; k++) {
		uint32_t lo = b->ports[k].lo, hi = b->ports[k].hi;

		probe(set, c, b->family, addr, lo - 1);
		probe(set, c, b->family, addr, lo);
		probe(set, c, b->family, addr, hi);
		probe(set, c, b->family, addr, hi + 1);
	}
}

void fuzz_check_compiled(const struct skl_binding_set *set, const struct skl_compiled *c,
			 size_t max_probed)
{
	check_lengths(c);
	check_tables(set, c);
	check_prefix_table(set, c);
	for (size_t i = 0; i < set->n && i < max_probed; i++) {
		const struct skl_binding_spec *b = &set->v[i];
		uint8_t a[16];

		FUZZ_CHECK(b->kind == SKL_PREFIX_CIDR, "binding %zu is not concrete", i);
		probe_ports(set, c, b, b->addr);
		memcpy(a, b->addr, 16);
		set_host_bits(a, b->family, b->plen);
		probe_ports(set, c, b, a);
		if (b->plen < max_plen(b->family)) {
			memcpy(a, b->addr, 16);
			flip_bit(a, b->plen);
			probe_ports(set, c, b, a);
		}
		if (b->plen > 0) {
			memcpy(a, b->addr, 16);
			flip_bit(a, b->plen - 1u);
			probe_ports(set, c, b, a);
		}
	}
}
