/*
 * Can an ADD load and attach a dispatcher on this node? What CNI STATUS
 * answers. containerd 2.x asks on every kubelet status poll (every few
 * seconds) and a failure marks the node's network not ready, so the answer
 * must be cheap when all is in place and "no" only when an ADD really
 * cannot succeed.
 */
#ifndef SKL_NODE_READY_H
#define SKL_NODE_READY_H

#include "skl_error.h"

/* How the answer was found, for tests and measurements. */
enum skl_ready_proof {
	SKL_READY_PINNED_PROGRAM = 1, /* a pod's pinned dispatcher program: no verifier work */
	SKL_READY_PROBE_LOAD,         /* no pod yet: a probe program was loaded */
};

/* Succeeds when this process has the capabilities ADD uses (CAP_SYS_ADMIN
 * to enter the pod's netns and load BPF, CAP_NET_ADMIN to attach and route)
 * and the kernel runs sk_lookup programs: proved by an sk_lookup program
 * pinned under root (bpffs mounted and trusted, checked by the caller), or
 * else by loading a probe. Fails with SKL_CNI_NOT_AVAILABLE and what to
 * fix. *proof (may be NULL) says which proof it was. */
int skl_node_ready(const char *root, enum skl_ready_proof *proof, struct skl_err *err);

#endif
