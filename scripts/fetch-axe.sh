#!/usr/bin/env bash
# fetch-axe.sh: print the path of axe-core's axe.min.js for the dashboard's
# browser tests (examples/devserver/browser_test.go), fetched once from the
# npm registry with `npm pack` and kept in a cache directory; the file is
# never committed to the repository.
#
# The version and the tarball's sha512 integrity are pinned here; a
# tarball that does not match is refused. Cache: $AXE_CACHE, else
# $XDG_CACHE_HOME/pressluft/axe-core, else ~/.cache/pressluft/axe-core.
# Needs npm (Debian: apt-get install npm) and network access to the
# registry the first time; afterwards it works offline. Exits non-zero
# with a message on stderr when the file cannot be had.
set -euo pipefail

version=4.14.1
integrity='sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=='

cache=${AXE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pressluft/axe-core}
dir=$cache/$version
file=$dir/axe.min.js
if [ -s "$file" ]; then
	echo "$file"
	exit 0
fi
for cmd in npm node tar; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		echo "fetch-axe: $cmd is missing (Debian: apt-get install -y --no-install-recommends npm)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" "axe-core@$version" >/dev/null 2>"$tmp/npm.log"); then
	echo "fetch-axe: npm pack axe-core@$version failed:" >&2
	tail -n 5 "$tmp/npm.log" >&2
	exit 1
fi
tgz=$tmp/axe-core-$version.tgz
got=$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
if [ "$got" != "$integrity" ]; then
	echo "fetch-axe: axe-core-$version.tgz has integrity $got, want $integrity: refused" >&2
	exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/axe.min.js package/LICENSE
mkdir -p "$dir"
cp "$tmp/package/LICENSE" "$dir/LICENSE"
cp "$tmp/package/axe.min.js" "$dir/axe.min.js.tmp"
mv "$dir/axe.min.js.tmp" "$file"
echo "$file"
