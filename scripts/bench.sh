#!/usr/bin/env bash
# Speed, measured as ratios against a baseline taken in the same run:
# a full readiness evaluation through the SDK next to the floor (dial +
# auth + exec `true` with x/crypto directly) against the same fake node.
# Prints medians of COUNT runs and the ratio. Assumes Go; installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
benchtime=${BENCHTIME:-2s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

go test -run '^$' -bench '^(BenchmarkEvaluate|BenchmarkFloor)$' -benchtime "$benchtime" -count "$count" ./probe/ | tee "$out"

median() { # median ns/op of benchmark $1
  awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") print $i }' "$out" |
    sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }'
}
eval_ns=$(median BenchmarkEvaluate)
floor_ns=$(median BenchmarkFloor)
echo
printf '%-34s %12.2f ms\n' "evaluation (median)" "$(awk -v n="$eval_ns" 'BEGIN{print n/1e6}')"
printf '%-34s %12.2f ms\n' "floor: dial+auth+exec true" "$(awk -v n="$floor_ns" 'BEGIN{print n/1e6}')"
printf '%-34s %12.2fx (target <= 1.30x)\n' "ratio evaluation/floor" "$(awk -v a="$eval_ns" -v b="$floor_ns" 'BEGIN{print a/b}')"
