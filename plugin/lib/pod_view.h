/* A snapshot of a pod's dispatcher for status, metrics and trace: bindings,
 * labels with their sockets, counters summed over CPUs, and the pod's
 * listening sockets. */
#ifndef SKL_POD_VIEW_H
#define SKL_POD_VIEW_H

#include "bindings.h"
#include "pod.h"
#include "sockdiag.h"

struct skl_view_label {
	uint32_t id;
	char name[SKL_LABEL_MAX + 1];
	uint64_t cookie[4]; /* per socket slot (skl_socket_slot order); 0: none */
	uint64_t counters[SKL_C_COUNT];
};

struct skl_view {
	struct skl_binding_set set;
	uint32_t *ids;
	uint64_t (*binding_counters)[SKL_C_COUNT]; /* [set.n] */
	size_t n_labels;
	struct skl_view_label *labels;
	uint64_t totals[SKL_T_COUNT];
	struct skl_sock_entry *socks; /* NULL when the pod's netns is not reachable */
	size_t n_socks;
	uint32_t prog_id;
};

extern const char *const skl_slot_names[4];      /* "tcp4", "tcp6", "udp4", "udp6" */
extern const char *const skl_counter_names[SKL_C_COUNT]; /* camelCase, for JSON */

/* Loads the snapshot; the pod's sockets are listed from inside its netns
 * (skl_pod_in_netns), and left out (socks NULL) when it is out of reach. */
int skl_view_load(const struct skl_pod *pod, struct skl_view *v, struct skl_err *err);
void skl_view_free(struct skl_view *v);

const struct skl_view_label *skl_view_label_of(const struct skl_view *v, const char *name);
/* The pod's socket with that cookie, if sock_diag listed it. */
const struct skl_sock_entry *skl_view_sock(const struct skl_view *v, uint64_t cookie);

#endif
