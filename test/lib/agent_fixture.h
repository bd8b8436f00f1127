/*
 * Root-test fixture for the node agent as a real process: the suite in a
 * netns and a mount namespace of its own whose /run is a fresh tmpfs, the
 * agent (build/sklookup-ctl agent) on the default socket with its log in a
 * file, and a raw client that speaks the wire protocol any way it likes.
 * Assertions are cmocka's; agentfix_raw_* also work in a forked child
 * (they return errors instead of asserting).
 */
#ifndef SKL_TEST_AGENT_FIXTURE_H
#define SKL_TEST_AGENT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_proto.h"

#define AGENTFIX_SOCK SKL_AGENT_DEFAULT_SOCKET
#define AGENTFIX_SOCK_DIR "/run/sklookup"
#define AGENTFIX_LOG "/run/sklookup-agent-test.log"

/* The suite's own netns and a private /run; -1 when they cannot be made. */
int agentfix_group_setup(void);

/* The sklookup-ctl under test (SKL_BUILD). */
const char *agentfix_ctl_path(void);

/* Starts `[wrap...] sklookup-ctl --bpffs-root root agent --socket SOCK`
 * with its output appended to AGENTFIX_LOG and waits until it answers.
 * wrap is NULL or a NULL-terminated command line to run it under. */
pid_t agentfix_start(const char *root, const char *const *wrap);
/* The same with extra (NULL-terminated, or NULL) after the agent's options. */
pid_t agentfix_start_with(const char *root, const char *const *wrap, const char *const *extra);

/* Sends sig and waits up to timeout_ms; then SIGKILL. Returns the exit
 * status, -1 when a signal ended it or it had to be killed; *took_ms how
 * long it took to exit (NULL: not wanted). */
int agentfix_stop(pid_t pid, int sig, int timeout_ms, uint64_t *took_ms);

/* Removes the socket directory and the log (the suite's /run is private). */
void agentfix_clean(void);
void agentfix_show_log(void);
bool agentfix_log_has(const char *text);

uint64_t agentfix_now_ms(void);
void agentfix_sleep_ms(int ms);

/* The number of fds process pid has open. */
int agentfix_count_fds(pid_t pid);

struct agentfix_answer {
	int status; /* the agent's exit status, -1 when it closed without one */
	char out[16384];
	char err[1024];
};

/* A connection to the agent with a receive timeout; -1 on failure. */
int agentfix_raw_connect(int timeout_ms);

/* One record of any bytes with up to SKL_AGENT_RECV_FDS fds; 0 or -1. */
int agentfix_raw_send(int conn, const void *data, size_t len, const int *fds, size_t n_fds);

/* Reads the answer into a; returns a->status. */
int agentfix_raw_answer(int conn, struct agentfix_answer *a);

/* connect, send one record, read the answer, close. */
int agentfix_raw_request(const char *text, const int *fds, size_t n_fds,
			 struct agentfix_answer *a);

/* Moves the whole (single-threaded) process into netns_fd and back: the
 * agent knows a client by its process's netns. */
int agentfix_enter_netns(int netns_fd); /* returns the saved netns fd, -1 */
void agentfix_leave_netns(int saved);

#endif
