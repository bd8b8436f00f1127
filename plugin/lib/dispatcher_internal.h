/* What dispatcher.c (loading, pinning) and dispatcher_open.c (opening
 * pinned objects) share. */
#ifndef SKL_DISPATCHER_INTERNAL_H
#define SKL_DISPATCHER_INTERNAL_H

#include <stddef.h>

#include "dispatcher.h"

/* dir/name; fails (SKL_CNI_INTERNAL) when it does not fit. */
int skl_dispatcher_pin_path(char *buf, size_t len, const char *dir, const char *name,
			    struct skl_err *err);

/* The capacity read back from the maps themselves (d->limits and the
 * per-generation sizes), so an opened dispatcher knows its limits. */
int skl_dispatcher_read_limits(struct skl_dispatcher *d, struct skl_err *err);

#endif
