/*
 * Upgrading a pod's dispatcher in place: the program this binary carries is
 * loaded against the pod's pinned maps and swapped into its link
 * (bpf_link_update, one atomic step in the kernel), so bindings, labels,
 * registered sockets and counters stay, and so do established connections
 * and listening sockets.
 *
 * A pod whose maps have another layout (a release with another
 * SKL_ABI_VERSION made it) gets new maps instead (upgrade_layout.c): this
 * binary's dispatcher is loaded beside the old one at the same limits; the
 * old labels, bindings and port ranges are copied as they are (their
 * layout must be this binary's: the maps user space reads keep theirs
 * across releases), the registered sockets by a BPF program that looks
 * each one up in the old SOCKMAP and inserts it into the new one
 * (bpf/sockmap_copy.bpf.c: user space cannot read sockets out of a
 * SOCKMAP), the rule tables are compiled anew, the counters copied field
 * by field where they map. The
 * new program is attached next to the old one (both give every packet the
 * same verdict), the state directory is swapped for the new one in one
 * rename (RENAME_EXCHANGE), then the old link is detached. Until that
 * rename, any failure removes what was built and leaves the old dispatcher
 * serving.
 */
#ifndef SKL_UPGRADE_H
#define SKL_UPGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatcher.h"

/* The pinned name of the new program until it replaces SKL_PIN_PROG (bpffs
 * refuses names that contain a dot). */
#define SKL_PIN_PROG_NEW "prog-new"

struct skl_upgrade {
	uint32_t old_prog_id; /* what the link ran */
	uint32_t new_prog_id; /* what it runs now; old_prog_id when unchanged */
	bool changed;
	bool new_maps;     /* new maps and link (another layout, or asked for) */
	uint32_t old_abi;  /* the old maps' layout version (new_maps) */
	uint32_t sockets;  /* registered sockets carried over (new_maps) */
	uint32_t bindings; /* bindings carried over (new_maps) */
};

/* Upgrades the pod in the state directory dir: in place when its maps have
 * this binary's layout (skl_dispatcher_upgrade), else, or when new_maps,
 * with new maps (skl_upgrade_new_maps). Either way the pod's record then
 * names this release. The caller holds the pod's lock. */
int skl_upgrade_pod(const char *dir, bool new_maps, struct skl_upgrade *out,
		    struct skl_err *err);

/* *same: every pinned map of dir has this binary's layout and its config
 * this binary's SKL_ABI_VERSION. */
int skl_upgrade_same_layout(const char *dir, bool *same, struct skl_err *err);

/* The upgrade with new maps described above. */
int skl_upgrade_new_maps(const char *dir, struct skl_upgrade *out, struct skl_err *err);

/* Inserts every socket of the SOCKMAP from_fd into the SOCKMAP to_fd under
 * its key (upgrade_sockets.c); *copied gets their number. Fails unless
 * every one was copied. */
int skl_upgrade_copy_sockets(int from_fd, int to_fd, uint32_t *copied, struct skl_err *err);

/*
 * Upgrades the dispatcher d, opened from its state directory dir with
 * skl_dispatcher_open. First checks the layout: the config's abi_version is
 * SKL_ABI_VERSION and every map of this binary's program has the type, key
 * size, value size and flags of the pinned map of its name; a mismatch is an
 * error naming the map and the difference, and nothing changes. Then loads
 * the program against the pinned maps, swaps it into the link (refusing if
 * the link's program changed meanwhile) and re-pins it as dir/prog. When the
 * link already runs a program with this one's tag and dir/prog is that
 * program, nothing changes (out->changed false). The caller serialises with
 * the plugin (the state lock). Afterwards d->prog_fd is the linked program.
 */
int skl_dispatcher_upgrade(struct skl_dispatcher *d, const char *dir, struct skl_upgrade *out,
			   struct skl_err *err);

#endif
