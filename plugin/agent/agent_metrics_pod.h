/*
 * Which pod a state directory's metrics are labelled with
 * (agent_metrics_pod.c): the one place that derives the namespace and pod
 * labels, so that they change together when the pod's recorded identity
 * does.
 */
#ifndef SKL_AGENT_METRICS_POD_H
#define SKL_AGENT_METRICS_POD_H

#include <stddef.h>

#define SKL_METRICS_NAME_MAX 253 /* a Kubernetes name, the longest label value we take */

struct skl_metrics_pod {
	char namespace_[SKL_METRICS_NAME_MAX + 1];
	char pod[SKL_METRICS_NAME_MAX + 1];
};

/* The labels of the pod whose state directory is state_dir, its container
 * directory's name container (as stored: a '.' of the ID is a ':'). */
void skl_metrics_pod_identity(const char *state_dir, const char *container,
			      struct skl_metrics_pod *out);

#endif
