#include "search_tree.h"

#include <arpa/inet.h>
#include <string.h>

uint32_t skl_search_mask_word(unsigned int plen, unsigned int w)
{
	int bits = (int)plen - 32 * (int)w;

	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffffu;
	return htonl(0xffffffffu << (32 - bits));
}

static void node_for(struct skl_search_node *n, uint32_t tag_base, unsigned int plen)
{
	memset(n, 0, sizeof(*n));
	n->tag = tag_base | plen;
	n->mask[0] = skl_addr_pair(skl_search_mask_word(plen, 0), skl_search_mask_word(plen, 1));
	n->mask[1] = skl_addr_pair(skl_search_mask_word(plen, 2), skl_search_mask_word(plen, 3));
	n->on_hit = n->on_miss = SKL_NONE;
}

struct builder {
	const struct skl_lengths *l;
	uint32_t tag_base;
	uint32_t first_slot;
	struct skl_search_node *nodes;
	uint32_t n;
};

/* The subtree over l->len[lo..hi]: its slot, or SKL_NONE when empty. */
static uint32_t subtree(struct builder *b, int lo, int hi)
{
	int mid = skl_search_mid(lo, hi);
	uint32_t at;

	if (lo > hi)
		return SKL_NONE;
	at = b->n++;
	node_for(&b->nodes[at], b->tag_base, b->l->len[mid]);
	b->nodes[at].on_hit = subtree(b, mid + 1, hi);
	b->nodes[at].on_miss = subtree(b, lo, mid - 1);
	return b->first_slot + at;
}

void skl_search_tree_build(const struct skl_lengths *l, uint8_t family, uint8_t proto,
			   uint32_t first_slot, struct skl_search_node *root,
			   struct skl_search_node *nodes, uint32_t *n_nodes)
{
	struct builder b = { .l = l, .tag_base = skl_prefix_tag(family, proto, 0),
			     .first_slot = first_slot, .nodes = nodes };

	memset(root, 0, sizeof(*root));
	*n_nodes = 0;
	if (!l->n)
		return;
	node_for(root, b.tag_base, l->len[l->n - 1]);
	/* A hit at the longest length is the answer: no marker is that long. */
	root->on_miss = subtree(&b, 0, (int)l->n - 2);
	*n_nodes = b.n;
}
