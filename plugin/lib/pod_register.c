/* Register and unregister a label's sockets (pod_register.h). */
#include "pod_register.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rules.h"
#include "state.h"

static int slot_of(int udp, int v6)
{
	return (int)skl_socket_slot(0, udp, v6);
}

static const char *protocol_name(int protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

int skl_pod_target_open(const struct skl_pod *pod, const char *label, struct skl_target *t,
			struct skl_err *err)
{
	struct skl_binding_set set;
	uint32_t *ids;

	memset(t, 0, sizeof(*t));
	t->name = label;
	if (skl_label_lookup(pod->d, label, &t->id, err) ||
	    skl_rules_read(pod->d, &set, &ids, err))
		return -1;
	for (size_t i = 0; i < set.n; i++)
		if (!strcmp(set.v[i].label, label))
			t->needs[slot_of(set.v[i].proto == IPPROTO_UDP,
					 set.v[i].family == SKL_FAMILY_V6)] = true;
	free(ids);
	skl_bindings_free(&set);
	return 0;
}

/* Library messages name this process's fd number ("fd 5: ..."); say which
 * socket the user meant instead. */
static int named(const struct skl_source *s, struct skl_err *err)
{
	char prefix[32], rest[sizeof(err->msg)];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "fd %d: ", s->fd);

	if (strncmp(err->msg, prefix, n)) {
		skl_err_prefix(err, "%s", s->name);
	} else {
		memcpy(rest, err->msg + n, sizeof(err->msg) - n);
		snprintf(err->msg, sizeof(err->msg), "%s: %.*s", s->name,
			 (int)(sizeof(err->msg) - n), rest);
	}
	return -1;
}

static int check_protocol(const struct skl_target *t, const struct skl_source *s, struct skl_err *err)
{
	int udp = s->info.protocol == IPPROTO_UDP;

	if (t->needs[slot_of(udp, 0)] || t->needs[slot_of(udp, 1)])
		return 0;
	if (t->needs[slot_of(!udp, 0)] || t->needs[slot_of(!udp, 1)])
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s: label %s has only %s bindings; this is a %s socket", s->name,
				t->name, protocol_name(udp ? IPPROTO_TCP : IPPROTO_UDP),
				protocol_name(s->info.protocol));
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"%s: label %s has no bindings now; no traffic would reach this socket",
			s->name, t->name);
}

static int check_family(const struct skl_target *t, const struct skl_source *s, struct skl_err *err)
{
	const char *proto = protocol_name(s->info.protocol);
	bool slots[SKL_SOCKET_SLOTS];

	skl_socket_slots(&s->info, slots);
	for (int i = 0; i < SKL_SOCKET_SLOTS; i++)
		if (slots[i] && t->needs[i])
			return 0;
	if (s->info.family == AF_INET)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s: label %s has only IPv6 %s bindings; this is an IPv4 socket "
				"(use an IPv6 one; bound to [::] and not v6only it serves IPv4 "
				"and IPv6)",
				s->name, t->name, proto);
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"%s: label %s has only IPv4 %s bindings; this IPv6 socket is v6only (a "
			"dual-stack one, IPV6_V6ONLY=0 as for [::], serves IPv4 and IPv6)",
			s->name, t->name, proto);
}

static int check_source(const struct skl_pod *pod, const struct skl_target *t, struct skl_source *s,
			struct skl_err *err)
{
	if (skl_socket_identify(s->fd, &s->info, err))
		return named(s, err);
	if (check_protocol(t, s, err) || check_family(t, s, err))
		return -1;
	if (skl_socket_check(pod->d, s->fd, &s->info, err) ||
	    skl_socket_local_addr(s->fd, s->local, sizeof(s->local), err))
		return named(s, err);
	return 0;
}

int skl_pod_sources_check(const struct skl_pod *pod, const struct skl_target *t, struct skl_sources *s,
			  struct skl_err *err)
{
	struct skl_socket_info infos[SKL_SOCKET_SLOTS];
	size_t a, b;
	int slot;

