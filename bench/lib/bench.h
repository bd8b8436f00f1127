/*
 * Shared by the benchmarks: failing loudly, clocks, medians, a private
 * netns, cleanup on exit and on Ctrl-C, and the one line per figure that
 * bench/run.sh gathers into the summary table.
 */
#ifndef SKL_BENCH_H
#define SKL_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_ROUNDS 64

/* Names the program in messages ("lookup_cost: ..."). Call first. */
void bench_init(const char *name);

/* Prints "name: message" to stderr, runs the cleanup hooks and exits 1:
 * a benchmark that cannot run must not print figures. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Cleanup run at exit, on bench_fail and on SIGINT/SIGTERM/SIGHUP, newest
 * first, each at most once. */
void bench_on_cleanup(void (*fn)(void));

uint64_t bench_now_ns(void);

/* Median and minimum of n values (v is not reordered). */
double bench_median(const double *v, int n);
double bench_min(const double *v, int n);

/* Moves the whole process into a new anonymous netns with lo up. Everything
 * configured there disappears with the process. */
void bench_private_netns(void);

/* Runs a printf-formatted shell command; fails the benchmark unless it
 * exits 0. */
void bench_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Pins the calling thread to one CPU (modulo the CPUs there are). */
void bench_pin_cpu(int cpu);

/* The kernel's accounting of one BPF program or map ("memlock:" in
 * /proc/self/fdinfo/FD), in bytes. */
uint64_t bench_memlock(int fd);

/* Loads "return SK_PASS" as an sk_lookup program: the floor. */
int bench_empty_sk_lookup_prog(void);

/* Reads /proc/loadavg's first figure. */
double bench_loadavg(void);

/* One figure of the summary: a machine-readable line bench/run.sh collects
 *   RESULT|name|value|baseline|ratio|target|met
 * met: "met", "NOT MET", or "-" when the figure has no target. */
enum bench_verdict { BENCH_INFO = -1, BENCH_NOT_MET = 0, BENCH_MET = 1 };
void bench_result(const char *name, const char *value, const char *baseline, double ratio,
		  const char *target, enum bench_verdict verdict);

/* Verdict of "ratio <= limit" / "ratio >= limit". */
enum bench_verdict bench_at_most(double ratio, double limit);
enum bench_verdict bench_at_least(double ratio, double limit);

#endif
