/*
 * Filling a struct skl_sources (pod_register.h) one socket at a time: both
 * sklookup-ctl (the caller's fds, another process's, exec's own) and the
 * node agent (the fds a request brought) build one for skl_pod_register.
 */
#ifndef SKL_POD_SOURCES_H
#define SKL_POD_SOURCES_H

#include <stdbool.h>

#include "pod_register.h"

/* Takes fd into s (closing it on failure when owned); fmt names it for
 * messages and output. Fails when s is full (SKL_SOCKET_SLOTS). */
int skl_sources_add(struct skl_sources *s, int fd, bool owned, int user_fd, struct skl_err *err,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
