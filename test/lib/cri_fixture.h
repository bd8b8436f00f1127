/*
 * Root-test fixture for containerd as the kubelet drives it: Debian's
 * containerd with its CRI plugin, started by the test with a config, root,
 * state directory and socket of its own under a temporary directory (never
 * the system's containerd, no systemd), runc, a CNI bin_dir with the
 * reference plugins and the plugin under test (behind a wrapper that
 * records every call), a conflist bridge + host-local + sklookup, and a
 * sandbox image built locally and imported with ctr. Pods are driven over
 * the CRI socket with our client (build/test/cri/cri-client).
 *
 * The suite runs in a mount namespace, a /run and a network namespace of
 * its own (agentfix_group_setup) with a tmpfs on /var/lib, so containerd,
 * its shims, the pods' netns files, libcni's cache, the bridge and the host
 * routes never reach the machine's.
 */
#ifndef SKL_TEST_CRI_FIXTURE_H
#define SKL_TEST_CRI_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "netpod.h"

#define CRI_NETWORK "sklt-cri"
#define CRI_IGNORED_NETWORK "sklt-cri-second" /* a conflist after ours */
#define CRI_BRIDGE "sklt-cbr0"
#define CRI_SUBNET "198.51.100.0/24"
#define CRI_PAUSE_IMAGE "sklookup.test/pause:1"
#define CRI_MAX_PODS 8
#define CRI_MAX_CALLS 64

struct cri_pod {
	char name[64], uid[64];
	char id[96];     /* the sandbox ID; "" until RunPodSandbox succeeded */
	char ip[64];     /* from PodSandboxStatus */
	char netns[128]; /* its netns file (/var/run/netns/cni-...) */
	struct netpod np; /* np.netns keeps the netns open for child_spawn */
	struct child srv; /* a server in the pod, when srv.pid > 0 */
};

struct cri_env {
	char tmp[128];     /* /tmp/sklt-cri-<pid>: everything of containerd */
	char sock[192];    /* containerd's gRPC socket */
	char root[256];    /* the plugin's bpffsRoot */
	char cgroup[64];   /* the pods' cgroup parent, sklt-cri-<pid> */
	char client[PATH_MAX], plugin[PATH_MAX], pause_tar[PATH_MAX];
	pid_t containerd, agent;
	struct cri_pod pods[CRI_MAX_PODS];
};

/* Group setup and teardown: *state is the struct cri_env. Teardown undoes
 * everything, also after a failure: pods, shims, containerd, mounts, dirs. */
int crifix_setup(void **state);
int crifix_teardown(void **state);

/* Starts containerd on the suite's config and waits (up to 20 s) until it
 * answers Version over CRI; kill stops it with sig and reaps it. */
void crifix_containerd_start(struct cri_env *e);
void crifix_containerd_kill(struct cri_env *e, int sig);
void crifix_show_containerd_log(const struct cri_env *e);

/* Runs `cri-client -s SOCK args...` (NULL-terminated); its exit status,
 * stdout and stderr (trailing newline removed). */
int crifix_client(const struct cri_env *e, char *out, size_t out_len, char *err, size_t err_len,
		  const char *const *args);

/* A free slot of e->pods, named name (namespace "sklt", uid "uid-<name>"). */
struct cri_pod *crifix_pod(struct cri_env *e, const char *name);

/* RunPodSandbox for pod with these annotations ("KEY=VALUE", NULL-
 * terminated, or NULL): 0 and pod->id, ip and netns filled, or the
 * client's status with its error in err. */
int crifix_run_pod(struct cri_env *e, struct cri_pod *pod, const char *const *annotations,
		   char *err, size_t err_len);

/* PodSandboxStatus's state ("SANDBOX_READY"...) into state; the status. */
int crifix_pod_state(const struct cri_env *e, const struct cri_pod *pod, char *state,
		     size_t len);

/* StopPodSandbox, RemovePodSandbox: fail the test when refused. */
void crifix_stop_pod(struct cri_env *e, struct cri_pod *pod);
void crifix_remove_pod(struct cri_env *e, struct cri_pod *pod);

/* Starts `sklookup-ctl exec --label label --listen tcp://[::]:8080 --
 * helper_lfd_server` in the pod as a process with no privileges (it
 * registers through the node agent) and waits until it serves. */
void crifix_serve(struct cri_env *e, struct cri_pod *pod, const char *label);

/* Ends the pod's server (EOF on its stdin). */
void crifix_stop_server(struct cri_pod *pod);

/* Stops and removes every pod still there (best effort) and ends its server. */
void crifix_forget_pods(struct cri_env *e);

/* ---- what containerd sent the plugin ---- */

struct cri_call {
	char command[16];
	char container[96];
	char netns[160];
	char args[1024]; /* CNI_ARGS */
	int status;      /* the plugin's exit status */
	cJSON *config;   /* its stdin, parsed (NULL if it was not JSON) */
};

/* The recorded calls whose CNI_ARGS name the pod (K8S_POD_NAME=name), or
 * every call when pod_name is NULL, in order; returns how many (up to max).
 * Free with crifix_free_calls. */
size_t crifix_calls(const struct cri_env *e, const char *pod_name, struct cri_call *calls,
		    size_t max);
void crifix_free_calls(struct cri_call *calls, size_t n);

/* The value of key in a CNI_ARGS string; NULL when absent. */
const char *crifix_cni_arg(const char *args, const char *key, char *value, size_t len);

/* ---- looking at the host ---- */

/* The pod's state directory, as the plugin names it. */
void crifix_state_dir(const struct cri_env *e, const struct cri_pod *pod, char *dir, size_t len);

/* The ID of the sk_lookup link pinned in the pod's state; 0 when none. */
uint32_t crifix_link_id(const struct cri_env *e, const struct cri_pod *pod);

/* True when `ip route get addr` in the suite's host netns leads to the
 * pod's address on the bridge. */
bool crifix_route_into_pod(const struct cri_pod *pod, const char *addr);

/* One line from addr:port over TCP from the host netns (2 s timeouts);
 * "" when refused or silent. */
void crifix_ask_tcp(const char *addr, int port, char *line, size_t len);

/* Runs a printf-formatted shell command, its stdout into out; its status. */
int crifix_capture(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
