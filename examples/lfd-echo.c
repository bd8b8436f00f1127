/*
 * lfd-echo: a small socket-activated server that says who answered and what
 * the client reached. It shows what a server needs to work behind sklookup:
 * nothing for TCP (the dispatched connection's local address is the one the
 * client dialled), and for UDP the destination of each datagram read from
 * the control data, echoed back as the reply's source.
 *
 *   lfd-echo NAME              serve the sockets passed systemd-style
 *                              (LISTEN_FDS, fds 3.., LISTEN_FDNAMES), e.g.
 *                              under `sklookup-ctl exec --label web ...`
 *   lfd-echo NAME tcp|udp PORT an ordinary bind() to [::]:PORT (dual stack)
 *
 * Each TCP connection and each UDP datagram gets one line:
 *   NAME label=LABEL socket=ADDR:PORT reached=ADDR:PORT
 * LABEL is the fd's name in LISTEN_FDNAMES ("-" when none, "bind" for an
 * ordinary socket); socket= is the address the socket is bound to, reached=
 * the address and port the client sent to. Runs until SIGTERM or SIGINT.
 *
 * Build: cc -O2 -o lfd-echo examples/lfd-echo.c  (only libc; `make demo`
 * builds build/examples/lfd-echo, `make static` a static one.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIRST_FD 3
#define MAX_FDS 8

struct served {
	int fd, type;
	char label[64], bound[80];
};

/* "192.0.2.1:80" or "[2001:db8::1]:53"; an IPv4-mapped address as IPv4. */
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

/* The index-th name of LISTEN_FDNAMES ("a:b:c"), or "-". */
static void fd_name(int index, char *out, size_t len)
{
	const char *names = getenv("LISTEN_FDNAMES");

	for (int i = 0; names && i < index; i++) {
		names = strchr(names, ':');
		names = names ? names + 1 : NULL;
	}
	if (!names || !*names || *names == ':')
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.*s", (int)strcspn(names, ":"), names);
}

/* UDP: ask for each datagram's destination (address for the reply's
 * source, address and port for the report). An IPv6 socket that is not
 * v6only also gets IPv4 datagrams, so it asks for both families' data. */
static int prepare_udp(struct served *s, int family)
{
	int one = 1, ok = 0;

	/* Replying from an address that is only routed to the pod (a `local`
	 * route, not an interface address) needs freebind for IPv6. */
	if (family == AF_INET6 && setsockopt(s->fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)))
		return -1;
	ok += !setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	ok += !setsockopt(s->fd, IPPROTO_IP, IP_RECVORIGDSTADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		ok += !setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		ok += !setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, &one, sizeof(one));
	}
	return ok ? 0 : -1;
}

static int prepare(struct served *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(s->type);

	if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &s->type, &len))
		return -1;
	len = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len))
		return -1;
	format_addr(&ss, s->bound, sizeof(s->bound));
	if (s->type == SOCK_DGRAM)
		return prepare_udp(s, ss.ss_family);
	if (s->type != SOCK_STREAM) {
		errno = ESOCKTNOSUPPORT;
		return -1;
	}
	return 0;
}

/* lfd-echo NAME tcp|udp PORT: an ordinary dual-stack socket on [::]:PORT. */
static int bind_own(const char *proto, const char *port, struct served *s)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int type = !strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM, zero = 0, one = 1;

	a.sin6_port = htons((uint16_t)atoi(port));
	s->fd = socket(AF_INET6, type, 0);
	snprintf(s->label, sizeof(s->label), "bind");
	if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(s->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(s->fd, SOMAXCONN)))
		return -1;
	return 0;
}

static void serve_tcp(const char *name, const struct served *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char line[256], reached[80];
	int conn = accept(s->fd, NULL, NULL), n;

	if (conn < 0)
		return;
	/* The connection's local address is the destination the client used,
	 * whatever the listener is bound to. */
	if (!getsockname(conn, (struct sockaddr *)&local, &len)) {
		format_addr(&local, reached, sizeof(reached));
		n = snprintf(line, sizeof(line), "%s label=%s socket=%s reached=%s\n", name,
			     s->label, s->bound, reached);
		if (write(conn, line, (size_t)n) != n)
			perror("lfd-echo: write");
	}
	close(conn);
}

/* The datagram's destination: IP(V6)_ORIGDSTADDR has address and port. */
static int destination(struct msghdr *msg, struct sockaddr_storage *dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_ORIGDSTADDR) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR)) {
			size_t len = c->cmsg_len - CMSG_LEN(0);

			memset(dst, 0, sizeof(*dst));
			memcpy(dst, CMSG_DATA(c), len < sizeof(*dst) ? len : sizeof(*dst));
			return 0;
		}
	}
	return -1;
}

/* Sends the reply from the address the request was sent to: the request's
 * pktinfo, passed back with the interface cleared (the route decides). */
static void reply_from(int fd, struct msghdr *req, const char *text, size_t len)
{
	char control[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct msghdr msg = { .msg_name = req->msg_name, .msg_namelen = req->msg_namelen,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *in, *out;

	for (in = CMSG_FIRSTHDR(req); in; in = CMSG_NXTHDR(req, in))
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
	if (sendmsg(fd, &msg, 0) < 0)
		perror("lfd-echo: sendmsg");
}

static void serve_udp(const char *name, const struct served *s)
{
	char control[512], buf[512], line[256], reached[80] = "?";
	struct sockaddr_storage peer, dst;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	int n;

	if (recvmsg(s->fd, &msg, 0) < 0)
		return;
	if (!destination(&msg, &dst))
		format_addr(&dst, reached, sizeof(reached));
	n = snprintf(line, sizeof(line), "%s label=%s socket=%s reached=%s\n", name, s->label,
		     s->bound, reached);
	reply_from(s->fd, &msg, line, (size_t)n);
}

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	struct served s[MAX_FDS];
	struct pollfd pfd[MAX_FDS];
	int n = 0;

	if (argc == 4) {
		n = 1;
		if (bind_own(argv[2], argv[3], &s[0])) {
			fprintf(stderr, "lfd-echo: %s port %s: %s\n", argv[2], argv[3],
				strerror(errno));
			return 1;
		}
	} else if (argc == 2 && fds && (!pid || atol(pid) == (long)getpid())) {
		n = atoi(fds);
		for (int i = 0; i < n && i < MAX_FDS; i++) {
			s[i].fd = FIRST_FD + i;
			fd_name(i, s[i].label, sizeof(s[i].label));
		}
	}
	if (n < 1 || n > MAX_FDS) {
		fprintf(stderr, "usage: lfd-echo NAME  (with LISTEN_FDS=1..%d, fds from 3)\n"
				"       lfd-echo NAME tcp|udp PORT\n",
			MAX_FDS);
		return 2;
	}
	/* As a container's PID 1 no signal has a default action: stop on
	 * SIGTERM (podman stop, kubelet) and SIGINT explicitly. */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (int i = 0; i < n; i++) {
		if (prepare(&s[i])) {
			fprintf(stderr, "lfd-echo: fd %d: %s\n", s[i].fd, strerror(errno));
			return 1;
		}
		pfd[i] = (struct pollfd){ .fd = s[i].fd, .events = POLLIN };
	}
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR) {
			perror("lfd-echo: poll");
			return 1;
		}
		for (int i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				(s[i].type == SOCK_STREAM ? serve_tcp : serve_udp)(argv[1], &s[i]);
	}
}
