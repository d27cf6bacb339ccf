package fleetbench

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// TestSmallFleet evaluates 50 ready nodes with 8 workers: every report is
// ready, and each node saw exactly one connection and one exec, of the
// probe script; a raw pass then adds one connection running `true` per
// node.
func TestSmallFleet(t *testing.T) {
	const nodes, workers = 50, 8
	f := Start(nodes, sshtest.ReadyProfile())
	t.Cleanup(f.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	p := &probe.Prober{Client: &sshexec.Client{Timeout: 30 * time.Second}}
	pass := f.Evaluate(ctx, workers, p, readiness.Baseline(), readiness.OperationSiteCreate)
	require.NoError(t, pass.Err)
	require.Equal(t, nodes, pass.Ops)

	script := sha256.Sum256([]byte(probe.Script()))
	for i, n := range f.Nodes {
		if got := n.Connections(); got != 1 {
			t.Errorf("node %d: got %d connections, want 1", i, got)
		}
		execs := n.Execs()
		if len(execs) != 1 {
			t.Errorf("node %d: got %d execs, want 1", i, len(execs))
			continue
		}
		if execs[0].Command != probe.Command || execs[0].StdinSHA256 != script {
			t.Errorf("node %d: got exec %q with stdin %x, want %q with the probe script", i, execs[0].Command, execs[0].StdinSHA256[:4], probe.Command)
		}
	}

	raw := f.Raw(ctx, workers)
	require.NoError(t, raw.Err)
	require.Equal(t, nodes, raw.Ops)
	for i, n := range f.Nodes {
		if got := n.Connections(); got != 2 {
			t.Errorf("node %d: got %d connections after the raw pass, want 2", i, got)
		}
		if execs := n.Execs(); len(execs) != 2 || execs[1].Command != "true" {
			t.Errorf("node %d: got execs %+v, want the probe then true", i, execs)
		}
	}
}

// TestNotReadyIsAnError: a pass over nodes that are not ready reports
// the failure instead of counting it as throughput.
func TestNotReadyIsAnError(t *testing.T) {
	f := Start(3, sshtest.SudoPasswordProfile())
	t.Cleanup(f.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pass := f.Evaluate(ctx, 2, &probe.Prober{}, readiness.Baseline(), readiness.OperationSiteCreate)
	require.Error(t, pass.Err)
	if pass.Ops != 0 {
		t.Errorf("got %d successful ops, want 0", pass.Ops)
	}
}

func TestPeakMemory(t *testing.T) {
	m := StartPeakMemory(time.Millisecond)
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	time.Sleep(5 * time.Millisecond)
	peak := m.Stop()
	if peak < uint64(len(buf)) {
		t.Errorf("got peak %d bytes, want at least %d", peak, len(buf))
	}
	if rss := MaxRSS(); rss < uint64(len(buf)) {
		t.Errorf("got maxrss %d bytes, want at least %d", rss, len(buf))
	}
	_ = buf[len(buf)-1]
}

// TestReplayFleet: with replay on, a pass still makes one connection and
// one exec of the probe script per node and every report is ready, while
// the nodes start no process after the first pass: the second SDK pass's
// child CPU is zero.
func TestReplayFleet(t *testing.T) {
	const nodes, workers = 20, 4
	f := Start(nodes, sshtest.ReadyProfile())
	t.Cleanup(f.Close)
	f.SetReplay(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := &probe.Prober{Client: &sshexec.Client{Timeout: 30 * time.Second}}

	first := f.Evaluate(ctx, workers, p, readiness.Baseline(), readiness.OperationSiteCreate)
	require.NoError(t, first.Err)
	before := ReadCPU()
	second := f.Evaluate(ctx, workers, p, readiness.Baseline(), readiness.OperationSiteCreate)
	used := ReadCPU().Sub(before)
	require.NoError(t, second.Err)
	require.Equal(t, nodes, second.Ops)
	if used.Children != 0 {
		t.Errorf("replayed pass used %v of child CPU, want none (no process started)", used.Children)
	}
	script := sha256.Sum256([]byte(probe.Script()))
	for i, n := range f.Nodes {
		execs := n.Execs()
		if n.Connections() != 2 || len(execs) != 2 {
			t.Errorf("node %d: %d connections, %d execs after two passes, want 2 and 2", i, n.Connections(), len(execs))
			continue
		}
		if execs[1].Command != probe.Command || execs[1].StdinSHA256 != script {
			t.Errorf("node %d: replayed exec %q with stdin %x, want %q with the probe script", i, execs[1].Command, execs[1].StdinSHA256[:4], probe.Command)
		}
	}
}
