/*
 * The reference lookup over a compiled set, walking the search tree as the
 * BPF program does (tests and fuzzers check the compiler with it).
 */
#include "compile_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "search_tree.h"

static const struct skl_compiled_prefix *probe(const struct skl_compiled *c, uint8_t proto,
					       uint8_t family, const uint8_t addr[SKL_ADDR_BYTES],
					       uint8_t plen)
{
	struct skl_compiled_prefix key = { .family = family, .proto = proto, .plen = plen };

	memcpy(key.addr, addr, SKL_ADDR_BYTES);
	skl_prefix_mask(key.addr, family, plen);
	return bsearch(&key, c->prefixes, c->n_prefixes, sizeof(key), skl_compiled_prefix_cmp);
}

uint32_t skl_compiled_lookup(const struct skl_compiled *c, uint8_t proto, uint8_t family,
			     const uint8_t addr[SKL_ADDR_BYTES], uint16_t port)
{
	const struct skl_lengths *l = &c->lengths[skl_lengths_key(0, family == SKL_FAMILY_V6,
								   proto == IPPROTO_UDP)];
	struct skl_search_node root, nodes[SKL_LENGTHS_MAX];
	const struct skl_search_node *n = &root;
	const struct skl_compiled_prefix *best = NULL;
	uint32_t first, last, n_nodes;

	/* As the program does: walk the search tree it is given. */
	skl_search_tree_build(l, family, proto, 0, &root, nodes, &n_nodes);
	for (int step = 0; step < SKL_SEARCH_STEPS && n->tag; step++) {
		const struct skl_compiled_prefix *hit =
			probe(c, proto, family, addr, (uint8_t)skl_tag_plen(n->tag));
		uint32_t next = hit ? n->on_hit : n->on_miss;

		if (hit)
			best = hit;
		if (next == SKL_NONE || next >= n_nodes)
			break;
		n = &nodes[next];
	}
	if (!best || !best->seg_count)
		return SKL_NONE;
	first = best->seg_first;
	last = first + best->seg_count - 1;
	while (first < last) {
		uint32_t mid = (first + last + 1) / 2;

		if (c->segments[mid].start <= port)
			first = mid;
		else
			last = mid - 1;
	}
	return c->segments[first].binding;
}
