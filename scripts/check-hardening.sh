#!/usr/bin/env bash
# check-hardening.sh [--static] BINARY...: fails unless every BINARY has the
# hardening the Makefile asks for, read from the ELF file itself:
#   PIE          ELF type DYN with the PIE flag (DF_1_PIE), so ASLR moves it;
#   full RELRO   a GNU_RELRO segment and BIND_NOW (every relocation done at
#                start, then the GOT is made read-only);
#   stack protector  functions of our own (those the debug info defines)
#                call __stack_chk_fail (-fstack-protector-strong): the symbol
#                alone proves nothing in a static binary, libc.a brings it;
#   FORTIFY      it calls glibc's checked functions (__*_chk, -D_FORTIFY_SOURCE),
#                which libc.a itself does not;
# and with --static, that it loads nothing: no interpreter, no NEEDED library.
set -uo pipefail

# The functions that call __stack_chk_fail.
protected_functions() {
	objdump -d --no-show-raw-insn "$1" |
		awk '/^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
		     /call.*<__stack_chk_fail/ { print fn }' | sort -u
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
	if LC_ALL=C readelf -SW "$bin" | grep -q '\.debug_info'; then
		[ -n "$(comm -12 <(protected_functions "$bin") <(own_functions "$bin"))" ] ||
			fail "$bin" "no stack protector: none of its functions calls __stack_chk_fail (-fstack-protector-strong)"
	elif [ "$static" -eq 0 ]; then
		grep -qx '__stack_chk_fail' <<<"$symbols" ||
			fail "$bin" "no stack protector: __stack_chk_fail is not called (-fstack-protector-strong)"
	else
		echo "check-hardening: $bin: no debug info, the stack protector is not checked" >&2
	fi
	grep -Eqx '__[a-z_]+_chk' <<<"$symbols" ||
		fail "$bin" "not fortified: no __*_chk function is called (-D_FORTIFY_SOURCE=2 with -O)"
	if [ "$static" -eq 1 ]; then
		grep -q 'INTERP' <<<"$segments" && fail "$bin" "not static: it has an ELF interpreter"
		grep -q '(NEEDED)' <<<"$dynamic" && fail "$bin" "not static: it needs shared libraries"
	fi
	[ "$bin_failed" -eq 0 ] && echo "check-hardening: $bin: PIE, full RELRO, stack protector, FORTIFY$([ "$static" -eq 1 ] && echo ", static")"
done
exit "$failed"
