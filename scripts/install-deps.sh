#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build and test sklookup, and only
# those that are missing (so it is cheap to run on every `scripts/test`).
set -euo pipefail

PACKAGES=(
	build-essential clang llvm libbpf-dev bpftool libcjson-dev libcmocka-dev
	libelf-dev zlib1g-dev iproute2 containernetworking-plugins valgrind pkg-config make
	golang-go golang-github-appc-cni-dev python3-jsonschema python3-yaml
	libclang-rt-14-dev # libFuzzer for make fuzz (clang's own runtime, not in clang's deps)
	dpkg-dev jq podman runc busybox-static
	strace # test_agent_hostile delays the agent's bind() to race a symlink
	bird2 # test_bgp: BGP daemons announce the plugin's host routes (proto 173) between netns
	haproxy unbound knot-resolver socat # test_servers runs the recipes of examples/servers/
	containerd python3-grpcio python3-protobuf protobuf-compiler # test_containerd: CRI
	libmicrohttpd-dev # the node agent's metrics endpoint (make static: its source package)
	prometheus # test_metrics scrapes the agent with a real Prometheus (and promtool)
)

is_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for package in "${PACKAGES[@]}"; do
	is_installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages are installed"
	exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-deps: missing ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
	as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
