/* A snapshot of a pod's dispatcher (pod_view.h). */
#include "pod_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "counters.h"
#include "rules.h"

const char *const skl_slot_names[4] = { "tcp4", "tcp6", "udp4", "udp6" };

const char *const skl_counter_names[SKL_C_COUNT] = {
	[SKL_C_MATCHED] = "matched",
	[SKL_C_ASSIGNED] = "assigned",
	[SKL_C_PASSED_NO_SOCKET] = "passedNoSocket",
	[SKL_C_DROP_NO_SOCKET] = "droppedNoSocket",
	[SKL_C_DROP_ESOCKTNOSUPPORT] = "droppedEsocktnosupport",
	[SKL_C_DROP_EPROTOTYPE] = "droppedEprototype",
	[SKL_C_DROP_EAFNOSUPPORT] = "droppedEafnosupport",
	[SKL_C_DROP_EEXIST] = "droppedEexist",
	[SKL_C_DROP_EINVAL] = "droppedEinval",
	[SKL_C_DROP_OTHER] = "droppedOther",
};

static int load_labels(const struct skl_pod *pod, struct skl_view *v, struct skl_err *err)
{
	const struct skl_dispatcher *d = pod->d;

	v->labels = calloc(d->limits.labels, sizeof(*v->labels));
	if (!v->labels)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (uint32_t id = 0; id < d->limits.labels; id++) {
		struct skl_view_label *l = &v->labels[v->n_labels];
		int in_use = skl_label_read(d, id, l->name, l->cookie, err);

		if (in_use < 0)
			return -1;
		if (!in_use)
			continue;
		l->id = id;
		if (skl_counters_read(d, SKL_COUNTERS_LABEL, id, l->counters, err))
			return -1;
		v->n_labels++;
	}
	return 0;
}

static int list_socks(void *arg, struct skl_err *err)
{
	struct skl_view *v = arg;

	return skl_sockdiag_list(&v->socks, &v->n_socks, err);
}

int skl_view_load(const struct skl_pod *pod, struct skl_view *v, struct skl_err *err)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	memset(v, 0, sizeof(*v));
	if (skl_rules_read(pod->d, &v->set, &v->ids, err))
		return -1;
	v->binding_counters = calloc(v->set.n + 1, sizeof(*v->binding_counters));
	if (!v->binding_counters)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	for (size_t i = 0; i < v->set.n; i++)
		if (skl_counters_read(pod->d, SKL_COUNTERS_BINDING, v->ids[i],
				      v->binding_counters[i], err))
			return -1;
	if (load_labels(pod, v, err) ||
	    skl_counters_totals(pod->d, v->totals, err))
		return -1;
	if (!bpf_obj_get_info_by_fd(pod->d->prog_fd, &info, &len))
		v->prog_id = info.id;
	/* Sockets are seen from inside the pod; without its netns, none. */
	if (skl_pod_in_netns(pod, list_socks, v, NULL)) {
		v->socks = NULL;
		v->n_socks = 0;
	}
	return 0;
}

void skl_view_free(struct skl_view *v)
{
	skl_bindings_free(&v->set);
	free(v->ids);
	free(v->binding_counters);
	free(v->labels);
	free(v->socks);
	memset(v, 0, sizeof(*v));
}

const struct skl_view_label *skl_view_label_of(const struct skl_view *v, const char *name)
{
	for (size_t i = 0; i < v->n_labels; i++)
		if (!strcmp(v->labels[i].name, name))
			return &v->labels[i];
	return NULL;
}

const struct skl_sock_entry *skl_view_sock(const struct skl_view *v, uint64_t cookie)
{
	for (size_t i = 0; i < v->n_socks; i++)
		if (v->socks[i].cookie == cookie)
			return &v->socks[i];
	return NULL;
}
