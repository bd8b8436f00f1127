#include "sockets.h"

#include <errno.h>
#include <netinet/in.h>
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

int skl_socket_inspect(int fd, struct skl_socket_info *info, struct skl_err *err)
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
	if (skl_socket_netns_cookie(fd, &info->netns_cookie, err))
		return -1;
	return check_state(fd, info, err);
}

int skl_socket_register(const struct skl_dispatcher *d, uint32_t label, int fd,
			struct skl_err *err)
{
	struct skl_socket_info info;
	struct skl_config cfg;
	int is_udp;

	if (label >= d->limits.labels)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG, "label id %u is out of range", label);
	if (skl_socket_inspect(fd, &info, err) || skl_dispatcher_config(d, &cfg, err))
		return -1;
	if (info.netns_cookie != cfg.netns_cookie)
		return skl_errf(err, SKL_CNI_INVALID_CONFIG,
				"fd %d: the socket belongs to another network namespace than the "
				"pod's; create it inside the pod (a TCP connection to it would "
				"complete its handshake and then break)", fd);
	is_udp = info.protocol == IPPROTO_UDP;
	/* A dual-stack socket serves both families; take IPv4 first so a
	 * failure leaves IPv6 traffic as it was. */
	for (int v6 = 0; v6 <= 1; v6++) {
		uint32_t slot = skl_socket_slot(label, is_udp, v6);
		uint64_t value = (uint64_t)fd;

		if ((v6 && info.family == AF_INET) || (!v6 && info.family == AF_INET6 && info.v6only))
			continue;
		if (bpf_map_update_elem(d->map_fd[SKL_MAP_SOCKETS], &slot, &value, BPF_ANY))
			return skl_errf(err, SKL_CNI_INTERNAL,
					"fd %d: inserting into the socket map: %s", fd, strerror(errno));
	}
	return 0;
}

int skl_socket_unregister(const struct skl_dispatcher *d, uint32_t label, int protocol,
			  struct skl_err *err)
{
	for (int udp = 0; udp <= 1; udp++) {
		if (protocol && (protocol == IPPROTO_UDP) != udp)
			continue;
		for (int v6 = 0; v6 <= 1; v6++) {
			uint32_t slot = skl_socket_slot(label, udp, v6);

			if (bpf_map_delete_elem(d->map_fd[SKL_MAP_SOCKETS], &slot) && errno != ENOENT)
				return skl_errf(err, SKL_CNI_INTERNAL,
						"removing a socket from the socket map: %s",
						strerror(errno));
		}
	}
	return 0;
}
