#include "dispatcher.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dispatch_abi.h"
#include "dispatcher.skel.h"
#include "dispatcher_internal.h"
#include "prefix_table.h"

const char *const skl_map_pin_names[SKL_MAP_COUNT] = {
	[SKL_MAP_CONFIG] = "config",
	[SKL_MAP_PREFIXES] = "prefixes",
	[SKL_MAP_SEARCH] = "search",
	[SKL_MAP_SEGMENTS] = "segments",
	[SKL_MAP_BINDINGS] = "bindings",
	[SKL_MAP_PORTS] = "ports",
	[SKL_MAP_LABELS] = "labels",
	[SKL_MAP_SOCKETS] = "sockets",
	[SKL_MAP_BIND_COUNTERS] = "bind_counters",
	[SKL_MAP_LABEL_COUNTERS] = "label_counters",
	[SKL_MAP_TOTALS] = "totals",
	[SKL_MAP_EVENTS] = "events",
	[SKL_MAP_MONITOR] = "monitor",
};

void skl_limits_default(struct skl_limits *limits)
{
	limits->bindings = SKL_LIMIT_BINDINGS_DEFAULT;
	limits->labels = SKL_LIMIT_LABELS_DEFAULT;
	limits->port_ranges = SKL_LIMIT_PORT_RANGES_DEFAULT;
}

int skl_limits_check(const struct skl_limits *limits, struct skl_err *err)
{
	if (limits->bindings < 1 || limits->bindings > SKL_LIMIT_BINDINGS_MAX)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"limits.bindings: %u is out of range; use 1..%u", limits->bindings,
				SKL_LIMIT_BINDINGS_MAX);
	if (limits->labels < 1 || limits->labels > SKL_LIMIT_LABELS_MAX)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"limits.labels: %u is out of range; use 1..%u", limits->labels,
				SKL_LIMIT_LABELS_MAX);
	if (limits->port_ranges < 1 || limits->port_ranges > SKL_LIMIT_PORT_RANGES_MAX)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"limits.portRanges: %u is out of range; use 1..%u",
				limits->port_ranges, SKL_LIMIT_PORT_RANGES_MAX);
	return 0;
}

/* Derived sizes. A port table has at most 2 segments per range plus one, and
 * the table of a nested prefix repeats the segments of its parents (a host
 * with one port under a prefix with a range and one with all ports takes ~6);
 * identical tables are stored once. A random set of 100,000 nested
 * bindings needs 5.1 per range (test_scale); 6 leaves room, and deeper
 * nesting fails with an error naming limits.portRanges. The prefix table's
 * size is prefix_table.c's. */
#define SEGMENTS_PER_RANGE 6
/* Room above the per-item sizes for the smallest limits. */
#define TABLE_SLACK 64

uint32_t skl_segments_per_gen(const struct skl_limits *l)
{
	return SEGMENTS_PER_RANGE * l->port_ranges + TABLE_SLACK;
}

/* Non-root search nodes of a generation: one per length in use, and every
 * length in use belongs to a binding. */
static uint32_t search_nodes_per_gen(const struct skl_limits *l)
{
	return l->bindings < SKL_SEARCH_NODES_MAX ? l->bindings : SKL_SEARCH_NODES_MAX;
}


struct dispatcher_bpf *skl_dispatcher_skel_open(void)
{
	return dispatcher_bpf__open();
}

void skl_dispatcher_skel_bounds(struct dispatcher_bpf *skel, uint32_t bindings,
				uint32_t segments_per_gen)
{
	struct bpf_map *rodata = skel->maps.rodata;

	skel->rodata->search_steps = skl_search_steps_for(bindings);
	skel->rodata->segment_probes = skl_segment_probes_for(segments_per_gen);
	/* 8 bytes, never mapped by user space: an mmapable map would charge
	 * the pod two pages for them. */
	bpf_map__set_map_flags(rodata, bpf_map__map_flags(rodata) & ~BPF_F_MMAPABLE);
}

void skl_dispatcher_init(struct skl_dispatcher *d)
{
	memset(d, 0, sizeof(*d));
	d->prog_fd = -1;
	d->link_fd = -1;
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		d->map_fd[i] = -1;
}

