#!/usr/bin/env bash
# Installs what the real-host tests (internal/realhost) need on a Debian or
# Ubuntu machine: OpenSSH's server, sudo, and the runtime packages the
# distribution has. Idempotent: when everything is installed it says so and
# exits 0 without touching the network. Root only.
#
# Services are NOT started by the installation: a temporary policy-rc.d
# (exit 101, the Debian convention) stops the packages' maintainer scripts
# from starting nginx, mariadb, redis, php-fpm, fail2ban and sshd, so the
# set-up opens no listening port and works in a container without systemd.
# The tests read the host's real state, whatever it is.
#
# The tests make a package absent for one case by removing unzip with dpkg
# and reinstalling it from a .deb this script keeps in $debdir (apt's own
# cache is emptied by Docker images' docker-clean hook).
#
# wp-cli is not installed: Debian 12 has no wp-cli package, and the tests
# expect runtime_component_missing for it wherever `wp` is absent.
#
# With --bench it also installs what scripts/bench.sh compares the SDK
# with: the OpenSSH client and Debian's ansible-core (for `ansible -m ping`).
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

if [ "$(id -u)" -ne 0 ]; then
  echo "realhost-setup: must run as root (try: sudo $0)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "realhost-setup: apt-get not found: only Debian and Ubuntu are supported" >&2
  exit 1
fi

packages=(
  openssh-server sudo
  nginx redis-server php-fpm php-redis mariadb-server fail2ban rsync unzip curl
)
if [ -n "$bench" ]; then
  packages+=(openssh-client ansible-core)
fi

debdir=/var/cache/pressluft-realhost
absent_pkg=unzip

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [ "$status" != installed ]; then
    missing+=("$p")
  fi
done

# sshd refuses to start without its privilege separation directory, which
# lives on /run (a tmpfs) and is normally created by the service unit.
ensure_run_sshd() {
  if [ ! -d /run/sshd ]; then
    echo "realhost-setup: mkdir /run/sshd"
    mkdir -p -m 0755 /run/sshd
  fi
}

have_deb() {
  compgen -G "$debdir/${absent_pkg}_*.deb" >/dev/null
}

if [ "${#missing[@]}" -eq 0 ] && have_deb; then
  ensure_run_sshd
  echo "realhost-setup: all packages present: ${packages[*]}"
  exit 0
fi

echo "realhost-setup: missing packages: ${missing[*]:-none}"
start=$(date +%s)

created_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  echo "realhost-setup: writing a temporary /usr/sbin/policy-rc.d (exit 101: no service starts during installation)"
  printf '#!/bin/sh\n# temporary, from scripts/realhost-setup.sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
else
  echo "realhost-setup: keeping the existing /usr/sbin/policy-rc.d"
fi
cleanup() {
  if [ -n "$created_policy" ]; then
    echo "realhost-setup: removing the temporary /usr/sbin/policy-rc.d"
    rm -f /usr/sbin/policy-rc.d
  fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "realhost-setup: apt-get update"
apt-get update -q
if [ "${#missing[@]}" -gt 0 ]; then
  echo "realhost-setup: apt-get install --no-install-recommends ${missing[*]}"
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
fi

if ! have_deb; then
  # The installed version if the mirror still has it, else the candidate.
  v=$(dpkg-query -W -f='${Version}' "$absent_pkg")
  echo "realhost-setup: apt-get download $absent_pkg into $debdir"
  mkdir -p -m 0755 "$debdir"
  (cd "$debdir" && { apt-get download -q "$absent_pkg=$v" 2>/dev/null || apt-get download -q "$absent_pkg"; })
  chown -R root:root "$debdir"
fi

ensure_run_sshd
echo "realhost-setup: done in $(($(date +%s) - start))s"
