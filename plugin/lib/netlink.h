/*
 * A minimal NETLINK_ROUTE client: one request builder (a family header plus
 * attributes) and one send-and-wait that returns the kernel's errno from the
 * ACK, or for a dump hands each reply message to a callback.
 */
#ifndef SKL_NETLINK_H
#define SKL_NETLINK_H

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

#define SKL_NL_REQUEST_MAX 512

struct skl_nl_request {
	union {
		struct nlmsghdr hdr;
		char buf[SKL_NL_REQUEST_MAX];
	};
};

/* A request of type and flags (NLM_F_REQUEST added) whose family header is
 * body. */
void skl_nl_request_init(struct skl_nl_request *req, uint16_t type, uint16_t flags,
			 const void *body, size_t body_len);

/* Appends an attribute; returns 0 or EMSGSIZE. */
int skl_nl_request_put(struct skl_nl_request *req, uint16_t type, const void *data, size_t len);

/* Called for each data message of a dump; returns 0 to go on. */
typedef int (*skl_nl_each_fn)(const struct nlmsghdr *h, void *ctx);

/* Sends req and reads replies until the ACK (each == NULL) or the end of the
 * dump. Returns 0, the kernel's errno, or the errno of a failed socket call. */
int skl_nl_transact(const struct skl_nl_request *req, skl_nl_each_fn each, void *ctx);

#endif
