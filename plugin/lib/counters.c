#include "counters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int hot_map(const struct skl_dispatcher *d, enum skl_counter_owner owner)
{
	return d->map_fd[owner == SKL_COUNTERS_BINDING ? SKL_MAP_BIND_COUNTERS
						      : SKL_MAP_LABEL_COUNTERS];
}

/* Labels follow the bindings in "events" (config.label_events). */
static uint32_t event_key(const struct skl_dispatcher *d, enum skl_counter_owner owner,
			  uint32_t id)
{
	return owner == SKL_COUNTERS_BINDING ? id : d->limits.bindings + id;
}

static int possible_cpus(struct skl_err *err)
{
	int cpus = libbpf_num_possible_cpus();

	if (cpus < 1)
		skl_errf(err, SKL_CNI_INTERNAL, "counting possible CPUs: %s", strerror(-cpus));
	return cpus;
}

/* Sums n u64 counters of a per-CPU map's entry key over the CPUs. */
static int read_percpu(int fd, uint32_t key, uint64_t *out, size_t n, struct skl_err *err)
{
	int cpus = possible_cpus(err);
	uint64_t *all;

	if (cpus < 1)
		return -1;
	all = calloc((size_t)cpus * n, sizeof(*all));
	if (!all)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if (bpf_map_lookup_elem(fd, &key, all)) {
		free(all);
		return skl_errf(err, SKL_CNI_INTERNAL, "reading counters: %s", strerror(errno));
	}
	memset(out, 0, n * sizeof(*out));
	for (int c = 0; c < cpus; c++)
		for (size_t i = 0; i < n; i++)
			out[i] += all[(size_t)c * n + i];
	free(all);
	return 0;
}

int skl_counters_totals(const struct skl_dispatcher *d, uint64_t out[SKL_T_COUNT],
			struct skl_err *err)
{
	return read_percpu(d->map_fd[SKL_MAP_TOTALS], 0, out, SKL_T_COUNT, err);
}

int skl_counters_read(const struct skl_dispatcher *d, enum skl_counter_owner owner, uint32_t id,
		      uint64_t out[SKL_C_COUNT], struct skl_err *err)
{
	uint32_t key = event_key(d, owner, id);
	struct skl_counters events;

	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_EVENTS], &key, &events))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading counters: %s", strerror(errno));
	memcpy(out, events.c, sizeof(events.c));
	return read_percpu(hot_map(d, owner), id, out, SKL_C_HOT, err);
}

int skl_counters_reset(const struct skl_dispatcher *d, enum skl_counter_owner owner,
		       uint32_t id, struct skl_err *err)
{
	int cpus = possible_cpus(err);
	uint32_t key = event_key(d, owner, id);
	struct skl_counters zero_events = { 0 };
	struct skl_hot_counters *zero;
	int ret = 0;

	if (cpus < 1)
		return -1;
	zero = calloc((size_t)cpus, sizeof(*zero));
	if (!zero)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	if (bpf_map_update_elem(hot_map(d, owner), &id, zero, BPF_ANY) ||
	    bpf_map_update_elem(d->map_fd[SKL_MAP_EVENTS], &key, &zero_events, BPF_ANY))
		ret = skl_errf(err, SKL_CNI_INTERNAL, "zeroing counters: %s", strerror(errno));
	free(zero);
	return ret;
}
