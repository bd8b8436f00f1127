/*
 * The routes ADD adds for a pod's bindings, as a plan: one per distinct
 * binding prefix (the pod's own /32 or /128 needs none) — local routes in
 * the pod (routes.pod), or routes on the host via the pod's address of the
 * prefix's family (routes.host). ADD adds them; DEL, when bpffs lost the
 * record that lists what ADD added, removes the host routes of the plan
 * that carry the plugin's route protocol (SKL_ROUTE_PROTOCOL, routes.h).
 */
#ifndef SKL_ROUTE_PLAN_H
#define SKL_ROUTE_PLAN_H

#include <stddef.h>

#include "bindings.h"
#include "routes.h"
#include "skl_error.h"

/* *out (malloc'd, *n entries) of kind SKL_ROUTE_LOCAL or SKL_ROUTE_VIA
 * for bindings set of a pod with addresses pod; ifname is for the message
 * when a VIA route finds no pod address of its family. */
int skl_route_plan(const struct skl_binding_set *set, const struct skl_pod_addrs *pod,
		   uint8_t kind, const char *ifname, struct skl_route **out, size_t *n,
		   struct skl_err *err);

#endif
