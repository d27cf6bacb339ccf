#!/usr/bin/env bash
# Speed, measured as ratios against baselines taken in the same run, with
# the cases interleaved (round after round, rotating the order) so that
# load from elsewhere on the machine falls on all of them alike. Prints
# medians and ratios next to the targets (issue 5, section 2); it asserts
# nothing. Installs nothing: see docs/performance.md.
#
#  1. fake node (probe/bench_test.go): a full evaluation through the SDK
#     vs the floor (dial + auth + exec `true`, x/crypto) on one sshtest node.
#  2. real node (internal/realhost, root only): the evaluation, the floor
#     through sshexec.Client, OpenSSH's ssh running the same script, and a
#     cold `ansible -m ping -b`, against one fleet node (Debian 12 booted by
#     systemd under systemd-nspawn, its own sshd; fleet instance 4) and its
#     NOPASSWD user.
#  3. fleet (internal/fleetbench): 1,000 fake nodes through probe.Prober
#     with bounded workers vs raw dial + auth + exec `true`; peak memory.
#     Twice: nodes=replay (the nodes answer from a record, no processes:
#     the control plane's side of a real fleet; the target's case) and
#     nodes=shell (every exec under /bin/sh on the measured cores).
#  4. control plane (preflight, apihttp; issue 3's targets): a cached
#     Gate.Check, and POST /api/sites through Guard vs the same handler
#     without it.
#  6. health (root, a real fleet; issue 11): what the node-health records
#     add to the probe script on real Debian 12 nodes (internal/fleet):
#     the script of protocol 2 (before them) and today's, interleaved in
#     one loop inside each node as the fleet's user, timed with bash's
#     $EPOCHREALTIME (no process), on a ready node and a degraded one
#     (which also lists its failed units). Boots two nodes on fleet
#     instance $PRESSLUFT_FLEET_INSTANCE (default 1) and takes them down.
#  5. dashboard (examples/devserver, issue 12): the default /nodes view
#     (first page, not-ready first) and the API page behind it at 100,
#     1,000 and 10,000 nodes: time per request and bytes, as ratios to the
#     100-node case of the same round (linear growth would be 10x and
#     100x).
#
# Knobs (environment): ONLY=fake|real|fleet|gate|dash|health (default: the
# first five; health only when asked), HEALTH_ROUNDS=300, HEALTH_BEFORE=REV
# (health: also time REV's script, e.g. a commit before a change),
# COUNT=5 BENCHTIME=2s (fake rounds), REAL_ROUNDS=7 REAL_BENCHTIME=1s,
# FLEET_NODES=1000 FLEET_WORKERS=32 FLEET_ROUNDS=5, DASH_ROUNDS=5
# DASH_BENCHTIME=20x.
set -euo pipefail
cd "$(dirname "$0")/.."
only=${ONLY:-all}
count=${COUNT:-5}
benchtime=${BENCHTIME:-2s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ms() { awk -v n="$1" 'BEGIN { printf "%.2f ms", n / 1e6 }'; }
median() { # median of the numbers on stdin
  sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }'
}
nsop() { # ns/op of benchmark $1 in file $2, one per line
  awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") print $i }' "$2"
}
verdict() { # verdict VALUE OP TARGET: "met" or "NOT met"
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "met" : "NOT met" }'
}

echo "== machine"
echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores available"
echo "kernel: $(uname -r); $(go version)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$only" = all ] || [ "$only" = fake ]; then
  echo
  echo "== 1. fake node: evaluation vs floor ($count interleaved rounds, -benchtime $benchtime)"
  go test -c -o "$tmp/probe.test" ./probe/
  : >"$tmp/fake.txt"
  for i in $(seq "$count"); do
    if [ $((i % 2)) -eq 1 ]; then order="BenchmarkEvaluate BenchmarkFloor"; else order="BenchmarkFloor BenchmarkEvaluate"; fi
    for b in $order; do
      (cd probe && "$tmp/probe.test" -test.run '^$' -test.bench "^$b\$" -test.benchtime "$benchtime") | grep '^Benchmark' | tee -a "$tmp/fake.txt"
    done
  done
  : >"$tmp/fake-ratios.txt"
  paste <(nsop BenchmarkEvaluate "$tmp/fake.txt") <(nsop BenchmarkFloor "$tmp/fake.txt") |
    awk '{ print $1 / $2 }' >"$tmp/fake-ratios.txt"
  eval_ns=$(nsop BenchmarkEvaluate "$tmp/fake.txt" | median)
  floor_ns=$(nsop BenchmarkFloor "$tmp/fake.txt" | median)
  ratio=$(median <"$tmp/fake-ratios.txt")
  echo
  printf '%-36s %12s\n' "evaluation (median)" "$(ms "$eval_ns")"
  printf '%-36s %12s\n' "floor: dial+auth+exec true (median)" "$(ms "$floor_ns")"
  printf '%-36s %11.2fx  target <= 1.30x: %s\n' "evaluation / floor (median of rounds)" "$ratio" "$(verdict "$ratio" '<=' 1.30)"
