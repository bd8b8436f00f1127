/* Root-test fixture for running the plugin by direct invocation; see
 * cni_fixture.h. Setup, teardown and the runner use no cmocka asserts (setup
 * must clean up after its own failure, the runner also works in forked
 * children); the checks at the end do. */
#include "cni_fixture.h"
#include "testbin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "dispatch_fixture.h"
#include "dispatcher.h"
#include "netns.h"
#include "rules.h"
#include "sockets.h"
#include "state.h"
#include "testnet.h"

#define CNI_PATH_ENV "CNI_PATH=/usr/lib/cni"
#define MAX_ENV 24
#define PROG_RELEASE_POLLS 200
#define PROG_RELEASE_POLL_US (5 * 1000)

/* ---- small helpers ---- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int read_file(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

/* Runs fn on this thread inside the netns at path, then comes back. */
static int in_netns(const char *path, int (*fn)(void *), void *arg)
{
	int target = open(path, O_RDONLY | O_CLOEXEC);
	int back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int ret = -1;

	if (target >= 0 && back >= 0 && setns(target, CLONE_NEWNET) == 0) {
		ret = fn(arg);
		if (setns(back, CLONE_NEWNET) < 0)
			ret = -1;
	}
	if (target >= 0)
		close(target);
	if (back >= 0)
		close(back);
	return ret;
}

static int set_ephemeral_range(void *arg)
{
	(void)arg;
	return write_file("/proc/sys/net/ipv4/ip_local_port_range", CNI_POD_EPHEMERAL);
}

struct text_buf {
	char *s;
	size_t len;
};

static int get_reserved_ports(void *arg)
{
	struct text_buf *b = arg;

	return read_file("/proc/sys/net/ipv4/ip_local_reserved_ports", b->s, b->len);
}

/* The plugin binaries of the build under test (testbin.h). */
static int find_binaries(struct cni_fixture *f)
{
	testbin_path(f->plugin, sizeof(f->plugin), "sklookup");
	testbin_path(f->plugin_fi, sizeof(f->plugin_fi), "test/root/helper_sklookup_fi");
	return access(f->plugin, X_OK) || access(f->plugin_fi, X_OK) ? -1 : 0;
}

/* ---- setup and teardown ---- */

static int add_pod(struct cni_fixture *f)
{
	static unsigned int next;
	size_t i = f->n_pods;
	struct cni_pod *p;
	struct text_buf reserved;
	char name[sizeof(p->name)];

	if (i == CNI_MAX_PODS)
		return -1;
	p = &f->pods[f->n_pods++];
	reserved = (struct text_buf){ p->reserved_before, sizeof(p->reserved_before) };
	snprintf(name, sizeof(name), "sklt-cni-%d-%u", (int)getpid(), next++);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->path, sizeof(p->path), "/var/run/netns/%s", name);
	snprintf(p->v4, sizeof(p->v4), "198.51.100.%zu", 10 + i);
	snprintf(p->v6, sizeof(p->v6), "2001:db8:100::%zu", 10 + i);
	if (testnet_run("ip netns add %s", p->name) ||
	    testnet_run("ip -n %s link set lo up", p->name) ||
	    in_netns(p->path, set_ephemeral_range, NULL) ||
	    in_netns(p->path, get_reserved_ports, &reserved))
		return -1;
	return (int)i;
}

/* eth0 of pods[0] on a veth to the host netns, addressed like bridge would. */
static int add_veth(struct cni_fixture *f)
{
	static unsigned int next;
	const struct cni_pod *p = &f->pods[0];

	snprintf(f->host_veth, sizeof(f->host_veth), "sklt-h%u", next++);
	if (testnet_run("ip link add %s type veth peer name %s netns %s", f->host_veth,
			CNI_POD_IFNAME, p->name) ||
	    testnet_run("ip addr add 198.51.100.1/24 dev %s", f->host_veth) ||
	    testnet_run("ip -6 addr add 2001:db8:100::1/64 dev %s nodad", f->host_veth) ||
	    testnet_run("ip link set %s up", f->host_veth) ||
	    testnet_run("ip -n %s addr add %s/24 dev %s", p->name, p->v4, CNI_POD_IFNAME) ||
	    testnet_run("ip -n %s -6 addr add %s/64 dev %s nodad", p->name, p->v6,
			CNI_POD_IFNAME) ||
	    testnet_run("ip -n %s link set %s up", p->name, CNI_POD_IFNAME))
		return -1;
	return 0;
}

