/*
 * The self-connect hazard (DESIGN.md, "CNI behaviour"): served ports are not
 * bound, so the kernel may hand one out as an ephemeral source port. These
 * functions manage net.ipv4.ip_local_reserved_ports of the CURRENT netns
 * (the sysctl is per netns and also covers IPv6; callers enter the netns
 * first), and the pure list arithmetic behind it.
 *
 * Port lists are arrays of struct skl_port_range (ports 0..SKL_PORT_MAX, lo <= hi),
 * sorted and merged (no two ranges overlap or touch) unless said otherwise.
 * Arrays returned through `**out` are malloc'd (NULL when empty); free() them.
 */
#ifndef SKL_PORTRESERVE_H
#define SKL_PORTRESERVE_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "skl_error.h"

#define SKL_RESERVED_PORTS_PATH "/proc/sys/net/ipv4/ip_local_reserved_ports"
#define SKL_EPHEMERAL_PORTS_PATH "/proc/sys/net/ipv4/ip_local_port_range"

/* ---- pure parts ---- */

/* Sorts v and merges overlapping and adjacent ranges, in place. */
void skl_port_ranges_normalize(struct skl_port_range *v, size_t *n);

/* The ports of a that are not in b (both sorted and merged), sorted and
 * merged. */
int skl_port_ranges_subtract(const struct skl_port_range *a, size_t na,
			     const struct skl_port_range *b, size_t nb, struct skl_port_range **out,
			     size_t *n_out, struct skl_err *err);

/* Parses the kernel's list syntax, "1000-2000,3000" (an empty string or a
 * lone newline is the empty list), into sorted, merged ranges. */
int skl_reserved_ports_parse(const char *s, struct skl_port_range **out, size_t *n,
			     struct skl_err *err);

/* Formats v in the kernel's syntax and in the given order (the kernel takes
 * any order), "1000-2000,3000", without a newline; the empty list is "".
 * *out is malloc'd. */
int skl_reserved_ports_format(const struct skl_port_range *v, size_t n, char **out,
			      struct skl_err *err);

/* Parses ip_local_port_range ("32768\t60999\n"). */
int skl_ephemeral_ports_parse(const char *s, uint16_t *lo, uint16_t *hi, struct skl_err *err);

/*
 * The ranges to reserve for served ports (any order, may overlap): each
 * served range clipped to the ephemeral range [eph_lo, eph_hi], sorted and
 * merged. Reserving the whole ephemeral range would leave no port for
 * outgoing connections, so a served range that covers it reserves nothing,
 * and neither do served ranges that only together cover it; *n_skipped
 * counts the served ranges left out for that reason (the caller reports
 * them). Fails only on ENOMEM.
 */
int skl_reserved_ports_plan(const struct skl_port_range *served, size_t n_served, uint16_t eph_lo,
			    uint16_t eph_hi, struct skl_port_range **add, size_t *n_add,
			    size_t *n_skipped, struct skl_err *err);

/* ---- the current netns ---- */

/* The ephemeral port range, from SKL_EPHEMERAL_PORTS_PATH. */
int skl_ephemeral_ports_read(uint16_t *lo, uint16_t *hi, struct skl_err *err);

/* The reserved ports, from SKL_RESERVED_PORTS_PATH. */
int skl_reserved_ports_read(struct skl_port_range **out, size_t *n, struct skl_err *err);

/* Replaces the reserved ports by v (any order). */
int skl_reserved_ports_write(const struct skl_port_range *v, size_t n, struct skl_err *err);

/* Reserves the ports of add (any order) in addition to the current ones.
 * *added gets exactly the ports that were not reserved before, so an undo
 * removes only what this call added. Nothing is written if that is none. */
int skl_reserved_ports_add(const struct skl_port_range *add, size_t n,
			   struct skl_port_range **added, size_t *n_added, struct skl_err *err);

/* Removes the ports of v (any order) from the reserved ports; ports that are
 * not reserved are fine. */
int skl_reserved_ports_remove(const struct skl_port_range *v, size_t n, struct skl_err *err);

#endif
