/*
 * One generation of the lookup tables (port segments, the prefix table, the
 * search trees) written from a compiled set, cleared, and made active.
 */
#include "rules_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "prefix_table.h"
#include "search_tree.h"

/* Takes generation gen out of reach: its search roots not in use (its
 * prefix buckets are rewritten whole by the next write of gen). With wait,
 * first lets every program run that may still read it finish; only when
 * one of its roots is in use (a generation already cleared was waited for
 * when it was cleared). */
int skl_rules_clear_generation(struct skl_dispatcher *d, uint32_t gen, bool wait,
			       struct skl_err *err)
{
	struct skl_search_node roots[SKL_SEARCH_TREES];
	uint32_t first = skl_lengths_key(gen, 0, 0);
	bool in_use = false;

	for (uint32_t k = 0; k < SKL_SEARCH_TREES; k++) {
		uint32_t key = first + k;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_SEARCH], &key, &roots[k]))
			return skl_rules_kernel_err(err, "reading a search root");
		in_use |= roots[k].tag != 0;
	}
	if (!in_use)
		return 0;
	if (wait && skl_rules_wait_for_readers(err))
		return -1;
	memset(roots, 0, sizeof(roots));
	return skl_rules_write_array(d->map_fd[SKL_MAP_SEARCH], first, SKL_SEARCH_TREES, roots,
				     "clearing a search root", err);
}

static int write_segments(struct skl_apply *a, const struct skl_compiled *c, uint32_t base,
			  struct skl_err *err)
{
	struct skl_segment *segs = malloc((c->n_segments ? c->n_segments : 1) * sizeof(*segs));
	int ret;

	if (!segs)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (size_t i = 0; i < c->n_segments; i++) {
		segs[i] = c->segments[i];
		if (segs[i].binding != SKL_NONE)
			segs[i].binding = a->id_of[segs[i].binding];
	}
	ret = skl_rules_write_array(a->d->map_fd[SKL_MAP_SEGMENTS], base, (uint32_t)c->n_segments, segs,
			  "writing the port tables", err);
	free(segs);
	return ret;
}

/* The four search trees of the target generation: roots at their fixed
 * slots, the other nodes in the generation's own region; every node names
 * the generation's prefix table. */
static int write_search(struct skl_apply *a, const struct skl_compiled *c, uint32_t seed,
			struct skl_err *err)
{
	struct skl_dispatcher *d = a->d;
	uint32_t region = SKL_SEARCH_ROOTS + a->target * d->search_per_gen, used = 0;
	struct skl_search_node roots[SKL_SEARCH_TREES], *nodes;
	int ret = -1;

	nodes = calloc(SKL_SEARCH_TREES * SKL_LENGTHS_MAX, sizeof(*nodes));
	if (!nodes)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t k = 0; k < SKL_SEARCH_TREES; k++) {
		uint32_t n;

		skl_search_tree_build(&c->lengths[k], k & 2 ? SKL_FAMILY_V6 : SKL_FAMILY_V4,
				      k & 1 ? IPPROTO_UDP : IPPROTO_TCP, region + used, &roots[k],
				      nodes + used, &n);
		used += n;
	}
	for (uint32_t i = 0; i < SKL_SEARCH_TREES + used; i++) {
		struct skl_search_node *n = i < SKL_SEARCH_TREES ? &roots[i]
								   : &nodes[i - SKL_SEARCH_TREES];

		n->seed = seed;
		n->bucket_first = a->target * d->prefix_buckets;
		n->n_buckets = d->prefix_buckets;
	}
	if (used > d->search_per_gen) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "bindings: %u distinct prefix lengths, more than the %u this dispatcher "
			 "holds; raise limits.bindings", used + SKL_SEARCH_TREES,
			 d->search_per_gen + SKL_SEARCH_TREES);
		goto out;
	}
	if (skl_rules_write_array(d->map_fd[SKL_MAP_SEARCH], region, used, nodes,
				  "writing the search", err) ||
	    skl_rules_write_array(d->map_fd[SKL_MAP_SEARCH], skl_lengths_key(a->target, 0, 0),
				  SKL_SEARCH_TREES, roots, "writing the search", err))
		goto out;
	ret = 0;
out:
	free(nodes);
	return ret;
}

/* The generation's prefix table, every bucket of it (stale slots of an
 * earlier set must not stay reachable); *seed gets its hash seed. */
static int write_prefixes(struct skl_apply *a, const struct skl_compiled *c, uint32_t seg_base,
			  uint32_t *seed, struct skl_err *err)
{
	struct skl_dispatcher *d = a->d;
	struct skl_prefix_bucket *buckets = malloc((size_t)d->prefix_buckets * sizeof(*buckets));
	int ret;

	if (!buckets)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if (skl_prefix_table_build(c, seg_base, d->prefix_buckets, buckets, seed))
		ret = skl_errf(err, SKL_CNI_INVALID_CONFIG,
			       "bindings: %zu prefix entries do not fit the %u this dispatcher "
			       "holds; raise limits.bindings", c->n_prefixes,
			       skl_prefix_capacity(d->prefix_buckets));
	else
		ret = skl_rules_write_array(d->map_fd[SKL_MAP_PREFIXES],
					    a->target * d->prefix_buckets, d->prefix_buckets,
					    buckets, "writing the prefix table", err);
	free(buckets);
	return ret;
}

/* The generation's summaries (miss filters and direct answers), in the
 * config entry (the program reads only the active generation's: the
 * target's may change under it). */
static int write_summaries(struct skl_apply *a, const struct skl_compiled *c,
			   struct skl_err *err)
{
	struct skl_dispatcher *d = a->d;
	struct skl_config cfg;
	uint32_t zero = 0;

	if (skl_dispatcher_config(d, &cfg, err))
		return -1;
	for (uint32_t k = 0; k < SKL_SEARCH_TREES; k++)
		skl_prefix_summary(c, k, a->id_of,
				   &cfg.summary[skl_lengths_key(a->target, k & 2, k & 1)]);
	if (bpf_map_update_elem(d->map_fd[SKL_MAP_CONFIG], &zero, &cfg, BPF_ANY))
		return skl_rules_kernel_err(err, "writing the summaries");
	return 0;
}

int skl_rules_write_generation(struct skl_apply *a, const struct skl_compiled *c,
			       struct skl_err *err)
{
	struct skl_dispatcher *d = a->d;
	uint32_t base = a->target * d->max_segments, seed;

	if (c->n_segments > d->max_segments)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bindings: the port tables need %zu segments, more than the %u this "
				"dispatcher holds; raise limits.portRanges", c->n_segments,
				d->max_segments);
	if (write_segments(a, c, base, err) || write_prefixes(a, c, base, &seed, err) ||
	    write_search(a, c, seed, err) || write_summaries(a, c, err))
		return -1;
	return 0;
}

int skl_rules_flip(struct skl_dispatcher *d, uint32_t gen, struct skl_err *err)
{
	struct skl_config cfg;
	uint32_t zero = 0;

	if (skl_dispatcher_config(d, &cfg, err))
		return -1;
	cfg.active_gen = gen;
	if (bpf_map_update_elem(d->map_fd[SKL_MAP_CONFIG], &zero, &cfg, BPF_ANY))
		return skl_rules_kernel_err(err, "switching the active generation");
	return 0;
}
