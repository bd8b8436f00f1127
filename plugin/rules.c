#include "rules.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compile.h"
#include "counters.h"
#include "search_tree.h"

/* What the maps hold now, and what this apply allocated (for rollback). */
struct apply {
	struct skl_dispatcher *d;
	struct skl_label *labels;        /* [limits.labels] */
	struct skl_binding_value *values; /* [limits.bindings] */
	bool *label_new, *label_used;     /* [limits.labels] */
	bool *id_new, *id_kept;           /* [limits.bindings] */
	struct skl_port_entry *ports;     /* [limits.port_ranges] */
	bool *port_taken;                 /* [limits.port_ranges]: reached by a binding */
	uint32_t port_cursor;             /* no free port entry below it */
	uint32_t port_dirty_lo, port_dirty_hi; /* entries written here: [lo, hi) */
	uint32_t *id_of;                  /* [set->n]: binding index -> id */
	uint32_t active, target;
};

static int kernel_err(struct skl_err *err, const char *what)
{
	return skl_errf(err, SKL_CNI_INTERNAL, "%s: %s", what, strerror(errno));
}

/* Waits until no BPF program run that started before now is still running
 * (MEMBARRIER_CMD_GLOBAL is a synchronize_rcu()). */
static int wait_for_readers(struct skl_err *err)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return 0;
	/* nohz_full kernels refuse it; a program run takes nanoseconds. */
	if (errno == EINVAL) {
		usleep(50 * 1000);
		return 0;
	}
	return kernel_err(err, "membarrier");
}

/* Reads a whole BPF array in one call (a lookup per element costs a
 * syscall each, and an ADD reads every array it writes). */
static int read_array(int fd, uint32_t n, void *values, size_t size, struct skl_err *err)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys)), out_batch, done = 0;
	int ret = 0;

	if (!keys)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	while (done < n) {
		uint32_t count = n - done;

		if (bpf_map_lookup_batch(fd, done ? &out_batch : NULL, &out_batch, keys,
					 (char *)values + (size_t)done * size, &count, NULL) &&
		    errno != ENOENT) {
			ret = kernel_err(err, "reading a BPF array");
			break;
		}
		done += count;
		if (!count || errno == ENOENT)
			break;
	}
	if (!ret && done != n)
		ret = skl_errf(err, SKL_CNI_INTERNAL, "reading a BPF array: %u of %u entries",
			       done, n);
	free(keys);
	return ret;
}

/* Writes entries [0, n) of values to keys first.. of a BPF array at once. */
static int write_array(int fd, uint32_t first, uint32_t n, const void *values,
		       const char *what, struct skl_err *err)
{
	uint32_t *keys, count = n;
	int ret = 0;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (bpf_map_update_batch(fd, keys, values, &count, NULL) || count != n)
		ret = kernel_err(err, what);
	free(keys);
	return ret;
}

static int label_find(const struct skl_label *labels, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if ((labels[i].flags & SKL_LABEL_F_IN_USE) && !strcmp(labels[i].name, name))
			return (int)i;
	return -1;
}

static int resolve_labels(struct apply *a, const struct skl_binding_set *set,
			  uint32_t *label_of, struct skl_err *err)
{
	uint32_t n = a->d->limits.labels;

	for (size_t i = 0; i < set->n; i++) {
		int id = label_find(a->labels, n, set->v[i].label);

		if (id < 0) {
			for (uint32_t k = 0; k < n && id < 0; k++)
				if (!(a->labels[k].flags & SKL_LABEL_F_IN_USE))
					id = (int)k;
			if (id < 0)
				return skl_errf(err, SKL_CNI_INVALID_CONFIG,
						"%s: label \"%s\" is one more than the %u labels this "
						"dispatcher holds; raise limits.labels",
						set->v[i].where, set->v[i].label, n);
			a->labels[id].flags = SKL_LABEL_F_IN_USE;
			snprintf(a->labels[id].name, sizeof(a->labels[id].name), "%s",
				 set->v[i].label);
			if (bpf_map_update_elem(a->d->map_fd[SKL_MAP_LABELS], &id,
						&a->labels[id], BPF_ANY))
				return kernel_err(err, "writing a label");
			a->label_new[id] = true;
		}
		a->label_used[id] = true;
		label_of[i] = (uint32_t)id;
	}
	return 0;
}

