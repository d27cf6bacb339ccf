package preflight

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// TestSummariesMatchSummary proves the one-pass list gives each node the
// answer Summary gives it, and looks up and probes nothing.
func TestSummariesMatchSummary(t *testing.T) {
	t.Parallel()
	var nodes *countingNodes
	f := newFixture(t, func(c *Config) {
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
	for _, id := range []string{"n1", "bad", "acq"} {
		_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, id)
		require.NoError(t, err)
	}
	listed, err := f.nodes.Nodes(ctx)
	require.NoError(t, err)
	var want []Summary
	var wantReports []readiness.Report
	for _, n := range listed {
		s, err := f.gate.Summary(ctx, n.ID)
		require.NoError(t, err)
		want = append(want, s)
		r, err := f.gate.Report(ctx, n.ID)
		require.NoError(t, err)
		wantReports = append(wantReports, r)
	}
	probes, lookups := f.prober.total.Load(), nodes.lookups.Load()

	got := f.gate.Summaries(listed)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Summaries vs Summary per node (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantReports, f.gate.Reports(listed)); diff != "" {
		t.Fatalf("Reports vs Report per node (-want +got):\n%s", diff)
	}
	if p, l := f.prober.total.Load(), nodes.lookups.Load(); p != probes || l != lookups {
		t.Fatalf("Summaries probed %d times and looked up %d nodes, want neither", p-probes, l-lookups)
	}
	states := map[string]readiness.State{}
	for i, n := range listed {
		states[n.ID] = got[i].State
	}
	wantStates := map[string]readiness.State{
		"n1": readiness.StateReady, "bad": readiness.StateNotReady, "acq": readiness.StatePending,
		"stale": readiness.StateUnknown, "never": readiness.StateUnknown,
	}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
}

// BenchmarkSummaries measures the list's readiness for 1,000 nodes with
// cached observations: one pass, no NodeSource.
func BenchmarkSummaries(b *testing.B) {
	const n = 1000
	list := make([]Node, n)
	mem := NewMemoryNodes()
	for i := range list {
		list[i] = activeNode(fmt.Sprintf("n%04d", i))
		mem.Put(list[i])
	}
	g, err := New(Config{Nodes: mem, Credentials: NewMemoryCredentials(newSigner(b)), Prober: newFakeProber()})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	for _, node := range list {
		if _, err := g.Check(ctx, readiness.OperationSiteCreate, node.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if s := g.Summaries(list); len(s) != n || s[0].State != readiness.StateReady {
			b.Fatalf("got %d summaries, first %v", len(s), s[0].State)
		}
	}
}

// TestSharedReportsAreTheEvaluation proves the gate's shared reports of
// nodes decided without an observation are what readiness.Evaluate gives
// each node, id and check time included, for two nodes of each kind.
func TestSharedReportsAreTheEvaluation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	op := f.gate.cfg.DefaultOperation
	kinds := []Node{
		activeNode("x"),
		{Lifecycle: readiness.LifecycleActive, Host: "10.0.0.3", User: "deploy"},
		{Lifecycle: readiness.LifecycleProvisioning, Host: "10.0.0.4", User: "pressluft"},
		{Lifecycle: readiness.LifecycleDecommissioned, Host: "10.0.0.5", User: "pressluft"},
		{Lifecycle: readiness.LifecycleAcquiring, User: "pressluft"},
		{Lifecycle: readiness.LifecycleActive, Host: "10.0.0.6:22", User: "pressluft"},
		{Lifecycle: readiness.LifecycleActive, Host: "10.0.0.7"},
	}
	for i, k := range kinds {
		for j := range 2 {
			n := k
			n.ID = fmt.Sprintf("k%d-%d", i, j)
			f.clock.Advance(time.Second)
			got := f.gate.Reports([]Node{n})[0]
			obs := readiness.Observation{NodeID: n.ID, Lifecycle: n.Lifecycle, User: n.User, HasAddress: n.hasAddress()}
			if !n.probed() {
				obs.CheckedAt = f.clock.Now()
				if p := n.configProblem(); p != "" {
					obs.Transport = &readiness.TransportFailure{Code: readiness.CodeNodeConfigInvalid, Detail: p}
				}
			}
			want := readiness.Evaluate(obs, f.gate.cfg.Policy(op), op)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("node %s (-want +got):\n%s", n.ID, diff)
			}
		}
	}
}
