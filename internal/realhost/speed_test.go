package realhost

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/internal/benchutil"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// roundsEnv sets the number of interleaved rounds TestRealSpeedTable
// runs; unset or 0, the test skips (it measures, it does not test).
const roundsEnv = "PRESSLUFT_BENCH_ROUNDS"

// speedTarget is a ratio the issue sets: Slow / Fast, at most or at least
// Want.
type speedTarget struct {
	Slow, Fast string
	Want       float64
	AtMost     bool // Slow/Fast <= Want; else Slow/Fast >= Want
	Note       string
}

var speedTargets = []speedTarget{
	{Slow: "evaluate", Fast: "floor", Want: 1.15, AtMost: true, Note: "evaluation within 1.15x of the floor"},
	{Slow: "ssh-client", Fast: "evaluate", Want: 2.5, Note: "evaluation >= 2.5x faster than ssh + script"},
	{Slow: "ansible-ping", Fast: "evaluate", Want: 8, Note: "evaluation >= 8x faster than ansible -m ping -b"},
	{Slow: "ssh-client", Fast: "floor", Note: "for reference (issue: about 3x)"},
	{Slow: "ansible-ping", Fast: "floor", Note: "for reference (issue: about 10x)"},
}

// TestRealSpeedTable runs the four speed cases against the same fleet
// node and user, interleaved: every round runs each case (testing.Benchmark, for
// -test.benchtime) in a rotated order, so that the machine's load drifts
// over all of them alike. It prints the median ns/op of each case and the
// median of the per-round ratios. It asserts nothing about speed; it
// fails only when a case fails to run.
//
//	PRESSLUFT_BENCH_ROUNDS=7 go test -run TestRealSpeedTable -v -benchtime 1s ./internal/realhost/
func TestRealSpeedTable(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv(roundsEnv))
	if rounds <= 0 {
		t.Skipf("set %s=N to run N interleaved rounds (scripts/bench.sh does)", roundsEnv)
	}
	e := getBenchEnv(t)

	var cases []speedCase
	for _, c := range speedCases {
		if c.Need != nil {
			if why := c.Need(); why != "" {
				t.Logf("skipping %s: %s", c.Name, why)
				continue
			}
		}
		cases = append(cases, c)
	}
	load0 := benchutil.LoadAvg()
	start := time.Now()
	perRound := map[string][]float64{} // ns/op per round, in round order
	for r := range rounds {
		for i := range cases {
			c := cases[(i+r)%len(cases)]
			var err error
			res := testing.Benchmark(func(b *testing.B) { benchLoop(b, c, &err) })
			if err != nil || res.N == 0 {
				t.Fatalf("round %d: %s: %v (ran %d times)", r+1, c.Name, err, res.N)
			}
			perRound[c.Name] = append(perRound[c.Name], float64(res.T.Nanoseconds())/float64(res.N))
		}
	}
	elapsed := time.Since(start)
	load1 := benchutil.LoadAvg()

	var sb strings.Builder
	fmt.Fprintf(&sb, "\nfleet node %s (Debian 12 under systemd, OpenSSH at %s:%d), user %s (NOPASSWD), %d interleaved rounds in %s\n",
		e.node.Name, e.node.Addr, e.node.Port, e.node.User, rounds, elapsed.Round(time.Second))
	fmt.Fprintf(&sb, "load average before: %s   after: %s\n\n", load0, load1)
	fmt.Fprintf(&sb, "%-14s %12s %12s %12s\n", "case", "median", "min", "max")
	for _, c := range cases {
		v := perRound[c.Name]
		fmt.Fprintf(&sb, "%-14s %12s %12s %12s\n", c.Name, ms(benchutil.Median(v)), ms(slices.Min(v)), ms(slices.Max(v)))
	}
	fmt.Fprintf(&sb, "\n%-28s %9s %9s  %-8s %s\n", "ratio", "median", "target", "met", "")
	for _, tg := range speedTargets {
		slow, fast := perRound[tg.Slow], perRound[tg.Fast]
		if slow == nil || fast == nil {
			fmt.Fprintf(&sb, "%-28s %9s\n", tg.Slow+" / "+tg.Fast, "skipped")
			continue
		}
		ratios := make([]float64, len(slow))
		for i := range slow {
			ratios[i] = slow[i] / fast[i]
		}
		got := benchutil.Median(ratios)
		target, met := "", ""
		if tg.Want > 0 {
			if tg.AtMost {
				target, met = fmt.Sprintf("<= %.2fx", tg.Want), yesNo(got <= tg.Want)
			} else {
				target, met = fmt.Sprintf(">= %.1fx", tg.Want), yesNo(got >= tg.Want)
			}
		}
		fmt.Fprintf(&sb, "%-28s %8.2fx %9s  %-8s %s\n", tg.Slow+" / "+tg.Fast, got, target, met, tg.Note)
	}
	sb.WriteString(phaseTable(t, e, 20))
	t.Log(sb.String())
	fmt.Print(sb.String())
}

// phaseTable runs the probe script and `true` through sshexec.Client n
// times each, alternating, and prints the median of each phase: where the
// evaluation's time goes next to the floor's.
func phaseTable(t *testing.T, e *benchEnv, n int) string {
	t.Helper()
	type phases struct{ dial, hs, exec, total []float64 }
	var probeP, floorP phases
	add := func(p *phases, tm sshexec.Timing) {
		p.dial = append(p.dial, float64(tm.Dial))
		p.hs = append(p.hs, float64(tm.Handshake))
		p.exec = append(p.exec, float64(tm.Exec))
		p.total = append(p.total, float64(tm.Dial+tm.Handshake+tm.Exec))
	}
	script := []byte(probe.Script())
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
		rp, err := floorClient.Run(ctx, e.target, probe.Command, script)
		if err != nil {
			cancel()
			t.Fatalf("probe script: %v", err)
		}
		rf, err := floorClient.Run(ctx, e.target, "true", nil)
		cancel()
		if err != nil {
			t.Fatalf("true: %v", err)
		}
		add(&probeP, rp.Timing)
		add(&floorP, rf.Timing)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nphases (sshexec.Timing, median of %d alternating runs)\n", n)
	fmt.Fprintf(&sb, "%-14s %12s %12s %12s %12s\n", "command", "dial", "handshake", "exec", "total")
	for _, row := range []struct {
		name string
		p    phases
	}{{"probe script", probeP}, {"true", floorP}} {
		fmt.Fprintf(&sb, "%-14s %12s %12s %12s %12s\n", row.name,
			ms(benchutil.Median(row.p.dial)), ms(benchutil.Median(row.p.hs)), ms(benchutil.Median(row.p.exec)), ms(benchutil.Median(row.p.total)))
	}
	return sb.String()
}

func ms(ns float64) string { return fmt.Sprintf("%.2f ms", ns/1e6) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
