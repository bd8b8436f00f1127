/*
 * The library's results as JSON for the node agent's answer, and back.
 *
 * This is a wire form between the agent and sklookup-ctl, not the README's
 * "sklookup-ctl JSON" (sklookup-ctl prints that from the decoded struct):
 * it carries everything either output needs, 64-bit values as decimal
 * strings (a JSON number is a double: cookies and counters would lose
 * bits). Decoding is strict: an unknown or repeated field, a wrong type, a
 * value out of range, a string too long or not printable is an error that
 * says which; nothing is half-filled on error.
 */
#ifndef SKL_POD_RESULT_JSON_H
#define SKL_POD_RESULT_JSON_H

#include "pod_register.h"
#include "pod_status.h"

/* JSON text (malloc'd), or NULL when out of memory. */
char *skl_registered_encode(const struct skl_registered *r);
char *skl_unregistered_encode(const struct skl_unregistered *u);
/* For a client of agent protocol version (agent_proto.h): version 2 has no
 * "pod". */
char *skl_pod_status_encode(const struct skl_pod_status *st, unsigned version);

int skl_registered_decode(const char *text, struct skl_registered *r, struct skl_err *err);
int skl_unregistered_decode(const char *text, struct skl_unregistered *u, struct skl_err *err);
/* st is freed with skl_pod_status_free, also on failure. */
int skl_pod_status_decode(const char *text, struct skl_pod_status *st, struct skl_err *err);

#endif
