/*
 * Upgrading a pod's dispatcher in place: the program this binary carries is
 * loaded against the pod's pinned maps and swapped into its link
 * (bpf_link_update, one atomic step in the kernel), so bindings, labels,
 * registered sockets and counters stay, and so do established connections
 * and listening sockets. A pod whose maps have another layout is refused:
 * it must be re-created to get the new dispatcher.
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
};

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
