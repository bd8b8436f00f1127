/*
 * Opening a dispatcher pinned in a state directory: every map checked
 * against this binary's layout before any of it is read, and a pod of
 * another release named as such (which release, what to run).
 */
#include "dispatcher.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dispatch_abi.h"
#include "dispatcher_internal.h"
#include "record.h"
#include "state.h"
#include "version.h"

static int open_one(const char *dir, const char *name, int *fd, struct skl_err *err)
{
	char path[PATH_MAX];

	if (skl_dispatcher_pin_path(path, sizeof(path), dir, name, err))
		return -1;
	*fd = bpf_obj_get(path);
	if (*fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "opening %s: %s", path, strerror(errno));
	return 0;
}

/* What this binary's program declares for each map (bpf/dispatcher.bpf.c);
 * max_entries only where it is fixed. */
static const struct map_layout {
	uint32_t type, key_size, value_size, max_entries;
} layouts[SKL_MAP_COUNT] = {
	[SKL_MAP_CONFIG] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_config), 1 },
	[SKL_MAP_PREFIXES] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_prefix_bucket), 0 },
	[SKL_MAP_SEARCH] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_search_node), 0 },
	[SKL_MAP_SEGMENTS] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_segment), 0 },
	[SKL_MAP_BINDINGS] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_binding_value), 0 },
	[SKL_MAP_PORTS] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_port_entry), 0 },
	[SKL_MAP_LABELS] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_label), 0 },
	[SKL_MAP_SOCKETS] = { BPF_MAP_TYPE_SOCKMAP, 4, 8, 0 },
	[SKL_MAP_BIND_COUNTERS] = { BPF_MAP_TYPE_PERCPU_ARRAY, 4,
				    sizeof(struct skl_hot_counters), 0 },
	[SKL_MAP_LABEL_COUNTERS] = { BPF_MAP_TYPE_PERCPU_ARRAY, 4,
				     sizeof(struct skl_hot_counters), 0 },
	[SKL_MAP_TOTALS] = { BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct skl_totals), 1 },
	[SKL_MAP_EVENTS] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct skl_counters), 0 },
	[SKL_MAP_MONITOR] = { BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1 },
};

/* What to say of a pod whose maps this binary cannot read: which release
 * made it, and what to run (upgrade moves it to this release's dispatcher;
 * the making release's own binaries still serve it). */
static int other_release(const char *dir, const char *difference, struct skl_err *err)
{
	char made_by[160];

	skl_record_release_of(dir, made_by, sizeof(made_by));
	return skl_errf(err, SKL_CNI_INTERNAL,
			"%s was made by another release (%s): %s; this is sklookup %s (map "
			"layout %u): run \"sklookup-ctl upgrade\" of this release for the pod (or "
			"\"sklookup-ctl upgrade --all\"), or use the sklookup-ctl of the release "
			"that made it",
			dir, made_by, difference, skl_version, SKL_ABI_VERSION);
}

static int layout_differs(const char *dir, int i, const char *what, uint32_t found,
			  uint32_t expected, struct skl_err *err)
{
	char difference[128];

	snprintf(difference, sizeof(difference),
		 "its map \"%s\" has %s %u where this binary expects %u", skl_map_pin_names[i],
		 what, found, expected);
	return other_release(dir, difference, err);
}

bool skl_dispatcher_map_fits(enum skl_map which, int fd)
{
	const struct map_layout *want = &layouts[which];
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == want->type &&
	       info.key_size == want->key_size && info.value_size == want->value_size &&
	       (!want->max_entries || info.max_entries == want->max_entries);
}

/* Every pinned map must have this binary's type, key and value size before
 * any of it is read: a lookup copies value_size bytes into our structs. */
/* Checks the maps in mask (1u << SKL_MAP_*) against this binary's layout;
 * limits.bindings and limits.labels are read from theirs on the way. */
static int check_layouts(struct skl_dispatcher *d, const char *dir, unsigned mask,
			 struct skl_err *err)
{
	for (int i = 0; i < SKL_MAP_COUNT; i++) {
		const struct map_layout *want = &layouts[i];
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);

