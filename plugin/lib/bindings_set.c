/*
 * The set of bindings: growing it, copying into it, moving between sets,
 * freeing it.
 */
#include "bindings_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int skl_bindings_oom(struct skl_err *err, const char *where)
{
	return skl_errf(err, SKL_CNI_INTERNAL, "%s: out of memory", where);
}

int skl_bindings_reserve(struct skl_binding_set *set, size_t extra)
{
	struct skl_binding_spec *v;
	size_t need, cap;

	if (extra > SIZE_MAX - set->n)
		return -1;
	need = set->n + extra;
	if (need <= set->cap)
		return 0;
	cap = set->cap ? set->cap : 8;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	v = reallocarray(set->v, cap, sizeof(*v));
	if (!v)
		return -1;
	set->v = v;
	set->cap = cap;
	return 0;
}

int skl_bindings_append(struct skl_binding_set *dst, const struct skl_binding_spec *b,
			struct skl_err *err)
{
	struct skl_port_range *ports = NULL;

	if (b->n_ports) {
		ports = reallocarray(NULL, b->n_ports, sizeof(*ports));
		if (!ports)
			return skl_bindings_oom(err, b->where);
		memcpy(ports, b->ports, b->n_ports * sizeof(*ports));
	}
	if (skl_bindings_reserve(dst, 1)) {
		free(ports);
		return skl_bindings_oom(err, b->where);
	}
	dst->v[dst->n] = *b;
	dst->v[dst->n].ports = ports;
	dst->n++;
	return 0;
}

void skl_bindings_free(struct skl_binding_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		free(set->v[i].ports);
	free(set->v);
	set->v = NULL;
	set->n = 0;
	set->cap = 0;
}

/* Moves every binding of src onto the end of dst (port arrays change
 * owner) and empties src. dst is unchanged on failure. */
int skl_bindings_move_all(struct skl_binding_set *dst, struct skl_binding_set *src,
			  const char *where, struct skl_err *err)
{
	if (skl_bindings_reserve(dst, src->n)) {
		skl_bindings_free(src);
		return skl_bindings_oom(err, where);
	}
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	*src = (struct skl_binding_set){0};
	return 0;
}
