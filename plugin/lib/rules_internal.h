/*
 * What the rules_*.c files share: the state of one apply and its steps.
 * rules.c runs them in order (rules.h says what an apply guarantees).
 */
#ifndef SKL_RULES_INTERNAL_H
#define SKL_RULES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "rules.h"

/* What the maps hold now, and what this apply allocated (for rollback). */
struct skl_apply {
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

/* BPF map I/O (rules_maps.c) */

/* "<what>: <strerror(errno)>"; returns -1. */
int skl_rules_kernel_err(struct skl_err *err, const char *what);
/* Returns once no BPF program run that started before the call still runs. */
int skl_rules_wait_for_readers(struct skl_err *err);
/* Entries [0, n) of a BPF array into values (size bytes each). */
int skl_rules_read_array(int fd, uint32_t n, void *values, size_t size, struct skl_err *err);
/* values into entries [first, first + n) of a BPF array. */
int skl_rules_write_array(int fd, uint32_t first, uint32_t n, const void *values,
			  const char *what, struct skl_err *err);

/* Labels, binding ids and their port chains (rules_ids.c) */

/* label_of[i] gets the label id of set->v[i], writing new labels. */
int skl_rules_resolve_labels(struct skl_apply *a, const struct skl_binding_set *set,
			     uint32_t *label_of, struct skl_err *err);
/* Marks the port entries the bindings in use reach (a->port_taken). */
int skl_rules_mark_ports_taken(struct skl_apply *a, struct skl_err *err);
/* a->id_of: a kept binding keeps its id, a new one gets a free id. */
int skl_rules_assign_ids(struct skl_apply *a, const struct skl_binding_set *set,
			 const uint32_t *label_of, struct skl_err *err);
/* Writes the new bindings and their port ranges. */
int skl_rules_write_new_bindings(struct skl_apply *a, const struct skl_binding_set *set,
				 const uint32_t *label_of, struct skl_err *err);
void skl_rules_free_binding(struct skl_dispatcher *d, uint32_t id);
void skl_rules_free_label(struct skl_dispatcher *d, uint32_t id);
/* 1 when a socket is registered under label. */
int skl_rules_label_has_socket(struct skl_dispatcher *d, uint32_t label);

/* The prefix, segment and search tables of a generation (rules_generation.c) */

/* Deletes generation gen's prefix entries, after a grace period if wait. */
int skl_rules_clear_generation(struct skl_dispatcher *d, uint32_t gen, bool wait,
			       struct skl_err *err);
/* Writes the compiled set into generation a->target. */
int skl_rules_write_generation(struct skl_apply *a, const struct skl_compiled *c,
			       struct skl_err *err);
/* Switches every later packet to generation gen. */
int skl_rules_flip(struct skl_dispatcher *d, uint32_t gen, struct skl_err *err);

#endif
