/* sklookup-ctl monitor: the pods it watches. Each gets the monitor's one
 * ring in its slot (the same ring serves every pod of --all; an event names
 * its pod by netns cookie), and leaves with the slot emptied. */
#include "ctl_monitor.h"

#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"
#include "pod_identity.h"
#include "state.h"

static void free_pod(struct monitor_pod *p)
{
	if (!p)
		return;
	skl_dispatcher_close(&p->d);
	skl_monitor_start_free(&p->start);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	free(p->lost_seen);
	free(p->lost_base);
	free(p);
}

static struct monitor_pod *new_pod(struct monitor *m, const char *dir)
{
	struct monitor_pod *p = calloc(1, sizeof(*p)), **grown;

	if (!p || !(p->lost_seen = calloc(m->n_cpus, sizeof(uint64_t))) ||
	    !(p->lost_base = calloc(m->n_cpus, sizeof(uint64_t))))
		goto fail;
	if (m->n_pods == m->cap_pods) {
		size_t cap = m->cap_pods ? 2 * m->cap_pods : 8;

		grown = realloc(m->pods, cap * sizeof(*grown));
		if (!grown)
			goto fail;
		m->pods = grown;
		m->cap_pods = cap;
	}
	p->netns_fd = -1;
	skl_dispatcher_init(&p->d);
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	return p;
fail:
	free_pod(p);
	return NULL;
}

static bool watched(const struct monitor *m, const char *dir)
{
	for (size_t i = 0; i < m->n_pods; i++)
		if (!strcmp(m->pods[i]->dir, dir))
			return true;
	return false;
}

/* How the output names a pod: its Kubernetes (or podman) name when the
 * record has one, else "network/container" of its state directory
 * <root>/<network>/<container>/<ifname>. */
static void pod_name(const char *dir, char *out, size_t len)
{
	char container[PATH_MAX], network[PATH_MAX], known[SKL_POD_DISPLAY_MAX];
	struct skl_pod_identity id;

	if (!skl_pod_identity_read(dir, &id, NULL) && skl_pod_identity_known(&id)) {
		skl_pod_identity_format(&id, known, sizeof(known));
		snprintf(out, len, "%s", known);
	} else if (skl_state_parent(dir, container, sizeof(container), NULL) ||
		   skl_state_parent(container, network, sizeof(network), NULL)) {
		snprintf(out, len, "%s", dir);
	} else {
		snprintf(out, len, "%s/%s", skl_state_last_component(network),
			 skl_state_last_component(container));
	}
}

/* Opens the pod in dir (the dispatcher opened by the caller, or opened
 * here when d is NULL) and puts the ring into its slot. */
static int watch(struct monitor *m, const char *dir, struct skl_dispatcher *d, uint64_t netns_ino,
		 struct skl_err *err)
{
	struct monitor_pod *p = new_pod(m, dir);
	struct skl_config cfg;

	if (!p)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	pod_name(dir, p->name, sizeof(p->name));
	if (d) {
		p->d = *d; /* the pod now owns its fds */
		skl_dispatcher_init(d);
	} else if (skl_dispatcher_open(&p->d, dir, err) ||
		   skl_dispatcher_link_netns(&p->d, &netns_ino, err)) {
		free_pod(p);
		return -1;
	}
	p->pod = (struct skl_pod){ .state_dir = p->dir, .d = &p->d, .netns_ino = netns_ino,
				   .netns_fd = &p->netns_fd,
				   .lock_wait_ms = m->ctl->lock_wait_ms };
	if (skl_dispatcher_config(&p->d, &cfg, err) ||
	    skl_monitor_lost(&p->d, p->lost_base, m->n_cpus, err) ||
	    skl_monitor_attach(&p->pod, m->ring_fd, err)) {
		free_pod(p);
		return -1;
	}
	memcpy(p->lost_seen, p->lost_base, m->n_cpus * sizeof(uint64_t));
	p->netns_cookie = cfg.netns_cookie;
	/* Holding the pod's link would keep its program attached after a DEL
	 * for as long as this runs: only the maps stay open. */
	if (p->d.link_fd >= 0)
		close(p->d.link_fd);
	p->d.link_fd = -1;
	m->pods[m->n_pods++] = p;
	return 0;
}

