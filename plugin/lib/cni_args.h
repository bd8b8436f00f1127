/*
 * CNI_ARGS, read strictly (the CNI spec's "extra arguments": KEY=VALUE pairs
 * separated by ';', as libcni writes them). Grammar and bounds:
 *
 *   CNI_ARGS := "" | PAIR *( ";" PAIR )     at most SKL_CNI_ARGS_MAX bytes,
 *                                           at most SKL_CNI_ARGS_MAX_PAIRS pairs
 *   PAIR     := KEY "=" VALUE               exactly one '='
 *   KEY      := 1..SKL_CNI_ARGS_KEY_MAX of [A-Za-z0-9_.-], case-sensitive, each
 *               key at most once
 *   VALUE    := 0..SKL_CNI_ARGS_VALUE_MAX printable ASCII bytes (0x20-0x7e)
 *               other than ';' and '='
 *
 * Keys: IgnoreUnknown (1, true, 0 or false, any case, as libcni reads it);
 * K8S_POD_NAMESPACE, K8S_POD_NAME (1..253) and K8S_POD_UID (1..128), of
 * [A-Za-z0-9_.-], recorded; an empty value is the same as none (podman
 * sends an empty uid); K8S_POD_INFRA_CONTAINER_ID, tolerated. Any other key
 * is an error unless IgnoreUnknown is true, wherever it stands, as in
 * libcni. Unlike libcni (which keeps the last), a repeated key is refused:
 * which of two names is the pod's cannot be told. An empty pair (";;", a
 * ';' at either end) is refused, as libcni does.
 *
 * Every failure is SKL_CNI_INVALID_ENV with a message naming CNI_ARGS, the
 * pair and key, and the fix; a byte that is not printable is given by its
 * value, never echoed.
 */
#ifndef SKL_CNI_ARGS_H
#define SKL_CNI_ARGS_H

#include <stddef.h>

#include "pod_identity.h"
#include "skl_error.h"

#define SKL_CNI_ARGS_MAX 4096
#define SKL_CNI_ARGS_MAX_PAIRS 32
#define SKL_CNI_ARGS_KEY_MAX 64
#define SKL_CNI_ARGS_VALUE_MAX 1024

/* Parses the len bytes at s (NUL bytes among them are refused) and fills
 * id; on failure id is all "". */
int skl_cni_args_parse(const char *s, size_t len, struct skl_pod_identity *id,
		       struct skl_err *err);

#endif