static void value_of(const struct skl_binding_spec *b, uint32_t label,
		     struct skl_binding_value *v)
{
	memset(v, 0, sizeof(*v));
	v->label = label;
	v->flags = SKL_BINDING_F_IN_USE | (b->missing_pass ? SKL_BINDING_F_MISSING_PASS : 0);
	v->proto = b->proto;
	v->family = b->family;
	v->plen = b->plen;
	memcpy(v->addr, b->addr, sizeof(v->addr));
	v->n_ports = (uint32_t)b->n_ports;
}

/* The port ranges of binding id, as its chain in the ports array holds
 * them, equal b's? */
static bool ports_equal(const struct apply *a, uint32_t id, const struct skl_binding_spec *b)
{
	uint32_t at = a->values[id].port_first;

	if (a->values[id].n_ports != b->n_ports)
		return false;
	for (size_t k = 0; k < b->n_ports; k++) {
		if (at >= a->d->limits.port_ranges || a->ports[at].range.lo != b->ports[k].lo ||
		    a->ports[at].range.hi != b->ports[k].hi)
			return false;
		at = a->ports[at].next;
	}
	return true;
}

/* Marks the port entries the bindings in use reach; a chain that leaves
 * the array or loops is damaged state. */
static int mark_ports_taken(struct apply *a, struct skl_err *err)
{
	uint32_t max = a->d->limits.port_ranges;

	for (uint32_t id = 0; id < a->d->limits.bindings; id++) {
		uint32_t at = a->values[id].port_first;

		if (!(a->values[id].flags & SKL_BINDING_F_IN_USE))
			continue;
		for (uint32_t k = 0; k < a->values[id].n_ports; k++) {
			if (at >= max || a->port_taken[at])
				return skl_errf(err, SKL_CNI_INTERNAL,
						"binding #%u: its port ranges in the ports map are "
						"damaged; re-create the pod", id);
			a->port_taken[at] = true;
			at = a->ports[at].next;
		}
	}
	return 0;
}

/* Where a binding keeps its port ranges is no part of what it is. */
static struct skl_binding_value identity(const struct skl_binding_value *v)
{
	struct skl_binding_value id = *v;

	id.port_first = 0;
	return id;
}