fi

if [ "$only" = all ] || [ "$only" = real ]; then
  echo
  echo "== 2. real node: evaluation, floor, ssh client, ansible ping (${REAL_ROUNDS:-7} interleaved rounds)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: the real-node benchmarks need root (they boot a fleet node with systemd-nspawn);"
    echo "         run: sudo bash scripts/realhost-setup.sh --bench && sudo env \"PATH=\$PATH\" bash scripts/bench.sh"
  else
    for bin in /usr/bin/ssh /usr/bin/ansible; do
      [ -x "$bin" ] || echo "note: $bin is missing (sudo bash scripts/realhost-setup.sh --bench installs it); its case will be skipped"
    done
    # Instance 4 (fleettest.InstanceBench): never the test packages' fleets.
    PRESSLUFT_FLEET=1 PRESSLUFT_FLEET_INSTANCE=${BENCH_FLEET_INSTANCE:-4} PRESSLUFT_BENCH_ROUNDS=${REAL_ROUNDS:-7} \
      go test -count=1 -timeout 60m -run '^TestRealSpeedTable$' -v \
      -benchtime "${REAL_BENCHTIME:-1s}" ./internal/realhost/ >"$tmp/real.txt" 2>&1 || {
      cat "$tmp/real.txt"
      exit 1
    }
    if grep -q -- '--- SKIP' "$tmp/real.txt"; then
      echo "skipped: $(grep -B1 -- '--- SKIP' "$tmp/real.txt" | head -1 | sed 's/^ *//')"
    else
      grep -E '^ +[a-z_]+_test.go:[0-9]+: fleet up|^ +node ' "$tmp/real.txt" | sed 's/^ *//'
      sed -n '/^fleet node/,/^--- PASS/p' "$tmp/real.txt" | grep -v -- '^--- PASS'
    fi
  fi
fi

if [ "$only" = all ] || [ "$only" = fleet ]; then
  nodes=${FLEET_NODES:-1000}
  rounds=${FLEET_ROUNDS:-5}
  echo
  echo "== 3. fleet: $nodes fake nodes, ${FLEET_WORKERS:-32} workers, SDK vs raw ($rounds interleaved rounds)"
  PRESSLUFT_FLEET_NODES=$nodes PRESSLUFT_FLEET_WORKERS=${FLEET_WORKERS:-32} \
    go test -count=1 -timeout 60m -run '^$' -bench '^BenchmarkFleet$' -benchtime "${rounds}x" \
    -cpuprofile "$tmp/fleet.prof" -o "$tmp/fleet.test" ./internal/fleetbench/ >"$tmp/fleet.txt" 2>&1 || {
    cat "$tmp/fleet.txt"
    exit 1
  }
  sed -n '/^fleet (nodes=/,/load average at the end/p; /^fleet memory/,/load average at the end/p' "$tmp/fleet.txt"
  # Client-side CPU per operation, from the pprof labels (fleetbench=sdk/MODE
  # and raw/MODE on the workers and the goroutines they start; the nodes'
  # are unlabeled).
  go tool pprof -tags "$tmp/fleet.test" "$tmp/fleet.prof" 2>/dev/null |
    awk -v ops=$((nodes * rounds)) '
      function secs(s) { if (s ~ /ms$/) return substr(s, 1, length(s) - 2) / 1000; if (s ~ /us$/) return substr(s, 1, length(s) - 2) / 1e6; return substr(s, 1, length(s) - 1) + 0 }
      $NF ~ /^(sdk|raw)\/[a-z]+$/ { cpu[$NF] = secs($1) }
      END {
        n = split("replay shell", modes, " ")
        for (i = 1; i <= n; i++) {
          m = modes[i]; s = cpu["sdk/" m]; r = cpu["raw/" m]
          if (s == 0 || r == 0) continue
          printf "client-side CPU per op (pprof labels), nodes=%s: SDK %.2f ms, raw %.2f ms, SDK/raw %.2fx\n", m, 1000 * s / ops, 1000 * r / ops, s / r
        }
      }'
