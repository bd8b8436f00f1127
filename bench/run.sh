#!/usr/bin/env bash
# `make bench`: runs every benchmark in turn and ends with one table, a line
# per figure: name | value | baseline | ratio | target | met. Each benchmark
# works in throwaway namespaces and cleans up after itself (also on Ctrl-C);
# this script checks that nothing was left behind.
#
#   bench/run.sh [BUILD_DIR [STATIC_BUILD_DIR]]   (as root; BUILD_DIR defaults
#                                                 to build; cni_cost also
#                                                 measures the static binary)
#
# Exits non-zero if a benchmark could not run or left something behind, not
# when a target is missed (that shows as "NOT MET" in the table).
set -u

BUILD=${1:-build}
STATIC_BUILD=${2:-}
BENCHES="traffic lookup_cost cni_cost memory bind_cost monitor_cost" # in figure order
cd "$(dirname "$0")/.." || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (the benchmarks load BPF and create network namespaces)" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# On Ctrl-C the benchmark (same process group) cleans up and dies of the
# signal; bash runs this trap once it has, so the table is skipped.
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM HUP

leftovers() {
	ls -d /sys/fs/bpf/sklookup-test-bench-* /tmp/sklt-bench-* 2>/dev/null
	ip -o link show 2>/dev/null | grep -E 'sklb-' || true
}

# Waits (at most 20 s) until the kernel is done with the previous benchmark:
# freeing a million-entry map takes seconds of kernel time after its
# process has exited, which would steal CPU from the next measurement.
settle() {
	local i busy
	for i in $(seq 1 40); do
		busy=$(
			read -r _ u1 n1 s1 i1 w1 q1 sq1 _ </proc/stat
			sleep 0.5
			read -r _ u2 n2 s2 i2 w2 q2 sq2 _ </proc/stat
			total=$(((u2 + n2 + s2 + i2 + w2 + q2 + sq2) - (u1 + n1 + s1 + i1 + w1 + q1 + sq1)))
			echo $(((s2 + q2 + sq2 - s1 - q1 - sq1) * 100 / (total > 0 ? total : 1)))
		)
		[ "$busy" -lt 10 ] && return 0
	done
	echo "bench: the kernel is still busy (${busy}% system time); measuring anyway" >&2
}

start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== sklookup benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "   kernel $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "   commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git --no-optional-locks diff --quiet HEAD -- bpf plugin bench 2>/dev/null || echo ' + local changes')"
echo "   load average before: $load_before"

failed=0
for b in $BENCHES; do
	settle
	echo
	echo "== $b"
	args=()
	if [ "$b" = cni_cost ] && [ -n "$STATIC_BUILD" ]; then
		args=(31 "$BUILD" "$STATIC_BUILD")
	fi
	"$BUILD/bench/$b" "${args[@]}" | tee -i -a "$log"
	status=${PIPESTATUS[0]}
	# Killed by SIGINT/SIGTERM/SIGHUP (it cleaned up first): stop here.
	case $status in 129 | 130 | 143)
		echo "bench: $b was interrupted; stopping" >&2
		exit 130
		;;
	esac
	if [ "$status" -ne 0 ]; then
		echo "bench: $b could not run (exit $status); its figures are missing" >&2
		failed=1
	fi
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "== summary ($(($(date +%s) - start)) s; load average before: $load_before, after: $load_after)"
echo
echo "| figure | value | baseline | ratio | target | met |"
echo "| --- | --- | --- | --- | --- | --- |"
awk -F'|' '$1 == "RESULT" { printf "| %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7 }' "$log"

left=$(leftovers)
if [ -n "$left" ]; then
	echo "bench: left behind: $left" >&2
	failed=1
fi
exit $failed