static uint64_t value_hash(const struct skl_binding_value *value)
{
	struct skl_binding_value v = identity(value);
	const unsigned char *p = (const unsigned char *)&v;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(v); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct keyed {
	uint64_t hash;
	uint32_t index;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static size_t lower_bound(const struct keyed *v, size_t n, uint64_t hash)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Gives every binding of the set an id: the id of an identical binding in
 * force, or a free one. Matching goes through a sorted hash list, so a
 * replace of 100k bindings is not quadratic. */
static int assign_ids(struct apply *a, const struct skl_binding_set *set,
		      const uint32_t *label_of, struct skl_err *err)
{
	uint32_t max = a->d->limits.bindings, n_old = 0, next_free = 0;
	struct keyed *old = calloc(max, sizeof(*old));
	int ret = -1;

	if (!old)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t id = 0; id < max; id++)
		if (a->values[id].flags & SKL_BINDING_F_IN_USE)
			old[n_old++] = (struct keyed){ value_hash(&a->values[id]), id };
	qsort(old, n_old, sizeof(*old), cmp_keyed);

	for (size_t i = 0; i < set->n; i++) {
		struct skl_binding_value v;
		struct keyed probe;
		const struct keyed *hit;
		size_t k;

		value_of(&set->v[i], label_of[i], &v);
		probe = (struct keyed){ value_hash(&v), 0 };
		hit = NULL;
		/* Every id with this hash, from the first one on. */
		for (k = lower_bound(old, n_old, probe.hash); k < n_old && old[k].hash == probe.hash; k++) {
			uint32_t id = old[k].index;
			struct skl_binding_value kept = identity(&a->values[id]);

			if (!a->id_kept[id] && !memcmp(&kept, &v, sizeof(v)) &&
			    ports_equal(a, id, &set->v[i])) {
				hit = &old[k];
				break;
			}
		}
		if (hit) {
			a->id_kept[hit->index] = true;
			a->id_of[i] = hit->index;
			continue;
		}
		while (next_free < max && ((a->values[next_free].flags & SKL_BINDING_F_IN_USE) ||
					   a->id_new[next_free]))
			next_free++;
		if (next_free == max) {
			skl_errf(err, SKL_CNI_INVALID_CONFIG,
				 "%s: more than the %u bindings this dispatcher holds; raise "
				 "limits.bindings", set->v[i].where, max);
			goto out;
		}
		a->id_new[next_free] = true;
		a->id_of[i] = next_free;
	}
	ret = 0;
out:
	free(old);
	return ret;
}

/* Links b's port ranges as a chain through free entries of the ports array
 * (written out by write_new_ports); *first gets its head. Entries of a
 * failed apply are reached by no binding in use, so they are free again
 * without a delete. */
static int alloc_ports(struct apply *a, const struct skl_binding_spec *b, uint32_t *first,
		       struct skl_err *err)
{
	uint32_t max = a->d->limits.port_ranges, prev = SKL_NONE;

	*first = 0;
	for (size_t k = 0; k < b->n_ports; k++) {
		uint32_t at = a->port_cursor;

		while (at < max && a->port_taken[at])
			at++;
		if (at == max)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"%s: more port ranges than the %u this dispatcher holds; "
					"raise limits.portRanges", b->where, max);
		a->port_cursor = at + 1;
		a->port_taken[at] = true;
		a->ports[at] = (struct skl_port_entry){ .range = b->ports[k], .next = SKL_NONE };
		if (prev == SKL_NONE)
			*first = at;
		else
			a->ports[prev].next = at;
		prev = at;
		if (a->port_dirty_lo > at)
			a->port_dirty_lo = at;
		if (a->port_dirty_hi < at + 1)
			a->port_dirty_hi = at + 1;
	}
	return 0;
}

/* One batch for every port entry this apply allocated (and the entries in
 * between, unchanged: user space is their only reader). */
static int write_new_ports(struct apply *a, struct skl_err *err)
{
	if (a->port_dirty_lo >= a->port_dirty_hi)
		return 0;
	return write_array(a->d->map_fd[SKL_MAP_PORTS], a->port_dirty_lo,
			   a->port_dirty_hi - a->port_dirty_lo, &a->ports[a->port_dirty_lo],
			   "writing port ranges", err);
}

static int write_binding(struct apply *a, const struct skl_binding_spec *b, uint32_t id,
			 uint32_t label, uint32_t port_first, struct skl_err *err)
{
	struct skl_binding_value v;

	value_of(b, label, &v);
	v.port_first = port_first;
	if (skl_counters_reset(a->d, SKL_COUNTERS_BINDING, id, err))
		return -1;
	if (bpf_map_update_elem(a->d->map_fd[SKL_MAP_BINDINGS], &id, &v, BPF_ANY))
		return kernel_err(err, "writing a binding");
	return 0;
}

/* The new bindings: port ranges first, so a binding never points at
 * entries not written yet. */
static int write_new_bindings(struct apply *a, const struct skl_binding_set *set,
			      const uint32_t *label_of, struct skl_err *err)
{
	uint32_t *port_first = calloc(set->n ? set->n : 1, sizeof(*port_first));
	int ret = -1;

	if (!port_first)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	a->port_dirty_lo = a->d->limits.port_ranges;
	for (size_t i = 0; i < set->n; i++)
		if (a->id_new[a->id_of[i]] && alloc_ports(a, &set->v[i], &port_first[i], err))
			goto out;
	if (write_new_ports(a, err))
		goto out;
	for (size_t i = 0; i < set->n; i++)
		if (a->id_new[a->id_of[i]] &&
		    write_binding(a, &set->v[i], a->id_of[i], label_of[i], port_first[i], err))
			goto out;
	ret = 0;
out:
	free(port_first);
	return ret;
}

