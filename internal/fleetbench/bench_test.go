package fleetbench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/internal/benchutil"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// envInt reads a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkFleet evaluates PRESSLUFT_FLEET_NODES (1,000) ready fake nodes
// through the SDK with PRESSLUFT_FLEET_WORKERS (32) workers, and runs raw
// dial + auth + exec `true` (x/crypto/ssh) over the same nodes with as
// many workers. Each iteration is one round: both passes over the whole
// fleet, in alternating order. It reports the median throughput of each,
// the median of the per-round ratios (target >= 80%), and peak memory.
//
// It does so twice over one fleet, as two sub-benchmarks:
//
//   - nodes=replay: the nodes answer every exec from the record of its
//     first run (sshtest.Node.SetReplay), so neither pass starts a
//     process; what the cores do is the SSH clients, the SDK and the
//     nodes' SSH servers. This is the control plane's side of a real
//     fleet, whose nodes run their shells on their own CPUs.
//   - nodes=shell: every exec runs for real under /bin/sh on this
//     machine, the probe's ten-odd processes against the raw pass's one,
//     all on the cores being measured.
//
// Run it with:
//
//	go test -run '^$' -bench BenchmarkFleet -benchtime 5x ./internal/fleetbench/
//
// With -cpuprofile, `go tool pprof -tags` splits the samples by the label
// fleetbench=sdk/MODE|raw/MODE|warmup/MODE: the client side of each pass
// (the SDK or x/crypto, with their goroutines); unlabeled samples are the
// nodes'.
func BenchmarkFleet(b *testing.B) {
	nodes := envInt("PRESSLUFT_FLEET_NODES", 1000)
	workers := envInt("PRESSLUFT_FLEET_WORKERS", 32)
	limit, err := RaiseFileLimit()
	if err != nil {
		b.Fatalf("RLIMIT_NOFILE: %v", err)
	}
	if need := uint64(nodes + 8*workers + 64); limit < need {
		b.Skipf("RLIMIT_NOFILE is %d, need about %d for %d nodes", limit, need, nodes)
	}
	memBefore, rssBefore := goMemory(), MaxRSS()
	startAt := time.Now()
	f := Start(nodes, sshtest.ReadyProfile())
	defer f.Close()
	started := time.Since(startAt)
	for _, mode := range []string{"replay", "shell"} {
		b.Run("nodes="+mode, func(b *testing.B) {
			f.SetReplay(mode == "replay")
			fleetRounds(b, f, mode, workers)
		})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "fleet memory (whole process: SDK and the %d fake nodes' servers; nodes started in %s)\n",
		nodes, started.Round(time.Millisecond))
	fmt.Fprintf(&sb, "  go runtime mapped before the nodes: %.0f MiB\n", mib(memBefore))
	fmt.Fprintf(&sb, "  maxrss: before the nodes %.0f MiB, at the end %.0f MiB (target <= 256 MiB: %s)\n",
		mib(rssBefore), mib(MaxRSS()), yesNo(MaxRSS() <= 256<<20))
	fmt.Fprintf(&sb, "  load average at the end: %s\n", benchutil.LoadAvg())
	fmt.Print(sb.String())
}

