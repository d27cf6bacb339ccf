package preflight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// restart returns a new gate over f's nodes, prober, clock and
// credentials with store as its Memory: the control plane after a
// restart. The caller closes the gate before it, so that its last saves
// are done.
func (f *fixture) restart(t *testing.T, store MemoryStore, edit func(c *Config)) *Gate {
	t.Helper()
	cfg := Config{Nodes: f.nodes, Credentials: f.creds, Prober: f.prober, Now: f.clock.Now, Memory: store}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func withMemory(s MemoryStore) func(c *Config) { return func(c *Config) { c.Memory = s } }

// syncBuffer is a log sink safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func bufferLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// After a restart, a node that refused the key stays in its backoff: no
// Check, Choose or Monitor round probes it until the backoff is over,
// the backoff keeps doubling from where it was, and Refresh still probes.
func TestMemoryKeepsAuthFailBackoffAcrossRestart(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	f := newFixture(t, withMemory(store))
	f.nodes.Put(activeNode("n2"))
	f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.Equal(t, 1, f.prober.count("n1"))
	require.NoError(t, f.gate.Close())

	f.clock.Advance(time.Minute)
	g := f.restart(t, store, nil)
	d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Cached, "the stored refusal, not a probe")
	require.Equal(t, readiness.CodeSSHAuthFailed, d.Report.PrimaryReason)
	d, err = g.Choose(ctx, readiness.OperationSiteCreate, []string{"n1", "n2"})
	require.NoError(t, err)
	require.Equal(t, "n2", d.NodeID)
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Monitor(mctx, 5*time.Millisecond, 0) }()
	waitFor(t, "five monitor rounds", func() bool { return f.prober.count("n2") >= 5 })
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 1, f.prober.count("n1"), "no probe of n1 within its backoff after the restart")

	// The backoff ends 2m after the first failure, not after the restart.
	f.clock.Advance(time.Minute)
	_, err = g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.Equal(t, 2, f.prober.count("n1"), "probed once the backoff is over")

	// Second failure: 4m, as without the restart.
	f.clock.Advance(4*time.Minute - time.Second)
	_, err = g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.Equal(t, 2, f.prober.count("n1"), "the doubled backoff holds")
	_, err = g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, 3, f.prober.count("n1"), "Refresh probes at once")
}

// Without a store a restarted gate probes at once: the control for the
// test above.
func TestNoMemoryForgetsAcrossRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.NoError(t, f.gate.Close())
	g := f.restart(t, nil, nil)
	_, err = g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.Equal(t, 2, f.prober.count("n1"))
}

// A ready report is reused after a restart while within ReadyTTL, and
// Report and Status serve it rather than node_never_probed.
func TestMemoryReusesReadyReportAcrossRestart(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	f := newFixture(t, withMemory(store))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.NoError(t, f.gate.Close())

	f.clock.Advance(DefaultReadyTTL - time.Second)
	g := f.restart(t, store, nil)
	r, err := g.Report(ctx, "n1")
	require.NoError(t, err)
	require.True(t, r.Ready(), "the stored report, got %s", r.Summary())
	st, ok := g.Status("n1")
	require.True(t, ok)
	require.Equal(t, readiness.StateReady, st.State)
	require.Equal(t, t0, st.LastCheckedAt)
	d, err := g.Check(ctx, readiness.OperationEnvCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Admit)
	require.True(t, d.Cached)
	require.Equal(t, 1, f.prober.count("n1"), "no probe within ReadyTTL")

	f.clock.Advance(time.Second)
	d, err = g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.False(t, d.Cached)
	require.Equal(t, 2, f.prober.count("n1"), "probed once ReadyTTL is over")
}

