/*
 * The node agent's clients (agent_clients.c): the fixed table of connection
 * slots, who each client is (its network namespace), the per-client limits,
 * and the releaser that closes what a client sent before its slot is free.
 */
#ifndef SKL_AGENT_CLIENTS_H
#define SKL_AGENT_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent_health.h"
#include "agent_limits.h"
#include "agent_release.h"
#include "agent_serve.h"

struct skl_agent_client {
	int fd; /* -1: no connection */
	bool releasing; /* its fds are with the releaser: the slot is not free yet */
	int held[SKL_AGENT_RECV_FDS]; /* the fds its record brought, released with it */
	size_t n_held;
	uint64_t peer; /* the peer's netns inode, 0 when unknown (one client for the limit) */
	struct ucred cred; /* for the log only: pods may run as any uid */
	uint64_t deadline_ms;
	bool answering;
	struct skl_agent_result res;
	size_t sent; /* bytes of res.out sent */
};

struct skl_agent_clients {
	struct skl_agent_client v[SKL_AGENT_MAX_CLIENTS];
	struct skl_agent_releaser *releaser; /* closes every fd a client sent */
	uint64_t accept_paused_until; /* ms */
	bool stuck_logged;
	struct skl_agent_health health; /* the metrics thread reads it */
};

/* Empties the table and starts the releaser (after the signals are
 * blocked: its thread inherits that). */
int skl_agent_clients_start(struct skl_agent_clients *cs, struct skl_err *err);

/* Closes every connection and stops the releaser, waiting a bounded time. */
void skl_agent_clients_stop(struct skl_agent_clients *cs);

/* A slot no connection and no release holds, NULL when all are taken. */
struct skl_agent_client *skl_agent_free_slot(struct skl_agent_clients *cs);

/* Accepts clients from listen_fd while slots are free; refuses those over
 * a limit (they get an answer saying why). */
void skl_agent_accept(struct skl_agent_clients *cs, int listen_fd, uint64_t now);

/* Hands the connection and the fds its record brought to the releaser;
 * the slot is free once they are closed (skl_agent_clients_collect). */
void skl_agent_client_close(struct skl_agent_clients *cs, struct skl_agent_client *c);

/* Makes c's answer an error saying why, counted under reason. */
void skl_agent_client_refuse(struct skl_agent_clients *cs, struct skl_agent_client *c,
			     enum skl_agent_refusal reason, const char *why);

/* True while c's client has too many connections still being released:
 * c is not read until fewer are. */
bool skl_agent_client_waits(const struct skl_agent_clients *cs, const struct skl_agent_client *c);

/* Frees the slots whose fds the releaser has closed. */
void skl_agent_clients_collect(struct skl_agent_clients *cs);

/* Closes the connections past their deadline at now. */
void skl_agent_clients_expire(struct skl_agent_clients *cs, uint64_t now);

/* The netns inode of a socket the client passed (its proof), 0 when
 * unknown. */
uint64_t skl_agent_socket_netns(int fd);

#endif
