/*
 * Puts a binding set into a dispatcher's maps, atomically, and reads it
 * back. The new set is written to the inactive generation, then one write
 * of config.active_gen switches every later packet to it; the old
 * generation is removed only after an RCU grace period (membarrier), when
 * no running program can still be reading it.
 *
 * Binding ids are stable: a binding present before and after keeps its id
 * and so its counters. Label ids are stable while a label has bindings or
 * registered sockets.
 */
#ifndef SKL_RULES_H
#define SKL_RULES_H

#include <stdint.h>

#include "bindings.h"
#include "dispatcher.h"

/* Replaces the dispatcher's bindings with set (concrete prefixes only).
 * On error nothing changed. */
int skl_rules_apply(struct skl_dispatcher *d, const struct skl_binding_set *set,
		    struct skl_err *err);

/* The bindings in force, in id order; ids[i] is the id of out->v[i] (the
 * index in the counters maps). *ids is malloc'd; free it. */
int skl_rules_read(const struct skl_dispatcher *d, struct skl_binding_set *out, uint32_t **ids,
		   struct skl_err *err);

/* The id of a label in use, or an error naming it. */
/* Label id's name (NUL-terminated) and, when cookie is not NULL, the
 * cookie of the socket in each of its slots (skl_socket_slot order; 0:
 * none): 1 when the label is in use, 0 when not, -1 on error. */
int skl_label_read(const struct skl_dispatcher *d, uint32_t id, char name[SKL_LABEL_MAX + 1],
		   uint64_t cookie[SKL_SOCKETS_PER_LABEL], struct skl_err *err);

int skl_label_lookup(const struct skl_dispatcher *d, const char *name, uint32_t *id,
		     struct skl_err *err);

#endif
