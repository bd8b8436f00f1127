/*
 * What an ADD did, kept in the pod's state directory so DEL and CHECK can
 * undo and verify exactly that, whatever config they are given later: the
 * routes it added, the ports it reserved, the netns it attached to. bpffs
 * holds only BPF objects, so the record is JSON in a pinned BPF array.
 */
#ifndef SKL_RECORD_H
#define SKL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "routes.h"
#include "skl_error.h"

#define SKL_PIN_RECORD "record"

struct skl_record {
	uint64_t netns_ino;
	size_t n_pod_routes, n_host_routes, n_reserved;
	struct skl_route *pod_routes;   /* in the pod netns */
	struct skl_route *host_routes;  /* in the host netns */
	struct skl_port_range *reserved; /* added to the pod's ip_local_reserved_ports */
	size_t n_unreserved;             /* served ranges too wide to reserve */
};

int skl_record_add_route(struct skl_route **v, size_t *n, const struct skl_route *r,
			 struct skl_err *err);

/* Pins the record as dir/record, replacing an earlier one atomically. */
int skl_record_save(const struct skl_record *r, const char *dir, struct skl_err *err);

/* Reads dir/record. */
int skl_record_load(const char *dir, struct skl_record *r, struct skl_err *err);

void skl_record_free(struct skl_record *r);

#endif