	for (size_t i = 0; i < s->n; i++) {
		if (check_source(pod, t, &s->v[i], err))
			return -1;
		infos[i] = s->v[i].info;
	}
	if (skl_socket_clash(infos, s->n, &a, &b, &slot))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%s and %s would both serve %s IPv%d of label %s; a label holds "
				"one socket per protocol and family (for a SO_REUSEPORT group, "
				"register one member)",
				s->v[a].name, s->v[b].name,
				protocol_name(skl_slot_is_udp(slot) ? IPPROTO_UDP : IPPROTO_TCP),
				skl_slot_is_v6(slot) ? 6 : 4, t->name);
	return 0;
}

/* Under the pod's lock: a bindings change since skl_pod_target_open may
 * have moved or removed the label, so it is read and checked again. */
static int handover_locked(const struct skl_pod *pod, const struct skl_target *t,
			   const struct skl_sources *s, uint64_t cleared[SKL_SOCKET_SLOTS],
			   struct skl_err *err)
{
	int fds[SKL_SOCKET_SLOTS];
	struct skl_target now;

	if (skl_pod_target_open(pod, t->name, &now, err))
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		if (check_protocol(&now, &s->v[i], err) || check_family(&now, &s->v[i], err))
			return -1;
		fds[i] = s->v[i].fd;
	}
	return skl_socket_handover(pod->d, now.id, fds, s->n, cleared, err);
}

int skl_pod_handover(const struct skl_pod *pod, const struct skl_target *t, const struct skl_sources *s,
		     uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	int lock_fd = -1, ret;

	if (skl_pod_lock(pod, &lock_fd, err))
		return -1;
	ret = handover_locked(pod, t, s, cleared, err);
	skl_state_unlock(lock_fd);
	return ret;
}

void skl_pod_registered(const struct skl_target *t, const struct skl_sources *s, long pid,
			const uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_registered *out)
{
	bool reported[2] = { false, false };

	memset(out, 0, sizeof(*out));
	snprintf(out->label, sizeof(out->label), "%s", t->name);
	out->pid = pid;
	out->n = s->n;
	for (size_t i = 0; i < s->n; i++) {
		const struct skl_source *src = &s->v[i];
		struct skl_registered_socket *r = &out->v[i];
		int udp = src->info.protocol == IPPROTO_UDP;

		snprintf(r->name, sizeof(r->name), "%s", src->name);
		snprintf(r->local, sizeof(r->local), "%s", src->local);
		r->user_fd = src->user_fd;
		r->protocol = src->info.protocol;
		r->family = src->info.family;
		r->v6only = src->info.v6only;
		r->cookie = src->info.cookie;
		skl_socket_slots(&src->info, r->slots);
		/* A cleared slot belongs to the one new socket of that protocol:
		 * only a protocol with a single new socket can leave one unserved. */
		if (reported[udp])
			continue;
		reported[udp] = true;
		r->cleared[slot_of(udp, 0)] = cleared[slot_of(udp, 0)];
		r->cleared[slot_of(udp, 1)] = cleared[slot_of(udp, 1)];
	}
}

int skl_pod_register(const struct skl_pod *pod, const char *label, struct skl_sources *s, long pid,
		     struct skl_registered *out, struct skl_err *err)
{
	uint64_t cleared[SKL_SOCKET_SLOTS];
	struct skl_target t;

	if (skl_pod_target_open(pod, label, &t, err) || skl_pod_sources_check(pod, &t, s, err) ||
	    skl_pod_handover(pod, &t, s, cleared, err))
		return -1;
	skl_pod_registered(&t, s, pid, cleared, out);
	return 0;
}

int skl_pod_unregister(const struct skl_pod *pod, const char *label, int protocol,
		       struct skl_unregistered *out, struct skl_err *err)
{
	uint32_t id;
	int lock_fd = -1, ret;

	memset(out, 0, sizeof(*out));
	snprintf(out->label, sizeof(out->label), "%s", label);
	out->protocol = protocol;
	if (skl_pod_lock(pod, &lock_fd, err))
		return -1;
	ret = skl_label_lookup(pod->d, label, &id, err) ||
	      skl_socket_label_cookies(pod->d, id, out->removed, err) ||
	      skl_socket_unregister(pod->d, id, protocol, err);
	skl_state_unlock(lock_fd);
	if (ret)
		return -1;
	for (int s = 0; s < SKL_SOCKET_SLOTS; s++)
		if (protocol && (protocol == IPPROTO_UDP) != skl_slot_is_udp(s))
			out->removed[s] = 0;
	return 0;
}
