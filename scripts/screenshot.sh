#!/usr/bin/env bash
# screenshot.sh: regenerate docs/images/nodes.png, the dashboard's /nodes
# page over the example server's fake fleet, for the README.
#
# Starts examples/devserver on a free loopback port (fake fleet, short
# acquisition steps), waits until the acquiring node has settled, captures
# /nodes with headless Chromium at 1280x900, and stops the server.
# Needs /usr/bin/chromium (scripts/install-browser.sh) or $CHROMIUM.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "screenshot: $chromium is missing; run scripts/install-browser.sh" >&2
	exit 1
fi
out=${1:-docs/images/nodes.png}
mkdir -p "$(dirname "$out")"

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/devserver" ./examples/devserver
"$tmp/devserver" -addr 127.0.0.1:0 -acquire-step 1s -monitor-interval 1h >"$tmp/out" 2>"$tmp/err" &
pid=$!

url=
for _ in $(seq 1 100); do
	url=$(sed -n 's/^devserver listening on \(http:[^ ]*\).*/\1/p' "$tmp/out")
	[ -n "$url" ] && break
	sleep 0.1
done
if [ -z "$url" ]; then
	echo "screenshot: the server did not start:" >&2
	cat "$tmp/err" >&2
	exit 1
fi

# Settled: no node pending and none still waiting for its first check.
settled=
for _ in $(seq 1 150); do
	nodes=$(curl -fsS "$url/api/nodes" || true)
	if [ -n "$nodes" ] && ! grep -q '"state":"pending"\|node_never_probed' <<<"$nodes"; then
		settled=1
		break
	fi
	sleep 0.2
done
if [ -z "$settled" ]; then
	echo "screenshot: nodes did not settle within 30s" >&2
	exit 1
fi

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--hide-scrollbars --user-data-dir="$tmp/profile" --window-size=1280,900 \
	--screenshot="$tmp/nodes.png" "$url/nodes" >/dev/null 2>&1
mv "$tmp/nodes.png" "$out"
echo "screenshot: wrote $out"
