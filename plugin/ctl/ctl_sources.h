/*
 * The sockets of register and exec (ctl_register.c, ctl_exec.c): where they
 * come from (ctl_sources.c). The label they go to, the checks every one of
 * them meets and the handover are the library's (pod_register.h).
 */
#ifndef SKL_CTL_SOURCES_H
#define SKL_CTL_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"
#include "pod_register.h"
#include "pod_sources.h"

#define LISTEN_FDS_START 3 /* sd_listen_fds(3) */

/* Filled with skl_sources_add (pod_sources.h); closes the owned ones. */
void skl_ctl_sources_close(struct skl_sources *s);

/* register's sockets: fds[0..n_fds) of process pid (pidfd_getfd), or of the
 * caller when pid is 0; without fds, systemd's LISTEN_FDS (those named
 * label), else fd 3. */
int skl_ctl_sources_collect(const char *label, const int *fds, size_t n_fds, long pid,
			    struct skl_sources *s, struct skl_err *err);

/* The client side through the node agent (ctl->agent). */
int skl_ctl_via_agent(struct skl_ctl *ctl, const char *label, const struct skl_sources *s, long pid,
		      bool quiet, struct skl_err *err);

#endif
