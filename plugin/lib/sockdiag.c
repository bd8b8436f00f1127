#include "sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dispatch_abi.h"

#define TCP_STATE_ESTABLISHED 1
#define TCP_STATE_CLOSE 7
#define TCP_STATE_LISTEN 10

struct list {
	struct skl_sock_entry *v;
	size_t n, cap;
};

static int push(struct list *l, const struct inet_diag_msg *m, uint8_t proto)
{
	struct skl_sock_entry *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (!p)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	e->family = m->idiag_family == AF_INET6 ? SKL_FAMILY_V6 : SKL_FAMILY_V4;
	e->proto = proto;
	memcpy(e->addr, m->id.idiag_src, m->idiag_family == AF_INET6 ? 16 : 4);
	e->port = ntohs(m->id.idiag_sport);
	e->inode = m->idiag_inode;
	return 0;
}

/* One dump: every socket of a family and protocol in the given states. */
static int dump(int fd, uint8_t family, uint8_t proto, uint32_t states, struct list *l,
		struct skl_err *err)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = family, .sdiag_protocol = proto, .idiag_states = states },
	};
	char buf[32768];

	if (send(fd, &msg, sizeof(msg), 0) < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "sock_diag: %s", strerror(errno));
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return skl_errf(err, SKL_CNI_INTERNAL, "sock_diag: %s", strerror(errno));
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return skl_errf(err, SKL_CNI_INTERNAL, "sock_diag: %s",
						strerror(-e->error));
			}
			if (push(l, NLMSG_DATA(h), proto))
				return skl_errf(err, SKL_CNI_INTERNAL, "out of memory");
		}
	}
}

int skl_sockdiag_list(struct skl_sock_entry **out, size_t *n, struct skl_err *err)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct list l = { 0 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0)
		return skl_errf(err, SKL_CNI_INTERNAL, "sock_diag socket: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(families); i++)
		if (dump(fd, families[i], IPPROTO_TCP, 1u << TCP_STATE_LISTEN, &l, err) ||
		    dump(fd, families[i], IPPROTO_UDP, 1u << TCP_STATE_CLOSE, &l, err)) {
			close(fd);
			free(l.v);
			return -1;
		}
	close(fd);
	*out = l.v;
	*n = l.n;
	return 0;
}

void skl_sock_entry_format(const struct skl_sock_entry *e, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *proto = e->proto == IPPROTO_UDP ? "udp" : "tcp";

	inet_ntop(e->family == SKL_FAMILY_V6 ? AF_INET6 : AF_INET, e->addr, addr, sizeof(addr));
	snprintf(buf, len, e->family == SKL_FAMILY_V6 ? "%s [%s]:%u" : "%s %s:%u", proto, addr,
		 e->port);
}
