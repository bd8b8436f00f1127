/*
 * The bindings, labels and ports maps of an apply: a binding present before
 * and after keeps its id (and so its counters), a label keeps its id while
 * it has bindings or sockets, and new bindings get free ids and port chains.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "counters.h"

static int label_find(const struct skl_label *labels, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if ((labels[i].flags & SKL_LABEL_F_IN_USE) && !strcmp(labels[i].name, name))
			return (int)i;
	return -1;
}

int skl_rules_resolve_labels(struct skl_apply *a, const struct skl_binding_set *set,
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
				return skl_rules_kernel_err(err, "writing a label");
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
static bool ports_equal(const struct skl_apply *a, uint32_t id, const struct skl_binding_spec *b)
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
int skl_rules_mark_ports_taken(struct skl_apply *a, struct skl_err *err)
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
int skl_rules_assign_ids(struct skl_apply *a, const struct skl_binding_set *set,
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
static int alloc_ports(struct skl_apply *a, const struct skl_binding_spec *b, uint32_t *first,
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
static int write_new_ports(struct skl_apply *a, struct skl_err *err)
{
	if (a->port_dirty_lo >= a->port_dirty_hi)
		return 0;
	return skl_rules_write_array(a->d->map_fd[SKL_MAP_PORTS], a->port_dirty_lo,
			   a->port_dirty_hi - a->port_dirty_lo, &a->ports[a->port_dirty_lo],
			   "writing port ranges", err);
}

static int write_binding(struct skl_apply *a, const struct skl_binding_spec *b, uint32_t id,
			 uint32_t label, uint32_t port_first, struct skl_err *err)
{
	struct skl_binding_value v;

	value_of(b, label, &v);
	v.port_first = port_first;
	if (skl_counters_reset(a->d, SKL_COUNTERS_BINDING, id, err))
		return -1;
	if (bpf_map_update_elem(a->d->map_fd[SKL_MAP_BINDINGS], &id, &v, BPF_ANY))
		return skl_rules_kernel_err(err, "writing a binding");
	return 0;
}

/* The new bindings: port ranges first, so a binding never points at
 * entries not written yet. */
int skl_rules_write_new_bindings(struct skl_apply *a, const struct skl_binding_set *set,
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
void skl_rules_free_binding(struct skl_dispatcher *d, uint32_t id)
{
	struct skl_binding_value zero = { 0 };

	bpf_map_update_elem(d->map_fd[SKL_MAP_BINDINGS], &id, &zero, BPF_ANY);
}

int skl_rules_label_has_socket(struct skl_dispatcher *d, uint32_t label)
{
	for (uint32_t s = 0; s < SKL_SOCKETS_PER_LABEL; s++) {
		uint32_t slot = label * SKL_SOCKETS_PER_LABEL + s;
		uint64_t cookie;

		if (!bpf_map_lookup_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &cookie))
			return 1;
	}
	return 0;
}

void skl_rules_free_label(struct skl_dispatcher *d, uint32_t id)
{
	struct skl_label zero = { 0 };

	bpf_map_update_elem(d->map_fd[SKL_MAP_LABELS], &id, &zero, BPF_ANY);
	skl_counters_reset(d, SKL_COUNTERS_LABEL, id, NULL);
}