/* Its port entries are free once no binding in use reaches them. */
static void free_binding(struct skl_dispatcher *d, uint32_t id)
{
	struct skl_binding_value zero = { 0 };

	bpf_map_update_elem(d->map_fd[SKL_MAP_BINDINGS], &id, &zero, BPF_ANY);
}

static int label_has_socket(struct skl_dispatcher *d, uint32_t label)
{
	for (uint32_t s = 0; s < 4; s++) {
		uint32_t slot = label * 4 + s;
		uint64_t cookie;

		if (!bpf_map_lookup_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &cookie))
			return 1;
	}
	return 0;
}

static void free_label(struct skl_dispatcher *d, uint32_t id)
{
	struct skl_label zero = { 0 };

	bpf_map_update_elem(d->map_fd[SKL_MAP_LABELS], &id, &zero, BPF_ANY);
	skl_counters_reset(d, SKL_COUNTERS_LABEL, id, NULL);
}

/* Deletes the prefix entries of one generation. */
static int clear_generation(struct skl_dispatcher *d, uint32_t gen, bool wait,
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
	if (n && wait && wait_for_readers(err))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) && errno != ENOENT) {
			kernel_err(err, "deleting an old prefix entry");
			goto out;
		}
	ret = 0;
out:
	free(doomed);
	return ret;
}

static int write_segments(struct apply *a, const struct skl_compiled *c, uint32_t base,
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
	ret = write_array(a->d->map_fd[SKL_MAP_SEGMENTS], base, (uint32_t)c->n_segments, segs,
			  "writing the port tables", err);
	free(segs);
	return ret;
}

/* The four search trees of the target generation: roots at their fixed
 * slots, the other nodes in the generation's own region. */
static int write_search(struct apply *a, const struct skl_compiled *c, struct skl_err *err)
{
	struct skl_dispatcher *d = a->d;
	uint32_t region = SKL_SEARCH_ROOTS + a->target * d->search_per_gen, used = 0;
	struct skl_search_node roots[4], *nodes;
	int ret = -1;

	nodes = calloc(4 * SKL_LENGTHS_MAX, sizeof(*nodes));
	if (!nodes)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t k = 0; k < 4; k++) {
		uint32_t n;

		skl_search_tree_build(&c->lengths[k], region + used, &roots[k], nodes + used, &n);
		used += n;
	}
	if (used > d->search_per_gen) {
		skl_errf(err, SKL_CNI_INVALID_CONFIG,
			 "bindings: %u distinct prefix lengths, more than the %u this dispatcher "
			 "holds; raise limits.bindings", used + 4, d->search_per_gen + 4);
		goto out;
	}
	if (write_array(d->map_fd[SKL_MAP_SEARCH], region, used, nodes, "writing the search",
			err) ||
	    write_array(d->map_fd[SKL_MAP_SEARCH], skl_lengths_key(a->target, 0, 0), 4, roots,
			"writing the search", err))
		goto out;
	ret = 0;
out:
	free(nodes);
	return ret;
}

static int write_generation(struct apply *a, const struct skl_compiled *c, struct skl_err *err)
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
				       : kernel_err(err, "writing a prefix entry");
	}
	return 0;
}

static int flip(struct skl_dispatcher *d, uint32_t gen, struct skl_err *err)
{
	struct skl_config cfg;
	uint32_t zero = 0;

	if (skl_dispatcher_config(d, &cfg, err))
		return -1;
	cfg.active_gen = gen;
	if (bpf_map_update_elem(d->map_fd[SKL_MAP_CONFIG], &zero, &cfg, BPF_ANY))
		return kernel_err(err, "switching the active generation");
	return 0;
}

