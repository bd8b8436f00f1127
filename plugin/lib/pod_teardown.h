/*
 * Tearing a pod's attachment down as DEL does: what its record says ADD
 * did is undone and its state removed. The caller holds the pod's lock
 * (skl_state_lock, skl_state_lock_existing).
 */
#ifndef SKL_POD_TEARDOWN_H
#define SKL_POD_TEARDOWN_H

#include "skl_error.h"

/* Tears down the temporary directories that ADDs of this attachment left
 * when they died before their commit (undoing what their records say),
 * except keep (may be NULL). */
void skl_pod_remove_stale_tmp(const char *state_dir, const char *keep, const char *netns_path);

/* Undoes what a record says an ADD did (routes, reserved ports) and removes
 * the state directory. Pod-side changes are undone in the netns the record
 * was made for: netns_path if it is that one, else (netns_path may be NULL)
 * the netns the state's link is still attached to; when it is gone, they
 * went with it. */
int skl_pod_teardown(const char *state_dir, const char *netns_path, struct skl_err *err);

/* DEL's removal: the temporary directories of this attachment's dead ADDs
 * (skl_pod_remove_stale_tmp), the attachment (skl_pod_teardown), then its
 * container and network directories if that left them empty. */
int skl_pod_remove(const char *state_dir, const char *netns_path, struct skl_err *err);

/* skl_pod_teardown for state not found at state_dir: if bpffs was unmounted
 * there while another mount keeps the instance alive, the pins and the
 * link live on out of reach. Finds the records that name state_dir among
 * the kernel's maps and whose netns is netns_path's (or, when that is
 * gone, whose link is detached), undoes them, detaches their link and
 * blanks them (the pins stay until bpffs is mounted there again and GC,
 * DEL or ADD removes them). Returns 1 when the kernel holds some record
 * naming state_dir (undone or not), 0 when none, -1 on a failure. */
int skl_pod_teardown_unreachable(const char *state_dir, const char *netns_path,
				 struct skl_err *err);

#endif