// A node whose address, port or user changed since the memory was saved
// is probed afresh, its auth failures forgotten.
func TestMemoryOfAnotherTargetIsDiscarded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		change func(n *Node)
	}{
		{"host", func(n *Node) { n.Host = "10.0.0.2" }},
		{"port", func(n *Node) { n.Port = 2222 }},
		{"user", func(n *Node) { n.User = "deploy" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := NewMemoryStore()
			f := newFixture(t, withMemory(store))
			f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
			_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			require.NoError(t, f.gate.Close())

			n := activeNode("n1")
			tt.change(&n)
			f.nodes.Put(n)
			f.prober.set("n1", transportObs(readiness.CodeSSHUnreachable))
			g := f.restart(t, store, nil)
			r, err := g.Report(ctx, "n1")
			require.NoError(t, err)
			require.Equal(t, readiness.CodeNodeNeverProbed, r.PrimaryReason)
			d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			require.Equal(t, 2, f.prober.count("n1"), "another target is probed at once")
			require.Equal(t, readiness.CodeSSHUnreachable, d.Report.PrimaryReason, "no ban suspicion for another target")
		})
	}
}

// The ban suspicion survives a restart: an unreachable node that refused
// the key just before the restart is ssh_banned_suspected.
func TestMemoryKeepsBanSuspicionAcrossRestart(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	f := newFixture(t, withMemory(store))
	f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
	for range 2 {
		_, err := f.gate.Refresh(ctx, "n1")
		require.NoError(t, err)
	}
	require.NoError(t, f.gate.Close())

	f.clock.Advance(time.Minute)
	f.prober.set("n1", transportObs(readiness.CodeSSHUnreachable))
	g := f.restart(t, store, nil)
	r, err := g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHBannedSuspected, r.PrimaryReason, "%s", r.Summary())
	require.Contains(t, r.Checks[0].Observed+r.Reasons[0].Remediation, UnbanCommand)
	var obs string
	for _, c := range r.Checks {
		if c.Code == readiness.CodeSSHBannedSuspected {
			obs = c.Observed
		}
	}
	require.Contains(t, obs, "2 refused logins", "the count from before the restart")

	// Saved again, the suspicion holds a third gate in backoff.
	require.NoError(t, g.Close())
	f.clock.Advance(DefaultFailTTL)
	g3 := f.restart(t, store, nil)
	d, err := g3.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Cached)
	require.Equal(t, readiness.CodeSSHBannedSuspected, d.Report.PrimaryReason)
	require.Equal(t, 3, f.prober.count("n1"))
}

// faultyStore fails or panics on demand and counts its calls.
type faultyStore struct {
	MemoryStore
	loadErr, saveErr error
	panicV           any
	loads, saves     atomic.Int64
}

func (s *faultyStore) Load(ctx context.Context, id string) (Memory, bool, error) {
	s.loads.Add(1)
	if s.panicV != nil {
		panic(s.panicV)
	}
	if s.loadErr != nil {
		return Memory{}, false, s.loadErr
	}
	return s.MemoryStore.Load(ctx, id)
}

func (s *faultyStore) Save(ctx context.Context, id string, m Memory) error {
	s.saves.Add(1)
	if s.panicV != nil {
		panic(s.panicV)
	}
	if s.saveErr != nil {
		return s.saveErr
	}
	return s.MemoryStore.Save(ctx, id, m)
}

// A failing store never blocks a decision: the gate probes as if it had
// no memory, and logs the failure.
func TestMemoryStoreErrorsAreLoggedNotFatal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		store *faultyStore
		want  []string
	}{
		{"load", &faultyStore{loadErr: errors.New("database is locked")}, []string{"loading the node's memory failed", "database is locked"}},
		{"save", &faultyStore{saveErr: errors.New("disk full")}, []string{"saving the node's memory failed", "disk full"}},
		{"panic", &faultyStore{panicV: "boom"}, []string{"loading the node's memory failed", "saving the node's memory failed", "panicked: boom"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.store.MemoryStore = NewMemoryStore()
			log, buf := bufferLogger()
			f := newFixture(t, func(c *Config) { c.Memory, c.Logger = tt.store, log })
			d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			require.True(t, d.Admit)
			require.Equal(t, 1, f.prober.count("n1"))
			require.NoError(t, f.gate.Close())
			require.Equal(t, int64(1), tt.store.loads.Load())
			require.Equal(t, int64(1), tt.store.saves.Load())
			for _, w := range tt.want {
				require.Contains(t, buf.String(), w)
			}
		})
	}
}