static void rollback(struct apply *a, const struct skl_binding_set *set)
{
	struct skl_dispatcher *d = a->d;

	clear_generation(d, a->target, false, NULL);
	for (size_t i = 0; i < set->n; i++)
		if (a->id_of[i] != SKL_NONE && a->id_new[a->id_of[i]])
			free_binding(d, a->id_of[i]);
	for (uint32_t l = 0; l < d->limits.labels; l++)
		if (a->label_new[l])
			free_label(d, l);
}

/* After the switch and a grace period: drop the old generation, the ids
 * only it used, and labels with neither bindings nor sockets. */
static void retire_old(struct apply *a, bool old_had_entries)
{
	struct skl_dispatcher *d = a->d;

	if (old_had_entries && clear_generation(d, a->active, true, NULL))
		return;
	for (uint32_t id = 0; id < d->limits.bindings; id++)
		if ((a->values[id].flags & SKL_BINDING_F_IN_USE) && !a->id_kept[id])
			free_binding(d, id);
	for (uint32_t l = 0; l < d->limits.labels; l++)
		if ((a->labels[l].flags & SKL_LABEL_F_IN_USE) && !a->label_used[l] &&
		    !label_has_socket(d, l))
			free_label(d, l);
}

static int apply_alloc(struct apply *a, size_t n_bindings)
{
	const struct skl_limits *l = &a->d->limits;

	a->labels = calloc(l->labels, sizeof(*a->labels));
	a->values = calloc(l->bindings, sizeof(*a->values));
	a->label_new = calloc(l->labels, sizeof(bool));
	a->label_used = calloc(l->labels, sizeof(bool));
	a->id_new = calloc(l->bindings, sizeof(bool));
	a->id_kept = calloc(l->bindings, sizeof(bool));
	a->id_of = malloc((n_bindings ? n_bindings : 1) * sizeof(uint32_t));
	a->ports = calloc(l->port_ranges, sizeof(*a->ports));
	a->port_taken = calloc(l->port_ranges, sizeof(bool));
	if (!a->labels || !a->values || !a->label_new || !a->label_used || !a->id_new ||
	    !a->id_kept || !a->id_of || !a->ports || !a->port_taken)
		return -1;
	for (size_t i = 0; i < n_bindings; i++)
		a->id_of[i] = SKL_NONE;
	return 0;
}

static void apply_free(struct apply *a)
{
	free(a->labels);
	free(a->values);
	free(a->label_new);
	free(a->label_used);
	free(a->id_new);
	free(a->id_kept);
	free(a->id_of);
	free(a->ports);
	free(a->port_taken);
}

static bool any_in_use(const struct apply *a)
{
	for (uint32_t id = 0; id < a->d->limits.bindings; id++)
		if (a->values[id].flags & SKL_BINDING_F_IN_USE)
			return true;
	return false;
}

int skl_rules_apply(struct skl_dispatcher *d, const struct skl_binding_set *set,
		    struct skl_err *err)
{
	struct apply a = { .d = d };
	struct skl_compiled compiled = { 0 };
	struct skl_config cfg;
	uint32_t *label_of = NULL;
	bool old_had_entries;
	int ret = -1;

	if (skl_compile(set, &compiled, err))
		return -1;
	label_of = malloc((set->n ? set->n : 1) * sizeof(*label_of));
	if (!label_of || apply_alloc(&a, set->n)) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	if (skl_dispatcher_config(d, &cfg, err) ||
	    read_array(d->map_fd[SKL_MAP_LABELS], d->limits.labels, a.labels, sizeof(*a.labels),
		       err) ||
	    read_array(d->map_fd[SKL_MAP_BINDINGS], d->limits.bindings, a.values,
		       sizeof(*a.values), err) ||
	    read_array(d->map_fd[SKL_MAP_PORTS], d->limits.port_ranges, a.ports,
		       sizeof(*a.ports), err) ||
	    mark_ports_taken(&a, err))
		goto out;
	a.active = cfg.active_gen & 1;
	a.target = a.active ^ 1;
	old_had_entries = any_in_use(&a);

