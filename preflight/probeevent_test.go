package preflight

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

func TestProbeObserver(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []ProbeEvent
	)
	f := newFixture(t, func(c *Config) {
		c.ProbeObserver = func(ev ProbeEvent) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, ev)
		}
	})
	f.nodes.Put(activeNode("n2"))
	f.nodes.Put(Node{ID: "p1", Lifecycle: readiness.LifecycleProvisioning, Host: "10.0.0.2", User: "pressluft"})
	obs := readyObs()
	obs.Duration = 250 * time.Millisecond
	f.prober.set("n1", obs)
	f.prober.set("n2", transportObs(readiness.CodeSSHUnreachable))

	for _, id := range []string{"n1", "n1", "n2", "p1"} { // the second n1 is cached, p1 is not probed
		_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, id)
		require.NoError(t, err)
	}
	_, err := f.gate.Refresh(ctx, "n1")
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	want := []ProbeEvent{
		{NodeID: "n1", Duration: 250 * time.Millisecond},
		{NodeID: "n2", Failure: readiness.CodeSSHUnreachable}, // the fake clock stands still
		{NodeID: "n1", Duration: 250 * time.Millisecond},
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("probe events (-want +got):\n%s", diff)
	}
}

func TestProbeObserverPanicIsContained(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) {
		c.ProbeObserver = func(ProbeEvent) { panic("observer bug") }
	})
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if !d.Admit {
		t.Fatalf("got admit=%v, want the check to survive a panicking probe observer", d.Admit)
	}
}
