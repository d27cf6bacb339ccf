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
fi

echo "== go test -race"
go test -race -count=1 ./...

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