	/* Leftovers of an apply that died before its clean-up. */
	if (clear_generation(d, a.target, true, err))
		goto out;
	if (resolve_labels(&a, set, label_of, err) || assign_ids(&a, set, label_of, err))
		goto fail;
	if (write_new_bindings(&a, set, label_of, err))
		goto fail;
	if (write_generation(&a, &compiled, err) || flip(d, a.target, err))
		goto fail;
	retire_old(&a, old_had_entries);
	ret = 0;
	goto out;
fail:
	rollback(&a, set);
out:
	skl_compiled_free(&compiled);
	free(label_of);
	apply_free(&a);
	return ret;
}

int skl_label_lookup(const struct skl_dispatcher *d, const char *name, uint32_t *id,
		     struct skl_err *err)
{
	for (uint32_t i = 0; i < d->limits.labels; i++) {
		struct skl_label l;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_LABELS], &i, &l))
			return kernel_err(err, "reading labels");
		if ((l.flags & SKL_LABEL_F_IN_USE) && !strcmp(l.name, name)) {
			*id = i;
			return 0;
		}
	}
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"label \"%s\" is not used by any binding of this pod", name);
}

static int read_binding(const struct skl_dispatcher *d, uint32_t id,
			const struct skl_binding_value *v, struct skl_binding_spec *b,
			struct skl_err *err)
{
	struct skl_label label;

	memset(b, 0, sizeof(*b));
	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_LABELS], &v->label, &label))
		return kernel_err(err, "reading a label");
	snprintf(b->label, sizeof(b->label), "%.*s", SKL_LABEL_MAX, label.name);
	b->proto = v->proto;
	b->kind = SKL_PREFIX_CIDR;
	b->family = v->family;
	b->plen = v->plen;
	memcpy(b->addr, v->addr, sizeof(b->addr));
	b->missing_pass = v->flags & SKL_BINDING_F_MISSING_PASS;
	snprintf(b->where, sizeof(b->where), "binding #%u", id);
	b->ports = calloc(v->n_ports ? v->n_ports : 1, sizeof(*b->ports));
	if (!b->ports)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	b->n_ports = v->n_ports;
	for (uint32_t k = 0, at = v->port_first; k < v->n_ports; k++) {
		struct skl_port_entry e;

		if (at >= d->limits.port_ranges) {
			free(b->ports);
			return skl_errf(err, SKL_CNI_INTERNAL,
					"binding #%u: its port ranges in the ports map are damaged; "
					"re-create the pod", id);
		}
		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_PORTS], &at, &e)) {
			free(b->ports);
			return kernel_err(err, "reading port ranges");
		}
		b->ports[k] = e.range;
		at = e.next;
	}
	return 0;
}

int skl_rules_read(const struct skl_dispatcher *d, struct skl_binding_set *out, uint32_t **ids,
		   struct skl_err *err)
{
	struct skl_binding_set set = { 0 };
	uint32_t *id_list = NULL;

	for (uint32_t id = 0; id < d->limits.bindings; id++) {
		struct skl_binding_value v;
		struct skl_binding_spec b;
		void *p;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_BINDINGS], &id, &v)) {
			kernel_err(err, "reading bindings");
			goto fail;
		}
		if (!(v.flags & SKL_BINDING_F_IN_USE))
			continue;
		if (read_binding(d, id, &v, &b, err))
			goto fail;
		if (skl_bindings_append(&set, &b, err)) {
			free(b.ports);
			goto fail;
		}
		free(b.ports);
		p = realloc(id_list, set.n * sizeof(*id_list));
		if (!p) {
			skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
			goto fail;
		}
		id_list = p;
		id_list[set.n - 1] = id;
	}
	*out = set;
	*ids = id_list;
	return 0;
fail:
	skl_bindings_free(&set);
	free(id_list);
	return -1;
}
