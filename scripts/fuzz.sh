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
#
# Two things about Go 1.26's fuzzing engine shape this script:
#   - Each new interesting input is minimized for up to -fuzzminimizetime
#     (60s by default), during which both workers run no new inputs; in a
#     10s budget that left whole targets at "0/sec". FUZZMINIMIZETIME
#     (default 1s) bounds it.
#   - With a time budget, the coordinator can report its own deadline as
#     the target's failure: a bare "context deadline exceeded" at the end
#     of -fuzztime, with no failing input (golang/go#75804, fixed in Go
#     1.27). Such a run is not a finding: the target's corpus is replayed
#     with go test to confirm, and the run counts as passed with a note.
#     Anything else (a failing input written, a panic, a test failure, an
#     unknown line) fails the script.
set -euo pipefail

fuzztime=${FUZZTIME:-30s}
minimize=${FUZZMINIMIZETIME:-1s}

# coordinatorDeadline: the log holds only the engine's progress lines and
# the bare deadline failure of golang/go#75804.
coordinatorDeadline() {
  grep -qx '    context deadline exceeded' "$log" || return 1
  ! grep -v -E '^(fuzz: .*|--- FAIL: Fuzz[A-Za-z0-9_]+ \([0-9.]+s\)|    context deadline exceeded|FAIL|exit status [0-9]+|FAIL	[^ ]+	[0-9.]+s)$' "$log" | grep -q .
}

# fuzz.sh --classify LOG: exit 0 when LOG is the coordinator's deadline,
# 1 otherwise (scripts/fuzz_test.go checks the classification).
if [ "${1:-}" = --classify ]; then
  log=$2
  coordinatorDeadline
  exit
fi

cd "$(dirname "$0")/.."
export CGO_ENABLED=1

dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(.)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
notes=0
while read -r pkg target; do
  [ -n "$pkg" ] || continue
  echo "== fuzz $pkg $target ($fuzztime)"
  rc=0
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "$pkg" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] && continue
  if coordinatorDeadline; then
    echo "fuzz.sh: $target: the fuzzing coordinator's own deadline (golang/go#75804), no failing input; replaying its corpus"
    go test -count=1 -run="^${target}\$" "$pkg"
    notes=$((notes + 1))
    continue
  fi
  echo "fuzz.sh: $target failed (see above)" >&2
  exit 1
done < <(grep -rl --include='*_test.go' '^func Fuzz' "${dirs[@]}" | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r t; do echo "$pkg $t"; done
done | sort -u)
if [ "$notes" -gt 0 ]; then
  echo "fuzz.sh: $notes run(s) ended on the coordinator's deadline (golang/go#75804); their corpora replay clean"
fi
