/*
 * What the portreserve_*.c files share: the allocation helpers of the
 * range lists and the sysctl names messages use.
 */
#ifndef SKL_PORTRESERVE_INTERNAL_H
#define SKL_PORTRESERVE_INTERNAL_H

#include "portreserve.h"

#define RESERVED_SYSCTL "net.ipv4.ip_local_reserved_ports"
#define EPHEMERAL_SYSCTL "net.ipv4.ip_local_port_range"

/* *out gets room for n ranges (NULL for none). */
int skl_port_ranges_alloc(size_t n, struct skl_port_range **out, struct skl_err *err);

/* Frees an empty result so that empty lists are always NULL. */
void skl_port_ranges_drop_if_empty(struct skl_port_range **v, size_t n);

/* A sorted, merged copy of v (any order) in *out. */
int skl_port_ranges_normalized_copy(const struct skl_port_range *v, size_t n,
				    struct skl_port_range **out, size_t *n_out,
				    struct skl_err *err);

#endif
