#include "sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "dispatch_abi.h"
#include "netns.h"

static int sockopt_int(int fd, int level, int name, int *val, struct skl_err *err)
{
	socklen_t len = sizeof(*val);

	if (getsockopt(fd, level, name, val, &len))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "fd %d: %s", fd,
				errno == ENOTSOCK ? "not a socket" : strerror(errno));
	return 0;
}

static int check_state(int fd, const struct skl_socket_info *info, struct skl_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int listening;

	if (info->protocol == IPPROTO_TCP) {
		if (sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, err))
			return -1;
		if (!listening)
			return skl_errf(err, SKL_CNI_INVALID_CONFIG,
					"fd %d: the TCP socket is not listening; call listen() first", fd);
		return 0;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "fd %d: getsockname: %s", fd, strerror(errno));
	if ((ss.ss_family == AF_INET && !((struct sockaddr_in *)&ss)->sin_port) ||
	    (ss.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&ss)->sin6_port))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d: the UDP socket is not bound; bind() it first", fd);
	len = sizeof(ss);
	if (!getpeername(fd, (struct sockaddr *)&ss, &len))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d: the UDP socket is connected; the dispatcher needs an "
				"unconnected one", fd);
	return 0;
}

int skl_socket_identify(int fd, struct skl_socket_info *info, struct skl_err *err)
{
	socklen_t len = sizeof(info->cookie);
	int v6only = 0;

	memset(info, 0, sizeof(*info));
	if (sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &info->family, err) ||
	    sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &info->protocol, err))
		return -1;
	if (info->family != AF_INET && info->family != AF_INET6)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d: not an IPv4 or IPv6 socket (family %d)", fd, info->family);
	if (info->protocol != IPPROTO_TCP && info->protocol != IPPROTO_UDP)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d: not a TCP or UDP socket (protocol %d)", fd, info->protocol);
	if (info->family == AF_INET6 && sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, err))
		return -1;
	info->v6only = v6only;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &info->cookie, &len))
		return skl_errf(err, SKL_CNI_INTERNAL, "fd %d: SO_COOKIE: %s", fd, strerror(errno));
	return skl_socket_netns_cookie(fd, &info->netns_cookie, err);
}

int skl_socket_inspect(int fd, struct skl_socket_info *info, struct skl_err *err)
{
	if (skl_socket_identify(fd, info, err))
		return -1;
	return check_state(fd, info, err);
}

int skl_socket_check(const struct skl_dispatcher *d, int fd, struct skl_socket_info *info,
		     struct skl_err *err)
{
	struct skl_config cfg;

	if (skl_socket_inspect(fd, info, err) || skl_dispatcher_config(d, &cfg, err))
		return -1;
	if (info->netns_cookie != cfg.netns_cookie)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d: the socket belongs to another network namespace than the "
				"pod's; create it inside the pod (a TCP connection to it would "
				"complete its handshake and then break)", fd);
	return 0;
}

void skl_socket_slots(const struct skl_socket_info *info, bool slots[SKL_SOCKET_SLOTS])
{
	int is_udp = info->protocol == IPPROTO_UDP;

	memset(slots, 0, SKL_SOCKET_SLOTS * sizeof(slots[0]));
	slots[skl_socket_slot(0, is_udp, 0)] = info->family == AF_INET || !info->v6only;
	slots[skl_socket_slot(0, is_udp, 1)] = info->family == AF_INET6;
}

bool skl_socket_clash(const struct skl_socket_info *infos, size_t n, size_t *a, size_t *b,
		      int *slot)
{
	size_t owner[SKL_SOCKET_SLOTS];
	bool taken[SKL_SOCKET_SLOTS] = { false };

	for (size_t i = 0; i < n; i++) {
		bool slots[SKL_SOCKET_SLOTS];

		skl_socket_slots(&infos[i], slots);
		for (int s = 0; s < SKL_SOCKET_SLOTS; s++) {
			if (slots[s] && taken[s]) {
				*a = owner[s];
				*b = i;
				*slot = s;
				return true;
			}
			if (slots[s]) {
				taken[s] = true;
				owner[s] = i;
			}
		}
	}
	return false;
}

/* A label's slot s (0..3, skl_socket_slot order) as a key of the socket map. */
static uint32_t label_slot(uint32_t label, uint32_t s)
{
	return skl_socket_slot(label, skl_slot_is_udp((int)s), skl_slot_is_v6((int)s));
}

static int slot_cookie(const struct skl_dispatcher *d, uint32_t slot, uint64_t *cookie,
		       struct skl_err *err)
{
	/* A SOCKMAP lookup from user space yields the socket's cookie. */
	if (!bpf_map_lookup_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, cookie))
		return 0;
	*cookie = 0;
	if (errno == ENOENT)
		return 0;
	return skl_errf(err, SKL_CNI_INTERNAL, "reading the socket map: %s", strerror(errno));
}

/* Empties a slot; an empty one is fine (the kernel says EINVAL for it). */
static int delete_slot(const struct skl_dispatcher *d, uint32_t slot, struct skl_err *err)
{
	uint64_t cookie;
	int error;

	if (!bpf_map_delete_elem(d->map_fd[SKL_MAP_SOCKETS], &slot))
		return 0;
	error = errno;
	if (error == ENOENT || (error == EINVAL && !slot_cookie(d, slot, &cookie, NULL) && !cookie))
		return 0;
	return skl_errf(err, SKL_CNI_INTERNAL, "removing a socket from the socket map: %s",
			strerror(error));
}

int skl_socket_label_cookies(const struct skl_dispatcher *d, uint32_t label,
			     uint64_t cookies[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	if (label >= d->limits.labels)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "label id %u is out of range", label);
	for (uint32_t s = 0; s < SKL_SOCKET_SLOTS; s++)
		if (slot_cookie(d, label_slot(label, s), &cookies[s], err))
			return -1;
	return 0;
}

