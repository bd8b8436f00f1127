#!/bin/sh
# The smallest TCP forwarder behind sklookup: socat, with one listening
# socket for every address and port of LABEL's bindings (see
# examples/README.md). Debian 12's socat 1.7.4 cannot take a socket it is
# given (socat 1.8 can: ACCEPT-FD), so socat opens its own listener on
# loopback, and sklookup-ctl register takes that socket from the running
# process (pidfd_getfd) and puts it into the dispatcher.
#
# usage: socat-forward.sh LABEL TARGET_HOST:PORT [LISTEN_PORT]
# SKLOOKUP_CTL: how to run sklookup-ctl (default: sklookup-ctl).
# It runs until socat exits; socat -d -d logs each connection with the
# address and port the client asked for ("accepting connection from ... on").
set -eu

label=$1
target=$2
port=${3:-7000}
ctl=${SKLOOKUP_CTL:-sklookup-ctl}

socat -d -d "TCP4-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,backlog=128" "TCP:$target" &
socat=$!
trap 'kill "$socat" 2>/dev/null' EXIT INT TERM

# socat's listening fd, once it listens.
fd=
for _ in $(seq 50); do
	fd=$(ss -Hltnp "sport = :$port" | sed -n "s/.*pid=$socat,fd=\([0-9]*\).*/\1/p")
	[ -n "$fd" ] && break
	sleep 0.1
done
if [ -z "$fd" ]; then
	echo "socat-forward: socat (pid $socat) does not listen on 127.0.0.1:$port" >&2
	exit 1
fi

# shellcheck disable=SC2086 # SKLOOKUP_CTL may carry options
$ctl register "$label" --pid "$socat" --fd "$fd"
wait "$socat"
