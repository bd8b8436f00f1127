#!/usr/bin/env bash
# check-hardening.sh [--static] BINARY...: fails unless every BINARY has the
# hardening the Makefile asks for, read from the ELF file itself:
#   PIE          ELF type DYN with the PIE flag (DF_1_PIE), so ASLR moves it;
#   full RELRO   a GNU_RELRO segment and BIND_NOW (every relocation done at
#                start, then the GOT is made read-only);
#   stack protector  functions of its own (those its debug info defines) call
#                __stack_chk_fail (-fstack-protector-strong);
#   FORTIFY      functions of its own call glibc's checked functions (__*_chk,
#                -D_FORTIFY_SOURCE);
# and with --static, that it loads nothing: no interpreter, no NEEDED library;
# and that none carries the test build's fault-injection hook.
# "Of its own": in a static binary libc.a brings __stack_chk_fail and Debian's
# libbpf.a calls __*_chk, so the symbols alone prove nothing there. Without
# debug info only a dynamic binary's imports are checked.
set -uo pipefail

# callers BINARY REGEX: the functions that call (or tail-call) a function
# whose name matches REGEX.
callers() {
	objdump -d --no-show-raw-insn "$1" |
		awk -v callee="$2" '/^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
		     /(call|jmp)/ && match($0, /<[^>+]+/) && substr($0, RSTART + 1, RLENGTH - 1) ~ callee { print fn }' |
		sort -u
}

# The functions the debug info defines (not those it only declares): ours and
# cJSON's; Debian's static libraries carry no debug info.
own_functions() {
	readelf --debug-dump=info "$1" 2>/dev/null | awk '
		/^ *<[0-9]+><[0-9a-f]+>:/ {
			if (sp && name != "" && !decl) print name
			sp = /DW_TAG_subprogram/; name = ""; decl = 0; next
		}
		sp && /DW_AT_name/ { name = $NF }
		sp && /DW_AT_declaration/ { decl = 1 }
		END { if (sp && name != "" && !decl) print name }' | sort -u
}

static=0
if [ "${1:-}" = --static ]; then
	static=1
	shift
fi
[ $# -gt 0 ] || { echo "usage: check-hardening.sh [--static] BINARY..." >&2; exit 2; }

failed=0
fail() {
	echo "check-hardening: $1: $2" >&2
	failed=1
	bin_failed=1
}

for bin in "$@"; do
	bin_failed=0
	if ! header=$(LC_ALL=C readelf -hW "$bin" 2>&1); then
		fail "$bin" "not an ELF file ($header)"
		continue
	fi
	dynamic=$(LC_ALL=C readelf -dW "$bin")
	segments=$(LC_ALL=C readelf -lW "$bin")
	sections=$(LC_ALL=C readelf -SW "$bin")
	# .symtab of a static binary, .dynsym of a dynamic one.
	symbols=$(LC_ALL=C readelf -sW "$bin" | awk '{ print $8 }' | sed 's/@.*//' | sort -u)

	grep -Eq '^ *Type: +DYN' <<<"$header" ||
		fail "$bin" "not PIE: ELF type is not DYN (link with -pie or -static-pie)"
	grep -Eq '\(FLAGS_1\) +Flags:.* PIE' <<<"$dynamic" ||
		fail "$bin" "not PIE: no PIE in DT_FLAGS_1"
	grep -q 'GNU_RELRO' <<<"$segments" ||
		fail "$bin" "no RELRO: no GNU_RELRO segment (link with -Wl,-z,relro)"
	grep -Eq '\(FLAGS\) +.*BIND_NOW|\(BIND_NOW\)|\(FLAGS_1\) +Flags:.* NOW' <<<"$dynamic" ||
		fail "$bin" "partial RELRO: no BIND_NOW (link with -Wl,-z,now)"
	if grep -q '\.debug_info' <<<"$sections"; then
		own=$(own_functions "$bin")
		[ -n "$(comm -12 <(callers "$bin" '^__stack_chk_fail(@plt)?$') - <<<"$own")" ] ||
			fail "$bin" "no stack protector: none of its functions calls __stack_chk_fail (-fstack-protector-strong)"
		[ -n "$(comm -12 <(callers "$bin" '^__[a-z_]+_chk(@plt)?$') - <<<"$own")" ] ||
			fail "$bin" "not fortified: none of its functions calls a __*_chk function (-D_FORTIFY_SOURCE=2 with -O)"
	elif [ "$static" -eq 0 ]; then
		grep -qx '__stack_chk_fail' <<<"$symbols" ||
			fail "$bin" "no stack protector: __stack_chk_fail is not called (-fstack-protector-strong)"
		grep -Eqx '__[a-z_]+_chk' <<<"$symbols" ||
			fail "$bin" "not fortified: no __*_chk function is called (-D_FORTIFY_SOURCE=2 with -O)"
	else
		echo "check-hardening: $bin: no debug info; stack protector and FORTIFY not checked" >&2
	fi
	# The fault-injection hook is built into the test helper only (cni.h).
	if grep -qx 'skl_cni_fault_hook' <<<"$symbols" ||
		grep -aq 'injected failure after ADD step' "$bin"; then
		fail "$bin" "has the test build's fault-injection hook (only helper_sklookup_fi may)"
	fi
	if [ "$static" -eq 1 ]; then
		grep -q 'INTERP' <<<"$segments" && fail "$bin" "not static: it has an ELF interpreter"
		grep -q '(NEEDED)' <<<"$dynamic" && fail "$bin" "not static: it needs shared libraries"
	fi
	[ "$bin_failed" -eq 0 ] && echo "check-hardening: $bin: PIE, full RELRO, stack protector, FORTIFY$([ "$static" -eq 1 ] && echo ", static")"
done
exit "$failed"
