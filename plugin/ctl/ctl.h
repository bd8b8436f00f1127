/*
 * sklookup-ctl: the commands and what they share. A command parses its own
 * arguments, does its work on the located pod state, and prints; it returns
 * an exit status, or -1 with err set (main prints the one-line error).
 *
 * Two audiences, two meanings: err->code is the library's (a CNI error code)
 * and sklookup-ctl never reads it for its exit status nor stores one there.
 * Where a failure is a usage error or finds no pod, the code that knows says
 * so in the context (skl_ctl_failed); skl_ctl_exit_status turns that into
 * the exit status, any other failure being 1.
 */
#ifndef SKL_CTL_H
#define SKL_CTL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dispatcher.h"
#include "pod.h"
#include "skl_error.h"

/* Exit statuses, documented in sklookup-ctl(8). */
enum skl_ctl_exit {
	SKL_EXIT_OK = 0,
	SKL_EXIT_ERROR = 1, /* the command failed; the message says why */
	SKL_EXIT_USAGE = 2, /* bad command line */
	SKL_EXIT_NO_STATE = 3, /* no dispatcher found for the pod */
};

struct skl_ctl {
	/* Global options. */
	const char *container; /* --container ID */
	const char *pod;       /* --pod NAMESPACE/NAME (as `pods` shows it) */
	const char *netns;     /* --netns PATH */
	const char *bpffs_root;
	const char *network;   /* --network NAME, when a container has several */
	const char *ifname;    /* --ifname NAME, likewise */
	const char *agent;     /* --agent PATH, or the default when bpffs is out of reach:
				  the node agent does the work (ctl_agent_client.c) */
	bool json;
	int lock_wait_ms;      /* how long a writer waits for the pod's lock; 0: the
				  default, SKL_STATE_LOCK_WAIT_MS */
	/* The located pod: set by skl_ctl_open(). */
	char state_dir[PATH_MAX];
	struct skl_dispatcher d;
	int netns_fd;          /* the pod's netns, -1 when unknown */
	uint64_t netns_ino;
	/* Where a failure came from, when that decides the exit status:
	 * SKL_EXIT_USAGE or SKL_EXIT_NO_STATE; SKL_EXIT_OK (unset): any other
	 * failure, SKL_EXIT_ERROR. Set by skl_ctl_failed. */
	enum skl_ctl_exit failed_as;
};

/* Marks the failure at hand (err already set) as a usage error or as no
 * dispatcher found for the pod; returns -1, to `return skl_ctl_failed(...)`. */
int skl_ctl_failed(struct skl_ctl *ctl, enum skl_ctl_exit status);

/* A usage error found where ctl is at hand: sets err from fmt and marks
 * the failure SKL_EXIT_USAGE; returns -1. */
