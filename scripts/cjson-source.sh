#!/usr/bin/env bash
# cjson-source.sh OUTDIR: puts cJSON.c, cJSON.h and LICENSE of Debian's cJSON
# source package into OUTDIR, for the static build (`make static`).
#
# Why: Debian ships libcjson.so but no libcjson.a. The static binaries keep
# cJSON (the plugin and sklookup-ctl are written against it) and compile it
# from Debian's own source package, of exactly the version of the installed
# libcjson-dev, Debian's patches applied (security fixes included): the static
# and the dynamic build run the same cJSON code, and the header the project
# compiles against (/usr/include/cjson/cJSON.h) is checked to be identical.
#
# How: `apt-get source` through a private, temporary apt configuration: the
# machine's own Debian sources (whatever mirror it is set up with) with their
# deb lines turned into deb-src, signed and checked by apt and dpkg-source as
# usual, so nothing under /etc/apt or /var/lib/apt changes. Needs access to
# that mirror once; the result is kept in OUTDIR (with the version in
# OUTDIR/VERSION) and reused.
set -euo pipefail

out=${1:?usage: cjson-source.sh OUTDIR}
package=libcjson-dev
version=$(dpkg-query -W -f='${source:Version}' "$package" 2>/dev/null) || {
	echo "cjson-source: $package is not installed (scripts/install-deps.sh)" >&2
	exit 1
}
if [ -f "$out/VERSION" ] && [ "$(cat "$out/VERSION")" = "$version" ] &&
	[ -f "$out/cJSON.c" ] && [ -f "$out/cJSON.h" ]; then
	exit 0
fi
command -v dpkg-source >/dev/null || {
	echo "cjson-source: dpkg-source is missing (apt-get install dpkg-dev)" >&2
	exit 1
}

work=$(mktemp -d /tmp/cjson-source.XXXXXX)
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
	echo "cjson-source: no apt sources found under /etc/apt" >&2
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

echo "cjson-source: fetching Debian's cjson $version source package"
apt-get "${apt_opts[@]}" update >"$work/log" 2>&1 || {
	cat "$work/log" >&2
	echo "cjson-source: cannot read the source index of the machine's apt sources" >&2
	exit 1
}
(cd "$work/src" && apt-get "${apt_opts[@]}" source "cjson=$version") >"$work/log" 2>&1 || {
	cat "$work/log" >&2
	echo "cjson-source: apt-get source cjson=$version failed" >&2
	exit 1
}
src=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'cjson-*' | head -n1)
[ -n "$src" ] && [ -f "$src/cJSON.c" ] || {
	echo "cjson-source: no cJSON.c in the unpacked source" >&2
	exit 1
}
if ! cmp -s "$src/cJSON.h" /usr/include/cjson/cJSON.h; then
	echo "cjson-source: $src/cJSON.h differs from /usr/include/cjson/cJSON.h" >&2
	exit 1
fi
mkdir -p "$out"
cp "$src/cJSON.c" "$src/cJSON.h" "$src/LICENSE" "$out/"
echo "$version" >"$out/VERSION"
echo "cjson-source: cjson $version (MIT license, $out/LICENSE) in $out"
