#!/usr/bin/env bash
# install-on-node.sh: puts sklookup on a Kubernetes node. The DaemonSet in
# examples/daemonset.yaml runs it; it also runs by hand on a node, or
# against temporary directories (that is how the tests run it):
#
#   CNI_CONF_DIR=/tmp/conf CNI_BIN_DIR=/tmp/bin SKLOOKUP_BIN_SRC=build-static \
#       scripts/install-on-node.sh binaries config
#
# Steps (default: bpffs binaries config):
#   bpffs      mount bpffs at $BPFFS_DIR unless it is mounted there. In the
#              DaemonSet the host's /sys/fs/bpf is mounted with Bidirectional
#              propagation, so the mount appears on the host, where the
#              plugin (run by the container runtime) pins its state.
#   binaries   copy sklookup and sklookup-ctl from $SKLOOKUP_BIN_SRC into
#              $CNI_BIN_DIR: each to a temporary file in the same directory,
#              fsync, then rename() over the old one, so that a runtime
#              starting the plugin at that moment runs the old binary or the
#              new one, never a half-written file. An identical binary is
#              left alone.
#   config     add the sklookup entry to the lexically first config file in
#              $CNI_CONF_DIR (*.conf, *.conflist, *.json, as libcni sorts
#              them): containerd and CRI-O read only that one. An existing
#              sklookup entry is replaced in place, never duplicated; the
#              file is rewritten only when its content changes (written to a
#              temporary file, fsync, rename()). A single-plugin .conf/.json
#              is converted to a .conflist of the same name (the plugin,
#              then sklookup), and the original is kept as
#              .NAME.sklookup-orig (hidden: no runtime reads it), because a
#              .conf cannot chain plugins.
#   watch      run config every $SKLOOKUP_WATCH_SECONDS (30): the pod
#              network's own installer may rewrite its file; unchanged
#              files are not touched.
#   uninstall  remove the sklookup entry from the first config file and
#              the binaries from $CNI_BIN_DIR. Pods keep their dispatchers
#              until they are deleted.
#
# Environment:
#   CNI_BIN_DIR          /host/opt/cni/bin (the host's /opt/cni/bin mounted there)
#   CNI_CONF_DIR         /host/etc/cni/net.d
#   BPFFS_DIR            /sys/fs/bpf
#   SKLOOKUP_BIN_SRC     /opt/sklookup/bin (the static binaries, `make static`)
#   SKLOOKUP_ENTRY       the plugin entry, a JSON object with "type": "sklookup";
#   SKLOOKUP_ENTRY_FILE  or a file holding it. Default: annotations allowed on the
#                        pod's own addresses and ports 1024-65535.
#   SKLOOKUP_WAIT_SECONDS  how long config waits for the pod network to write
#                        its config file (0: fail at once when there is none)
#   SKLOOKUP_WATCH_SECONDS the watch period
#
# Needs bash, jq, coreutils (mktemp, sync, mv), and util-linux mount for the
# bpffs step. Exit status 0 on success; 1 with a one-line message otherwise.
set -euo pipefail

CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
BPFFS_DIR=${BPFFS_DIR:-/sys/fs/bpf}
SKLOOKUP_BIN_SRC=${SKLOOKUP_BIN_SRC:-/opt/sklookup/bin}
SKLOOKUP_WAIT_SECONDS=${SKLOOKUP_WAIT_SECONDS:-0}
SKLOOKUP_WATCH_SECONDS=${SKLOOKUP_WATCH_SECONDS:-30}
DEFAULT_ENTRY='{"type": "sklookup", "capabilities": {"io.kubernetes.cri.pod-annotations": true}, "annotations": {"allow": true}}'
BINARIES=(sklookup sklookup-ctl)

log() { echo "install-on-node: $*"; }

die() {
	echo "install-on-node: $*" >&2
	exit 1
}

TEMPS=()
remove_temps() {
	local t
	for t in "${TEMPS[@]}"; do
		rm -f "$t"
	done
}
trap remove_temps EXIT

# put_file SRC DEST: SRC's content as DEST, atomically (temp file in DEST's
# directory, fsync, rename), with DEST's old mode or MODE.
put_file() {
	local src=$1 dest=$2 mode=$3 tmp
	tmp=$(mktemp "$(dirname "$dest")/.sklookup-XXXXXX.tmp")
	TEMPS+=("$tmp")
	cat "$src" >"$tmp"
	chmod "$mode" "$tmp"
	sync "$tmp"
	mv -f "$tmp" "$dest"
	sync "$(dirname "$dest")" 2>/dev/null || true
}

step_bpffs() {
	if [ "$(stat -f -c %T "$BPFFS_DIR" 2>/dev/null)" = bpf_fs ]; then
		log "bpffs is mounted at $BPFFS_DIR"
		return
	fi
	mkdir -p "$BPFFS_DIR"
	# mode=0700: bpffs' default, 1777, lets anyone make directories in it
	# (such as the plugin's bpffsRoot before its first ADD).
	mount -t bpf -o mode=0700 bpf "$BPFFS_DIR" ||
		die "cannot mount bpffs at $BPFFS_DIR (privileged?)"
	log "mounted bpffs at $BPFFS_DIR"
}