static int destroy(struct cni_fixture *f)
{
	int ret = 0;

	/* Back to the throwaway host netns first, wherever a failed test left
	 * this thread: the cleanup commands below must never run in a pod. */
	if (f->host_netns >= 0 && setns(f->host_netns, CLONE_NEWNET) < 0)
		ret = -1;
	for (size_t i = 0; i < f->n_pods; i++)
		if (f->pods[i].name[0])
			testnet_run("ip netns del %s 2>/dev/null", f->pods[i].name);
	if (f->root[0] && testnet_rm_rf_bpffs(f->root) < 0)
		ret = -1;
	if (f->host_netns >= 0)
		close(f->host_netns);
	cJSON_Delete(f->owned);
	free(f->out);
	free(f->err);
	/* The veth and the host routes go with the throwaway netns. */
	if (f->saved_netns >= 0 && testnet_restore_netns(f->saved_netns) < 0)
		ret = -1;
	free(f);
	return ret;
}

int cni_fixture_setup(void **state)
{
	struct cni_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->param = *state;
	f->saved_netns = f->host_netns = -1;
	f->owned = cJSON_CreateArray();
	if (!f->owned)
		goto fail;
	/* The host netns first: nothing below may touch the machine's own. */
	if (testnet_unshare_netns(&f->saved_netns) < 0)
		goto fail;
	f->host_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (f->host_netns < 0 || find_binaries(f) < 0 ||
	    testnet_bpffs_tmpdir(f->root, sizeof(f->root)) < 0 || add_pod(f) < 0 || add_veth(f) < 0)
		goto fail;
	*state = f;
	return 0;
fail:
	fprintf(stderr, "cni fixture setup failed: %s\n", strerror(errno));
	destroy(f);
	return -1;
}

int cni_fixture_teardown(void **state)
{
	return destroy(*state);
}

size_t cni_fixture_add_pod(struct cni_fixture *f)
{
	int i = add_pod(f);

	assert_true(i >= 0);
	return (size_t)i;
}

/* ---- configs ---- */

void cni_set_json(cJSON *obj, const char *key, const char *json)
{
	cJSON *value = cJSON_Parse(json);

	if (!value)
		fail_msg("bad JSON for %s: %s", key, json);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddItemToObject(obj, key, value);
}

static void add_interface(cJSON *list, const char *name, const char *mac, const char *sandbox)
{
	cJSON *itf = cJSON_CreateObject();

	cJSON_AddStringToObject(itf, "name", name);
	cJSON_AddStringToObject(itf, "mac", mac);
	if (sandbox)
		cJSON_AddStringToObject(itf, "sandbox", sandbox);
	cJSON_AddItemToArray(list, itf);
}

static void add_ip(cJSON *list, const char *version, const char *address, const char *gateway)
{
	cJSON *ip = cJSON_CreateObject();

	/* Results before 1.0.0 name the family; 1.0.0 dropped the field. */
	if (version)
		cJSON_AddStringToObject(ip, "version", version);
	cJSON_AddStringToObject(ip, "address", address);
	cJSON_AddStringToObject(ip, "gateway", gateway);
	cJSON_AddNumberToObject(ip, "interface", 2);
	cJSON_AddItemToArray(list, ip);
}