// fleetRounds is one sub-benchmark of BenchmarkFleet: a warm-up pass of
// each kind (untimed: nodes build their fake roots, and with replay record
// the two execs), then b.N rounds of both passes.
func fleetRounds(b *testing.B, f *Fleet, mode string, workers int) {
	ctx := context.Background()
	prober := &probe.Prober{Client: &sshexec.Client{Timeout: 60 * time.Second}}
	policy := readiness.Baseline()
	sdkOp := func(ctx context.Context, n *sshtest.Node) error {
		return EvaluateNode(ctx, prober, n, policy, readiness.OperationSiteCreate)
	}
	for _, op := range []func(context.Context, *sshtest.Node) error{RawNode, sdkOp} {
		if p := f.Run(ctx, "warmup/"+mode, workers, op); p.Err != nil {
			b.Fatalf("warm-up: %v", p.Err)
		}
	}
	runtime.GC()
	memIdle, rssIdle := goMemory(), MaxRSS()

	var sdk, raw, ratio []float64
	var peakSDK, peakRaw uint64
	var cpuSDK, cpuRaw cpuPerOp
	round := 0
	for b.Loop() {
		var s, r Pass
		var ps, pr uint64
		sdkPass := func() {
			m, c := StartPeakMemory(2*time.Millisecond), ReadCPU()
			s = f.Run(ctx, "sdk/"+mode, workers, sdkOp)
			ps = m.Stop()
			cpuSDK.add(ReadCPU().Sub(c), s.Ops)
		}
		rawPass := func() {
			m, c := StartPeakMemory(2*time.Millisecond), ReadCPU()
			r = f.Run(ctx, "raw/"+mode, workers, RawNode)
			pr = m.Stop()
			cpuRaw.add(ReadCPU().Sub(c), r.Ops)
		}
		if round%2 == 0 {
			sdkPass()
			rawPass()
		} else {
			rawPass()
			sdkPass()
		}
		round++
		if s.Err != nil || r.Err != nil {
			b.Fatalf("round %d: sdk: %v; raw: %v", round, s.Err, r.Err)
		}
		sdk = append(sdk, s.PerSecond())
		raw = append(raw, r.PerSecond())
		ratio = append(ratio, s.PerSecond()/r.PerSecond())
		peakSDK, peakRaw = max(peakSDK, ps), max(peakRaw, pr)
	}
	rss := MaxRSS()
	b.ReportMetric(benchutil.Median(sdk), "evals/s")
	b.ReportMetric(benchutil.Median(raw), "raw-execs/s")
	b.ReportMetric(100*benchutil.Median(ratio), "sdk/raw-%")
	b.ReportMetric(mib(peakSDK), "peak-go-MiB")
	b.ReportMetric(mib(rss), "maxrss-MiB")

	var sb strings.Builder
	fmt.Fprintf(&sb, "\nfleet (nodes=%s): %d fake nodes (ReadyProfile), %d workers, %d rounds, GOMAXPROCS %d\n",
		mode, len(f.Nodes), workers, round, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&sb, "%-36s %10s %10s %10s\n", "pass (one op per node)", "median/s", "min/s", "max/s")
	fmt.Fprintf(&sb, "%-36s %10.0f %10.0f %10.0f\n", "SDK: Prober.Observe + Evaluate", benchutil.Median(sdk), slices.Min(sdk), slices.Max(sdk))
	fmt.Fprintf(&sb, "%-36s %10.0f %10.0f %10.0f\n", "raw: x/crypto dial+auth+exec true", benchutil.Median(raw), slices.Min(raw), slices.Max(raw))
	fmt.Fprintf(&sb, "%-36s %9.1f%% (target >= 80%%: %s)\n", "SDK / raw (median of rounds)", 100*benchutil.Median(ratio), yesNo(benchutil.Median(ratio) >= 0.8))
	fmt.Fprintf(&sb, "CPU per op (median of rounds)        %10s %10s\n", "this proc", "children")
	fmt.Fprintf(&sb, "  %-34s %7.2f ms %7.2f ms\n", "SDK pass", benchutil.Median(cpuSDK.self), benchutil.Median(cpuSDK.children))
	fmt.Fprintf(&sb, "  %-34s %7.2f ms %7.2f ms\n", "raw pass", benchutil.Median(cpuRaw.self), benchutil.Median(cpuRaw.children))
	fmt.Fprintf(&sb, "  (this proc: the SSH clients, the SDK and the fake nodes' SSH servers; children: the /bin/sh\n")
	fmt.Fprintf(&sb, "   processes the fake nodes start, i.e. the work a real node does on its own CPU)\n")
	fmt.Fprintf(&sb, "  go runtime mapped: nodes idle %.0f MiB, peak in SDK passes %.0f MiB, peak in raw passes %.0f MiB\n",
		mib(memIdle), mib(peakSDK), mib(peakRaw))
	fmt.Fprintf(&sb, "  maxrss: after warm-up %.0f MiB, at the end %.0f MiB (target <= 256 MiB: %s)\n",
		mib(rssIdle), mib(rss), yesNo(rss <= 256<<20))
	fmt.Fprintf(&sb, "  load average at the end: %s\n", benchutil.LoadAvg())
	fmt.Print(sb.String())
}

// cpuPerOp collects CPU milliseconds per operation, one value per pass.
type cpuPerOp struct{ self, children []float64 }

func (c *cpuPerOp) add(d CPU, ops int) {
	if ops == 0 {
		return
	}
	c.self = append(c.self, float64(d.Self.Microseconds())/1e3/float64(ops))
	c.children = append(c.children, float64(d.Children.Microseconds())/1e3/float64(ops))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
