/*
 * status as a library function: the pod's dispatcher as data (state dir,
 * netns, program, totals, labels with their sockets and counters, bindings
 * with their counters, and the listeners a binding shadows).
 */
#ifndef SKL_POD_STATUS_H
#define SKL_POD_STATUS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bindings.h"
#include "dispatch_abi.h"
#include "pod.h"
#include "pod_identity.h"
#include "sockets.h"

#define SKL_SOCK_TEXT_MAX 95          /* a listener as skl_sock_entry_format writes it */
#define SKL_STATUS_MAX_SHADOWED 65536 /* listeners one answer of the agent may name */

struct skl_status_label {
	uint32_t id;
	char name[SKL_LABEL_MAX + 1];
	uint64_t cookie[SKL_SOCKET_SLOTS];                 /* 0: none */
	char local[SKL_SOCKET_SLOTS][SKL_SOCK_TEXT_MAX + 1]; /* "": not seen */
	uint64_t counters[SKL_C_COUNT];
};

/* An ordinary listener whose traffic a binding takes. */
struct skl_status_shadowed {
	char socket[SKL_SOCK_TEXT_MAX + 1];
	uint64_t cookie;
	uint32_t binding; /* its id */
	char label[SKL_LABEL_MAX + 1];
};

struct skl_pod_status {
	char state_dir[PATH_MAX];
	struct skl_pod_identity pod; /* from the pod's record; "" parts: unknown */
	uint64_t netns_ino;
	uint32_t prog_id;
	/* The release that made the dispatcher (skl_record_release_text); ""
	 * through the agent, whose answer (protocol version 2) has no field
	 * for it. */
	char release[128];
	uint64_t totals[SKL_T_COUNT];
	size_t n_labels;
	struct skl_status_label *labels;
	struct skl_binding_set bindings;
	uint32_t *binding_ids;                     /* [bindings.n] */
	uint64_t (*binding_counters)[SKL_C_COUNT]; /* [bindings.n] */
	bool sockets_visible;                      /* the pod's netns was reachable */
	size_t n_shadowed;
	struct skl_status_shadowed *shadowed;
};

/* Reads the pod's status into st (free with skl_pod_status_free, also on
 * failure). */
int skl_pod_status(const struct skl_pod *pod, struct skl_pod_status *st, struct skl_err *err);
void skl_pod_status_free(struct skl_pod_status *st);

#endif
