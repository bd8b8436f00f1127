/* Network namespaces: open by path, enter and leave (setns), identify. */
#ifndef SKL_NETNS_H
#define SKL_NETNS_H

#include <stdint.h>

#include "skl_error.h"

/* Opens a netns file (/var/run/netns/X, /proc/PID/ns/net) read-only with
 * O_CLOEXEC and checks it is a network namespace. */
int skl_netns_open(const char *path, int *fd, struct skl_err *err);

/* Moves the calling thread into netns_fd; *saved gets an fd of the netns it
 * was in, for skl_netns_leave. */
int skl_netns_enter(int netns_fd, int *saved, struct skl_err *err);

/* Returns to the saved netns and closes saved. */
int skl_netns_leave(int saved, struct skl_err *err);

/* The netns cookie of a socket (SO_NETNS_COOKIE). */
int skl_socket_netns_cookie(int sockfd, uint64_t *cookie, struct skl_err *err);

/* The cookie of the netns behind netns_fd (enters it briefly). */
int skl_netns_cookie(int netns_fd, uint64_t *cookie, struct skl_err *err);

/* The inode number of a netns fd (what bpf_link_info.netns.netns_ino reports). */
int skl_netns_ino(int netns_fd, uint64_t *ino, struct skl_err *err);

/* An fd (O_CLOEXEC) of the live netns with inode number ino, found among
 * the named ones (/var/run/netns) and those of processes (/proc/PID/ns/net);
 * -1 if none. The caller must know ino still names the netns it means: an
 * inode number is reused once its netns is gone. */
int skl_netns_find(uint64_t ino);

#endif
