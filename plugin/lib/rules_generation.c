/*
 * One generation of the lookup tables (prefix entries, port segments, the
 * search trees) written from a compiled set, cleared, and made active.
 */
#include "rules_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "search_tree.h"

/* Deletes the prefix entries of one generation. */
int skl_rules_clear_generation(struct skl_dispatcher *d, uint32_t gen, bool wait,
			       struct skl_err *err)
{
	int fd = d->map_fd[SKL_MAP_PREFIXES];
	struct skl_prefix_key key, next, *doomed = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int ret = -1;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (next.gen == gen) {
			if (n == cap) {
				size_t c = cap ? 2 * cap : 256;
				void *p = realloc(doomed, c * sizeof(*doomed));

				if (!p) {
					skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
					goto out;
				}
				doomed = p;
				cap = c;
			}
			doomed[n++] = next;
		}
		key = next;
		prev = &key;
	}
	if (n && wait && skl_rules_wait_for_readers(err))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) && errno != ENOENT) {
			skl_rules_kernel_err(err, "deleting an old prefix entry");
			goto out;
		}
	ret = 0;
out:
	free(doomed);
	return ret;
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
 * slots, the other nodes in the generation's own region. */
static int write_search(struct skl_apply *a, const struct skl_compiled *c, struct skl_err *err)
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

		skl_search_tree_build(&c->lengths[k], region + used, &roots[k], nodes + used, &n);
		used += n;
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

int skl_rules_write_generation(struct skl_apply *a, const struct skl_compiled *c,
			       struct skl_err *err)
{
	struct skl_dispatcher *d = a->d;
	uint32_t base = a->target * d->max_segments;

	if (c->n_segments > d->max_segments)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"bindings: the port tables need %zu segments, more than the %u this "
				"dispatcher holds; raise limits.portRanges", c->n_segments,
				d->max_segments);
	if (write_segments(a, c, base, err) || write_search(a, c, err))
		return -1;
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct skl_compiled_prefix *p = &c->prefixes[i];
		struct skl_prefix_key key = { .gen = (uint8_t)a->target, .family = p->family,
					      .proto = p->proto, .plen = p->plen };
		struct skl_prefix_val val = { .seg_first = base + p->seg_first,
					      .seg_count = p->seg_count };

		memcpy(key.addr, p->addr, sizeof(key.addr));
		if (bpf_map_update_elem(d->map_fd[SKL_MAP_PREFIXES], &key, &val, BPF_ANY))
			return errno == E2BIG || errno == ENOMEM
				       ? skl_errf(err, SKL_CNI_INVALID_CONFIG,
						  "bindings: %zu prefix entries do not fit the %u this "
						  "dispatcher holds; raise limits.bindings",
						  c->n_prefixes, d->max_prefixes)
				       : skl_rules_kernel_err(err, "writing a prefix entry");
	}
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
