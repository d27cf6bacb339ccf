#!/usr/bin/env bash
# Exploratory fuzzing: every Fuzz target in the module, one after another,
# for FUZZTIME each (default 30s). A failing input lands in the package's
# testdata/fuzz/ directory; commit it and `go test` replays it from then on.
#
#   bash scripts/fuzz.sh                 # 30s a target
#   FUZZTIME=5m bash scripts/fuzz.sh     # longer campaign
#   bash scripts/fuzz.sh ./apihttp       # only the targets of some packages
#
# scripts/test.sh (and so CI) runs it with FUZZTIME=10s after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=1

fuzztime=${FUZZTIME:-30s}
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(.)

while read -r pkg target; do
  [ -n "$pkg" ] || continue
  echo "== fuzz $pkg $target ($fuzztime)"
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
done < <(grep -rl --include='*_test.go' '^func Fuzz' "${dirs[@]}" | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r t; do echo "$pkg $t"; done
done | sort -u)
