/*
 * The node agent's reconcile: the state of a pod whose netns is gone (its
 * link reports netns_ino 0) and that no DEL removed - containerd sends no
 * GC - is removed once it has been seen detached for the grace period, the
 * way DEL removes it.
 */
#include "agent_reap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_log.h"
#include "agent_state.h"
#include "pod_teardown.h"
#include "state.h"

struct round {
	struct skl_agent_reaper *r;
	uint64_t now_ms;
};

static struct skl_agent_stale *find(struct skl_agent_reaper *r, const char *dir)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].dir, dir))
			return &r->v[i];
	return NULL;
}

/* Notes a detached pod; one beyond the table's size waits for a later round. */
static int note(const char *dir, void *arg)
{
	struct round *rd = arg;
	struct skl_agent_stale *s;
	uint64_t ino;

	if (skl_state_link_netns(dir, &ino, NULL) || ino)
		return 0;
	s = find(rd->r, dir);
	if (!s && rd->r->n < SKL_AGENT_STALE_MAX) {
		char *copy = strdup(dir);

		if (!copy)
			return 0;
		s = &rd->r->v[rd->r->n++];
		s->dir = copy;
		s->since_ms = rd->now_ms;
	}
	if (s)
		s->seen = 1;
	return 0;
}

/* Removes dir as DEL does, under the pod's lock, if it is still detached
 * (a DEL or a new ADD may have come meanwhile). */
static int reap(const char *dir, struct skl_err *err)
{
	uint64_t ino;
	int lock_fd = -1, ret = 0;

	/* Bounded: the agent serves pods meanwhile; a busy pod waits a round. */
	if (skl_state_lock_existing(dir, SKL_STATE_LOCK_WAIT_MS, &lock_fd, err))
		return err->code == SKL_CNI_UNKNOWN_CONTAINER ? 0 : -1;
	if (skl_state_exists(dir) && !skl_state_link_netns(dir, &ino, NULL) && !ino) {
		/* No netns path: what ADD changed inside the pod went with it. */
		ret = skl_pod_remove(dir, NULL, err);
	}
	skl_state_unlock(lock_fd);
	return ret;
}

static void forget(struct skl_agent_reaper *r, size_t i)
{
	free(r->v[i].dir);
	r->v[i] = r->v[--r->n];
}

static struct skl_agent_ring_look *find_ring(struct skl_agent_reaper *r, const char *dir)
{
	for (size_t i = 0; i < r->n_rings; i++)
		if (!strcmp(r->rings[i].dir, dir))
			return &r->rings[i];
	return NULL;
}

/* One look at a pod's monitor slot; a ring read by nobody since the last
 * look is taken out (a monitor that was killed, or whose client left). */
static int look_at_ring(const char *dir, void *arg)
{
	struct skl_agent_reaper *r = arg;
	struct skl_agent_ring_look *l = find_ring(r, dir);
	struct skl_err err = { 0 };
	int ret;

	if (!l && r->n_rings < SKL_AGENT_STALE_MAX) {
		char *copy = strdup(dir);

		if (!copy)
			return 0;
		l = &r->rings[r->n_rings++];
		*l = (struct skl_agent_ring_look){ .dir = copy };
	}
	if (!l)
		return 0;
	l->seen = 1;
	ret = skl_monitor_reap_dir(dir, SKL_STATE_LOCK_WAIT_MS, &l->look, &err);
	if (ret > 0)
		skl_agent_log("reconcile: took the monitor ring of %s out: nobody read it since "
			      "the last round (its monitor was stopped or killed)",
			      dir);
	else if (ret < 0)
		skl_agent_log("reconcile: %s: %s", dir, err.msg);
	return 0;
}

static void reap_rings(struct skl_agent_reaper *r, const char *root)
{
	for (size_t i = 0; i < r->n_rings; i++)
		r->rings[i].seen = 0;
	skl_agent_each_state(root, look_at_ring, r);
	for (size_t i = 0; i < r->n_rings;) {
		if (r->rings[i].seen) {
			i++;
			continue;
		}
		free(r->rings[i].dir);
		r->rings[i] = r->rings[--r->n_rings];
	}
}

unsigned skl_agent_reconcile(struct skl_agent_reaper *r, const char *root, unsigned grace_s,
			     uint64_t now_ms)
{
	struct round rd = { .r = r, .now_ms = now_ms };
	struct skl_err untrusted = { 0 };
	int reaped = 0;
	unsigned removed = 0;

	if (skl_bpffs_check_root(root, &untrusted)) {
		skl_agent_log("reconcile: %s", untrusted.msg);
		return 0;
	}

	reap_rings(r, root);
	for (size_t i = 0; i < r->n; i++)
		r->v[i].seen = 0;
	skl_agent_each_state(root, note, &rd);
	for (size_t i = 0; i < r->n;) {
		struct skl_agent_stale *s = &r->v[i];
		uint64_t detached_s = (now_ms - s->since_ms) / 1000;
		struct skl_err err = { 0 };

		/* Gone or attached again: nothing to do. */
		if (!s->seen) {
			forget(r, i);
			continue;
		}
		if (detached_s < grace_s || reaped == SKL_AGENT_REAP_PER_ROUND) {
			i++;
			continue;
		}
		reaped++;
		if (reap(s->dir, &err)) {
			skl_agent_log("reconcile: cannot remove %s (its network namespace is "
				      "gone): %s; trying again next round",
				      s->dir, err.msg);
			i++;
			continue;
		}
		skl_agent_log("reconcile: removed %s: its network namespace has been gone for "
			      "%llu s and no DEL removed it",
			      s->dir, (unsigned long long)detached_s);
		forget(r, i);
		removed++;
	}
	return removed;
}

void skl_agent_reaper_free(struct skl_agent_reaper *r)
{
	while (r->n)
		forget(r, r->n - 1);
	while (r->n_rings)
		free(r->rings[--r->n_rings].dir);
}
