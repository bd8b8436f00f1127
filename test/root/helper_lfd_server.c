/*
 * A tiny socket-activated server for tests (sd_listen_fds(3) protocol): it
 * serves the fds 3.. it was given in LISTEN_FDS when LISTEN_PID is its pid.
 * TCP: accepts, writes "<name> <local addr:port>\n" and closes. UDP: answers
 * each datagram with the same text, sent from the address the datagram was
 * sent to (IP_PKTINFO / IPV6_RECVPKTINFO and sendmsg with that pktinfo: the
 * way a UDP server answers from the right address of many). <name> is the
 * fd's entry in LISTEN_FDNAMES, or "srv".
 *
 * usage: helper_lfd_server [TIMEOUT_SECONDS]
 * Prints "ready N" once serving N fds; exits 0 when stdin reaches EOF, 3
 * after the timeout (default 30 s), 2 on a bad environment, 1 on errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIRST_FD 3
#define MAX_FDS 16
#define MAX_EVENTS 100000

struct served {
	int fd;
	int type;
	char name[64];
};

/* "192.0.2.1:80", "[2001:db8::1]:53"; IPv4 on a dual-stack socket shows as IPv4. */
static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	char addr[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, ntohs(in6->sin6_port));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, ntohs(in6->sin6_port));
	} else {
		inet_ntop(AF_INET, &in4->sin_addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, ntohs(in4->sin_port));
	}
}

static void name_of(int index, char *out, size_t len)
{
	const char *names = getenv("LISTEN_FDNAMES");

	for (int i = 0; names && i < index; i++) {
		names = strchr(names, ':');
		names = names ? names + 1 : NULL;
	}
	if (!names || !*names || *names == ':')
		snprintf(out, len, "srv");
	else
		snprintf(out, len, "%.*s", (int)strcspn(names, ":"), names);
}

static int listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int n = fds ? atoi(fds) : 0;

	if (!pid || atol(pid) != (long)getpid() || n < 1 || n > MAX_FDS) {
		fprintf(stderr,
			"helper_lfd_server: needs LISTEN_PID=<its pid> and LISTEN_FDS=1..%d\n",
			MAX_FDS);
		return -1;
	}
	return n;
}

static int prepare(struct served *s, int index)
{
	socklen_t len = sizeof(s->type);
	int family, one = 1;

	s->fd = FIRST_FD + index;
	name_of(index, s->name, sizeof(s->name));
	if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &s->type, &len))
		return -1;
	len = sizeof(family);
	if (s->type != SOCK_DGRAM || getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &family, &len))
		return s->type == SOCK_STREAM ? 0 : -1;
	/* Answering from an address routed to us (AnyIP) but not assigned to
	 * an interface needs freebind for IPv6. */
	if (setsockopt(s->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)))
		return -1;
	if (family == AF_INET)
		return setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	return setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
}

static int serve_tcp(const struct served *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char text[128], addr[80];
	int conn = accept(s->fd, NULL, NULL), n, ret = 0;

	if (conn < 0)
		return errno == EAGAIN ? 0 : -1;
	if (getsockname(conn, (struct sockaddr *)&local, &len)) {
		close(conn);
		return -1;
	}
	format_addr(&local, addr, sizeof(addr));
	n = snprintf(text, sizeof(text), "%s %s\n", s->name, addr);
	if (write(conn, text, (size_t)n) != n)
		ret = -1;
	close(conn);
	return ret;
}

/* The datagram's destination address from its pktinfo, with our port. */
static int destination(struct msghdr *msg, int fd, struct sockaddr_storage *dst)
{
	socklen_t len = sizeof(*dst);

	if (getsockname(fd, (struct sockaddr *)dst, &len))
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);

			((struct sockaddr_in *)dst)->sin_addr = pi->ipi_addr;
			return 0;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);

			((struct sockaddr_in6 *)dst)->sin6_addr = pi->ipi6_addr;
			return 0;
		}
	}
	return -1;
}

/* Sends text to peer with the source address taken from the request's
 * pktinfo (ifindex cleared: let the route choose). */
static int reply_from(int fd, struct msghdr *req, const struct sockaddr_storage *peer,
		      socklen_t peer_len, const char *text, size_t len)
{
	char control[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)peer, .msg_namelen = peer_len, .msg_iov = &iov,
			      .msg_iovlen = 1 };
	struct cmsghdr *in = CMSG_FIRSTHDR(req), *out;

	for (; in; in = CMSG_NXTHDR(req, in))
		if ((in->cmsg_level == IPPROTO_IP && in->cmsg_type == IP_PKTINFO) ||
		    (in->cmsg_level == IPPROTO_IPV6 && in->cmsg_type == IPV6_PKTINFO))
			break;
	if (in) {
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(in->cmsg_len - CMSG_LEN(0));
		out = CMSG_FIRSTHDR(&msg);
		memcpy(out, in, in->cmsg_len);
		if (in->cmsg_level == IPPROTO_IP) {
			struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(out);

			pi->ipi_spec_dst = pi->ipi_addr;
			pi->ipi_ifindex = 0;
		} else {
			((struct in6_pktinfo *)CMSG_DATA(out))->ipi6_ifindex = 0;
		}
	}
	return sendmsg(fd, &msg, 0) == (ssize_t)len ? 0 : -1;
}

static int serve_udp(const struct served *s)
{
	char control[256], buf[512], text[128], addr[80];
	struct sockaddr_storage peer, dst;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	int n;

	if (recvmsg(s->fd, &msg, 0) < 0)
		return errno == EAGAIN ? 0 : -1;
	if (destination(&msg, s->fd, &dst))
		return -1;
	format_addr(&dst, addr, sizeof(addr));
	n = snprintf(text, sizeof(text), "%s %s\n", s->name, addr);
	return reply_from(s->fd, &msg, &peer, msg.msg_namelen, text, (size_t)n);
}

static int stdin_closed(void)
{
	char buf[64];

	return read(STDIN_FILENO, buf, sizeof(buf)) <= 0;
}

static int serve(struct served *s, int n, int timeout_s)
{
	struct pollfd pfd[MAX_FDS + 1];
	time_t deadline = time(NULL) + timeout_s;

	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = s[i].fd, .events = POLLIN };
	pfd[n] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	for (int events = 0; events < MAX_EVENTS; events++) {
		int left = (int)(deadline - time(NULL));

		if (left <= 0 || poll(pfd, (nfds_t)n + 1, left * 1000) == 0)
			return 3;
		if (pfd[n].revents && stdin_closed())
			return 0;
		for (int i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if ((s[i].type == SOCK_STREAM ? serve_tcp(&s[i]) : serve_udp(&s[i])) < 0)
				perror("helper_lfd_server");
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct served s[MAX_FDS];
	int timeout_s = argc > 1 ? atoi(argv[1]) : 30;
	int n = listen_fds();

	if (n < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		if (prepare(&s[i], i)) {
			fprintf(stderr, "helper_lfd_server: fd %d: %s\n", FIRST_FD + i,
				strerror(errno));
			return 2;
		}
	}
	printf("ready %d\n", n);
	fflush(stdout);
	return serve(s, n, timeout_s > 0 ? timeout_s : 30);
}
