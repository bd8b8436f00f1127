/*
 * Who a pod is to the orchestrator: its namespace, name and uid, as the
 * runtime passed them in CNI_ARGS at ADD (cni_args.h) and the pod's state
 * record keeps them (record.h). Any part may be unknown (""): podman sends
 * only a name, a plain libcni caller nothing, and records written by
 * releases before this one have none.
 */
#ifndef SKL_POD_IDENTITY_H
#define SKL_POD_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "skl_error.h"

/* A Kubernetes name is a DNS subdomain (at most 253); a uid is a UUID (36),
 * with room for other runtimes' ids. */
#define SKL_POD_NAMESPACE_MAX 253
#define SKL_POD_NAME_MAX 253
#define SKL_POD_UID_MAX 128

struct skl_pod_identity {
	char ns[SKL_POD_NAMESPACE_MAX + 1];
	char name[SKL_POD_NAME_MAX + 1];
	char uid[SKL_POD_UID_MAX + 1];
};

/* True when a namespace or a name is known (what --pod can select). */
bool skl_pod_identity_known(const struct skl_pod_identity *id);

/* True when no part is known: nothing to record, send or show. */
bool skl_pod_identity_empty(const struct skl_pod_identity *id);

/* A value of one part: 1..max bytes of [A-Za-z0-9_.-] (what Kubernetes and
 * podman names are made of; never '/', which separates namespace/name). */
bool skl_pod_identity_value_valid(const char *s, size_t max);

/* How the pod is shown and selected (sklookup-ctl --pod): "NAMESPACE/NAME",
 * "NAME" when only a name is known, "NAMESPACE/" with only a namespace,
 * "-" when neither. out needs SKL_POD_DISPLAY_MAX bytes. */
#define SKL_POD_DISPLAY_MAX (SKL_POD_NAMESPACE_MAX + 1 + SKL_POD_NAME_MAX + 1)
void skl_pod_identity_format(const struct skl_pod_identity *id, char *out, size_t len);

/* {"namespace", "name", "uid"}: each part a string, or (with nulls) null
 * when unknown, else left out. NULL when out of memory. */
cJSON *skl_pod_identity_to_json(const struct skl_pod_identity *id, bool nulls);

/* The reverse, strictly: an object with no other key, each part absent,
 * null or a valid value (skl_pod_identity_value_valid); what names it in
 * the message. */
int skl_pod_identity_from_json(const cJSON *o, const char *what, struct skl_pod_identity *id,
			       struct skl_err *err);

/* The identity recorded in the pod state directory state_dir (its record,
 * record.h): all parts "" when the record has none (an older release, or
 * no CNI_ARGS at ADD). Fails when there is no readable record. For
 * sklookup-ctl status and pods, and for labelling metrics. In
 * pod_identity_record.c (it reads BPF maps). */
int skl_pod_identity_read(const char *state_dir, struct skl_pod_identity *id,
			  struct skl_err *err);

#endif
