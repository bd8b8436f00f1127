/* Root-test fixture for sklookup-ctl: a pod's state made as ADD makes it
 * (loaded, attached to a fresh netns, pinned under a test bpffs root), and a
 * way to run the real build/sklookup-ctl against it. */
#ifndef SKL_TEST_CTL_FIXTURE_H
#define SKL_TEST_CTL_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "dispatcher.h"

#define CTL_POD_CONTAINER "cid1"

struct ctl_pod {
	int saved_netns;
	char root[256];
	char dir[PATH_MAX]; /* <root>/net/cid1/eth0 */
	struct skl_dispatcher d;
};

/* Moves the caller into a fresh netns with local routes for 192.0.2.0/24,
 * 198.51.100.0/24 and 2001:db8::/32, and creates the pod's state with
 * these bindings (a JSON array). */
void ctl_pod_create(struct ctl_pod *p, const char *bindings_json);
void ctl_pod_destroy(struct ctl_pod *p);

/* Registers fd for label through the library (as a test set-up step). */
void ctl_pod_register(struct ctl_pod *p, const char *label, int fd);

/* Runs "build/sklookup-ctl --bpffs-root ROOT ARGS" through the shell;
 * stdout (and stderr when merge_stderr) into out. Returns the exit status. */
int ctl_run(const struct ctl_pod *p, bool merge_stderr, char *out, size_t len,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