cJSON *cni_prev_result(const struct cni_fixture *f, const char *version, size_t pod)
{
	const struct cni_pod *p = &f->pods[pod];
	bool has_ip_version = version[0] == '0';
	cJSON *r = cJSON_CreateObject(), *list;
	char address[96];

	assert_non_null(r);
	cJSON_AddStringToObject(r, "cniVersion", version);
	list = cJSON_AddArrayToObject(r, "interfaces");
	add_interface(list, "sklt-br0", "0a:58:c6:33:64:01", NULL);
	add_interface(list, f->host_veth, "0a:58:c6:33:64:02", NULL);
	add_interface(list, CNI_POD_IFNAME, "0a:58:c6:33:64:0a", p->path);
	list = cJSON_AddArrayToObject(r, "ips");
	snprintf(address, sizeof(address), "%s/24", p->v4);
	add_ip(list, has_ip_version ? "4" : NULL, address, "198.51.100.1");
	if (p->v6[0]) {
		snprintf(address, sizeof(address), "%s/64", p->v6);
		add_ip(list, has_ip_version ? "6" : NULL, address, "2001:db8:100::1");
	}
	cni_set_json(r, "routes", "[{\"dst\": \"0.0.0.0/0\", \"gw\": \"198.51.100.1\"}]");
	cni_set_json(r, "dns", "{\"nameservers\": [\"198.51.100.1\"]}");
	return r;
}

cJSON *cni_config(struct cni_fixture *f, const char *version, size_t pod)
{
	cJSON *c = cJSON_CreateObject();

	assert_non_null(c);
	cJSON_AddItemToArray(f->owned, c);
	cJSON_AddStringToObject(c, "cniVersion", version);
	cJSON_AddStringToObject(c, "name", CNI_NETWORK);
	cJSON_AddStringToObject(c, "type", "sklookup");
	cJSON_AddStringToObject(c, "bpffsRoot", f->root);
	cni_set_json(c, "bindings", CNI_DEFAULT_BINDINGS);
	cni_set_json(c, "routes", "{\"pod\": true, \"host\": true}");
	cJSON_AddItemToObject(c, "prevResult", cni_prev_result(f, version, pod));
	return c;
}

/* ---- running the plugin ---- */

