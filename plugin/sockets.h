/*
 * Putting sockets into a dispatcher's SOCKMAP under a label. Every insertion
 * goes through skl_socket_register, which refuses a socket the dispatcher
 * must never select: one from another netns (its TCP handshake would
 * complete and the connection then silently break), one that is not a TCP
 * listener or a bound, unconnected UDP socket.
 */
#ifndef SKL_SOCKETS_H
#define SKL_SOCKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatcher.h"

struct skl_socket_info {
	int family;   /* AF_INET or AF_INET6 */
	int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	bool v6only;  /* AF_INET6 only: false means it also serves IPv4 */
	uint64_t netns_cookie;
	uint64_t cookie; /* SO_COOKIE */
};

/* Inspects fd and refuses what the dispatcher cannot use, saying why. */
int skl_socket_inspect(int fd, struct skl_socket_info *info, struct skl_err *err);

/* Registers fd for label (by id): replaces the label's socket for the
 * socket's protocol and families in one map update each (an IPv6 socket that
 * is not v6only fills the IPv4 slot too). */
int skl_socket_register(const struct skl_dispatcher *d, uint32_t label, int fd,
			struct skl_err *err);

/* Removes the label's sockets of one protocol (IPPROTO_TCP / IPPROTO_UDP),
 * or of both when protocol is 0. Nothing registered is not an error. */
int skl_socket_unregister(const struct skl_dispatcher *d, uint32_t label, int protocol,
			  struct skl_err *err);

#endif
