/*
 * An apply, step by step (rules.h): read what the maps hold, assign ids,
 * write the new bindings and the inactive generation, flip, then retire the
 * old one; on failure take back what this apply added.
 */
#include "rules_internal.h"

#include <stdlib.h>

static void rollback(struct skl_apply *a, const struct skl_binding_set *set)
{
	struct skl_dispatcher *d = a->d;

	skl_rules_clear_generation(d, a->target, false, NULL);
	for (size_t i = 0; i < set->n; i++)
		if (a->id_of[i] != SKL_NONE && a->id_new[a->id_of[i]])
			skl_rules_free_binding(d, a->id_of[i]);
	for (uint32_t l = 0; l < d->limits.labels; l++)
		if (a->label_new[l])
			skl_rules_free_label(d, l);
}

/* After the switch and a grace period: drop the old generation, the ids
 * only it used, and labels with neither bindings nor sockets. */
static void retire_old(struct skl_apply *a, bool old_had_entries)
{
	struct skl_dispatcher *d = a->d;

	if (old_had_entries && skl_rules_clear_generation(d, a->active, true, NULL))
		return;
	for (uint32_t id = 0; id < d->limits.bindings; id++)
		if ((a->values[id].flags & SKL_BINDING_F_IN_USE) && !a->id_kept[id])
			skl_rules_free_binding(d, id);
	for (uint32_t l = 0; l < d->limits.labels; l++)
		if ((a->labels[l].flags & SKL_LABEL_F_IN_USE) && !a->label_used[l] &&
		    !skl_rules_label_has_socket(d, l))
			skl_rules_free_label(d, l);
}

static int apply_alloc(struct skl_apply *a, size_t n_bindings)
{
	const struct skl_limits *l = &a->d->limits;

	a->labels = calloc(l->labels, sizeof(*a->labels));
	a->values = calloc(l->bindings, sizeof(*a->values));
	a->label_new = calloc(l->labels, sizeof(bool));
	a->label_used = calloc(l->labels, sizeof(bool));
	a->id_new = calloc(l->bindings, sizeof(bool));
	a->id_kept = calloc(l->bindings, sizeof(bool));
	a->id_of = malloc((n_bindings ? n_bindings : 1) * sizeof(uint32_t));
	a->ports = calloc(l->port_ranges, sizeof(*a->ports));
	a->port_taken = calloc(l->port_ranges, sizeof(bool));
	if (!a->labels || !a->values || !a->label_new || !a->label_used || !a->id_new ||
	    !a->id_kept || !a->id_of || !a->ports || !a->port_taken)
		return -1;
	for (size_t i = 0; i < n_bindings; i++)
		a->id_of[i] = SKL_NONE;
	return 0;
}

static void apply_free(struct skl_apply *a)
{
	free(a->labels);
	free(a->values);
	free(a->label_new);
	free(a->label_used);
	free(a->id_new);
	free(a->id_kept);
	free(a->id_of);
	free(a->ports);
	free(a->port_taken);
}

static bool any_in_use(const struct skl_apply *a)
{
	for (uint32_t id = 0; id < a->d->limits.bindings; id++)
		if (a->values[id].flags & SKL_BINDING_F_IN_USE)
			return true;
	return false;
}

int skl_rules_apply(struct skl_dispatcher *d, const struct skl_binding_set *set,
		    struct skl_err *err)
{
	struct skl_apply a = { .d = d };
	struct skl_compiled compiled = { 0 };
	struct skl_config cfg;
	uint32_t *label_of = NULL;
	bool old_had_entries;
	int ret = -1;

	if (skl_compile(set, &compiled, err))
		return -1;
	label_of = malloc((set->n ? set->n : 1) * sizeof(*label_of));
	if (!label_of || apply_alloc(&a, set->n)) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	if (skl_dispatcher_config(d, &cfg, err) ||
	    skl_rules_read_array(d->map_fd[SKL_MAP_LABELS], d->limits.labels, a.labels, sizeof(*a.labels),
		       err) ||
	    skl_rules_read_array(d->map_fd[SKL_MAP_BINDINGS], d->limits.bindings, a.values,
		       sizeof(*a.values), err) ||
	    skl_rules_read_array(d->map_fd[SKL_MAP_PORTS], d->limits.port_ranges, a.ports,
		       sizeof(*a.ports), err) ||
	    skl_rules_mark_ports_taken(&a, err))
		goto out;
	a.active = cfg.active_gen & 1;
	a.target = a.active ^ 1;
	old_had_entries = any_in_use(&a);

	/* Leftovers of an apply that died before its clean-up. */
	if (skl_rules_clear_generation(d, a.target, true, err))
		goto out;
	if (skl_rules_resolve_labels(&a, set, label_of, err) ||
	    skl_rules_assign_ids(&a, set, label_of, err))
		goto fail;
	if (skl_rules_write_new_bindings(&a, set, label_of, err))
		goto fail;
	if (skl_rules_write_generation(&a, &compiled, err) || skl_rules_flip(d, a.target, err))
		goto fail;
	retire_old(&a, old_had_entries);
	ret = 0;
	goto out;
fail:
	rollback(&a, set);
out:
	skl_compiled_free(&compiled);
	free(label_of);
	apply_free(&a);
	return ret;
}