static int memfd_with(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *read_all(int fd)
{
	struct stat st;
	char *buf;
	size_t used = 0;

	if (fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	while (buf && used < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + used, (size_t)st.st_size - used, (off_t)used);

		if (n <= 0)
			break;
		used += (size_t)n;
	}
	if (buf)
		buf[used] = 0;
	return buf;
}

/* "NAME=VALUE" in a buffer of env strings; NULL value leaves it out. */
static void env_add(char **envp, size_t *n, char *store, size_t store_len, const char *name,
		    const char *value)
{
	if (!value || *n + 1 >= MAX_ENV)
		return;
	snprintf(store, store_len, "%s=%s", name, value);
	envp[(*n)++] = store;
}

int cni_start(const struct cni_call *call, struct cni_proc *p)
{
	static const char *const sanitizer_env[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
						      "LSAN_OPTIONS" };
	char store[7][PATH_MAX + 512];
	char *envp[MAX_ENV], *argv[3] = { (char *)call->binary, (char *)call->arg, NULL };
	size_t n = 0, len = call->stdin_data ? (call->stdin_len ? call->stdin_len
								 : strlen(call->stdin_data))
					     : 0;
	int in;

	env_add(envp, &n, store[0], sizeof(store[0]), "CNI_COMMAND", call->command);
	env_add(envp, &n, store[1], sizeof(store[1]), "CNI_CONTAINERID", call->container_id);
	env_add(envp, &n, store[2], sizeof(store[2]), "CNI_NETNS", call->netns);
	env_add(envp, &n, store[3], sizeof(store[3]), "CNI_IFNAME", call->ifname);
	envp[n++] = (char *)CNI_PATH_ENV;
	/* A sanitized plugin reports where and how the runner asks. */
	for (size_t i = 0; i < sizeof(sanitizer_env) / sizeof(sanitizer_env[0]); i++)
		env_add(envp, &n, store[4 + i], sizeof(store[4 + i]), sanitizer_env[i],
			getenv(sanitizer_env[i]));
	for (size_t i = 0; call->extra_env && call->extra_env[i] && n + 1 < MAX_ENV; i++)
		envp[n++] = (char *)call->extra_env[i];
	envp[n] = NULL;
	in = memfd_with("cni-stdin", call->stdin_data ? call->stdin_data : "", len);
	p->out_fd = memfd_create("cni-stdout", MFD_CLOEXEC);
	p->err_fd = memfd_create("cni-stderr", MFD_CLOEXEC);
	p->pid = -1;
	if (in >= 0 && p->out_fd >= 0 && p->err_fd >= 0) {
		fflush(NULL);
		p->pid = fork();
		if (p->pid == 0) {
			if (dup2(in, STDIN_FILENO) < 0 || dup2(p->out_fd, STDOUT_FILENO) < 0 ||
			    dup2(p->err_fd, STDERR_FILENO) < 0)
				_exit(126);
			close_range(3, ~0U, 0);
			execve(call->binary, argv, envp);
			_exit(127);
		}
	}
	if (in >= 0)
		close(in);
	if (p->pid > 0)
		return 0;
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->out_fd = p->err_fd = -1;
	return -1;
}

int cni_finish(struct cni_proc *p, char **out, char **err)
{
	int status, ret = -1;

	while (waitpid(p->pid, &status, 0) < 0)
		if (errno != EINTR)
			goto out;
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		ret = 128 + WTERMSIG(status);
out:
	if (out)
		*out = read_all(p->out_fd);
	if (err)
		*err = read_all(p->err_fd);
	close(p->out_fd);
	close(p->err_fd);
	p->out_fd = p->err_fd = -1;
	return ret;
}

int cni_call_run(const struct cni_call *call, char **out, char **err)
{
	struct cni_proc p;

	if (cni_start(call, &p) < 0) {
		if (out)
			*out = NULL;
		if (err)
			*err = NULL;
		return -1;
	}
	return cni_finish(&p, out, err);
}

int cni_fixture_call(struct cni_fixture *f, const struct cni_call *call)
{
	int status;

	free(f->out);
	free(f->err);
	status = cni_call_run(call, &f->out, &f->err);
	if (!f->out)
		f->out = strdup("");
	if (!f->err)
		f->err = strdup("");
	return status;
}

int cni_run(const char *binary, const char *command, const char *container_id,
	    const char *netns, const char *ifname, const char *stdin_json, char **out_stdout,
	    char **out_stderr)
{
	const struct cni_call call = { .binary = binary,
				       .command = command,
				       .container_id = container_id,
				       .netns = netns,
				       .ifname = ifname,
				       .stdin_data = stdin_json };

	return cni_call_run(&call, out_stdout, out_stderr);
}

/* ---- looking at what is there ---- */

void cni_state_dir(const struct cni_fixture *f, const char *network, const char *container,
		   const char *ifname, char *out, size_t len)
{
	struct skl_err err = { 0 };

	if (skl_state_path(out, len, f->root, network, container, ifname, &err))
		fail_msg("state path: %s", err.msg);
}

int cni_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int cni_prog_count(const char *netns_path)
{
	uint32_t ids[64], count = 64, flags = 0;
	int fd = open(netns_path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = bpf_prog_query(fd, BPF_SK_LOOKUP, 0, &flags, ids, &count);
	close(fd);
	return ret ? -1 : (int)count;
}

int cni_prog_count_settled(const char *netns_path, int expected)
{
	int n = cni_prog_count(netns_path);

	for (int i = 0; n > expected && i < PROG_RELEASE_POLLS; i++) {
		usleep(PROG_RELEASE_POLL_US);
		n = cni_prog_count(netns_path);
	}
	return n;
}

uint64_t cni_netns_ino(const char *netns_path)
{
	struct stat st;

	return stat(netns_path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int cni_count_lines(const char *needle, const char *fmt, ...)
{
	char command[1024], *line = NULL;
	size_t cap = 0;
	va_list ap;
	int n = 0;
	FILE *pipe;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	fflush(NULL);
	pipe = popen(command, "r");
	if (!pipe)
		return -1;
	while (getline(&line, &cap, pipe) > 0)
		if (strstr(line, needle))
			n++;
	free(line);
	return pclose(pipe) == 0 ? n : -1;
}

void cni_reserved_ports(const char *netns_path, char *out, size_t len)
{
	struct text_buf b = { out, len };

	if (in_netns(netns_path, get_reserved_ports, &b) < 0)
		snprintf(out, len, "<unreadable: %s>", strerror(errno));
}

static int put_reserved_ports(void *arg)
{
	return write_file("/proc/sys/net/ipv4/ip_local_reserved_ports", arg);
}

void cni_set_reserved_ports(struct cni_fixture *f, size_t pod, const char *ports)
{
	struct cni_pod *p = &f->pods[pod];

	assert_int_equal(in_netns(p->path, put_reserved_ports, (void *)ports), 0);
	cni_reserved_ports(p->path, p->reserved_before, sizeof(p->reserved_before));
}

void cni_assert_pod_clean(const struct cni_fixture *f, size_t pod)
{
	const struct cni_pod *p = &f->pods[pod];
	char reserved[256];

	if (access(p->path, F_OK) < 0)
		return;
	assert_int_equal(cni_prog_count_settled(p->path, 0), 0);
	assert_int_equal(cni_count_lines("203.0.113.", "ip -n %s -4 route show table all", p->name),
			 0);
	assert_int_equal(
		cni_count_lines("2001:db8:200:", "ip -n %s -6 route show table all", p->name), 0);
	cni_reserved_ports(p->path, reserved, sizeof(reserved));
	assert_string_equal(reserved, p->reserved_before);
}

void cni_assert_nothing_left(const struct cni_fixture *f, size_t pod)
{
	char network[PATH_MAX];

	snprintf(network, sizeof(network), "%s/%s", f->root, CNI_NETWORK);
	assert_int_equal(cni_dir_entries(network), 0);
	assert_int_equal(cni_prog_count_settled("/proc/thread-self/ns/net", 0), 0);
	assert_int_equal(cni_count_lines("203.0.113.", "ip -4 route show table all"), 0);
	assert_int_equal(cni_count_lines("2001:db8:200:", "ip -6 route show table all"), 0);
	cni_assert_pod_clean(f, pod);
}

int cni_pod_socket(const struct cni_fixture *f, size_t pod, int type, const char *addr)
{
	struct skl_err err = { 0 };
	int ns = open(f->pods[pod].path, O_RDONLY | O_CLOEXEC), saved, fd;

	assert_true(ns >= 0);
	/* Teardown brings the thread back if the server cannot be made. */
	assert_int_equal(skl_netns_enter(ns, &saved, &err), 0);
	close(ns);
	fd = fixture_server(type, addr, 0, true);
	assert_int_equal(skl_netns_leave(saved, &err), 0);
	return fd;
}

int cni_pod_server(const struct cni_fixture *f, size_t pod, const char *dir, const char *label,
		   int type, const char *addr)
{
	struct skl_dispatcher d;
	struct skl_err err = { 0 };
	int fd = cni_pod_socket(f, pod, type, addr);
	uint32_t id;

	skl_dispatcher_init(&d);
	if (skl_dispatcher_open(&d, dir, &err) || skl_label_lookup(&d, label, &id, &err) ||
	    skl_socket_register(&d, id, fd, &err)) {
		close(fd);
		skl_dispatcher_close(&d);
		fail_msg("register %s: %s", label, err.msg);
	}
	skl_dispatcher_close(&d);
	return fd;
}

int cni_deliver_in_pod(const struct cni_fixture *f, size_t pod, int type, const char *addr,
		       uint16_t port, int server)
{
	struct skl_err err = { 0 };
	int ns = open(f->pods[pod].path, O_RDONLY | O_CLOEXEC), saved, hit;

	assert_true(ns >= 0);
	assert_int_equal(skl_netns_enter(ns, &saved, &err), 0);
	close(ns);
	hit = fixture_deliver(type, addr, port, &server, 1);
	assert_int_equal(skl_netns_leave(saved, &err), 0);
	return hit;
}
