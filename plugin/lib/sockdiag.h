/* The listening TCP and unconnected UDP sockets of the current netns, from
 * the kernel's sock_diag interface: cookie and local address. */
#ifndef SKL_SOCKDIAG_H
#define SKL_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#include "skl_error.h"

struct skl_sock_entry {
	uint64_t cookie; /* SO_COOKIE, what a SOCKMAP lookup returns */
	uint8_t family;  /* enum skl_family */
	uint8_t proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t addr[16];
	uint16_t port;
	uint32_t inode;
};

/* Lists TCP listeners and unconnected UDP sockets of both families. */
int skl_sockdiag_list(struct skl_sock_entry **out, size_t *n, struct skl_err *err);

/* "tcp 192.0.2.1:80" / "udp [2001:db8::1]:53". */
void skl_sock_entry_format(const struct skl_sock_entry *e, char *buf, size_t len);

#endif
