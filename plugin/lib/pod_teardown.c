/*
 * Tearing a pod's attachment down: undoing what its record says ADD did
 * (routes, reserved ports, in the pod's netns while it lives), detaching
 * its link and removing its state. DEL, GC, ADD's retry and the node
 * agent's reaper share it.
 */
#include "pod_teardown.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dispatcher.h"
#include "netns.h"
#include "portreserve.h"
#include "record.h"
#include "routes.h"
#include "state.h"

/* The netns at path, if it is the one the record was made for. */
static int recorded_netns(const char *path, uint64_t ino)
{
	struct skl_err ignored;
	uint64_t actual;
	int fd;

	if (!path || !ino || skl_netns_open(path, &fd, &ignored))
		return -1;
	if (skl_netns_ino(fd, &actual, &ignored) || actual != ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The netns inode a link is attached to; 0 when it is detached (its netns
 * is gone), is no sk_lookup link, or there is none (-1). */
static uint64_t link_netns_ino(int link_fd)
{
	uint64_t ino;

	return link_fd >= 0 && !skl_link_netns(link_fd, &ino, NULL) ? ino : 0;
}

/* The pod's netns, to undo the record's changes there: CNI_NETNS if it is
 * the netns the record was made for; else (GC has no CNI_NETNS) the netns
 * the attachment's link is attached to, if that is the recorded one. The
 * link proves it: a netns inode number is reused only once its netns is
 * gone, and then the link reports 0. Checked again once the netns is held
 * open. -1 when the netns is gone: what ADD did there went with it. */
static int pod_netns(int link_fd, const char *netns_path, uint64_t ino)
{
	int fd = recorded_netns(netns_path, ino);

	if (fd >= 0 || !ino || link_netns_ino(link_fd) != ino)
		return fd;
	fd = skl_netns_find(ino);
	if (fd >= 0 && link_netns_ino(link_fd) != ino) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int undo_pod_side(const struct skl_record *rec, int netns_fd, struct skl_err *err)
{
	int saved, ret = 0;

	if (skl_netns_enter(netns_fd, &saved, err))
		return -1;
	for (size_t i = 0; i < rec->n_pod_routes; i++)
		if (skl_route_del(&rec->pod_routes[i], err))
			ret = -1;
	if (rec->n_reserved && skl_reserved_ports_remove(rec->reserved, rec->n_reserved, err))
		ret = -1;
	if (skl_netns_leave(saved, ret ? NULL : err))
		ret = -1;
	return ret;
}

/* Undoes what rec says: host routes, and the pod's side while its netns
 * lives. link_fd: the attachment's link, or -1. */
static int undo_record(const struct skl_record *rec, int link_fd, const char *netns_path,
		       struct skl_err *err)
{
	int netns_fd, ret = 0;

	for (size_t i = 0; i < rec->n_host_routes; i++)
		if (skl_route_del(&rec->host_routes[i], err))
			ret = -1;
	netns_fd = pod_netns(link_fd, netns_path, rec->netns_ino);
	if (netns_fd >= 0) {
		if (undo_pod_side(rec, netns_fd, err))
			ret = -1;
		close(netns_fd);
	}
	return ret;
}

int skl_pod_teardown(const char *state_dir, const char *netns_path, struct skl_err *err)
{
	char path[PATH_MAX + 16];
	struct skl_record rec;
	int link_fd, ret = 0;

	if (!skl_state_exists(state_dir))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", state_dir, SKL_PIN_LINK);
	link_fd = bpf_obj_get(path);
	/* Without a readable record there is nothing to undo but the pins. */
	if (!skl_record_load(state_dir, &rec, NULL)) {
		ret = undo_record(&rec, link_fd, netns_path, err);
		skl_record_free(&rec);
	}
	/* Unpinning only lets the kernel release the link later; detaching
	 * it first means no packet meets this pod's dispatcher once DEL
	 * returns. */
	if (!ret && link_fd >= 0)
		bpf_link_detach(link_fd);
	if (link_fd >= 0)
		close(link_fd);
	return ret ? -1 : skl_state_remove(state_dir, err);
}

/* The link a record names, if it still is an sk_lookup link of the netns
 * the record names (or of none: its netns is gone); -1 otherwise. */
static int recorded_link(const struct skl_record *rec)
{
	int fd = rec->link_id ? bpf_link_get_fd_by_id(rec->link_id) : -1;
	uint64_t ino;

	if (fd >= 0 && (skl_link_netns(fd, &ino, NULL) || (ino && ino != rec->netns_ino))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Undoes one record found through the kernel, detaches its link, and
 * blanks it so that no later DEL undoes it again. */
static int undo_unreachable(int rec_fd, const struct skl_record *rec, int link_fd,
			    const char *netns_path, struct skl_err *err)
{
	if (undo_record(rec, link_fd, netns_path, err))
		return -1;
	if (link_fd >= 0 && bpf_link_detach(link_fd))
		return skl_errf(err, SKL_CNI_INTERNAL, "detaching link %u of %s: %s", rec->link_id,
				rec->state_dir, strerror(errno));
	return skl_record_blank(rec_fd, err);
}

/* The inode of the netns at path, 0 if there is none. */
static uint64_t netns_ino_at(const char *path)
{
	uint64_t ino = 0;
	int fd;

	if (path && !skl_netns_open(path, &fd, NULL)) {
		if (skl_netns_ino(fd, &ino, NULL))
			ino = 0;
		close(fd);
	}
	return ino;
}

int skl_pod_teardown_unreachable(const char *state_dir, const char *netns_path,
				 struct skl_err *err)
{
	uint64_t netns_ino = netns_ino_at(netns_path);
	char container[PATH_MAX];
	struct skl_record rec;
	uint32_t id = 0;
	int rec_fd, ret = 0;
	bool found = false;

	if (skl_state_parent(state_dir, container, sizeof(container), err))
		return -1;
	while (!ret && (rec_fd = skl_record_find(state_dir, &id, &rec)) >= 0) {
		found = true;
		int link_fd = recorded_link(&rec);
		/* A record is journaled only while its container directory
		 * exists (ADD holds its lock there). If it is there now, an
		 * ADD began meanwhile: not for this DEL to undo. */
		bool adding = skl_state_exists(container);
		/* The same path may name an attachment in another mount
		 * namespace's bpffs: the netns must agree too. The record's is
		 * CNI_NETNS, or without a live CNI_NETNS, its link serves no
		 * netns any more. */
		bool ours = netns_ino ? rec.netns_ino == netns_ino : !link_netns_ino(link_fd);

		if (!adding && ours && undo_unreachable(rec_fd, &rec, link_fd, netns_path, err))
			ret = -1;
		if (link_fd >= 0)
			close(link_fd);
		close(rec_fd);
		skl_record_free(&rec);
		if (adding)
			break;
	}
	return ret ? -1 : found;
}

struct stale_tmp {
	char prefix[64];
	const char *keep;
	const char *netns_path;
};

static int remove_if_stale(const struct skl_state_visit *v, void *arg)
{
	const struct stale_tmp *s = arg;

	if (v->temporary && !strncmp(v->name[0], s->prefix, strlen(s->prefix)) &&
	    (!s->keep || strcmp(v->dir, s->keep)))
		skl_pod_teardown(v->dir, s->netns_path, NULL);
	return 0;
}

void skl_pod_remove_stale_tmp(const char *state_dir, const char *keep, const char *netns_path)
{
	struct stale_tmp s = { .keep = keep, .netns_path = netns_path };
	char container[PATH_MAX];

	if (skl_state_parent(state_dir, container, sizeof(container), NULL))
		return;
	snprintf(s.prefix, sizeof(s.prefix), SKL_STATE_TMP_PREFIX "%s-",
		 skl_state_last_component(state_dir));
	skl_state_walk(container, SKL_STATE_FROM_CONTAINER, SKL_STATE_WALK_TEMPORARIES,
		       remove_if_stale, &s);
}

int skl_pod_remove(const char *state_dir, const char *netns_path, struct skl_err *err)
{
	char container[PATH_MAX], network[PATH_MAX];
	int ret;

	skl_pod_remove_stale_tmp(state_dir, NULL, netns_path);
	ret = skl_pod_teardown(state_dir, netns_path, err);
	/* Left empty by a stale temporary directory alone. */
	if (!skl_state_parent(state_dir, container, sizeof(container), NULL) &&
	    !skl_state_parent(container, network, sizeof(network), NULL)) {
		rmdir(container);
		rmdir(network);
	}
	return ret;
}
