package preflight

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

func TestCountStates(t *testing.T) {
	t.Parallel()
	var f *fixture
	var nodes *countingNodes
	f = newFixture(t, func(c *Config) {
		nodes = &countingNodes{MemoryNodes: c.Nodes.(*MemoryNodes)}
		c.Nodes = nodes
	})
	f.nodes.Put(activeNode("bad"))
	f.nodes.Put(activeNode("stale"))
	f.nodes.Put(activeNode("never"))
	f.nodes.Put(Node{ID: "acq", Lifecycle: readiness.LifecycleAcquiring, User: "pressluft"})
	f.prober.set("bad", factsObs(sudoPassword))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "stale")
	require.NoError(t, err)
	f.clock.Advance(DefaultStaleAfter + 1)
	for _, id := range []string{"n1", "bad"} {
		_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, id)
		require.NoError(t, err)
	}
	probes, lookups := f.prober.total.Load(), nodes.lookups.Load()

	got, err := f.gate.CountStates(ctx)
	require.NoError(t, err)
	want := map[readiness.State]int{
		readiness.StateReady:    1, // n1
		readiness.StateNotReady: 1, // bad
		readiness.StatePending:  1, // acq
		readiness.StateUnknown:  2, // stale, never
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CountStates (-want +got):\n%s", diff)
	}
	if p, l := f.prober.total.Load(), nodes.lookups.Load(); p != probes || l != lookups {
		t.Fatalf("CountStates probed %d times and looked up %d nodes, want neither", p-probes, l-lookups)
	}
}
