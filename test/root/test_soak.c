/*
 * Load through libcni with the real chain (bridge + host-local + sklookup),
 * inside a throwaway "host" netns: many ADD/DEL cycles of one pod, and 32
 * pods added and deleted at once. Zero failures, and afterwards no pin, no
 * link, no route, no netns left, and the kernel's BPF objects (programs and
 * maps, with their memory) back to what they were. SOAK_CYCLES sets the
 * number of cycles (default 100; `make soak` runs 1000).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>

#include "testbin.h"
#include "testnet.h"

#define N_CONCURRENT 32

struct soak {
	int saved_netns;
	char root[256], conflist[128], cache[128], ipam[128];
};

/* Every BPF program and map of the machine: how many, and their memory. */
struct bpf_usage {
	unsigned progs, maps;
	unsigned long long memlock;
};

static unsigned long long fd_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void bpf_usage(struct bpf_usage *u)
{
	uint32_t id = 0;

	memset(u, 0, sizeof(*u));
	while (!bpf_prog_get_next_id(id, &id)) {
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		u->progs++;
		u->memlock += fd_memlock(fd);
		close(fd);
	}
	id = 0;
	while (!bpf_map_get_next_id(id, &id)) {
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		u->maps++;
		u->memlock += fd_memlock(fd);
		close(fd);
	}
}

/* Objects are freed after an RCU grace period: wait a little for them. */
static void assert_back_to(const struct bpf_usage *before)
{
	struct bpf_usage now;

	for (int i = 0; i < 100; i++) {
		bpf_usage(&now);
		if (now.progs <= before->progs && now.maps <= before->maps &&
		    now.memlock <= before->memlock)
			return;
		usleep(50000);
	}
	fail_msg("BPF objects not released: %u progs, %u maps, %llu bytes (before: %u, %u, %llu)",
		 now.progs, now.maps, now.memlock, before->progs, before->maps, before->memlock);
}

static int setup(void **state)
{
	struct soak *s = calloc(1, sizeof(*s));
	FILE *f;

	assert_non_null(s);
	assert_int_equal(testnet_unshare_netns(&s->saved_netns), 0);
	assert_int_equal(testnet_bpffs_tmpdir(s->root, sizeof(s->root)), 0);
	snprintf(s->conflist, sizeof(s->conflist), "/tmp/sklt-soak-%d.conflist", getpid());
	snprintf(s->cache, sizeof(s->cache), "/tmp/sklt-soak-%d-cache", getpid());
	snprintf(s->ipam, sizeof(s->ipam), "/tmp/sklt-soak-%d-ipam", getpid());
	f = fopen(s->conflist, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"cniVersion\": \"1.0.0\", \"name\": \"sklt-soak\", \"plugins\": ["
		" {\"type\": \"bridge\", \"bridge\": \"sklt-sbr0\", \"isGateway\": true,"
		"  \"ipMasq\": false, \"ipam\": {\"type\": \"host-local\","
		"  \"subnet\": \"198.51.100.0/24\", \"dataDir\": \"%s\"}},"
		" {\"type\": \"sklookup\", \"bpffsRoot\": \"%s\", \"routes\": {\"pod\": true},"
		"  \"bindings\": ["
		"   {\"label\": \"web\", \"protocol\": \"tcp\", \"prefix\": \"203.0.113.0/24\","
		"    \"ports\": [\"80\", \"8000-8999\"]},"
		"   {\"label\": \"proxy\", \"protocol\": \"tcp\", \"prefix\": \"pod\","
		"    \"missing\": \"pass\"}]}]}",
		s->ipam, s->root);
	assert_int_equal(fclose(f), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct soak *s = *state;
	int ret;

	testnet_run("for n in $(ip netns list | awk '/^sklt-soak-%d-/ {print $1}'); do "
		    "ip netns del $n; done",
		    getpid());
	testnet_run("rm -rf %s %s %s", s->conflist, s->cache, s->ipam);
	testnet_rm_rf_bpffs(s->root);
	ret = testnet_restore_netns(s->saved_netns);
	free(s);
	return ret;
}

static pid_t start_cniclient(const struct soak *s, const char *verb, int pod)
{
	char netns[128], cid[32], cni_path[PATH_MAX + 32], cniclient[PATH_MAX];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	snprintf(netns, sizeof(netns), "/var/run/netns/sklt-soak-%d-%d", getppid(), pod); /* the child names the test process's pods */
	snprintf(cid, sizeof(cid), "soak%d", pod);
	snprintf(cni_path, sizeof(cni_path), "/usr/lib/cni:%s", testbin_dir());
		testbin_path(cniclient, sizeof(cniclient), "test/cniclient");
	if (!freopen("/dev/null", "w", stdout))
		_exit(126);
	execl(cniclient, cniclient, "--cni-path", cni_path, "--cache-dir", s->cache, verb,
	      s->conflist, cid, netns, "eth0", (char *)NULL);
	_exit(127);
}

static int wait_ok(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void make_pod(int pod)
{
	assert_int_equal(testnet_run("ip netns add sklt-soak-%d-%d && ip -n sklt-soak-%d-%d link set lo up",
				     getpid(), pod, getpid(), pod),
			 0);
}

static void assert_nothing_left(const struct soak *s)
{
	char network[PATH_MAX];
	DIR *d;

	snprintf(network, sizeof(network), "%s/sklt-soak", s->root);
	d = opendir(network);
	if (d) {
		int entries = 0;

		for (struct dirent *e; (e = readdir(d));)
			entries += e->d_name[0] != '.';
		closedir(d);
		assert_int_equal(entries, 0);
	}
	assert_int_not_equal(testnet_run("ip route show table all | grep -q 203.0.113"), 0);
}

static void cycles_of_one_pod(void **state)
{
	const char *env = getenv("SOAK_CYCLES");
	int cycles = env ? atoi(env) : 100, failed = 0;
	struct soak *s = *state;
	struct bpf_usage before;

	bpf_usage(&before);
	make_pod(0);
	for (int i = 0; i < cycles; i++) {
		failed += !wait_ok(start_cniclient(s, "add", 0));
		failed += !wait_ok(start_cniclient(s, "del", 0));
	}
	print_message("%d ADD/DEL cycles, %d failures\n", cycles, failed);
	assert_int_equal(failed, 0);
	assert_nothing_left(s);
	assert_back_to(&before);
}

static void concurrent_pods(void **state)
{
	struct soak *s = *state;
	struct bpf_usage before;
	pid_t pids[N_CONCURRENT];
	int failed = 0;

	bpf_usage(&before);
	for (int i = 0; i < N_CONCURRENT; i++)
		make_pod(i);
	for (int i = 0; i < N_CONCURRENT; i++)
		pids[i] = start_cniclient(s, "add", i);
	for (int i = 0; i < N_CONCURRENT; i++)
		failed += !wait_ok(pids[i]);
	assert_int_equal(failed, 0);
	assert_int_equal(testnet_run("test $(ls %s/sklt-soak | wc -l) -eq %d", s->root, N_CONCURRENT),
			 0);
	for (int i = 0; i < N_CONCURRENT; i++)
		pids[i] = start_cniclient(s, "del", i);
	for (int i = 0; i < N_CONCURRENT; i++)
		failed += !wait_ok(pids[i]);
	assert_int_equal(failed, 0);
	assert_nothing_left(s);
	assert_back_to(&before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cycles_of_one_pod, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_pods, setup, teardown),
	};

	return cmocka_run_group_tests_name("load through libcni", tests, NULL, NULL);
}
