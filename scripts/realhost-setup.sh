#!/usr/bin/env bash
# Installs, with --bench, what scripts/bench.sh compares the SDK with on the
# machine that runs it (the control plane's side): the OpenSSH client and
# Debian's ansible-core (for a cold `ansible -m ping -b`). Idempotent: when
# everything is installed it says so and exits 0 without touching the
# network. Root only; Debian or Ubuntu.
#
# Without --bench it installs nothing: the real-host tests (internal/realhost)
# run on the test fleet's nodes (internal/fleet), which carry sshd, sudo and
# the runtime packages themselves; nothing is installed on this machine for
# them any more, so a run cannot change what the next one sees here.
set -euo pipefail

bench=
for arg in "$@"; do
  case $arg in
  --bench) bench=1 ;;
  *)
    echo "realhost-setup: unknown argument $arg (usage: $0 [--bench])" >&2
    exit 2
    ;;
  esac
done

if [ -z "$bench" ]; then
  echo "realhost-setup: nothing to install: the real-host tests run on the fleet's nodes (--bench installs the ssh client and ansible-core for scripts/bench.sh)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "realhost-setup: must run as root (try: sudo $0 $*)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "realhost-setup: apt-get not found: only Debian and Ubuntu are supported" >&2
  exit 1
fi

packages=(openssh-client ansible-core)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [ "$status" != installed ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "realhost-setup: all packages present: ${packages[*]}"
  exit 0
fi

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
echo "realhost-setup: apt-get update"
apt-get update -q
echo "realhost-setup: apt-get install --no-install-recommends ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "realhost-setup: done in $(($(date +%s) - start))s"
