/*
 * The node agent's listening socket (agent_listener.c): a path any pod user
 * can reach, and on stop the removal of that file only if it is still ours.
 */
#ifndef SKL_AGENT_LISTENER_H
#define SKL_AGENT_LISTENER_H

#include <sys/types.h>

#include "skl_error.h"

struct skl_agent_listener {
	int fd; /* -1: not open */
	dev_t dev;
	ino_t ino; /* of our socket file, to remove only ours */
};

/* Listens on path (absolute): creates its directory (0755) if missing,
 * removes a socket file an agent that was killed left, and binds with mode
 * 0666. A usage error (sklookup-ctl's exit status 2) for a bad path. */
int skl_agent_listen(struct skl_agent_listener *l, const char *path, struct skl_err *err);

/* Closes l and removes path if it is still the socket l bound. */
void skl_agent_listener_close(struct skl_agent_listener *l, const char *path);

#endif
