/* The pod's status as data (pod_status.h), from a snapshot (pod_view.h). */
#include "pod_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod_view.h"
#include "record.h"

static bool is_registered(const struct skl_view *v, uint64_t cookie)
{
	for (size_t i = 0; i < v->n_labels; i++)
		for (int s = 0; s < SKL_SOCKET_SLOTS; s++)
			if (v->labels[i].cookie[s] == cookie)
				return true;
	return false;
}

static bool is_wildcard(const struct skl_sock_entry *e)
{
	static const uint8_t zero[16];

	return !memcmp(e->addr, zero, e->family == SKL_FAMILY_V4 ? 4 : 16);
}

static bool covers_port(const struct skl_binding_spec *b, uint16_t port)
{
	for (size_t k = 0; k < b->n_ports; k++)
		if (b->ports[k].lo <= port && port <= b->ports[k].hi)
			return true;
	return false;
}

/* The binding that takes traffic meant for an ordinary socket: for an exact
 * address the one precedence picks, for a wildcard the first that covers
 * its port in its family (it takes part of the wildcard's traffic). */
static uint32_t shadowing_binding(const struct skl_view *v, const struct skl_sock_entry *e)
{
	if (!is_wildcard(e))
		return skl_bindings_resolve(&v->set, e->proto, e->family, e->addr, e->port);
	for (size_t i = 0; i < v->set.n; i++)
		if (v->set.v[i].proto == e->proto && v->set.v[i].family == e->family &&
		    covers_port(&v->set.v[i], e->port))
			return (uint32_t)i;
	return SKL_NONE;
}

static void take_labels(const struct skl_view *v, struct skl_pod_status *st)
{
	for (size_t k = 0; k < v->n_labels; k++) {
		const struct skl_view_label *l = &v->labels[k];
		struct skl_status_label *out = &st->labels[k];

		out->id = l->id;
		snprintf(out->name, sizeof(out->name), "%s", l->name);
		memcpy(out->counters, l->counters, sizeof(out->counters));
		for (int s = 0; s < SKL_SOCKET_SLOTS; s++) {
			const struct skl_sock_entry *e = skl_view_sock(v, l->cookie[s]);

			out->cookie[s] = l->cookie[s];
			if (l->cookie[s] && e)
				skl_sock_entry_format(e, out->local[s], sizeof(out->local[s]));
		}
	}
	st->n_labels = v->n_labels;
}

static void take_shadowed(const struct skl_view *v, struct skl_pod_status *st)
{
	for (size_t k = 0; k < v->n_socks; k++) {
		const struct skl_sock_entry *e = &v->socks[k];
		uint32_t bi = is_registered(v, e->cookie) ? SKL_NONE : shadowing_binding(v, e);
		struct skl_status_shadowed *sh = &st->shadowed[st->n_shadowed];

		if (bi == SKL_NONE)
			continue;
		skl_sock_entry_format(e, sh->socket, sizeof(sh->socket));
		sh->cookie = e->cookie;
		sh->binding = v->ids[bi];
		snprintf(sh->label, sizeof(sh->label), "%s", v->set.v[bi].label);
		st->n_shadowed++;
	}
}

int skl_pod_status(const struct skl_pod *pod, struct skl_pod_status *st, struct skl_err *err)
{
	struct skl_view v;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (skl_view_load(pod, &v, err))
		goto out;
	snprintf(st->state_dir, sizeof(st->state_dir), "%s", pod->state_dir);
	/* A record without the identity, or none readable: the pod is nameless. */
	skl_pod_identity_read(pod->state_dir, &st->pod, NULL);
	st->netns_ino = pod->netns_ino;
	st->prog_id = v.prog_id;
	skl_record_release_of(pod->state_dir, st->release, sizeof(st->release));
	memcpy(st->totals, v.totals, sizeof(st->totals));
	st->labels = calloc(v.n_labels + 1, sizeof(*st->labels));
	st->shadowed = calloc(v.n_socks + 1, sizeof(*st->shadowed));
	if (!st->labels || !st->shadowed) {
		skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		goto out;
	}
	take_labels(&v, st);
	take_shadowed(&v, st);
	st->sockets_visible = v.socks != NULL;
	/* The bindings move over whole: the snapshot gives them up. */
	st->bindings = v.set;
	st->binding_ids = v.ids;
	st->binding_counters = v.binding_counters;
	memset(&v.set, 0, sizeof(v.set));
	v.ids = NULL;
	v.binding_counters = NULL;
	ret = 0;
out:
	skl_view_free(&v);
	return ret;
}
