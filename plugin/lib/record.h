/*
 * What an ADD did, kept in the pod's state directory so DEL and CHECK can
 * undo and verify exactly that, whatever config they are given later: the
 * routes it added, the ports it reserved, the netns it attached to, and
 * which attachment and link it is (for DEL when the pins are out of reach).
 * bpffs holds only BPF objects, so the record is JSON in a pinned BPF array.
 */
#ifndef SKL_RECORD_H
#define SKL_RECORD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "pod_identity.h"
#include "routes.h"
#include "skl_error.h"

#define SKL_PIN_RECORD "record"

struct skl_record {
	char state_dir[PATH_MAX]; /* the attachment's state directory; "" in older records */
	uint32_t link_id;         /* the link ADD attached; 0 before that, or in older records */
	uint64_t netns_ino;
	size_t n_pod_routes, n_host_routes, n_reserved;
	struct skl_route *pod_routes;   /* in the pod netns */
	struct skl_route *host_routes;  /* in the host netns */
	struct skl_port_range *reserved; /* added to the pod's ip_local_reserved_ports */
	size_t n_unreserved;             /* served ranges too wide to reserve */
	struct skl_pod_identity pod;     /* from CNI_ARGS at ADD; "" parts: unknown, or an
					    older record ("pod" absent) */
	/* The release that wrote the record (skl_version) and its map layout
	 * (SKL_ABI_VERSION); "" and 0 in records of earlier releases. A
	 * record is written by the binary whose dispatcher the pod runs (ADD,
	 * upgrade), so skl_record_text always writes this binary's. */
	char release[96];
	uint32_t abi;
};

/* "sklookup RELEASE, map layout N", or for a record without a release what
 * can be said of it: "a release of sklookup from before release identities
 * were recorded". */
void skl_record_release_text(const struct skl_record *r, char *buf, size_t len);

/* The release that made the pod in dir, as skl_record_release_text says it
 * ("an unknown release (...)" when dir has no readable record). */
void skl_record_release_of(const char *dir, char *buf, size_t len);

int skl_record_add_route(struct skl_route **v, size_t *n, const struct skl_route *r,
			 struct skl_err *err);

/* The record as JSON text (malloc'd), or NULL when memory ran out: never
 * a record that lacks part of it. */
char *skl_record_text(const struct skl_record *r);

/* Pins the record as dir/record, replacing an earlier one atomically. */
int skl_record_save(const struct skl_record *r, const char *dir, struct skl_err *err);

/* The same, the record bound to the dispatcher program prog_fd (see
 * skl_record_bind) whenever a new record map is made. */
int skl_record_save_bound(const struct skl_record *r, const char *dir, int prog_fd,
			  struct skl_err *err);

/* Adds dir/record to the maps of the dispatcher program prog_fd
 * (BPF_PROG_BIND_MAP; the program never reads it): the program, and so its
 * link, then vouch for the record when DEL finds it through the kernel
 * (skl_record_find). No record in dir: nothing to do. */
int skl_record_bind(const char *dir, int prog_fd, struct skl_err *err);

/* Reads dir/record. */
int skl_record_load(const char *dir, struct skl_record *r, struct skl_err *err);

/* Reads the record map behind fd; what names it in messages. */
int skl_record_load_fd(int fd, const char *what, struct skl_record *r, struct skl_err *err);

/* For state out of reach under bpffsRoot (bpffs unmounted there while
 * another mount keeps the instance, and so its pins, alive): the next
 * record among all BPF maps of the host, after map id *id, that names
 * state_dir as its attachment's, and whose link's program holds that very
 * map (skl_record_bind): any process with CAP_BPF can make a map named
 * "record", and what a record names is what DEL removes. Returns an fd of its map and fills r (free
 * it with skl_record_free), or -1 when there is none; *id is where to go
 * on. In record_find.c, since it walks the kernel's maps. */
int skl_record_find(const char *state_dir, uint32_t *id, struct skl_record *r);

/* Makes the record behind fd unreadable, so that nothing finds it or
 * undoes it again: once what it names is undone while its pins are out of
 * reach. */
int skl_record_blank(int fd, struct skl_err *err);

void skl_record_free(struct skl_record *r);

#endif