void skl_dispatcher_close(struct skl_dispatcher *d)
{
	/* A skeleton owns its program and map fds; pinned or opened ones are ours. */
	if (d->skel) {
		dispatcher_bpf__destroy(d->skel);
	} else {
		if (d->prog_fd >= 0)
			close(d->prog_fd);
		for (int i = 0; i < SKL_MAP_COUNT; i++)
			if (d->map_fd[i] >= 0)
				close(d->map_fd[i]);
	}
	if (d->link_fd >= 0)
		close(d->link_fd);
	skl_dispatcher_init(d);
}

static struct bpf_map *skel_map(struct dispatcher_bpf *skel, enum skl_map which)
{
	struct bpf_map *maps[SKL_MAP_COUNT] = {
		[SKL_MAP_CONFIG] = skel->maps.config,
		[SKL_MAP_PREFIXES] = skel->maps.prefixes,
		[SKL_MAP_SEARCH] = skel->maps.search,
		[SKL_MAP_SEGMENTS] = skel->maps.segments,
		[SKL_MAP_BINDINGS] = skel->maps.bindings,
		[SKL_MAP_PORTS] = skel->maps.ports,
		[SKL_MAP_LABELS] = skel->maps.labels,
		[SKL_MAP_SOCKETS] = skel->maps.sockets,
		[SKL_MAP_BIND_COUNTERS] = skel->maps.bind_counters,
		[SKL_MAP_LABEL_COUNTERS] = skel->maps.label_counters,
		[SKL_MAP_TOTALS] = skel->maps.totals,
		[SKL_MAP_EVENTS] = skel->maps.events,
		[SKL_MAP_MONITOR] = skel->maps.monitor,
	};
	return maps[which];
}

static void set_sizes(struct dispatcher_bpf *skel, const struct skl_limits *l)
{
	uint32_t sizes[SKL_MAP_COUNT] = {
		[SKL_MAP_CONFIG] = 1,
		[SKL_MAP_PREFIXES] = SKL_GENERATIONS * skl_prefix_buckets_for(l->bindings),
		[SKL_MAP_SEARCH] = SKL_SEARCH_ROOTS + SKL_GENERATIONS * search_nodes_per_gen(l),
		[SKL_MAP_SEGMENTS] = SKL_GENERATIONS * skl_segments_per_gen(l),
		[SKL_MAP_BINDINGS] = l->bindings,
		[SKL_MAP_PORTS] = l->port_ranges,
		[SKL_MAP_LABELS] = l->labels,
		[SKL_MAP_SOCKETS] = SKL_SOCKETS_PER_LABEL * l->labels,
		[SKL_MAP_BIND_COUNTERS] = l->bindings,
		[SKL_MAP_LABEL_COUNTERS] = l->labels,
		[SKL_MAP_TOTALS] = 1,
		[SKL_MAP_EVENTS] = l->bindings + l->labels,
		[SKL_MAP_MONITOR] = 1,
	};

	for (int i = 0; i < SKL_MAP_COUNT; i++)
		bpf_map__set_max_entries(skel_map(skel, i), sizes[i]);
}

static int map_max_entries(int fd, uint32_t *max, struct skl_err *err)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading BPF map info: %s", strerror(errno));
	*max = info.max_entries;
	return 0;
}

/* Reads the capacity back from the maps themselves, so an opened dispatcher
 * knows the limits it was loaded with. */
int skl_dispatcher_read_limits(struct skl_dispatcher *d, struct skl_err *err)
{
	uint32_t segments, search, buckets;

	if (map_max_entries(d->map_fd[SKL_MAP_BINDINGS], &d->limits.bindings, err) ||
	    map_max_entries(d->map_fd[SKL_MAP_LABELS], &d->limits.labels, err) ||
	    map_max_entries(d->map_fd[SKL_MAP_PORTS], &d->limits.port_ranges, err) ||
	    map_max_entries(d->map_fd[SKL_MAP_PREFIXES], &buckets, err) ||
	    map_max_entries(d->map_fd[SKL_MAP_SEGMENTS], &segments, err) ||
	    map_max_entries(d->map_fd[SKL_MAP_SEARCH], &search, err))
		return -1;
	if (search < SKL_SEARCH_ROOTS)
		return skl_errf(err, SKL_CNI_INTERNAL, "the search map holds %u nodes, fewer than "
				"its %u roots", search, SKL_SEARCH_ROOTS);
	d->max_segments = segments / SKL_GENERATIONS;
	d->prefix_buckets = buckets / SKL_GENERATIONS;
	d->search_per_gen = (search - SKL_SEARCH_ROOTS) / SKL_GENERATIONS;
	return 0;
}

