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
#include <stddef.h>
#include <stdint.h>

#include "dispatch_abi.h"
#include "dispatcher.h"

struct skl_socket_info {
	int family;   /* AF_INET or AF_INET6 */
	int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	bool v6only;  /* AF_INET6 only: false means it also serves IPv4 */
	uint64_t netns_cookie;
	uint64_t cookie; /* SO_COOKIE */
};

/* Slots of a label, in skl_socket_slot order. */
#define SKL_SOCKET_SLOTS 4

/* The protocol and family of a label's slot s (0..SKL_SOCKET_SLOTS): the
 * inverse of skl_socket_slot(0, is_udp, is_v6). */
static inline bool skl_slot_is_udp(int s)
{
	return s == (int)skl_socket_slot(0, 1, 0) || s == (int)skl_socket_slot(0, 1, 1);
}

static inline bool skl_slot_is_v6(int s)
{
	return s == (int)skl_socket_slot(0, 0, 1) || s == (int)skl_socket_slot(0, 1, 1);
}

/* Identifies fd (family, protocol, v6only, cookies) without judging its
 * state, so a caller can match it to a label before the state checks. */
int skl_socket_identify(int fd, struct skl_socket_info *info, struct skl_err *err);

/* Inspects fd and refuses what the dispatcher cannot use, saying why. */
int skl_socket_inspect(int fd, struct skl_socket_info *info, struct skl_err *err);

/* skl_socket_inspect, and the socket belongs to the dispatcher's netns:
 * everything skl_socket_register checks before it inserts. */
int skl_socket_check(const struct skl_dispatcher *d, int fd, struct skl_socket_info *info,
		     struct skl_err *err);

/* The slots of a label a socket fills (slots[skl_socket_slot(0, udp, v6)]):
 * its protocol, and both families for an IPv6 socket that is not v6only. */
void skl_socket_slots(const struct skl_socket_info *info, bool slots[SKL_SOCKET_SLOTS]);

/* True if two of infos[0..n) would fill the same slot: *a < *b name them,
 * *slot the first slot they share. */
bool skl_socket_clash(const struct skl_socket_info *infos, size_t n, size_t *a, size_t *b,
		      int *slot);

/* The cookies of the sockets in a label's slots (0: empty). */
int skl_socket_label_cookies(const struct skl_dispatcher *d, uint32_t label,
			     uint64_t cookies[SKL_SOCKET_SLOTS], struct skl_err *err);

/* fd's local address as "192.0.2.1:80" or "[::]:8080". */
int skl_socket_local_addr(int fd, char *buf, size_t len, struct skl_err *err);

/* Registers fd for label (by id): replaces the label's socket for the
 * socket's protocol and families in one map update each (an IPv6 socket that
 * is not v6only fills the IPv4 slot too). */
int skl_socket_register(const struct skl_dispatcher *d, uint32_t label, int fd,
			struct skl_err *err);

/*
 * Registers fds[0..n) for label as one handover: every fd is checked first
 * (skl_socket_check; two fds for one slot are refused), then each replaces
 * its slots' socket with one map update per slot, so a lookup always finds
 * the old socket or the new one. A socket this displaced from some slot but
 * still holding another slot that none of fds serves (a dual-stack socket
 * replaced by a v6only or an IPv4 one) is removed from there too: its server
 * is handing over and would otherwise keep part of the traffic. A slot
 * holding a socket registered on its own for that family stays.
 * cleared[slot] gets the cookie removed from each such slot (0: none).
 */
int skl_socket_handover(const struct skl_dispatcher *d, uint32_t label, const int *fds, size_t n,
			uint64_t cleared[SKL_SOCKET_SLOTS], struct skl_err *err);

/* Removes the socket with that cookie from the label's slots (to undo a
 * registration); slots holding other sockets stay. */
int skl_socket_withdraw(const struct skl_dispatcher *d, uint32_t label, uint64_t cookie,
			struct skl_err *err);

/* Removes the label's sockets of one protocol (IPPROTO_TCP / IPPROTO_UDP),
 * or of both when protocol is 0. Nothing registered is not an error. */
int skl_socket_unregister(const struct skl_dispatcher *d, uint32_t label, int protocol,
			  struct skl_err *err);

#endif