// A stored memory the gate could not have written is no memory: the
// node is probed, and the problem logged. The first row is valid, the
// control.
func TestMemoryCorruptIsIgnored(t *testing.T) {
	t.Parallel()
	valid := func() Memory {
		obs := transportObs(readiness.CodeSSHAuthFailed)
		obs.NodeID, obs.Probed, obs.HasAddress, obs.Lifecycle, obs.CheckedAt = "n1", true, true, readiness.LifecycleActive, t0
		return Memory{Host: "10.0.0.1", Port: 22, User: "pressluft", Observation: obs, RecordedAt: t0, AuthFails: 1, ContactAt: t0}
	}
	tests := []struct {
		name    string
		corrupt func(m *Memory)
	}{
		{"valid", func(*Memory) {}},
		{"unknown transport code", func(m *Memory) { m.Observation.Transport.Code = "ssh_gremlins" }},
		{"another node", func(m *Memory) { m.Observation.NodeID = "n2" }},
		{"not probed", func(m *Memory) { m.Observation.Probed = false }},
		{"decommissioned", func(m *Memory) { m.Observation.Lifecycle = readiness.LifecycleDecommissioned }},
		{"no facts, no failure", func(m *Memory) { m.Observation.Transport = nil }},
		{"facts and failure", func(m *Memory) { m.Observation.Facts = readyFacts() }},
		{"no time", func(m *Memory) { m.RecordedAt = time.Time{} }},
		{"future", func(m *Memory) { m.RecordedAt = t0.Add(time.Hour) }},
		{"negative auth fails", func(m *Memory) { m.AuthFails = -1 }},
		{"empty", func(m *Memory) { *m = Memory{Host: "10.0.0.1", Port: 22, User: "pressluft"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := NewMemoryStore()
			m := valid()
			tt.corrupt(&m)
			require.NoError(t, store.Save(ctx, "n1", m))
			log, buf := bufferLogger()
			f := newFixture(t, func(c *Config) { c.Memory, c.Logger = store, log })
			f.clock.Advance(time.Minute)
			d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			if tt.name == "valid" {
				require.True(t, d.Cached)
				require.Zero(t, f.prober.count("n1"))
				require.Empty(t, buf.String())
				return
			}
			require.False(t, d.Cached)
			require.True(t, d.Admit, "the probe's ready report")
			require.Equal(t, 1, f.prober.count("n1"), "corrupt memory is no memory")
			require.Contains(t, buf.String(), "stored memory of the node is unusable")
		})
	}
}

// A host adapter whose row no longer decodes returns an error: logged,
// no memory.
func TestMemoryUndecodableRow(t *testing.T) {
	t.Parallel()
	var m Memory
	err := json.Unmarshal([]byte(`{"observation":{"Transport":7}}`), &m)
	require.Error(t, err)
	s := &faultyStore{MemoryStore: NewMemoryStore(), loadErr: err}
	f := newFixture(t, withMemory(s))
	_, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.Equal(t, 1, f.prober.count("n1"))
}

// Concurrent Checks of a node on a fresh gate load its memory once.
func TestMemoryLoadsOncePerNode(t *testing.T) {
	t.Parallel()
	s := &faultyStore{MemoryStore: NewMemoryStore()}
	f := newFixture(t, withMemory(s))
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	_, err := f.gate.Report(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, int64(1), s.loads.Load())
	require.Equal(t, 1, f.prober.count("n1"))
}

// Memory round-trips through encoding/json, and what a store receives
// names the target but holds no key.
func TestMemoryJSONRoundTrip(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	f := newFixture(t, withMemory(store))
	f.prober.set("n1", readiness.Observation{Facts: facts(func(f *readiness.Facts) { f.Health = &readiness.Health{} })})
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.NoError(t, f.gate.Close())
	m, ok, err := store.Load(ctx, "n1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "10.0.0.1", m.Host)
	require.Equal(t, 22, m.Port)
	require.Equal(t, "pressluft", m.User)
	require.True(t, m.RecordedAt.Equal(t0))
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var back Memory
	require.NoError(t, json.Unmarshal(b, &back))
	if diff := cmp.Diff(m, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	require.NotContains(t, string(b), "PRIVATE KEY")
	require.NotContains(t, string(b), "Signers")
}