int skl_socket_local_addr(int fd, char *buf, size_t len, struct skl_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen))
		return skl_errf(err, SKL_CNI_INTERNAL, "fd %d: getsockname: %s", fd,
				strerror(errno));
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &in4->sin_addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, ntohs(in4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, ntohs(in6->sin6_port));
	} else {
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "fd %d: not an IPv4 or IPv6 socket",
				fd);
	}
	return 0;
}

/* One map update per slot: a lookup sees the old socket or this one. */
static int insert(const struct skl_dispatcher *d, uint32_t label, int fd,
		  const struct skl_socket_info *info, struct skl_err *err)
{
	bool slots[SKL_SOCKET_SLOTS];
	uint64_t value = (uint64_t)fd;

	skl_socket_slots(info, slots);
	/* A dual-stack socket serves both families; take IPv4 first so a
	 * failure leaves IPv6 traffic as it was. */
	for (uint32_t s = 0; s < SKL_SOCKET_SLOTS; s++) {
		uint32_t slot = label_slot(label, s);

		if (!slots[s])
			continue;
		if (bpf_map_update_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &value, BPF_ANY))
			return skl_errf(err, SKL_CNI_INTERNAL,
					"fd %d: inserting into the socket map: %s", fd,
					strerror(errno));
	}
	return 0;
}

int skl_socket_register(const struct skl_dispatcher *d, uint32_t label, int fd,
			struct skl_err *err)
{
	struct skl_socket_info info;

	if (label >= d->limits.labels)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "label id %u is out of range", label);
	if (skl_socket_check(d, fd, &info, err))
		return -1;
	return insert(d, label, fd, &info, err);
}

static const char *const slot_text[SKL_SOCKET_SLOTS] = { "tcp IPv4", "tcp IPv6", "udp IPv4",
							 "udp IPv6" };

static int check_all(const struct skl_dispatcher *d, uint32_t label, const int *fds, size_t n,
		     struct skl_socket_info *infos, struct skl_err *err)
{
	size_t a, b;
	int slot;

	if (label >= d->limits.labels)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "label id %u is out of range", label);
	if (n == 0 || n > SKL_SOCKET_SLOTS)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"%zu sockets for one label; it holds 1 to %d, one per protocol and "
				"family", n, SKL_SOCKET_SLOTS);
	for (size_t i = 0; i < n; i++)
		if (skl_socket_check(d, fds[i], &infos[i], err))
			return -1;
	if (skl_socket_clash(infos, n, &a, &b, &slot))
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d and fd %d would both serve %s; a label holds one socket per "
				"protocol and family", fds[a], fds[b], slot_text[slot]);
	return 0;
}

/* Empties the slots the new sockets do not serve that still hold a socket
 * they displaced from another slot. */
static int clear_displaced(const struct skl_dispatcher *d, uint32_t label,
			   const uint64_t before[SKL_SOCKET_SLOTS],
			   const bool filled[SKL_SOCKET_SLOTS], uint64_t cleared[SKL_SOCKET_SLOTS],
			   struct skl_err *err)
{
	uint64_t now[SKL_SOCKET_SLOTS];

	if (skl_socket_label_cookies(d, label, now, err))
		return -1;
	for (uint32_t s = 0; s < SKL_SOCKET_SLOTS; s++) {
		bool displaced = false;
		uint32_t slot = label_slot(label, s);

		if (filled[s] || !before[s] || now[s] != before[s])
			continue;
		for (int t = 0; t < SKL_SOCKET_SLOTS; t++)
			displaced = displaced || (filled[t] && before[t] == before[s] &&
						  now[t] != before[t]);
		if (!displaced)
			continue;
		if (delete_slot(d, slot, err))
			return -1;
		cleared[s] = before[s];
	}
	return 0;
}

int skl_socket_handover(const struct skl_dispatcher *d, uint32_t label, const int *fds, size_t n,
			uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err)
{
	struct skl_socket_info infos[SKL_SOCKET_SLOTS];
	uint64_t before[SKL_SOCKET_SLOTS];
	bool filled[SKL_SOCKET_SLOTS] = { false };

	memset(cleared, 0, SKL_SOCKET_SLOTS * sizeof(cleared[0]));
	if (check_all(d, label, fds, n, infos, err) ||
	    skl_socket_label_cookies(d, label, before, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		bool slots[SKL_SOCKET_SLOTS];

		if (insert(d, label, fds[i], &infos[i], err))
			return -1;
		skl_socket_slots(&infos[i], slots);
		for (int s = 0; s < SKL_SOCKET_SLOTS; s++)
			filled[s] = filled[s] || slots[s];
	}
	return clear_displaced(d, label, before, filled, cleared, err);
}

int skl_socket_withdraw(const struct skl_dispatcher *d, uint32_t label, uint64_t cookie,
			struct skl_err *err)
{
	uint64_t now[SKL_SOCKET_SLOTS];

	if (skl_socket_label_cookies(d, label, now, err))
		return -1;
	for (uint32_t s = 0; s < SKL_SOCKET_SLOTS; s++) {
		uint32_t slot = label_slot(label, s);

		if (now[s] == cookie && delete_slot(d, slot, err))
			return -1;
	}
	return 0;
}

int skl_socket_unregister(const struct skl_dispatcher *d, uint32_t label, int protocol,
			  struct skl_err *err)
{
	for (int udp = 0; udp <= 1; udp++) {
		if (protocol && (protocol == IPPROTO_UDP) != udp)
			continue;
		for (int v6 = 0; v6 <= 1; v6++)
			if (delete_slot(d, skl_socket_slot(label, udp, v6), err))
				return -1;
	}
	return 0;
}
