/* The namespace and pod labels of a pod's metrics (agent_metrics_pod.h). */
#include "agent_metrics_pod.h"

#include <stdio.h>

/* For now the pod is its container ID (the sandbox's, what CNI_CONTAINERID
 * names) in no namespace: the state names nothing else. Once the record
 * holds the pod's Kubernetes namespace and name, they go here, with the
 * container ID as the pod where the record has none. */
void skl_metrics_pod_identity(const char *state_dir, const char *container,
			      struct skl_metrics_pod *out)
{
	(void)state_dir;
	out->namespace_[0] = '\0';
	snprintf(out->pod, sizeof(out->pod), "%s", container);
	/* State names store a '.' as ':' (state.h). */
	for (char *c = out->pod; *c; c++)
		if (*c == ':')
			*c = '.';
}