int skl_ctl_usage(struct skl_ctl *ctl, struct skl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sklookup-ctl's exit status for a command's result ret: ret itself when it
 * succeeded (>= 0); after a failure (< 0), what ctl->failed_as says, else
 * SKL_EXIT_ERROR, whatever the library's error code. */
int skl_ctl_exit_status(const struct skl_ctl *ctl, int ret);

struct skl_ctl_command {
	const char *name;
	int (*run)(struct skl_ctl *ctl, int argc, char **argv, struct skl_err *err);
	bool needs_state;
	const char *synopsis; /* one line for the overview */
	const char *help;     /* the command's --help text */
};

/* Finds and opens the pod's state: by --container, by --pod (the name its
 * record keeps), by --netns, or the netns this process runs in (the pod's
 * link reports that netns's inode). */
int skl_ctl_open(struct skl_ctl *ctl, struct skl_err *err);
/* Only finds it: ctl->state_dir, whatever the layout of its maps. */
int skl_ctl_find(struct skl_ctl *ctl, struct skl_err *err);
void skl_ctl_close(struct skl_ctl *ctl);

/* The opened pod as the library (plugin/lib) takes it. */
static inline struct skl_pod skl_ctl_pod(struct skl_ctl *ctl)
{
	return (struct skl_pod){ .state_dir = ctl->state_dir, .d = &ctl->d,
				 .netns_ino = ctl->netns_ino, .netns_fd = &ctl->netns_fd,
				 .lock_wait_ms = ctl->lock_wait_ms };
}

/* Every command that changes the pod's maps holds the pod's lock
 * (skl_state_lock_existing, waiting at most SKL_STATE_LOCK_WAIT_MS: the
 * agent runs these commands too) from reading what is there until its
 * change is done, and checks the state is still the one it opened. */
int skl_ctl_lock(const struct skl_ctl *ctl, int *lock_fd, struct skl_err *err);

/* Runs fn inside the pod's netns (ctl->netns_fd), or where we are when the
 * pod's netns is where we run anyway. */
int skl_ctl_in_pod(struct skl_ctl *ctl, int (*fn)(void *arg, struct skl_err *err), void *arg,
		   struct skl_err *err);

/* Prints a JSON document on stdout (pretty) and frees it. */
int skl_ctl_print_json(cJSON *doc, struct skl_err *err);

/* Reads a JSON file ("-": stdin). */
cJSON *skl_ctl_read_json(const char *path, struct skl_err *err);

/* A whole decimal number min..max, nothing else: 0, or -1. */
int skl_ctl_parse_long(const char *s, long min, long max, long *out);

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i] (advancing *i past
 * the value): 1 if it did, 0 if argv[*i] is something else, -1 (usage
 * error naming the command, argv[0]) if the value is missing. */
int skl_ctl_take_value(int argc, char **argv, int *i, const char *name, const char **value,
		       struct skl_err *err);

/* `--help` for a command: prints cmd->help, returns true if asked. */
bool skl_ctl_wants_help(const struct skl_ctl_command *cmd, int argc, char **argv);

/* The commands. */
extern const struct skl_ctl_command skl_ctl_register_cmd, skl_ctl_unregister_cmd,
	skl_ctl_exec_cmd, skl_ctl_bindings_cmd, skl_ctl_status_cmd, skl_ctl_trace_cmd,
	skl_ctl_metrics_cmd, skl_ctl_upgrade_cmd, skl_ctl_agent_cmd, skl_ctl_pods_cmd,
	skl_ctl_monitor_cmd, skl_ctl_install_cmd, skl_ctl_uninstall_cmd;

/* --- through the node agent (ctl_agent_client.c) --- */

/* A socket on its way through the node agent, and how the user knows it
 * (for messages and output only). */
struct skl_ctl_passed {
	int fd;        /* in this process; the caller keeps it */
	int user_fd;   /* its number in the client, or in --pid's process */
	char name[96]; /* "fd 3", "pid 42 fd 7", "tcp://[::]:8080" */
};

/* Locates the pod for cmd: opens its state (skl_ctl_open), or, when that
 * finds none because bpffs is out of reach (a pod without privileges) and
 * the node agent's socket exists, sets ctl->agent. With --agent, checks
 * that cmd can go through the agent. */
int skl_ctl_locate(struct skl_ctl *ctl, const struct skl_ctl_command *cmd, struct skl_err *err);

/* Runs cmd through the node agent (ctl->agent set), with the direct path's
 * output and exit status. */
int skl_ctl_agent_run(struct skl_ctl *ctl, const struct skl_ctl_command *cmd, int argc,
		      char **argv, struct skl_err *err);

/* The client side of register and exec: the agent checks and registers the
 * sockets; its output is printed unless quiet. */
int skl_ctl_agent_register(struct skl_ctl *ctl, const char *label, const struct skl_ctl_passed *p,
			   size_t n, long pid, bool quiet, struct skl_err *err);
int skl_ctl_agent_unregister(struct skl_ctl *ctl, const char *label, int protocol,
			     struct skl_err *err);

/* monitor through the agent: the ring the agent put into the pod's slot,
 * and what its events need to be read (monitor_start.h). */
struct skl_monitor_start;
int skl_ctl_agent_monitor_start(struct skl_ctl *ctl, struct skl_monitor_start *start,
				int *ring_fd, struct skl_err *err);

#endif
