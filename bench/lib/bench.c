#include "bench.h"

#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define MAX_CLEANUPS 16

static const char *bench_name = "bench";
static void (*cleanups[MAX_CLEANUPS])(void);
static int n_cleanups;
static volatile sig_atomic_t cleaning;

static void run_cleanups(void)
{
	/* Pop each hook before running it, so a hook that fails (and calls
	 * bench_fail) or a signal during cleanup never runs it twice. */
	cleaning = 1;
	while (n_cleanups > 0) {
		void (*fn)(void) = cleanups[--n_cleanups];

		fn();
	}
}

static void on_signal(int sig)
{
	/* Not async-signal-safe in general, but the benchmark thread is
	 * stopped here and leaving namespaces, pins or files behind is worse. */
	run_cleanups();
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_init(const char *name)
{
	struct sigaction sa = { .sa_handler = on_signal };

	bench_name = name;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(run_cleanups);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void bench_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", bench_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cleaning) /* exit() again from an atexit hook is undefined */
		_exit(1);
	exit(1);
}

void bench_on_cleanup(void (*fn)(void))
{
	if (n_cleanups == MAX_CLEANUPS)
		bench_fail("too many cleanup hooks");
	cleanups[n_cleanups++] = fn;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const double *v, int n)
{
	double sorted[BENCH_MAX_ROUNDS];

	if (n < 1 || n > BENCH_MAX_ROUNDS)
		bench_fail("median of %d values: use 1..%d", n, BENCH_MAX_ROUNDS);
	memcpy(sorted, v, (size_t)n * sizeof(*v));
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_double);
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

double bench_min(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

void bench_sh(const char *fmt, ...)
{
	char command[4096];
	va_list ap;
	int n, status;

	va_start(ap, fmt);
	n = vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(command))
		bench_fail("shell command too long: %.80s...", command);
	fflush(NULL);
	status = system(command);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_fail("'%s' failed (status %d)", command, status);
}

void bench_private_netns(void)
{
	if (unshare(CLONE_NEWNET))
		bench_fail("unshare(CLONE_NEWNET): %s (run as root)", strerror(errno));
	bench_sh("ip link set lo up");
}

void bench_pin_cpu(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n > 0 ? cpu % n : 0, &set);
	/* Best effort: a restricted cpuset only makes the figures noisier. */
	sched_setaffinity(0, sizeof(set), &set);
}

uint64_t bench_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long bytes = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		bench_fail("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &bytes) == 1)
			found = true;
	fclose(f);
	if (!found)
		bench_fail("%s has no memlock line: fd %d is not a BPF object", path, fd);
	return bytes;
}

int bench_empty_sk_lookup_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_LOOKUP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SK_LOOKUP, "empty", "GPL", insns, 2, &opts);

	if (fd < 0)
		bench_fail("loading the empty SK_PASS program: %s", strerror(errno));
	return fd;
}

double bench_loadavg(void)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	return load;
}

void bench_result(const char *name, const char *value, const char *baseline, double ratio,
		  const char *target, enum bench_verdict verdict)
{
	const char *met = verdict == BENCH_MET ? "met" : verdict == BENCH_NOT_MET ? "NOT MET" : "-";

	/* Three decimals (1.300 vs a limit of 1.3 is not rounded into looking
	 * like it), or an exponent for the tiny and huge ratios of figure 6. */
	if (ratio >= 0.001 && ratio < 1000)
		printf("RESULT|%s|%s|%s|%.3f|%s|%s\n", name, value, baseline, ratio, target, met);
	else
		printf("RESULT|%s|%s|%s|%.2e|%s|%s\n", name, value, baseline, ratio, target, met);
}

enum bench_verdict bench_at_most(double ratio, double limit)
{
	return ratio <= limit ? BENCH_MET : BENCH_NOT_MET;
}

enum bench_verdict bench_at_least(double ratio, double limit)
{
	return ratio >= limit ? BENCH_MET : BENCH_NOT_MET;
}