fi

if [ "$only" = all ] || [ "$only" = gate ]; then
  echo
  echo "== 4. control plane: cached decision, guarded vs unguarded create ($count interleaved rounds, -benchtime $benchtime)"
  go test -c -o "$tmp/apihttp.test" ./apihttp/
  go test -c -o "$tmp/preflight.test" ./preflight/
  : >"$tmp/gate.txt"
  for i in $(seq "$count"); do
    if [ $((i % 2)) -eq 1 ]; then order="BenchmarkGuardedCreate BenchmarkUnguardedCreate"; else order="BenchmarkUnguardedCreate BenchmarkGuardedCreate"; fi
    for b in $order; do
      (cd apihttp && "$tmp/apihttp.test" -test.run '^$' -test.bench "^$b\$" -test.benchtime "$benchtime" -test.benchmem) | grep '^Benchmark' | tee -a "$tmp/gate.txt"
    done
    (cd preflight && "$tmp/preflight.test" -test.run '^$' -test.bench '^BenchmarkCheckCached$' -test.benchtime "$benchtime" -test.benchmem) | grep '^Benchmark' | tee -a "$tmp/gate.txt"
  done
  guarded_ratio=$(paste <(nsop BenchmarkGuardedCreate "$tmp/gate.txt") <(nsop BenchmarkUnguardedCreate "$tmp/gate.txt") |
    awk '{ print $1 / $2 }' | median)
  cached_ns=$(nsop BenchmarkCheckCached "$tmp/gate.txt" | median)
  echo
  printf '%-36s %9.0f ns  target <= 2000 ns: %s\n' "cached decision (median)" "$cached_ns" "$(verdict "$cached_ns" '<=' 2000)"
  printf '%-36s %11.2fx  target <= 1.25x: %s\n' "guarded / unguarded create (median)" "$guarded_ratio" "$(verdict "$guarded_ratio" '<=' 1.25)"
fi

if [ "$only" = all ] || [ "$only" = dash ]; then
  drounds=${DASH_ROUNDS:-5}
  echo
  echo "== 5. dashboard: default /nodes view and API page at 100, 1,000, 10,000 nodes ($drounds rounds, -benchtime ${DASH_BENCHTIME:-20x})"
  go test -c -o "$tmp/devserver.test" ./examples/devserver/
  : >"$tmp/dash.txt"
  for i in $(seq "$drounds"); do
    (cd examples/devserver && "$tmp/devserver.test" -test.run '^$' -test.bench '^BenchmarkNodesPage$' \
      -test.benchtime "${DASH_BENCHTIME:-20x}" -test.benchmem) | grep '^Benchmark' | tee -a "$tmp/dash.txt"
  done
  metric() { # metric NAME UNIT: the values of unit UNIT of benchmark NAME
    awk -v name="$1" -v unit="$2" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 1; i < NF; i++) if ($(i+1) == unit) print $i }' "$tmp/dash.txt"
  }
  echo
  printf '%-10s %7s %12s %10s %10s %10s\n' "case" "nodes" "time" "x 100" "bytes" "gzipped"
  for c in dashboard api-page; do
    base=BenchmarkNodesPage/$c/nodes=100
    for n in 100 1000 10000; do
      b=BenchmarkNodesPage/$c/nodes=$n
      t=$(metric "$b" ns/op | median)
      r=$(paste <(metric "$b" ns/op) <(metric "$base" ns/op) | awk '{ print $1 / $2 }' | median)
      printf '%-10s %7s %12s %9.2fx %10s %10s\n' "$c" "$n" "$(ms "$t")" "$r" "$(metric "$b" html-bytes | median)" "$(metric "$b" gzip-bytes | median)"
    done
  done
  echo "sublinear: the 10,000-node time under 100x the 100-node time, and under 10x the 1,000-node time"
fi

