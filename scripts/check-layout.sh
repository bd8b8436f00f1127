#!/usr/bin/env bash
# The tree's rules that the compiler does not enforce (README, "Layout"):
# plugin/lib/ includes nothing from the programs and never prints (errors
# go up in struct skl_err; only the programs print), no program reaches
# into another's folder except where named below, and no exit status is
# stored as an error code.
set -u
cd "$(dirname "$0")/.." || exit 1
status=0

complain() {
	echo "check-layout: $*" >&2
	status=1
}

# The library: no program header, no output.
if hits=$(grep -nE '#include "\.\./' plugin/lib/*.[ch]); then
	complain "plugin/lib includes a program's header:"$'\n'"$hits"
fi
if hits=$(grep -nE '(^|[^a-z_])(printf|fprintf|vfprintf|puts|fputs|perror|putchar)\(|\b(stdout|stderr)\b' \
	plugin/lib/*.[ch]); then
	complain "plugin/lib prints (return a struct skl_err instead):"$'\n'"$hits"
fi

# Programs: sklookup (cni) stands alone; sklookup-ctl carries the agent, so
# ctl and agent may name each other's headers, nothing else may cross.
if hits=$(grep -nE '#include "\.\./' plugin/cni/*.[ch]); then
	complain "plugin/cni includes another program's header:"$'\n'"$hits"
fi
if hits=$(grep -nE '#include "\.\./' plugin/ctl/*.[ch] plugin/agent/*.[ch] |
	grep -vE '#include "\.\./(ctl|agent)/'); then
	complain "plugin/ctl or plugin/agent includes from outside the two:"$'\n'"$hits"
fi
# One error type per audience: struct skl_err carries CNI codes only;
# sklookup-ctl's exit statuses (SKL_EXIT_*) never go into it.
if hits=$(grep -nE '(skl_errf\([^,]*, *|->code *= *|\.code *= *)SKL_EXIT_' plugin/*/*.[ch]); then
	complain "an exit status stored as an error code (use skl_ctl_failed):"$'\n'"$hits"
fi
exit $status