int skl_dispatcher_load(struct skl_dispatcher *d, const struct skl_limits *limits,
			uint64_t netns_cookie, struct skl_err *err)
{
	struct skl_config cfg = {
		.active_gen = 0,
		.abi_version = SKL_ABI_VERSION,
		.max_segments = skl_segments_per_gen(limits),
		.label_events = limits->bindings,
		.netns_cookie = netns_cookie,
	};
	uint32_t zero = 0;
	int ret;

	/* No summary answers for a generation until its tables are written. */
	for (uint32_t k = 0; k < SKL_SEARCH_ROOTS; k++)
		cfg.summary[k].direct_ports = SKL_INLINE_NONE;
	skl_dispatcher_init(d);
	if (skl_limits_check(limits, err))
		return -1;
	d->skel = skl_dispatcher_skel_open();
	if (!d->skel)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening the embedded BPF object: %s",
				strerror(errno));
	set_sizes(d->skel, limits);
	skl_dispatcher_skel_bounds(d->skel, limits->bindings, skl_segments_per_gen(limits));
	ret = dispatcher_bpf__load(d->skel);
	if (ret) {
		skl_errf(err, SKL_CNI_INTERNAL,
			 "loading the BPF dispatcher: %s (needs CAP_BPF and CAP_NET_ADMIN, "
			 "and a kernel with BPF sk_lookup, 5.9 or later)",
			 strerror(-ret));
		skl_dispatcher_close(d);
		return -1;
	}
	d->prog_fd = bpf_program__fd(d->skel->progs.sklookup_dispatch);
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		d->map_fd[i] = bpf_map__fd(skel_map(d->skel, i));
	if (bpf_map_update_elem(d->map_fd[SKL_MAP_CONFIG], &zero, &cfg, BPF_ANY)) {
		skl_errf(err, SKL_CNI_INTERNAL, "writing the dispatcher config: %s",
			 strerror(errno));
		skl_dispatcher_close(d);
		return -1;
	}
	if (skl_dispatcher_read_limits(d, err)) {
		skl_dispatcher_close(d);
		return -1;
	}
	return 0;
}

int skl_dispatcher_attach(struct skl_dispatcher *d, int netns_fd, struct skl_err *err)
{
	int fd = bpf_link_create(d->prog_fd, netns_fd, BPF_SK_LOOKUP, NULL);

	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL,
				"attaching the dispatcher to the netns (BPF_LINK_CREATE, "
				"BPF_SK_LOOKUP): %s", strerror(errno));
	d->link_fd = fd;
	return 0;
}

int skl_dispatcher_pin_path(char *buf, size_t len, const char *dir, const char *name,
			    struct skl_err *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return skl_errf(err, SKL_CNI_INTERNAL, "state path too long: %s/%s", dir, name);
	return 0;
}

static int pin_one(int fd, const char *dir, const char *name, struct skl_err *err)
{
	char path[PATH_MAX];

	if (skl_dispatcher_pin_path(path, sizeof(path), dir, name, err))
		return -1;
	if (bpf_obj_pin(fd, path))
		return skl_errf(err, SKL_CNI_INTERNAL, "pinning %s: %s", path, strerror(errno));
	return 0;
}

int skl_dispatcher_pin(struct skl_dispatcher *d, const char *dir, struct skl_err *err)
{
	for (int i = 0; i < SKL_MAP_COUNT && !d->spare; i++)
		if (pin_one(d->map_fd[i], dir, skl_map_pin_names[i], err))
			return -1;
	if (!d->spare && pin_one(d->prog_fd, dir, SKL_PIN_PROG, err))
		return -1;
	if (d->link_fd >= 0 && pin_one(d->link_fd, dir, SKL_PIN_LINK, err))
		return -1;
	return 0;
}