if [ "$only" = health ]; then
  hrounds=${HEALTH_ROUNDS:-300}
  echo
  echo "== 6. health: the probe script before the node-health records (protocol 2) vs today's, on real fleet nodes ($hrounds interleaved rounds)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "health: needs root (the fleet boots systemd-nspawn nodes); skipped"
  else
    export PRESSLUFT_FLEET_INSTANCE=${PRESSLUFT_FLEET_INSTANCE:-1}
    # The last commit whose script is protocol 2.
    git show e991a91f34eba04cac8a09c731522ef410ac896a:probe/script.sh >"$tmp/v2.sh"
    cp probe/script.sh "$tmp/v3.sh"
    scripts="v2 v3"
    # HEALTH_BEFORE=REV also times REV's script ("before"), in the same
    # rounds: what a change to the script saved.
    if [ -n "${HEALTH_BEFORE:-}" ]; then
      git show "$HEALTH_BEFORE:probe/script.sh" >"$tmp/before.sh"
      scripts="v2 before v3"
    fi
    # One bash loop in the node: each round runs every script as the
    # probe does (/bin/sh -s, the script on stdin), the order rotating.
    cat >"$tmp/time.sh" <<'TIME'
s=($2)
n=${#s[@]}
for i in $(seq "$1"); do
  for ((j = 0; j < n; j++)); do
    x=${s[(i + j + 1) % n]}
    t0=${EPOCHREALTIME/./}
    /bin/sh -s </tmp/$x.sh >/dev/null 2>&1
    t1=${EPOCHREALTIME/./}
    echo "$x $((t1 - t0))"
  done
done
TIME
    go run ./internal/fleet/cmd/fleet up -profiles ready,degraded >"$tmp/up.json" 2>"$tmp/up.log" || { cat "$tmp/up.log"; exit 1; }
    trap 'go run ./internal/fleet/cmd/fleet down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
    printf '%-10s %-4s %10s %10s %10s %12s\n' "node" "" "v2 median" "v3 median" "added" "v3/v2"
    while IFS= read -r line <&3; do
      name=$(printf '%s' "$line" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
      addr=$(printf '%s' "$line" | sed -n 's/.*"addr":"\([^"]*\)".*/\1/p')
      key=$(printf '%s' "$line" | sed -n 's/.*"client_key_file":"\([^"]*\)".*/\1/p')
      hk=$(printf '%s' "$line" | sed -n 's/.*"host_key":"\([^"]*\)".*/\1/p')
      printf '%s %s\n' "$addr" "$hk" >"$tmp/known_hosts"
      sshn() { ssh -q -i "$key" -o UserKnownHostsFile="$tmp/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes pressluft@"$addr" "$@"; }
      sshn 'cat >/tmp/v2.sh' <"$tmp/v2.sh"
      sshn 'cat >/tmp/v3.sh' <"$tmp/v3.sh"
      if [ -n "${HEALTH_BEFORE:-}" ]; then
        sshn 'cat >/tmp/before.sh' <"$tmp/before.sh"
      fi
      sshn 'cat >/tmp/time.sh' <"$tmp/time.sh"
      sshn "bash /tmp/time.sh $hrounds '$scripts'" >"$tmp/h-$name.txt"
      v2=$(awk '$1 == "v2" { print $2 }' "$tmp/h-$name.txt" | median)
      v3=$(awk '$1 == "v3" { print $2 }' "$tmp/h-$name.txt" | median)
      awk -v n="$name" -v a="$v2" -v b="$v3" 'BEGIN { printf "%-10s %-4s %8.2f ms %8.2f ms %+8.2f ms %11.2fx\n", n, "", a/1000, b/1000, (b-a)/1000, b/a }'
      if [ -n "${HEALTH_BEFORE:-}" ]; then
        bf=$(awk '$1 == "before" { print $2 }' "$tmp/h-$name.txt" | median)
        awk -v n="$name" -v a="$bf" -v b="$v3" -v r="$HEALTH_BEFORE" 'BEGIN { printf "%-10s before (%s) %.2f ms, now %.2f ms: %+.2f ms, %.2fx\n", n, r, a/1000, b/1000, (b-a)/1000, b/a }'
      fi
    done 3<"$tmp/up.json"
    echo "target (issue 11): at most +1 ms at the median over the protocol-2 script"
  fi
fi

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
