#!/usr/bin/env bash
# The project's whole test suite: the drift checks (with gofmt, vet and
# staticcheck), every Go test under the race detector, the SDK packages'
# tests again on Go 1.27, and bounded fuzzing. Installs what
# it needs on a fresh machine (Go and gcc are assumed; the race detector
# needs cgo).
set -euo pipefail
cd "$(dirname "$0")/.."

export CGO_ENABLED=1

# Drift first: doc headers, generated docs and code, registry vs docs vs
# OpenAPI enum, gofmt, go vet.
bash scripts/check-readiness.sh

# System packages the tests need: as root (CI runs as root) the script
# installs them, so the browser tests run on a fresh machine;
# PRESSLUFT_NO_INSTALL=1 opts out. As another user those tests skip and say
# how to run them. (The real-host tests run on the fleet's nodes and
# install nothing here.)
if [ "$(id -u)" -eq 0 ] && [ "${PRESSLUFT_NO_INSTALL:-}" != 1 ]; then
  echo "== browser (Debian's chromium, for the dashboard tests)"
  bash scripts/install-browser.sh
  echo "== axe-core (the npm registry, for the dashboard's accessibility checks)"
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  fi
  bash scripts/fetch-axe.sh
  echo "== fleet tools (debootstrap, systemd-container, iproute2: real Debian 12 nodes under systemd-nspawn)"
  if ! command -v debootstrap >/dev/null 2>&1 || ! command -v systemd-nspawn >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap systemd-container iproute2
  fi
fi

# Everything but the fleet: the fleet's tests skip here and run below, on
# their own, so that booting nodes never loads the machine under the
# timing-sensitive tests of the other packages.
echo "== go test -race"
env -u PRESSLUFT_FLEET go test -race -count=1 ./...

# The fleet: real Debian 12 nodes booted with systemd by systemd-nspawn in
# network namespaces the tests make (internal/fleet), and the packages
# whose tests run on it. Root only; as another user, or where this machine
# cannot make namespaces and cgroups, they skip and say why (with CI=true a
# machine that cannot run them fails). Reports the step's time and the
# machine's peak memory in use, the figures docs/performance.md records.
fleet_pkgs=(./internal/fleet/... ./internal/realhost/)
echo "== fleet tests (${fleet_pkgs[*]}; examples/devserver -run TestOnFleet)"
if [ "$(id -u)" -ne 0 ]; then
  echo "fleet: skipped: needs root (sudo bash scripts/test.sh runs them)"
elif ! why=$(go run ./internal/fleet/cmd/fleet check 2>&1); then
  echo "fleet: skipped: $why"
  if [ "${CI:-}" = true ]; then
    echo "fleet: CI=true: the fleet must run on CI machines" >&2
    exit 1
  fi
else
  export PRESSLUFT_FLEET=1
  if [ "${CI:-}" = true ]; then export PRESSLUFT_FLEET_REQUIRED=1; fi
  peak_file=$(mktemp)
  memused() { awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print int((t-a)/1024)}' /proc/meminfo; }
  mem_before=$(memused)
  echo "$mem_before" >"$peak_file"
  (
    peak=$(cat "$peak_file")
    while sleep 1; do
      m=$(memused)
      if [ "$m" -gt "$peak" ]; then peak=$m; echo "$m" >"$peak_file"; fi
    done
  ) &
  sampler=$!
  start=$SECONDS
  rc=0
  go run ./internal/fleet/cmd/fleet base || rc=$?
  if [ "$rc" -eq 0 ]; then
    go test -race -count=1 "${fleet_pkgs[@]}" || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    go test -race -count=1 -run '^TestOnFleet$' ./examples/devserver/ || rc=$?
  fi
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  echo "fleet: base and tests took $((SECONDS - start))s; machine memory in use peaked at $(cat "$peak_file") MiB ($mem_before MiB before the step)"
  rm -f "$peak_file"
  unset PRESSLUFT_FLEET PRESSLUFT_FLEET_REQUIRED
  [ "$rc" -eq 0 ] || exit "$rc"
fi

# The SDK supports Go 1.26 and 1.27: its packages are tested again on 1.27,
# a toolchain the go command fetches through the module proxy.
GO_NEXT=go1.27.3
sdk=(./readiness/... ./probe/... ./sshexec/... ./preflight/... ./apihttp/... ./contracts/...)
echo "== go test -race on $(GOTOOLCHAIN=$GO_NEXT go version) (SDK packages)"
GOTOOLCHAIN=$GO_NEXT go test -race -count=1 "${sdk[@]}"

# Bounded fuzzing of every Fuzz target (10s each unless FUZZTIME says
# otherwise). A failing input lands in testdata/fuzz/; committed, it is
# replayed by go test from then on.
FUZZTIME=${FUZZTIME:-10s} bash scripts/fuzz.sh

echo "== all tests passed"
