#!/usr/bin/env bash
# debian-source.sh PACKAGE OUTDIR: unpacks into OUTDIR the Debian source
# package of the installed binary package PACKAGE, of exactly its version
# (Debian's patches applied), for the static build (`make static`) of the
# libraries Debian ships no usable static archive of (scripts/cjson-source.sh,
# the libmicrohttpd rules in the Makefile).
#
# How: `apt-get source` through a private, temporary apt configuration: the
# machine's own Debian sources (whatever mirror it is set up with) with their
# deb lines turned into deb-src, signed and checked by apt and dpkg-source as
# usual, so nothing under /etc/apt or /var/lib/apt changes. Needs access to
# that mirror once; the tree is kept in OUTDIR (its version in
# OUTDIR/.debian-source-version) and reused while the installed version is
# the same.
set -euo pipefail

package=${1:?usage: debian-source.sh PACKAGE OUTDIR}
out=${2:?usage: debian-source.sh PACKAGE OUTDIR}
me=debian-source
query() { dpkg-query -W -f="$1" "$package" 2>/dev/null; }
version=$(query '${source:Version}') && source=$(query '${source:Package}') || {
	echo "$me: $package is not installed (scripts/install-deps.sh)" >&2
	exit 1
}
stamp="$out/.debian-source-version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$source $version" ]; then
	exit 0
fi
command -v dpkg-source >/dev/null || {
	echo "$me: dpkg-source is missing (apt-get install dpkg-dev)" >&2
	exit 1
}

work=$(mktemp -d /tmp/debian-source.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src" "$work/parts"
# The machine's sources, as deb-src: one-line entries and deb822 stanzas.
for list in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -r "$list" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$list"
done >"$work/sources.list"
for sources in /etc/apt/sources.list.d/*.sources; do
	[ -r "$sources" ] || continue
	sed 's/^Types:.*/Types: deb-src/' "$sources" >"$work/parts/$(basename "$sources")"
done
if [ ! -s "$work/sources.list" ] && [ -z "$(ls -A "$work/parts")" ]; then
	echo "$me: no apt sources found under /etc/apt" >&2
	exit 1
fi
apt_opts=(
	-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
	-o Debug::NoLocking=1 -q
)
# apt downloads as its unprivileged user when it can write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$work/src"
	chmod 755 "$work"
fi

echo "$me: fetching Debian's $source $version source package"
apt-get "${apt_opts[@]}" update >"$work/log" 2>&1 || {
	cat "$work/log" >&2
	echo "$me: cannot read the source index of the machine's apt sources" >&2
	exit 1
}
(cd "$work/src" && apt-get "${apt_opts[@]}" source "$source=$version") >"$work/log" 2>&1 || {
	cat "$work/log" >&2
	echo "$me: apt-get source $source=$version failed" >&2
	exit 1
}
tree=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name "$source-*" | head -n1)
[ -n "$tree" ] || {
	echo "$me: apt-get source $source=$version unpacked no $source-* directory" >&2
	exit 1
}
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -a "$tree" "$out"
chown -R 0:0 "$out" 2>/dev/null || true
echo "$source $version" >"$stamp"
echo "$me: $source $version in $out"
