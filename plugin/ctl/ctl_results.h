/*
 * sklookup-ctl's printers of the library's results (plugin/lib), text or
 * --json (the README's "sklookup-ctl JSON" shapes). The direct path and the
 * node agent's client print through the same ones.
 */
#ifndef SKL_CTL_RESULTS_H
#define SKL_CTL_RESULTS_H

#include <stdbool.h>

#include "ctl.h"
#include "pod_register.h"
#include "pod_status.h"

int skl_ctl_print_registered(const struct skl_registered *r, bool json, struct skl_err *err);
int skl_ctl_print_unregistered(const struct skl_unregistered *u, bool json, struct skl_err *err);

/* "pod NAMESPACE/NAME (uid UID)\n", or nothing when none is known. */
void skl_ctl_print_pod_identity(const struct skl_pod_identity *id);

int skl_ctl_print_status(const struct skl_pod_status *st, bool json, struct skl_err *err);

#endif
