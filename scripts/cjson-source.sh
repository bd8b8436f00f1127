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
# scripts/debian-source.sh fetches it (once; the version is kept in
# OUTDIR/VERSION and the files reused).
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
work=$(mktemp -d /tmp/cjson-source.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$(dirname "$0")/debian-source.sh" "$package" "$work/src"
src=$work/src
[ -f "$src/cJSON.c" ] || {
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
