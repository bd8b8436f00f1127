#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz` / `make fuzz-ci`:
#
#   fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# For each target: every input in fuzz/regressions/TARGET/ once (crashes
# found earlier; they fail until the bug is fixed), then SECONDS of fuzzing
# from the seeds in fuzz/corpus/TARGET/. The seeds are only read: new
# inputs go to BUILD_DIR/corpus/TARGET/ (kept between runs), crashes to
# BUILD_DIR/artifacts/TARGET/, libFuzzer's output to BUILD_DIR/logs/.
#
# Each run ends with a summary line in cmocka's format, which is what
# test/run-all.sh counts: a clean run is 1 passed test, a crash (sanitizer
# report, abort() of a property check, leak, timeout) 1 failed test. A
# target whose stored crashes still crash is not fuzzed (skipped): it would
# only find them again. Exits non-zero if anything failed.
set -u

cd "$(dirname "$0")/.." || exit 1
if [ "$#" -lt 3 ]; then
	echo "usage: fuzz/run.sh BUILD_DIR SECONDS TARGET..." >&2
	exit 2
fi
build=$1 seconds=$2
shift 2

# verify_asan_link_order=0: run-all.sh runs us under stdbuf, which preloads
# a library ahead of the ASan runtime.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:verify_asan_link_order=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# fuzz_record's fake pins; a crash leaves them behind, so they live here.
export TMPDIR=$build/tmp
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR" || exit 1
TIMEOUT=10 # seconds one input may take: a config that slow is a bug too
failed=0

# Options per target: the longest input worth trying, and a dictionary of
# the tokens its syntax is made of (keys, keywords, separators).
options() {
	case $1 in
	strings) echo "-max_len=512 -dict=fuzz/dict/strings.dict" ;;
	record) echo "-max_len=12288 -dict=fuzz/dict/json.dict" ;;
	agent) echo "-max_len=4200 -dict=fuzz/dict/agent.dict" ;;
	cniargs) echo "-max_len=4200 -dict=fuzz/dict/cniargs.dict" ;;
	*) echo "-max_len=8192 -dict=fuzz/dict/json.dict" ;;
	esac
}

pass() {
	echo "[       OK ] $1"
	echo "[  PASSED  ] 1 test(s)."
}

fail() {
	echo "[  FAILED  ] $1"
	echo "[  FAILED  ] 1 test(s), listed below:"
	echo "[  FAILED  ] $1"
	failed=$((failed + 1))
}

# The last lines of a log: the sanitizer report or the broken property.
show_report() {
	echo "---- last lines of $1 ----"
	tail -n 40 "$1"
	echo "----"
}

run_regressions() {
	local target=$1 bin=$2 log=$3 inputs
	inputs=$(find "fuzz/regressions/$target" -type f ! -name '*.md' 2>/dev/null | sort)
	[ -n "$inputs" ] || return 0
	echo "[ RUN      ] fuzz_$target regressions ($(wc -l <<<"$inputs") inputs)"
	# shellcheck disable=SC2086 # one argument per input file
	if "$bin" -timeout=$TIMEOUT $inputs >"$log" 2>&1; then
		pass "fuzz_$target regressions"
		return 0
	fi
	show_report "$log"
	echo "fuzz_$target: a stored crash still crashes: the bug is not fixed"
	fail "fuzz_$target regressions"
	return 1
}

# libFuzzer's final statistics, as one line.
summarize() {
	local target=$1 log=$2 done_line runs rate added rss
	done_line=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	echo "fuzz_$target: ${runs:-?} runs in ${seconds} s (${rate:-?} exec/s)," \
		"$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$done_line")," \
		"${added:-?} new inputs, peak RSS ${rss:-?} MB"
}

run_target() {
	local target=$1 bin=$build/fuzz_$1 scratch=$build/corpus/$1 art=$build/artifacts/$1/
	local log=$build/logs/$1.log artifact
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin is missing: run make fuzz" >&2
		fail "fuzz_$target"
		return
	fi
	mkdir -p "$scratch" "$art" "$build/logs"
	if ! run_regressions "$target" "$bin" "$build/logs/$target-regressions.log"; then
		# It would find the same crash again at once and test nothing else.
		echo "fuzz_$target: not fuzzed until its stored crashes are fixed"
		echo "[  SKIPPED ] 1 test(s), listed below:"
		echo "[  SKIPPED ] fuzz_$target"
		return
	fi
	echo "[ RUN      ] fuzz_$target ${seconds} s"
	# The scratch directory comes first: libFuzzer writes new inputs there.
	# shellcheck disable=SC2046 # options() is a list of arguments
	if "$bin" -max_total_time="$seconds" -timeout=$TIMEOUT -print_final_stats=1 \
		-artifact_prefix="$art" $(options "$target") "$scratch" "fuzz/corpus/$target" \
		>"$log" 2>&1; then
		summarize "$target" "$log"
		pass "fuzz_$target"
		return
	fi
	show_report "$log"
	artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | cut -d' ' -f5)
	echo "fuzz_$target: crashed; the input is ${artifact:-in $art}. Minimize it with"
	echo "  $bin -minimize_crash=1 -runs=100000 -exact_artifact_path=fuzz/regressions/$target/NAME ${artifact:-FILE}"
	echo "and keep it there: the regression run fails until the bug is fixed."
	fail "fuzz_$target"
}

for target in "$@"; do
	run_target "$target"
done
[ "$failed" -eq 0 ]
