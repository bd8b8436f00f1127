/*
 * A pod's counters in few system calls (pod_counters.h): the node agent
 * reads every pod of the node on each scrape, so each array is read whole
 * in one batched lookup instead of one lookup per entry, and only the maps
 * the counters need are opened.
 */
#include "pod_counters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dispatcher.h"

#define NEEDED_MAPS                                                                      \
	((1u << SKL_MAP_BINDINGS) | (1u << SKL_MAP_LABELS) | (1u << SKL_MAP_SOCKETS) |    \
	 (1u << SKL_MAP_BIND_COUNTERS) | (1u << SKL_MAP_LABEL_COUNTERS) |                 \
	 (1u << SKL_MAP_TOTALS) | (1u << SKL_MAP_EVENTS))

/* The n entries of an array map (per-CPU: each value_size * CPUs bytes) in
 * one batch, or one by one where the kernel has no batches. */
static int read_array(int fd, uint32_t n, size_t value_size, void *values, struct skl_err *err)
{
	uint32_t *keys = calloc(n ? n : 1, sizeof(*keys)), count = n, next;
	int ret = 0;

	if (!keys)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if (bpf_map_lookup_batch(fd, NULL, &next, keys, values, &count, NULL) &&
	    !(errno == ENOENT && count == n)) {
		if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
			ret = skl_errf(err, SKL_CNI_INTERNAL, "reading counters: %s",
				       strerror(errno));
		for (uint32_t k = 0; !ret && k < n; k++)
			if (bpf_map_lookup_elem(fd, &k, (char *)values + k * value_size))
				ret = skl_errf(err, SKL_CNI_INTERNAL, "reading counters: %s",
					       strerror(errno));
	} else if (count != n) {
		ret = skl_errf(err, SKL_CNI_INTERNAL, "reading counters: %u of %u entries",
			       count, n);
	}
	free(keys);
	return ret;
}

/* A per-CPU array's n entries of SKL_C_HOT counters, summed over the CPUs
 * into out[k][0..SKL_C_HOT). */
static int read_hot(int fd, uint32_t n, int cpus, uint64_t (*out)[SKL_C_COUNT],
		    struct skl_err *err)
{
	size_t per_entry = (size_t)cpus * sizeof(struct skl_hot_counters);
	struct skl_hot_counters *all = calloc(n ? n : 1, per_entry);
	int ret;

	if (!all)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	ret = read_array(fd, n, per_entry, all, err);
	for (uint32_t k = 0; !ret && k < n; k++)
		for (int c = 0; c < cpus; c++)
			for (int i = 0; i < SKL_C_HOT; i++)
				out[k][i] += all[(size_t)k * cpus + c].c[i];
	free(all);
	return ret;
}

struct raw {
	uint32_t n_bindings, n_labels;
	struct skl_binding_value *bindings;
	struct skl_label *labels;
	struct skl_counters *events; /* bindings, then labels */
	uint64_t (*binding_c)[SKL_C_COUNT];
	uint64_t (*label_c)[SKL_C_COUNT];
};

static int read_raw(const struct skl_dispatcher *d, int cpus, struct raw *r, struct skl_err *err)
{
	r->n_bindings = d->limits.bindings;
	r->n_labels = d->limits.labels;
	r->bindings = calloc(r->n_bindings + 1, sizeof(*r->bindings));
	r->labels = calloc(r->n_labels + 1, sizeof(*r->labels));
	r->events = calloc(r->n_bindings + r->n_labels + 1, sizeof(*r->events));
	r->binding_c = calloc(r->n_bindings + 1, sizeof(*r->binding_c));
	r->label_c = calloc(r->n_labels + 1, sizeof(*r->label_c));
	if (!r->bindings || !r->labels || !r->events || !r->binding_c || !r->label_c)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	return read_array(d->map_fd[SKL_MAP_BINDINGS], r->n_bindings, sizeof(*r->bindings),
			  r->bindings, err) ||
	       read_array(d->map_fd[SKL_MAP_LABELS], r->n_labels, sizeof(*r->labels), r->labels,
			  err) ||
	       read_array(d->map_fd[SKL_MAP_EVENTS], r->n_bindings + r->n_labels,
			  sizeof(*r->events), r->events, err) ||
	       read_hot(d->map_fd[SKL_MAP_BIND_COUNTERS], r->n_bindings, cpus, r->binding_c, err) ||
	       read_hot(d->map_fd[SKL_MAP_LABEL_COUNTERS], r->n_labels, cpus, r->label_c, err);
}

