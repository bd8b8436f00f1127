/* Root-test fixture for running the plugin by direct invocation, the way a
 * runtime does (environment + stdin): a throwaway "host" netns for the test
 * process (every exec'd plugin inherits it, so its host routes never reach
 * the machine), named pod netns, a bpffs root, a default config to mutate,
 * and checks that an attachment left nothing behind. */
#ifndef SKL_TEST_CNI_FIXTURE_H
#define SKL_TEST_CNI_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define CNI_NETWORK "sklt-net"
#define CNI_POD_IFNAME "eth0"
#define CNI_MAX_PODS 40
/* The pods' ephemeral port range: 8000-8999 of the "web" binding falls in
 * it, so ADD has ports to reserve and DEL has ports to give back. */
#define CNI_POD_EPHEMERAL "8000 9999"
#define CNI_WEB_RESERVED "8000-8999"

/* The default bindings: a v4 range, a v6 range and the pod's own addresses.
 * Everything they route is in 203.0.113.0/24 and 2001:db8:200::/64. */
#define CNI_DEFAULT_BINDINGS                                                                  \
	"[{\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","         \
	"  \"ports\": [\"80\", \"443\", \"8000-8999\"]},"                                     \
	" {\"label\": \"dns\", \"protocol\": \"udp\", \"prefix\": \"2001:db8:200::/64\","      \
	"  \"ports\": [\"53\"]},"                                                             \
	" {\"label\": \"proxy\", \"protocol\": \"tcp\", \"prefix\": \"pod\", \"missing\": \"pass\"}]"

struct cni_pod {
	char name[64];          /* ip netns name; "" when the slot is unused */
	char path[128];         /* /var/run/netns/NAME */
	char v4[32], v6[64];    /* the address prevResult gives it ("" for none) */
	char reserved_before[256]; /* its ip_local_reserved_ports when created */
};

struct cni_fixture {
	int saved_netns; /* the test's netns before setup; -1 when not unshared */
	int host_netns;  /* the throwaway "host" netns */
	char root[256];  /* bpffsRoot of every config */
	char host_veth[16];
	char plugin[PATH_MAX], plugin_fi[PATH_MAX]; /* build/sklookup, helper_sklookup_fi */
	size_t n_pods;
	struct cni_pod pods[CNI_MAX_PODS]; /* pods[0] has eth0 on a veth to the host */
	const void *param; /* the test's cmocka initial_state */
	cJSON *owned;      /* configs built by cni_config, freed at teardown */
	char *out, *err;   /* stdout and stderr of the last cni_fixture_call */
};

/* cmocka setup/teardown: *state is a struct cni_fixture (the test's
 * initial_state is kept in param). Setup cleans up after itself when it
 * fails; teardown works from any netns the test left the thread in. */
int cni_fixture_setup(void **state);
int cni_fixture_teardown(void **state);

/* Another pod netns (lo up, no interface) with prevResult addresses
 * 198.51.100.(10+i)/24 and 2001:db8:100::(10+i)/64; returns its index i. */
size_t cni_fixture_add_pod(struct cni_fixture *f);

/* The default sklookup entry for pod i at cniVersion version: bpffsRoot,
 * CNI_DEFAULT_BINDINGS, routes {pod, host}, prevResult like bridge's. The
 * fixture owns it (tests mutate it, never free it). */
cJSON *cni_config(struct cni_fixture *f, const char *version, size_t pod);

/* A bridge-like result for pod i: host bridge, host veth, the pod's eth0;
 * v4 and v6 (if the pod has one) on interface 2. */
cJSON *cni_prev_result(const struct cni_fixture *f, const char *version, size_t pod);

/* Replaces (or adds) key in obj by the parsed JSON text; fails the test on
 * a parse error. */
void cni_set_json(cJSON *obj, const char *key, const char *json);

/* ---- running the plugin ---- */

/* One invocation. Environment variables: NULL leaves them unset, "" sets
 * them empty. CNI_PATH=/usr/lib/cni is always set; of the test's own
 * environment only ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS are passed
 * on (when set), so that a sanitized plugin reports as the runner asks. */
