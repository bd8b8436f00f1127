/*
 * One scrape of the node agent's metrics endpoint (agent_metrics_text.c):
 * every pod's counters under bpffsRoot and the agent's own health, in the
 * Prometheus text format (version 0.0.4). It only reads: the pods' pins and
 * maps, no lock of theirs, no netns of theirs.
 */
#ifndef SKL_AGENT_METRICS_TEXT_H
#define SKL_AGENT_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "agent_health.h"

/* Pods one scrape reads at most; more are left out (and counted). */
#define SKL_METRICS_MAX_PODS 1024

/* What a scrape could not read, counted across scrapes by its caller. */
enum skl_metrics_error {
	SKL_METRICS_ERR_UNREADABLE, /* a pod's state there but not readable */
	SKL_METRICS_ERR_DUPLICATE,  /* a second dispatcher of one pod's labels */
	SKL_METRICS_ERR_TOO_MANY,   /* beyond SKL_METRICS_MAX_PODS */
	SKL_METRICS_ERR_COUNT
};

/* The text of one scrape, malloc'd (*len bytes, NUL-terminated); NULL when
 * memory ran out. errors are added to and shown. */
char *skl_agent_metrics_text(const char *bpffs_root, struct skl_agent_health *health,
			     uint64_t errors[SKL_METRICS_ERR_COUNT], size_t *len);

#endif
