/*
 * Watching a pod's dispatcher decide (sklookup-ctl monitor): a ring buffer
 * sits in the pod's "monitor" slot while someone reads it, and the program
 * writes every decision there (dispatch_abi.h). With the slot empty, the
 * hot path pays one branch.
 *
 * One monitor per pod. A ring's name says which process answers for it
 * ("skl_mon_<pid>": sklookup-ctl itself, or the node agent that made it
 * for a pod's client), so a ring left by a monitor that was killed is
 * recognised and removed: by the next monitor of that pod, and by the node
 * agent's reconcile rounds. Only a process with CAP_BPF makes maps, so a
 * pod cannot forge a name.
 */
#ifndef SKL_MONITOR_H
#define SKL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dispatch_abi.h"
#include "pod.h"
#include "skl_error.h"

#define SKL_MONITOR_NAME_PREFIX "skl_mon_"

/* Creates a ring for a monitor that owner answers for. */
int skl_monitor_ring_create(pid_t owner, int *ring_fd, struct skl_err *err);

/* Puts the ring into the pod's slot, under the pod's lock. A slot held by
 * a live monitor of another process is refused (SKL_CNI_TRY_AGAIN_LATER,
 * naming its pid); one whose owner is gone, or that this process made, is
 * replaced. */
int skl_monitor_attach(const struct skl_pod *pod, int ring_fd, struct skl_err *err);

/* Empties the pod's slot if it still holds this ring, under the pod's
 * lock. A pod that is gone is success. */
int skl_monitor_detach(const struct skl_pod *pod, int ring_fd, struct skl_err *err);

/* The ring in the monitor map behind monitor_fd: its map id and owner (0,
 * 0 when the slot is empty; owner 0 when its name is not a monitor's). */
int skl_monitor_slot(int monitor_fd, uint32_t *ring_id, pid_t *owner);

/* True when the pid a ring names is gone (or names none). */
bool skl_monitor_owner_gone(pid_t owner);

/* The same for the pod pinned in state_dir, found by path (the node agent,
 * when the client it made the ring for went away before taking it). */
int skl_monitor_detach_dir(const char *state_dir, int ring_fd, int wait_ms, struct skl_err *err);

/* A ring nobody reads any more: it held unread events at the last look,
 * and its consumer position has not moved since (a reader drains it every
 * fraction of a second; looks are seconds apart). This works whatever
 * process or namespace the reader was in. */
struct skl_monitor_look {
	uint32_t ring_id;  /* 0: the slot was empty */
	uint64_t consumer; /* its consumer position then */
	bool pending;      /* it held unread events then */
};

/* One look at the slot of the pod pinned in state_dir, against the last one
 * (*look, updated): a ring that was not read since, and holds events, is
 * taken out, under the pod's lock (waiting at most wait_ms). 1 when it
 * removed one, 0 otherwise, -1 on error. */
int skl_monitor_reap_dir(const char *state_dir, int wait_ms, struct skl_monitor_look *look,
			 struct skl_err *err);

/* Decisions the pod's dispatcher had no room for in a ring
 * (SKL_T_MONITOR_LOST), per CPU: lost[0..n_cpus) (libbpf's possible CPUs;
 * the rest of lost is zeroed). */
int skl_monitor_lost(const struct skl_dispatcher *d, uint64_t *lost, size_t n_cpus,
		     struct skl_err *err);

/* Names for the event's fields ("assigned", "no-binding", ...; "pass",
 * "drop"), as the monitor's output and its filters spell them. */
const char *skl_monitor_reason_name(unsigned reason);
const char *skl_monitor_verdict_name(unsigned verdict);

#endif