int skl_monitor_watch_via_agent(struct monitor *m, struct skl_err *err)
{
	struct monitor_pod *p = new_pod(m, "this pod");

	if (!p)
		return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
	snprintf(p->name, sizeof(p->name), "this pod");
	p->via_agent = true;
	if (skl_ctl_agent_monitor_start(m->ctl, &p->start, &m->ring_fd, err)) {
		free_pod(p);
		return -1;
	}
	for (size_t i = 0; i < m->n_cpus && i < p->start.n_cpus; i++)
		p->lost_base[i] = p->lost_seen[i] = p->start.lost[i];
	p->netns_cookie = p->start.netns_cookie;
	m->pods[m->n_pods++] = p;
	return 0;
}

int skl_monitor_watch_located(struct monitor *m, struct skl_err *err)
{
	struct skl_ctl *ctl = m->ctl;

	return watch(m, ctl->state_dir, &ctl->d, ctl->netns_ino, err);
}

static int consider(const struct skl_state_visit *v, void *arg)
{
	struct monitor *m = arg;
	struct skl_err err = { 0 };

	if (watched(m, v->dir))
		return 0;
	/* A pod of another layout, one being deleted, one watched by another
	 * monitor: said once here, and the others are watched. */
	if (watch(m, v->dir, NULL, 0, &err))
		fprintf(stderr, "sklookup-ctl: monitor: not watching %s: %s\n", v->dir, err.msg);
	return 0;
}

int skl_monitor_watch_new_pods(struct monitor *m, struct skl_err *err)
{
	const char *root = m->ctl->bpffs_root ? m->ctl->bpffs_root : SKL_DEFAULT_BPFFS_ROOT;

	if (skl_bpffs_check_root(root, err))
		return -1;
	skl_state_walk(root, SKL_STATE_FROM_ROOT, 0, consider, m);
	return 0;
}

void skl_monitor_unwatch_all(struct monitor *m)
{
	for (size_t i = 0; i < m->n_pods; i++) {
		struct skl_err err = { 0 };

		/* Through the agent, the slot empties when the agent sees the
		 * ring unread (its reconcile rounds). */
		if (!m->pods[i]->via_agent &&
		    skl_monitor_detach_dir(m->pods[i]->dir, m->ring_fd, m->ctl->lock_wait_ms ?
				m->ctl->lock_wait_ms : SKL_STATE_LOCK_WAIT_MS, &err))
			fprintf(stderr, "sklookup-ctl: monitor: %s: %s\n", m->pods[i]->dir,
				err.msg);
		free_pod(m->pods[i]);
	}
	free(m->pods);
	m->pods = NULL;
	m->n_pods = m->cap_pods = 0;
}

int skl_monitor_forget_gone_pods(struct monitor *m)
{
	for (size_t i = 0; i < m->n_pods;) {
		struct monitor_pod *p = m->pods[i];

		if (p->via_agent || skl_state_exists(p->dir)) {
			i++;
			continue;
		}
		fprintf(stderr, "sklookup-ctl: monitor: %s was deleted\n", p->name);
		free_pod(p);
		m->pods[i] = m->pods[--m->n_pods];
	}
	return (int)m->n_pods;
}

struct monitor_pod *skl_monitor_pod_by_cookie(struct monitor *m, uint64_t netns_cookie)
{
	for (size_t i = 0; i < m->n_pods; i++)
		if (m->pods[i]->netns_cookie == netns_cookie)
			return m->pods[i];
	return NULL;
}

uint64_t skl_monitor_pod_lost(const struct monitor_pod *p, size_t n_cpus)
{
	uint64_t *now, lost = 0;

	if (p->via_agent) /* only what the events carried */
		return p->lost_reported;
	now = calloc(n_cpus, sizeof(*now));
	if (!now || skl_monitor_lost(&p->d, now, n_cpus, NULL)) {
		free(now);
		return 0;
	}
	for (size_t i = 0; i < n_cpus; i++)
		lost += now[i] - p->lost_base[i];
	free(now);
	return lost;
}
