/*
 * Routes in the CURRENT network namespace (callers enter the right netns
 * first), over a raw NETLINK_ROUTE socket: the `local` routes that deliver a
 * whole binding prefix to the pod (AnyIP) and the `via` routes that send a
 * prefix to the pod from the host.
 */
#ifndef SKL_ROUTES_H
#define SKL_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "skl_error.h"

enum skl_route_kind {
	/* `ip route add local PREFIX dev lo`: table local, type local, scope host */
	SKL_ROUTE_LOCAL,
	/* `ip route add PREFIX via GW`: table main, type unicast; the kernel
	 * picks the device that reaches GW */
	SKL_ROUTE_VIA,
};

struct skl_route {
	uint8_t family;	  /* enum skl_family (SKL_FAMILY_V4, SKL_FAMILY_V6) */
	uint8_t plen;	  /* 0..32 or 0..128 */
	uint8_t addr[SKL_ADDR_BYTES]; /* network order, v4 in addr[0..3]; host bits are ignored */
	uint8_t kind;	  /* enum skl_route_kind */
	uint8_t gw[SKL_ADDR_BYTES];	  /* SKL_ROUTE_VIA: the gateway, same family as addr */
};

/* The routing protocol number of the routes the plugin adds (`ip route`
 * shows "proto 173"), so that it can tell its own from anyone else's when
 * bpffs lost the record of what it added. Not one of iproute2's names. */
#define SKL_ROUTE_PROTOCOL 173

/* Long enough for any skl_route_format output. */
#define SKL_ROUTE_STR_MAX 128

/* Adds the route (NLM_F_CREATE | NLM_F_EXCL). Returns 0 if it was created,
 * 1 if exactly this route already existed (the caller did not create it and
 * must not delete it on undo), -1 on error (also when a different route to
 * the same prefix is in the way). */
int skl_route_add(const struct skl_route *r, struct skl_err *err);

/* Deletes the route; a route that does not exist is success. */
int skl_route_del(const struct skl_route *r, struct skl_err *err);

/* The same, only for a route the plugin added (SKL_ROUTE_PROTOCOL). */
int skl_route_del_ours(const struct skl_route *r, struct skl_err *err);

/* Whether a route with the same table, type, destination prefix and (local)
 * device lo or (via) gateway exists. */
int skl_route_exists(const struct skl_route *r, bool *exists, struct skl_err *err);

/* What holds a route's destination prefix in its table: the route itself,
 * another route to the same prefix, or nothing. */
struct skl_route_holder {
	bool found;	   /* some route to exactly this prefix is in the table */
	bool same;	   /* it is this route (type and lo or gateway match) */
	uint8_t protocol;  /* its routing protocol (SKL_ROUTE_PROTOCOL: ours) */
	char text[SKL_ROUTE_STR_MAX]; /* what it is, e.g. "via 198.51.100.9 proto 4" */
};

/* Looks for the route; when several lead to the prefix (other metrics or
 * types), r itself is preferred. */
int skl_route_holder(const struct skl_route *r, struct skl_route_holder *h, struct skl_err *err);

/* "local 192.0.2.0/24 dev lo" / "198.51.100.0/24 via 192.0.2.10". */
void skl_route_format(const struct skl_route *r, char *buf, size_t len);

#endif
