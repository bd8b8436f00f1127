#!/usr/bin/env bash
# Runs every test suite after `make all tests`, `make SANITIZE=1 tests` and `make static`:
# unit tests plain, with ASan+UBSan and under valgrind, the fuzz targets
# briefly (make fuzz-ci), then the root tests plain and again with ASan+UBSan
# (the tests and every binary they run), then checks that the shipped
# binaries are hardened and that no test left network namespaces, bpffs
# entries or sk_lookup links behind. Prints "N passed, N failed" last; exits non-zero
# if anything failed.
set -u

cd "$(dirname "$0")/.." || exit 1
export PATH="$PATH:/usr/sbin:/sbin"
unset CMOCKA_MESSAGE_OUTPUT CMOCKA_XML_FILE # keep cmocka's standard summary lines

TIMEOUT=${SKL_TEST_TIMEOUT:-600} # seconds per test binary
BPFFS=/sys/fs/bpf
passed=0
failed=0
skipped=0 # reported, not part of the totals line
log=$(mktemp)
# Sanitizer reports of the sanitized root pass, one file per reporting
# process; sticky and world-writable like /tmp, since tests also run the
# binaries as an unprivileged user.
san_logs=$(mktemp -d)
chmod 1777 "$san_logs"
trap 'rm -f "$log"; rm -rf "$san_logs"' EXIT

is_root() {
	[ "$(id -u)" -eq 0 ]
}

mount_bpffs() {
	[ "$(stat -f -c %T "$BPFFS" 2>/dev/null)" = bpf_fs ] && return 0
	if ! is_root; then
		echo "run-all: bpffs is not mounted at $BPFFS and mounting it needs root" >&2
		return 0
	fi
	mount -t bpf bpf "$BPFFS" || echo "run-all: cannot mount bpffs at $BPFFS" >&2
}

# Sums the N of every cmocka summary line matching $1 in the log.
sum_summary() {
	grep -oE "$1" "$log" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'
}

# run KIND COMMAND...: runs one test binary, streams its output, adds its
# results to the totals.
run() {
	local kind=$1 status run_passed run_failed run_skipped note=""
	shift
	echo "==== [$kind] $* ===="
	# Line-buffered stdout keeps cmocka's stdout and stderr lines in order.
	timeout --kill-after=10 "$TIMEOUT" stdbuf -oL "$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	run_passed=$(sum_summary '\[  PASSED  \] [0-9]+ test\(s\)\.')
	run_failed=$(sum_summary '\[  FAILED  \] [0-9]+ test\(s\)')
	run_skipped=$(sum_summary '\[  SKIPPED \] [0-9]+ test\(s\)')
	if [ "$status" -ne 0 ] && [ "$run_failed" -eq 0 ]; then
		run_failed=1
		case $status in
		124 | 137) note=" (timed out after ${TIMEOUT}s)" ;;
		*) note=" (exit $status without a failed test: crash, sanitizer or valgrind error)" ;;
		esac
	elif [ "$status" -eq 0 ] && [ $((run_passed + run_failed + run_skipped)) -eq 0 ]; then
		run_failed=1
		note=" (reported no cmocka results)"
	fi
	echo "---- [$kind] ${*: -1}: $run_passed passed, $run_failed failed," \
		"$run_skipped skipped$note ----"
	passed=$((passed + run_passed))
	failed=$((failed + run_failed))
	skipped=$((skipped + run_skipped))
}

fail_one() {
	echo "run-all: FAILED: $*" >&2
	failed=$((failed + 1))
}

# run_each KIND GLOB [COMMAND PREFIX...]: runs every binary matching GLOB.
run_each() {
	local kind=$1 pattern=$2 found=0 bin
	shift 2
	for bin in $pattern; do
		[ -x "$bin" ] || continue
		found=1
		run "$kind" "$@" "$bin"
	done
	[ "$found" -eq 1 ] || fail_one "no test binaries match $pattern (run make all tests first)"
}

run_root_tests() {
	local bin
	if is_root; then
		run_each root 'build/test/root/test_*'
		return
	fi
	for bin in build/test/root/test_*; do
		[ -x "$bin" ] && fail_one "$bin needs root (CAP_SYS_ADMIN, CAP_BPF, CAP_NET_ADMIN); run make test as root"
	done
}

