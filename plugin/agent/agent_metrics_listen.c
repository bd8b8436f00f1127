/* The metrics endpoint's address and listening socket (agent_metrics_listen.h). */
#include "agent_metrics_listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_metrics.h"

int skl_agent_metrics_address(const char *text, struct sockaddr_storage *ss, socklen_t *len,
			      struct skl_err *err)
{
	const struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
					.ai_socktype = SOCK_STREAM };
	char host[64];
	const char *given = text, *colon = strrchr(text, ':'), *port;
	struct addrinfo *ai = NULL;
	size_t n;
	char *end;
	unsigned long p;

	if (!colon || colon == text)
		goto bad;
	port = colon + 1;
	n = (size_t)(colon - text);
	if (text[0] == '[') {
		if (n < 3 || text[n - 1] != ']')
			goto bad;
		text++;
		n -= 2;
	} else if (memchr(text, ':', n)) {
		goto bad; /* an IPv6 address without brackets */
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (n >= sizeof(host) || !*port || *end || errno || port[0] == '-' || p < 1 || p > 65535)
		goto bad;
	memcpy(host, text, n);
	host[n] = '\0';
	if (getaddrinfo(host, port, &hints, &ai) || !ai || ai->ai_addrlen > sizeof(*ss)) {
		if (ai)
			freeaddrinfo(ai);
		goto bad;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	return skl_errf(err, SKL_CNI_INVALID_CONFIG,
			"--metrics-address \"%s\": give HOST:PORT, HOST an IPv4 address or an IPv6 "
			"one in brackets, PORT 1-65535 (127.0.0.1:9977, [::]:9977)",
			given);
}

int skl_agent_metrics_listen(const char *address, struct skl_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (skl_agent_metrics_address(address, &ss, &len, err))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, SKL_METRICS_MAX_CONNECTIONS)) {
		skl_errf(err, SKL_CNI_INTERNAL, "--metrics-address %s: %s", address,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}