		if (!(mask & (1u << i)))
			continue;
		if (bpf_obj_get_info_by_fd(d->map_fd[i], &info, &len))
			return skl_errf(err, SKL_CNI_INTERNAL, "%s/%s: reading the map info: %s",
					dir, skl_map_pin_names[i], strerror(errno));
		if (info.type != want->type)
			return layout_differs(dir, i, "type", info.type, want->type, err);
		if (info.key_size != want->key_size)
			return layout_differs(dir, i, "key size", info.key_size, want->key_size,
					      err);
		if (info.value_size != want->value_size)
			return layout_differs(dir, i, "value size", info.value_size,
					      want->value_size, err);
		if (want->max_entries && info.max_entries != want->max_entries)
			return layout_differs(dir, i, "max_entries", info.max_entries,
					      want->max_entries, err);
		if (i == SKL_MAP_BINDINGS)
			d->limits.bindings = info.max_entries;
		else if (i == SKL_MAP_LABELS)
			d->limits.labels = info.max_entries;
	}
	return 0;
}

/* Checks the ABI version the config map records. */
static int check_abi(const struct skl_dispatcher *d, const char *dir, struct skl_config *cfg,
		     struct skl_err *err)
{
	if (skl_dispatcher_config(d, cfg, err))
		return -1;
	if (cfg->abi_version != SKL_ABI_VERSION) {
		char difference[64];

		snprintf(difference, sizeof(difference), "map layout %u", cfg->abi_version);
		return other_release(dir, difference, err);
	}
	return 0;
}

/* Opens the maps and program pinned in dir (and the link, when attached)
 * of a dispatcher of this binary's map layout; *cfg gets its config. */
static int open_pins(struct skl_dispatcher *d, const char *dir, bool attached,
		     struct skl_config *cfg, struct skl_err *err)
{
	skl_dispatcher_init(d);
	/* The config first: its layout version says whether this binary can
	 * read the rest (another release's maps differ, or are not there). */
	if (open_one(dir, skl_map_pin_names[SKL_MAP_CONFIG], &d->map_fd[SKL_MAP_CONFIG], err) ||
	    check_layouts(d, dir, 1u << SKL_MAP_CONFIG, err) || check_abi(d, dir, cfg, err))
		goto fail;
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		if (i != SKL_MAP_CONFIG && open_one(dir, skl_map_pin_names[i], &d->map_fd[i], err))
			goto fail;
	if (open_one(dir, SKL_PIN_PROG, &d->prog_fd, err) ||
	    (attached && open_one(dir, SKL_PIN_LINK, &d->link_fd, err)))
		goto fail;
	if (check_layouts(d, dir, ~0u, err) || skl_dispatcher_read_limits(d, err))
		goto fail;
	return 0;
fail:
	skl_dispatcher_close(d);
	return -1;
}

int skl_dispatcher_open_maps(struct skl_dispatcher *d, const char *dir, unsigned mask,
			     struct skl_err *err)
{
	struct skl_config cfg;

	skl_dispatcher_init(d);
	mask |= 1u << SKL_MAP_CONFIG;
	for (int i = 0; i < SKL_MAP_COUNT; i++)
		if ((mask & (1u << i)) && open_one(dir, skl_map_pin_names[i], &d->map_fd[i], err))
			goto fail;
	if (check_layouts(d, dir, mask, err) || check_abi(d, dir, &cfg, err))
		goto fail;
	return 0;
fail:
	skl_dispatcher_close(d);
	return -1;
}

int skl_dispatcher_open(struct skl_dispatcher *d, const char *dir, struct skl_err *err)
{
	struct skl_config cfg;

	return open_pins(d, dir, true, &cfg, err);
}

int skl_dispatcher_open_spare(struct skl_dispatcher *d, const char *dir, uint64_t netns_cookie,
			      struct skl_err *err)
{
	struct skl_config cfg;
	uint32_t zero = 0;

	if (open_pins(d, dir, false, &cfg, err))
		return -1;
	cfg.netns_cookie = netns_cookie;
	if (bpf_map_update_elem(d->map_fd[SKL_MAP_CONFIG], &zero, &cfg, BPF_ANY)) {
		skl_errf(err, SKL_CNI_INTERNAL, "writing the dispatcher config: %s",
			 strerror(errno));
		skl_dispatcher_close(d);
		return -1;
	}
	d->spare = true;
	return 0;
}

int skl_dispatcher_link_netns(const struct skl_dispatcher *d, uint64_t *netns_ino,
			      struct skl_err *err)
{
	return skl_link_netns(d->link_fd, netns_ino, err);
}

int skl_dispatcher_config(const struct skl_dispatcher *d, struct skl_config *cfg,
			  struct skl_err *err)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_CONFIG], &zero, cfg))
		return skl_errf(err, SKL_CNI_INTERNAL, "reading the dispatcher config: %s",
				strerror(errno));
	return 0;
}