struct cni_call {
	const char *binary;
	const char *command, *container_id, *netns, *ifname;
	const char *stdin_data; /* NULL: empty stdin */
	size_t stdin_len;       /* 0: strlen(stdin_data) */
	const char *const *extra_env; /* "NAME=VALUE" strings, NULL-terminated, or NULL */
	const char *arg;        /* argv[1], or NULL */
};

struct cni_proc {
	pid_t pid;
	int out_fd, err_fd;
};

/* Starts a call; 0 or -1. No cmocka asserts: usable in forked children. */
int cni_start(const struct cni_call *call, struct cni_proc *p);

/* Waits for it: its exit status (128 + signal if killed, -1 if it could not
 * be waited for). *out and *err (either may be NULL) get its stdout and
 * stderr, malloc'd and NUL-terminated. */
int cni_finish(struct cni_proc *p, char **out, char **err);

int cni_call_run(const struct cni_call *call, char **out, char **err);

/* cni_call_run keeping stdout and stderr in f->out and f->err ("" when
 * they could not be read) until the next call or teardown. */
int cni_fixture_call(struct cni_fixture *f, const struct cni_call *call);

/* cni_call_run without extra environment. */
int cni_run(const char *binary, const char *command, const char *container_id,
	    const char *netns, const char *ifname, const char *stdin_json, char **out_stdout,
	    char **out_stderr);

/* A server of type (SOCK_STREAM, SOCK_DGRAM) on addr, port 0, inside pod
 * i, not registered. */
int cni_pod_socket(const struct cni_fixture *f, size_t pod, int type, const char *addr);

/* A server of type (SOCK_STREAM, SOCK_DGRAM) on addr, port 0, inside pod
 * i, registered for label through the pins in dir; fails the test when it
 * cannot be. */
int cni_pod_server(const struct cni_fixture *f, size_t pod, const char *dir, const char *label,
		   int type, const char *addr);

/* fixture_deliver (dispatch_fixture.h) from inside pod i, where the pod's
 * local routes serve the binding ranges. */
int cni_deliver_in_pod(const struct cni_fixture *f, size_t pod, int type, const char *addr,
		       uint16_t port, int server);

/* ---- looking at what is there ---- */

/* <root>/<network>/<container>/<ifname> as the plugin names it. */
void cni_state_dir(const struct cni_fixture *f, const char *network, const char *container,
		   const char *ifname, char *out, size_t len);

/* Entries of a directory (not counting . and ..); 0 when it is absent. */
int cni_dir_entries(const char *dir);

/* sk_lookup programs attached to the netns at path (BPF_PROG_QUERY); -1 if
 * the netns cannot be opened. */
int cni_prog_count(const char *netns_path);

/* cni_prog_count, waiting (up to a second) while it is above expected: the
 * kernel drops an unpinned link only after an RCU grace period and a work
 * item, so the detach lags the unlink that DEL or GC did. */
int cni_prog_count_settled(const char *netns_path, int expected);

/* st_ino of a netns file, 0 if it cannot be stat'ed. */
uint64_t cni_netns_ino(const char *netns_path);

/* Runs a printf-formatted shell command and counts the lines of its stdout
 * that contain needle; -1 if it could not run. */
int cni_count_lines(const char *needle, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ip_local_reserved_ports of the netns at path, without the newline. */
void cni_reserved_ports(const char *netns_path, char *out, size_t len);

/* Writes ip_local_reserved_ports of pod i ("8500,9500") and makes it the
 * value cni_assert_pod_clean expects. */
void cni_set_reserved_ports(struct cni_fixture *f, size_t pod, const char *ports);

/* Nothing of an attachment is left in pod i: no sk_lookup program is
 * attached, no route leads to 203.0.113.0/24 or 2001:db8:200::/64, the
 * reserved ports are as they were. Skipped when its netns is gone. */
void cni_assert_pod_clean(const struct cni_fixture *f, size_t pod);

/* Nothing of any attachment of CNI_NETWORK is left, and nothing of pod i:
 * the network directory is absent or empty, no sk_lookup program is
 * attached in the host netns, no route there leads to 203.0.113.0/24 or
 * 2001:db8:200::/64, and cni_assert_pod_clean. */
void cni_assert_nothing_left(const struct cni_fixture *f, size_t pod);

#endif
