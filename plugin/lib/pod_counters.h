/*
 * A pod's counters, read for the node agent's metrics (pod_counters.c): the
 * bindings and labels in use with their counters and the labels' sockets,
 * and the totals, in a few batched map reads and without the pod's lock.
 * A snapshot of counters that move on meanwhile, not of one generation:
 * a binding set replaced while it is read may show a binding of either.
 */
#ifndef SKL_POD_COUNTERS_H
#define SKL_POD_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "skl_error.h"

struct skl_counted_binding {
	uint32_t id;
	uint32_t label; /* index into skl_pod_counters.labels, SKL_NONE: none in use */
	uint8_t proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	uint64_t c[SKL_C_COUNT];
};

struct skl_counted_label {
	uint32_t id;
	char name[SKL_LABEL_MAX + 1];
	uint64_t cookie[SKL_SOCKETS_PER_LABEL]; /* skl_socket_slot order; 0: none */
	uint64_t c[SKL_C_COUNT];
};

struct skl_pod_counters {
	size_t n_bindings;
	struct skl_counted_binding *bindings;
	size_t n_labels;
	struct skl_counted_label *labels;
	uint64_t totals[SKL_T_COUNT];
};

/* Reads the counters of the dispatcher pinned in the state directory dir
 * into pc (free with skl_pod_counters_free, also on failure). */
int skl_pod_counters_read(const char *dir, struct skl_pod_counters *pc, struct skl_err *err);
void skl_pod_counters_free(struct skl_pod_counters *pc);

#endif
