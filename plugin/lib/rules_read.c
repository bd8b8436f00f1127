/*
 * The bindings in force, read back from a dispatcher's maps (for listings,
 * counters and CHECK), and a label's id by name.
 */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

int skl_label_lookup(const struct skl_dispatcher *d, const char *name, uint32_t *id,
		     struct skl_err *err)
{
	for (uint32_t i = 0; i < d->limits.labels; i++) {
		struct skl_label l;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_LABELS], &i, &l))
			return skl_rules_kernel_err(err, "reading labels");
		if ((l.flags & SKL_LABEL_F_IN_USE) && !strcmp(l.name, name)) {
			*id = i;
			return 0;
		}
	}
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"label \"%s\" is not used by any binding of this pod", name);
}

int skl_label_read(const struct skl_dispatcher *d, uint32_t id, char name[SKL_LABEL_MAX + 1],
		   uint64_t cookie[SKL_SOCKETS_PER_LABEL], struct skl_err *err)
{
	struct skl_label l;

	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_LABELS], &id, &l))
		return skl_rules_kernel_err(err, "reading labels");
	if (!(l.flags & SKL_LABEL_F_IN_USE))
		return 0;
	snprintf(name, SKL_LABEL_MAX + 1, "%.*s", SKL_LABEL_MAX, l.name);
	for (uint32_t s = 0; cookie && s < SKL_SOCKETS_PER_LABEL; s++) {
		uint32_t slot = id * SKL_SOCKETS_PER_LABEL + s;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &cookie[s]))
			cookie[s] = 0;
	}
	return 1;
}

static int read_binding(const struct skl_dispatcher *d, uint32_t id,
			const struct skl_binding_value *v, struct skl_binding_spec *b,
			struct skl_err *err)
{
	struct skl_label label;

	memset(b, 0, sizeof(*b));
	if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_LABELS], &v->label, &label))
		return skl_rules_kernel_err(err, "reading a label");
	snprintf(b->label, sizeof(b->label), "%.*s", SKL_LABEL_MAX, label.name);
	b->proto = v->proto;
	b->kind = SKL_PREFIX_CIDR;
	b->family = v->family;
	b->plen = v->plen;
	memcpy(b->addr, v->addr, sizeof(b->addr));
	b->missing_pass = v->flags & SKL_BINDING_F_MISSING_PASS;
	snprintf(b->where, sizeof(b->where), "binding #%u", id);
	b->ports = calloc(v->n_ports ? v->n_ports : 1, sizeof(*b->ports));
	if (!b->ports)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	b->n_ports = v->n_ports;
	for (uint32_t k = 0, at = v->port_first; k < v->n_ports; k++) {
		struct skl_port_entry e;

		if (at >= d->limits.port_ranges) {
			free(b->ports);
			return skl_errf(err, SKL_CNI_INTERNAL,
					"binding #%u: its port ranges in the ports map are damaged; "
					"re-create the pod", id);
		}
		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_PORTS], &at, &e)) {
			free(b->ports);
			return skl_rules_kernel_err(err, "reading port ranges");
		}
		b->ports[k] = e.range;
		at = e.next;
	}
	return 0;
}

int skl_rules_read(const struct skl_dispatcher *d, struct skl_binding_set *out, uint32_t **ids,
		   struct skl_err *err)
{
	struct skl_binding_set set = { 0 };
	uint32_t *id_list = NULL;

	for (uint32_t id = 0; id < d->limits.bindings; id++) {
		struct skl_binding_value v;
		struct skl_binding_spec b;
		void *p;

		if (bpf_map_lookup_elem(d->map_fd[SKL_MAP_BINDINGS], &id, &v)) {
			skl_rules_kernel_err(err, "reading bindings");
			goto fail;
		}
		if (!(v.flags & SKL_BINDING_F_IN_USE))
			continue;
		if (read_binding(d, id, &v, &b, err))
			goto fail;
		if (skl_bindings_append(&set, &b, err)) {
			free(b.ports);
			goto fail;
		}
		free(b.ports);
		p = realloc(id_list, set.n * sizeof(*id_list));
		if (!p) {
			skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
			goto fail;
		}
		id_list = p;
		id_list[set.n - 1] = id;
	}
	*out = set;
	*ids = id_list;
	return 0;
fail:
	skl_bindings_free(&set);
	free(id_list);
	return -1;
}
