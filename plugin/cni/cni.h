/*
 * The CNI plugin: one request (environment + stdin), its verbs, and the
 * pieces they share. Each verb fills req->result (ADD) or nothing, and
 * returns -1 with err set on failure; main prints.
 */
#ifndef SKL_CNI_H
#define SKL_CNI_H

#include <limits.h>
#include <stdbool.h>

#include "netconf.h"
#include "pod_identity.h"
#include "record.h"

struct skl_cni_req {
	const char *command;
	const char *container_id; /* NULL when unset or empty */
	const char *netns;
	const char *ifname;
	struct skl_pod_identity pod; /* from CNI_ARGS (ADD only) */
	struct skl_netconf conf;
	char state_dir[PATH_MAX];
	cJSON *result; /* ADD's output, owned */
};

/* ADD steps, in order. A test build can make any of them fail right after
 * it took effect (skl_cni_fault_hook), to prove that ADD undoes it. */
enum skl_add_step {
	SKL_STEP_LOCK = 1,
	SKL_STEP_STALE_STATE,
	SKL_STEP_TMPDIR,
	SKL_STEP_LOAD,
	SKL_STEP_BINDINGS,
	SKL_STEP_ATTACH,
	SKL_STEP_PIN,
	SKL_STEP_RESERVE_PORTS,
	SKL_STEP_POD_ROUTES,
	SKL_STEP_RECORD,
	SKL_STEP_COMMIT,
	SKL_STEP_HOST_ROUTES, /* last: announced routes only for a complete pod */
	SKL_STEP_COUNT
};

#ifdef SKL_FAULT_INJECTION
/* Only in the fault-injection test build (cni_add.c compiled with
 * -DSKL_FAULT_INJECTION); NULL until the test sets it. Returns non-zero to
 * make that step fail. */
extern int (*skl_cni_fault_hook)(int step);
#endif

/* Reads the environment and stdin, runs the verb, prints the result or the
 * error; returns the exit status. */
int skl_cni_main(int argc, char **argv);

int skl_cni_add(struct skl_cni_req *req, struct skl_err *err);
int skl_cni_del(struct skl_cni_req *req, struct skl_err *err);
int skl_cni_check(struct skl_cni_req *req, struct skl_err *err);
int skl_cni_gc(struct skl_cni_req *req, struct skl_err *err);
int skl_cni_status(struct skl_cni_req *req, struct skl_err *err);

/* The bindings this pod gets: config, runtimeConfig and the annotation,
 * with pod prefixes resolved; conf->bindings is replaced by them. */
int skl_cni_pod_bindings(struct skl_cni_req *req, struct skl_pod_addrs *pod,
			 struct skl_err *err);

/* Opens CNI_NETNS and refuses the plugin's own netns. */
int skl_cni_open_netns(const char *path, int *fd, struct skl_err *err);

#endif
