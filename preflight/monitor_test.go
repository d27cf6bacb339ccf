package preflight

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/internal/leaktest"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

func TestMonitorProbesEveryNodeAndLeavesNoGoroutine(t *testing.T) {
	// Not parallel: it checks the process's goroutines.
	base := leaktest.Take()
	f := newFixture(t, func(c *Config) { c.MaxConcurrentProbes = 2 })
	ids := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, id := range ids[1:] {
		f.nodes.Put(activeNode(id))
	}
	pending := activeNode("pending")
	pending.Lifecycle = readiness.LifecycleProvisioning
	f.nodes.Put(pending)
	f.prober.delay = time.Millisecond

	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.gate.Monitor(mctx, 5*time.Millisecond, 0.5) }()
	waitFor(t, "two rounds", func() bool {
		for _, id := range ids {
			if f.prober.count(id) < 2 {
				return false
			}
		}
		return true
	})
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Monitor did not return within 10s of cancel")
	}
	if got := f.prober.count("pending"); got != 0 {
		t.Fatalf("pending node: got %d probes, want 0", got)
	}
	if got := f.prober.maxInflight(); got > 2 {
		t.Fatalf("got %d probes in flight, want at most 2", got)
	}
	for _, id := range ids {
		st, ok := f.gate.Status(id)
		if !ok || st.State != readiness.StateReady {
			t.Fatalf("%s: got status %+v, want ready", id, st)
		}
	}
	require.NoError(t, f.gate.Close())
	leaktest.Check(t, base)
}

func TestMonitorPrunesDeletedNodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.nodes.Put(activeNode("gone"))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "gone")
	require.NoError(t, err)
	f.nodes.Delete("gone")
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = f.gate.Monitor(mctx, time.Hour, 0) }()
	waitFor(t, "prune", func() bool { _, ok := f.gate.Status("gone"); return !ok })
}

func TestMonitorArguments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Error(t, f.gate.Monitor(ctx, 0, 0))
	require.NoError(t, f.gate.Close())
	require.ErrorIs(t, f.gate.Monitor(ctx, time.Second, 0), ErrClosed)
}

func TestCloseWaitsForProbes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.prober.tokens = make(chan struct{})
	f.prober.started = make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		// Close interrupts the probe's context; this fake ignores it and
		// returns ready once released.
		d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
		require.NoError(t, err)
		require.True(t, d.Admit)
	})
	<-f.prober.started
	closed := make(chan struct{})
	go func() {
		_ = f.gate.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a probe was still running")
	case <-time.After(50 * time.Millisecond):
	}
	f.prober.tokens <- struct{}{}
	<-closed
	wg.Wait()

	// Cached answers still work; anything needing a probe is ErrClosed.
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Cached)
	_, err = f.gate.Refresh(ctx, "n1")
	require.True(t, errors.Is(err, ErrClosed), "got %v, want ErrClosed", err)
	require.NoError(t, f.gate.Close()) // idempotent
}
