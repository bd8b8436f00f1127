/* The namespace and pod labels of a pod's metrics (agent_metrics_pod.h). */
#include "agent_metrics_pod.h"

#include <stdio.h>

#include "pod_identity.h"

/* The pod's Kubernetes namespace and name as its record keeps them (what
 * the runtime passed in CNI_ARGS at ADD). Without a name (a pod added
 * without CNI_ARGS, or by a release before names were recorded), the pod
 * is its container ID, the sandbox's, in the namespace it has, if any. */
void skl_metrics_pod_identity(const char *state_dir, const char *container,
			      struct skl_metrics_pod *out)
{
	struct skl_pod_identity id;

	out->namespace_[0] = '\0';
	if (!skl_pod_identity_read(state_dir, &id, NULL) && id.name[0]) {
		snprintf(out->namespace_, sizeof(out->namespace_), "%s", id.ns);
		snprintf(out->pod, sizeof(out->pod), "%s", id.name);
		return;
	}
	if (!skl_pod_identity_read(state_dir, &id, NULL))
		snprintf(out->namespace_, sizeof(out->namespace_), "%s", id.ns);
	snprintf(out->pod, sizeof(out->pod), "%s", container);
	/* State names store a '.' as ':' (state.h). */
	for (char *c = out->pod; *c; c++)
		if (*c == ':')
			*c = '.';
}
