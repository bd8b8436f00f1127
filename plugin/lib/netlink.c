/*
 * The NETLINK_ROUTE transport of netlink.h: one socket per request.
 */
#include "netlink.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdalign.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel sizes dump messages up to the reader's buffer, at most 32 KiB. */
#define NL_REPLY_MAX 32768
#define NL_SEQ 1 /* one request per socket */

void skl_nl_request_init(struct skl_nl_request *req, uint16_t type, uint16_t flags,
			 const void *body, size_t body_len)
{
	memset(req, 0, sizeof(*req));
	req->hdr.nlmsg_len = NLMSG_LENGTH(body_len);
	req->hdr.nlmsg_type = type;
	req->hdr.nlmsg_flags = NLM_F_REQUEST | flags;
	req->hdr.nlmsg_seq = NL_SEQ;
	memcpy(NLMSG_DATA(&req->hdr), body, body_len);
}

/* Appends an attribute; returns 0 or EMSGSIZE. */
int skl_nl_request_put(struct skl_nl_request *req, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(req->hdr.nlmsg_len);
	struct rtattr *rta = (struct rtattr *)(req->buf + at);

	if (at + RTA_SPACE(len) > sizeof(req->buf))
		return EMSGSIZE;
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->hdr.nlmsg_len = at + RTA_SPACE(len);
	return 0;
}

/* Opens a NETLINK_ROUTE socket and sends req; returns 0 or an errno. */
static int nl_open_and_send(const struct skl_nl_request *req, int *fd)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int e;

	if (sock < 0)
		return errno;
	if (sendto(sock, req->buf, req->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		e = errno;
		close(sock);
		return e;
	}
	*fd = sock;
	return 0;
}

/* Receives one datagram into buf; returns its length, or -errno. */
static ssize_t nl_recv(int fd, char *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	do
		n = recvmsg(fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return n;
}

/* The errno an NLMSG_ERROR (the ACK) or NLMSG_DONE (the end of a dump)
 * reports: 0 for success. */
static int nl_final_errno(const struct nlmsghdr *h)
{
	const struct nlmsgerr *ack = NLMSG_DATA(h);
	const int *dump_status = NLMSG_DATA(h);

	if (h->nlmsg_type == NLMSG_ERROR)
		return h->nlmsg_len < NLMSG_LENGTH(sizeof(*ack)) ? EPROTO : -ack->error;
	return h->nlmsg_len < NLMSG_LENGTH(sizeof(int)) ? 0 : -*dump_status;
}

/* Sends req and reads replies until the ACK (each == NULL) or the end of the
 * dump. Returns 0, the kernel's errno, or the errno of a failed socket call. */
int skl_nl_transact(const struct skl_nl_request *req, skl_nl_each_fn each, void *ctx)
{
	alignas(struct nlmsghdr) char buf[NL_REPLY_MAX];
	int fd = -1, e = nl_open_and_send(req, &fd);
	bool done = e != 0;

	while (!done) {
		ssize_t n = nl_recv(fd, buf, sizeof(buf));
		int len = (int)n;

		if (n < 0) {
			e = (int)-n;
			break;
		}
		/* len >= 0 first: NLMSG_OK compares it with the unsigned nlmsg_len. */
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     !done && len >= 0 && NLMSG_OK(h, (__u32)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != NL_SEQ)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
				e = nl_final_errno(h);
				done = true;
			} else if (each && each(h, ctx) != 0) {
				done = true; /* the callback has what it needs */
			}
		}
	}
	if (fd >= 0)
		close(fd);
	return e;
}