step_binaries() {
	local b src dest
	[ -d "$CNI_BIN_DIR" ] || die "CNI_BIN_DIR $CNI_BIN_DIR is not a directory"
	for b in "${BINARIES[@]}"; do
		src=$SKLOOKUP_BIN_SRC/$b
		dest=$CNI_BIN_DIR/$b
		[ -f "$src" ] && [ -x "$src" ] || die "$src: no such executable (SKLOOKUP_BIN_SRC)"
		if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
			log "$dest is up to date"
			continue
		fi
		put_file "$src" "$dest" 0755
		log "installed $dest"
	done
	log "plugin: $(CNI_COMMAND=VERSION "$CNI_BIN_DIR/sklookup" </dev/null | jq -c .)"
}

entry() {
	local text
	if [ -n "${SKLOOKUP_ENTRY_FILE:-}" ]; then
		text=$(cat "$SKLOOKUP_ENTRY_FILE") || die "cannot read SKLOOKUP_ENTRY_FILE"
	else
		text=${SKLOOKUP_ENTRY:-$DEFAULT_ENTRY}
	fi
	jq -ce 'if type == "object" and .type == "sklookup" then . else empty end' <<<"$text" \
		2>/dev/null || die "the sklookup entry must be a JSON object with \"type\": \"sklookup\""
}

# The lexically first config file (byte order, as libcni's sort.Strings).
first_config() {
	find "$CNI_CONF_DIR" -maxdepth 1 -type f \
		\( -name '*.conf' -o -name '*.conflist' -o -name '*.json' \) ! -name '.*' \
		-printf '%f\n' | LC_ALL=C sort | head -n1
}

# jq: replace the first sklookup entry of .plugins in place (dropping any
# other), or append one.
PATCH='def patch($e):
  ([.plugins | to_entries[] | select(.value.type == "sklookup") | .key] | first) as $i
  | .plugins = (if $i == null then .plugins + [$e]
                else [.plugins[] | select(.type != "sklookup")] | .[:$i] + [$e] + .[$i:] end);'

step_config() {
	local entry first waited=0 src target new mode
	entry=$(entry)
	[ -d "$CNI_CONF_DIR" ] || die "CNI_CONF_DIR $CNI_CONF_DIR is not a directory"
	while first=$(first_config) && [ -z "$first" ]; do
		[ "$waited" -lt "$SKLOOKUP_WAIT_SECONDS" ] ||
			die "no CNI config (*.conf, *.conflist, *.json) in $CNI_CONF_DIR: install the pod network first"
		[ "$waited" -gt 0 ] || log "waiting for the pod network's config in $CNI_CONF_DIR"
		sleep 1
		waited=$((waited + 1))
	done
	src=$CNI_CONF_DIR/$first
	new=$(mktemp)
	TEMPS+=("$new")
	case $first in
	*.conflist)
		target=$src
		jq -e --argjson e "$entry" "$PATCH"'if (.plugins | type) == "array" then patch($e) else error("no plugins array") end' \
			"$src" >"$new" 2>/dev/null || die "$src: not a conflist with a \"plugins\" array"
		;;
	*)
		target=$CNI_CONF_DIR/${first%.*}.conflist
		jq -e --argjson e "$entry" "$PATCH"'if type == "object" and (.type | type) == "string" then
			{cniVersion, name, plugins: [del(.cniVersion, .name)]} | patch($e)
			else error("not a plugin config") end' \
			"$src" >"$new" 2>/dev/null || die "$src: not a CNI plugin config"
		;;
	esac
	if [ "$target" = "$src" ] && [ "$(jq -cS . "$src")" = "$(jq -cS . "$new")" ]; then
		log "$target already has the sklookup entry"
		return
	fi
	mode=$(stat -c %a "$src")
	put_file "$new" "$target" "$mode"
	if [ "$target" != "$src" ]; then
		# The .conflist sorts after the .conf of the same name: move the
		# .conf aside, so that the .conflist is the first file.
		mv -f "$src" "$CNI_CONF_DIR/.$first.sklookup-orig"
		log "converted $src to $target (original kept as .$first.sklookup-orig)"
	fi
	log "added the sklookup entry to $target"
}

step_uninstall() {
	local first src new b
	first=$(first_config)
	if [ -n "$first" ] && [[ $first == *.conflist ]]; then
		src=$CNI_CONF_DIR/$first
		new=$(mktemp)
		TEMPS+=("$new")
		jq '.plugins |= map(select(.type != "sklookup"))' "$src" >"$new" ||
			die "$src: not a conflist"
		if [ "$(jq -cS . "$src")" != "$(jq -cS . "$new")" ]; then
			put_file "$new" "$src" "$(stat -c %a "$src")"
			log "removed the sklookup entry from $src"
		fi
	fi
	for b in "${BINARIES[@]}"; do
		rm -f "$CNI_BIN_DIR/$b"
	done
	log "removed ${BINARIES[*]} from $CNI_BIN_DIR"
}

step_watch() {
	while :; do
		(step_config) || log "config failed; retrying in ${SKLOOKUP_WATCH_SECONDS}s"
		sleep "$SKLOOKUP_WATCH_SECONDS"
	done
}

command -v jq >/dev/null || die "jq is missing"
[ $# -gt 0 ] || set -- bpffs binaries config
for step in "$@"; do
	case $step in
	bpffs | binaries | config | watch | uninstall) "step_$step" ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown step \"$step\" (bpffs, binaries, config, watch, uninstall)" ;;
	esac
done