# The root suites against the ASan+UBSan build: the test binaries of
# build-san, and through SKL_BUILD every plugin, sklookup-ctl and helper they
# exec (cni_start passes the *SAN_OPTIONS on to the plugin). The first
# sanitizer error ends the process that has it with exit 86, which none of
# our binaries uses: a test that expects a plugin to fail with 1 sees 86
# (and, stdout being lost, no error JSON). ASan and LeakSanitizer reports
# also go to files (log_path), which catches a process whose status or
# stderr no test looks at (a plugin run by libcni, the agent): any report
# fails the suite. UBSan reports cannot: GCC links libubsan beside libasan,
# and libasan's __sanitizer_set_report_path interposes libubsan's, so UBSan
# ignores log_path and writes to stderr; its exit 86 is what fails a test.
# test_podman is not run again: it runs the static build, not SKL_BUILD's.
# Every other suite is; the slowest (test_agent, test_soak, test_cni) take
# 10-20 s each here, the whole pass about a minute.
run_sanitized_root_tests() {
	local bin reports
	local asan="detect_leaks=1:verify_asan_link_order=0:halt_on_error=1:exitcode=86"
	local ubsan="print_stacktrace=1:halt_on_error=1:exitcode=86"

	is_root || return 0 # run_root_tests said why
	for bin in build-san/test/root/test_*; do
		[ -x "$bin" ] || { fail_one "no sanitized root tests (run make SANITIZE=1 tests)"; return; }
		case ${bin##*/} in test_podman) continue ;; esac
		rm -f "$san_logs"/*
		run root+asan+ubsan env SKL_BUILD=build-san \
			ASAN_OPTIONS="$asan:log_path=$san_logs/report" UBSAN_OPTIONS="$ubsan" "$bin"
		reports=$(compgen -G "$san_logs/report.*" | wc -l)
		if [ "$reports" -ne 0 ]; then
			tail -n +1 "$san_logs"/report.*
			fail_one "$reports sanitizer report(s) while running $bin (above)"
		fi
	done
}

# Counted as one test: no netns, bpffs entry or sk_lookup link left behind.
check_leaks() {
	local netns dirs links leaked=0
	echo "==== [leaks] namespaces, bpffs entries, sk_lookup links ===="
	netns=$(ip netns list 2>/dev/null | awk '$1 ~ /^sklt-/ { print $1 }')
	if [ -n "$netns" ]; then
		echo "leaked network namespaces:" $netns
		leaked=1
	fi
	dirs=$(compgen -G "$BPFFS/sklookup-test-*")
	if [ -n "$dirs" ]; then
		echo "leaked bpffs entries:" $dirs
		leaked=1
	fi
	# test_bgp's BIRD daemons run on configs in /tmp/sklt-bgp-PID.
	if pgrep -af 'bird .*/tmp/sklt-'; then
		echo "leaked BGP daemons (above)"
		leaked=1
	fi
	if ! links=$(bpftool link show 2>&1); then
		echo "cannot list BPF links: $links"
		leaked=1
	elif [ "$(grep -c sk_lookup <<<"$links")" -ne 0 ]; then
		echo "leaked sk_lookup links:"
		grep -B1 -A1 sk_lookup <<<"$links"
		leaked=1
	fi
	if [ "$leaked" -eq 0 ]; then
		echo "---- [leaks] nothing left behind ----"
		passed=$((passed + 1))
	else
		fail_one "leak check (see above)"
	fi
}

# check NAME WHAT COMMAND...: a check of the whole tree, counted as one test.
check() {
	local name=$1 what=$2
	shift 2
	echo "==== [$name] ===="
	if "$@"; then
		echo "---- [$name] $what ----"
		passed=$((passed + 1))
	else
		fail_one "$name check (see above)"
	fi
}

# The shipped binaries, dynamic (build/) and static (build-static/, from make
# static), are PIE with full RELRO, stack protector and _FORTIFY_SOURCE.
check_hardening() {
	scripts/check-hardening.sh build/sklookup build/sklookup-ctl &&
		scripts/check-hardening.sh --static build-static/sklookup build-static/sklookup-ctl \
			build-static/examples/lfd-echo
}

mount_bpffs
check hardening "PIE, full RELRO, stack protector, FORTIFY" check_hardening
# The library includes nothing from the programs and never prints.
check layout "the library stands alone and prints nothing" scripts/check-layout.sh
run_each unit 'build/test/unit/test_*'
# verify_asan_link_order=0: stdbuf preloads a library ahead of the ASan runtime.
run_each asan+ubsan 'build-san/test/unit/test_*' env \
	ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1
run_each valgrind 'build/test/unit/test_*' \
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
# The libFuzzer targets (fuzz/), built here with clang: stored crashes replayed,
# then 10 s each; fuzz/run.sh prints a cmocka-style result per run.
run fuzz make --no-print-directory -s fuzz-ci
run_root_tests
run_sanitized_root_tests
check_leaks

[ "$skipped" -eq 0 ] || echo "($skipped skipped tests are not counted)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
