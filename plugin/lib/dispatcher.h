/*
 * The dispatcher's kernel objects: load the embedded BPF object with the
 * configured limits, attach it to a netns (BPF_LINK_CREATE, BPF_SK_LOOKUP),
 * pin program, link and maps in a state directory, or open them again from
 * there. One struct owns every fd; skl_dispatcher_close releases them all.
 */
#ifndef SKL_DISPATCHER_H
#define SKL_DISPATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "skl_error.h"

enum skl_map {
	SKL_MAP_CONFIG,
	SKL_MAP_PREFIXES,
	SKL_MAP_SEARCH,
	SKL_MAP_SEGMENTS,
	SKL_MAP_BINDINGS,
	SKL_MAP_PORTS,
	SKL_MAP_LABELS,
	SKL_MAP_SOCKETS,
	SKL_MAP_BIND_COUNTERS,
	SKL_MAP_LABEL_COUNTERS,
	SKL_MAP_TOTALS,
	SKL_MAP_EVENTS,
	SKL_MAP_MONITOR, /* a monitor's ring while one watches (monitor.h) */
	SKL_MAP_COUNT
};

/* Capacity of one dispatcher, fixed when it is loaded. */
struct skl_limits {
	uint32_t bindings;    /* bindings in force at once */
	uint32_t labels;      /* distinct labels */
	uint32_t port_ranges; /* port ranges summed over all bindings */
};

#define SKL_LIMIT_BINDINGS_DEFAULT 64
#define SKL_LIMIT_LABELS_DEFAULT 16
#define SKL_LIMIT_PORT_RANGES_DEFAULT 128
#define SKL_LIMIT_BINDINGS_MAX 4000000
#define SKL_LIMIT_LABELS_MAX 65536
#define SKL_LIMIT_PORT_RANGES_MAX 16000000

struct skl_dispatcher {
	int prog_fd;
	int link_fd; /* -1 until attached or opened */
	int map_fd[SKL_MAP_COUNT];
	struct skl_limits limits; /* as read back from the maps */
	uint32_t max_segments;   /* per generation */
	uint32_t prefix_buckets; /* buckets of the prefix table, per generation */
	uint32_t search_per_gen; /* search nodes per generation, besides the roots */
	struct dispatcher_bpf *skel; /* set when loaded by this process */
	bool spare; /* opened from a spare: program and maps are pinned already */
};

/* Pin names inside a state directory. */
extern const char *const skl_map_pin_names[SKL_MAP_COUNT];
#define SKL_PIN_PROG "prog"
#define SKL_PIN_LINK "link"

void skl_limits_default(struct skl_limits *limits);

/* Opens the embedded BPF object (not loaded yet). The object is embedded
 * once, here: other users call this rather than the skeleton's __open. */
struct dispatcher_bpf *skl_dispatcher_skel_open(void);

/* Tells an opened (not loaded) program the most search steps and port
 * probes a dispatcher of these sizes can need, so the verifier walks no
 * more: every length in use belongs to a binding, and a port table has at
 * most segments_per_gen segments. */
void skl_dispatcher_skel_bounds(struct dispatcher_bpf *skel, uint32_t bindings,
				uint32_t segments_per_gen);

/* Port-table segments a generation holds at these limits. */
uint32_t skl_segments_per_gen(const struct skl_limits *l);

/* Checks limits are within range; the message names the field. */
int skl_limits_check(const struct skl_limits *limits, struct skl_err *err);

/* Loads the program and creates its maps, sized from limits, and records
 * netns_cookie (the netns it will serve) in its config. */
int skl_dispatcher_load(struct skl_dispatcher *d, const struct skl_limits *limits,
			uint64_t netns_cookie, struct skl_err *err);

/* Attaches the loaded program to the netns behind netns_fd. */
int skl_dispatcher_attach(struct skl_dispatcher *d, int netns_fd, struct skl_err *err);

/* Pins program, link (if attached) and maps into dir (which must exist). */
int skl_dispatcher_pin(struct skl_dispatcher *d, const char *dir, struct skl_err *err);

/* Opens the spare dispatcher pinned in dir (not attached: no link) and
 * records netns_cookie in its config; skl_dispatcher_pin then pins only
 * the link there. */
int skl_dispatcher_open_spare(struct skl_dispatcher *d, const char *dir, uint64_t netns_cookie,
			      struct skl_err *err);

/* Opens the pinned objects of a state directory. */
int skl_dispatcher_open(struct skl_dispatcher *d, const char *dir, struct skl_err *err);

/* Opens only the maps in mask (1u << SKL_MAP_*, the config always) of a
 * state directory, each checked against this binary's layout, for a reader
 * that needs few of them many times (the node agent's metrics); of the
 * limits, bindings and labels are set when their maps are opened. No
 * program, no link: skl_dispatcher_close closes what it opened. */
int skl_dispatcher_open_maps(struct skl_dispatcher *d, const char *dir, unsigned mask,
			     struct skl_err *err);

/* True when the map behind fd has the type, key size, value size (and
 * fixed size) this binary's dispatcher gives map `which`: what
 * skl_dispatcher_open requires of every pinned map. */
bool skl_dispatcher_map_fits(enum skl_map which, int fd);

/* The netns inode the link is attached to (0 when that netns is gone). */
int skl_dispatcher_link_netns(const struct skl_dispatcher *d, uint64_t *netns_ino,
			      struct skl_err *err);

/* Reads the config entry (active generation, netns cookie). */
struct skl_config;
int skl_dispatcher_config(const struct skl_dispatcher *d, struct skl_config *cfg,
			  struct skl_err *err);

/* Releases every fd. Pinned objects stay. Safe on a zeroed or closed struct
 * after skl_dispatcher_init. */
void skl_dispatcher_init(struct skl_dispatcher *d);
void skl_dispatcher_close(struct skl_dispatcher *d);

#endif
