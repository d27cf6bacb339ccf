#!/usr/bin/env bash
# Boots, lists and stops the test fleet (internal/fleet): Debian 12 nodes
# under systemd-nspawn, each in its own network namespace. Root only.
#
#   sudo scripts/fleet.sh up [-profiles ready,nginx-stopped] [-nodes-file PATH]
#                         # prints one JSON line per node, writes examples/devserver's -nodes file
#                         # (default /run/pressluft-fleet[-k]/nodes.json) and the command that serves it
#   sudo scripts/fleet.sh status
#   sudo scripts/fleet.sh probe [NODE...]                       # the real probe, one report per node
#   sudo scripts/fleet.sh down
#   sudo scripts/fleet.sh base                                  # build the base root now (cached after)
#   sudo scripts/fleet.sh check                                 # can this machine run it? (boots nothing)
#
# Needs debootstrap, systemd-container and iproute2 from Debian's packages
# (apt-get install debootstrap systemd-container iproute2). The base root
# is cached under $PRESSLUFT_FLEET_CACHE (default /var/cache/pressluft-fleet).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "fleet: must run as root (try: sudo $0 $*)" >&2
  exit 1
fi
exec go run ./internal/fleet/cmd/fleet "$@"
