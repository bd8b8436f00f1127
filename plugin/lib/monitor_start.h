/*
 * What a monitor needs to read a pod's events without its maps: a client of
 * the node agent gets the ring and this snapshot, taken when the ring went
 * into the slot (label names, the sockets' cookies by slot, the lost
 * counts per CPU), as the answer's document.
 */
#ifndef SKL_MONITOR_START_H
#define SKL_MONITOR_START_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "dispatcher.h"
#include "skl_error.h"

struct skl_monitor_start {
	uint64_t netns_cookie;
	size_t n_labels;
	struct {
		uint32_t id;
		char name[SKL_LABEL_MAX + 1];
	} *labels;
	size_t n_sockets;
	struct {
		uint32_t slot;
		uint64_t cookie;
	} *sockets;
	size_t n_cpus;
	uint64_t *lost; /* per CPU */
};

/* Reads it from the pod's maps. */
int skl_monitor_start_read(const struct skl_dispatcher *d, struct skl_monitor_start *s,
			   struct skl_err *err);

/* As the agent's answer document (malloc'd), or NULL when out of memory. */
char *skl_monitor_start_encode(const struct skl_monitor_start *s);

/* Strict: anything but what encode makes is refused. */
int skl_monitor_start_decode(const char *text, struct skl_monitor_start *s, struct skl_err *err);

void skl_monitor_start_free(struct skl_monitor_start *s);

#endif
