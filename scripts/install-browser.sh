#!/usr/bin/env bash
# install-browser.sh: make sure Debian's headless-capable Chromium is at
# /usr/bin/chromium for the dashboard's browser tests
# (examples/devserver/browser_test.go) and scripts/screenshot.sh.
#
# Idempotent: does nothing when /usr/bin/chromium exists. As root it runs
#   apt-get update && apt-get install -y --no-install-recommends chromium
# otherwise it prints the command to run and exits 1.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	echo "install-browser: /usr/bin/chromium is present: $(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-browser: /usr/bin/chromium is missing. Install Debian's chromium as root:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-browser: no apt-get here; install a Chromium at /usr/bin/chromium by other means" >&2
	exit 1
fi

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
if [ ! -x /usr/bin/chromium ]; then
	echo "install-browser: chromium installed but /usr/bin/chromium is missing" >&2
	exit 1
fi
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null) in $(( $(date +%s) - start ))s"