static void free_raw(struct raw *r)
{
	free(r->bindings);
	free(r->labels);
	free(r->events);
	free(r->binding_c);
	free(r->label_c);
}

/* Every counter of one owner: the hot ones, then the events. */
static void merge(uint64_t out[SKL_C_COUNT], const uint64_t hot[SKL_C_COUNT],
		  const struct skl_counters *events)
{
	memcpy(out, events->c, sizeof(events->c));
	memcpy(out, hot, SKL_C_HOT * sizeof(*hot));
}

static void take_labels(const struct skl_dispatcher *d, const struct raw *r,
			struct skl_pod_counters *pc, uint32_t *index_of)
{
	for (uint32_t id = 0; id < r->n_labels; id++) {
		struct skl_counted_label *l = &pc->labels[pc->n_labels];

		index_of[id] = SKL_NONE;
		if (!(r->labels[id].flags & SKL_LABEL_F_IN_USE))
			continue;
		l->id = id;
		memcpy(l->name, r->labels[id].name, SKL_LABEL_MAX);
		merge(l->c, r->label_c[id], &r->events[r->n_bindings + id]);
		for (uint32_t s = 0; s < SKL_SOCKETS_PER_LABEL; s++) {
			uint32_t slot = id * SKL_SOCKETS_PER_LABEL + s;

			/* An empty slot is ENOENT. */
			if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &l->cookie[s]))
				l->cookie[s] = 0;
		}
		index_of[id] = (uint32_t)pc->n_labels++;
	}
}

static void take_bindings(const struct raw *r, const uint32_t *label_index,
			  struct skl_pod_counters *pc)
{
	for (uint32_t id = 0; id < r->n_bindings; id++) {
		const struct skl_binding_value *v = &r->bindings[id];
		struct skl_counted_binding *b = &pc->bindings[pc->n_bindings];

		if (!(v->flags & SKL_BINDING_F_IN_USE))
			continue;
		b->id = id;
		b->label = v->label < r->n_labels ? label_index[v->label] : SKL_NONE;
		b->proto = v->proto;
		merge(b->c, r->binding_c[id], &r->events[id]);
		pc->n_bindings++;
	}
}

static int read_totals(const struct skl_dispatcher *d, int cpus, uint64_t out[SKL_T_COUNT],
		       struct skl_err *err)
{
	struct skl_totals *all = calloc((size_t)cpus, sizeof(*all));
	uint32_t zero = 0;
	int ret = 0;

	if (!all)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_TOTALS], &zero, all))
		ret = skl_errf(err, SKL_CNI_INTERNAL, "reading counters: %s", strerror(errno));
	for (int c = 0; !ret && c < cpus; c++)
		for (int i = 0; i < SKL_T_COUNT; i++)
			out[i] += all[c].t[i];
	free(all);
	return ret;
}

int skl_pod_counters_read(const char *dir, struct skl_pod_counters *pc, struct skl_err *err)
{
	struct skl_dispatcher d;
	struct raw r = { 0 };
	uint32_t *label_index = NULL;
	int cpus = libbpf_num_possible_cpus(), ret = -1;

	memset(pc, 0, sizeof(*pc));
	if (cpus < 1)
		return skl_errf(err, SKL_CNI_INTERNAL, "counting possible CPUs: %s",
				strerror(-cpus));
	if (skl_dispatcher_open_maps(&d, dir, NEEDED_MAPS, err))
		return -1;
	if (read_raw(&d, cpus, &r, err) || read_totals(&d, cpus, pc->totals, err))
		goto out;
	pc->bindings = calloc(r.n_bindings + 1, sizeof(*pc->bindings));
	pc->labels = calloc(r.n_labels + 1, sizeof(*pc->labels));
	label_index = calloc(r.n_labels + 1, sizeof(*label_index));
	if (!pc->bindings || !pc->labels || !label_index) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	take_labels(&d, &r, pc, label_index);
	take_bindings(&r, label_index, pc);
	ret = 0;
out:
	free(label_index);
	free_raw(&r);
	skl_dispatcher_close(&d);
	return ret;
}

void skl_pod_counters_free(struct skl_pod_counters *pc)
{
	free(pc->bindings);
	free(pc->labels);
	memset(pc, 0, sizeof(*pc));
}
