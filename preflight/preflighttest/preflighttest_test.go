package preflighttest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflighttest"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
)

var ctx = context.Background()

// TestObservationForEveryProbeCode: every code a probe can report has an
// observation that evaluates to it; the others are decided from the
// record or by the gate.
func TestObservationForEveryProbeCode(t *testing.T) {
	t.Parallel()
	notProbe := map[readiness.Code]bool{
		readiness.CodeNodeAcquiring: true, readiness.CodeNodeProvisioning: true,
		readiness.CodeNodeDecommissioned: true, readiness.CodeNodeNeverProbed: true,
		readiness.CodeReadinessStale: true, readiness.CodeNodeAddressMissing: true,
		readiness.CodeNodeConfigInvalid: true, readiness.CodeNoCandidateNode: true,
	}
	for _, info := range readiness.Registry() {
		obs, ok := preflighttest.ObservationFor(info.Code)
		if notProbe[info.Code] {
			require.False(t, ok, "%s is not a probe outcome", info.Code)
			continue
		}
		require.True(t, ok, "%s: no observation", info.Code)
		obs.NodeID, obs.HasAddress, obs.Probed = "n1", true, true
		r := readiness.Evaluate(obs, readiness.PolicyFor(readiness.OperationSiteCreate), readiness.OperationSiteCreate)
		if info.Severity == readiness.SeverityWarning {
			require.Equal(t, readiness.StateReady, r.State, "%s", info.Code)
			require.Len(t, r.Reasons, 1, "%s", info.Code)
			require.Equal(t, info.Code, r.Reasons[0].Code, "%s", info.Code)
			continue
		}
		require.Equal(t, info.Code, r.PrimaryReason, "%s", info.Code)
	}
	_, ok := preflighttest.ObservationFor("no_such_code")
	require.False(t, ok)
}

func nodes() *preflight.MemoryNodes {
	// Records as a host's tests have them: no key file, no host key.
	return preflight.NewMemoryNodes(
		preflight.Node{ID: "n1", Host: "10.0.0.1", User: "pressluft"},
		preflight.Node{ID: "n2", Host: "10.0.0.2", User: "pressluft"},
		preflight.Node{ID: "acq", Host: preflight.PendingHost, User: "pressluft", Lifecycle: readiness.LifecycleAcquiring},
	)
}

func TestGate(t *testing.T) {
	t.Parallel()
	p := preflighttest.NewProber()
	g := preflighttest.NewGate(t, nodes(), p)

	d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Admit, "ready by default: %s", d.Report.Summary())

	p.Refuse("n2", readiness.CodeSudoPasswordRequired)
	d, err = g.Check(ctx, readiness.OperationSiteCreate, "n2")
	require.NoError(t, err)
	require.False(t, d.Admit)
	require.Equal(t, readiness.CodeSudoPasswordRequired, d.Report.PrimaryReason)

	d, err = g.Check(ctx, readiness.OperationSiteCreate, "acq")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeNodeAcquiring, d.Report.PrimaryReason)
	require.Zero(t, p.Probes("acq"), "record-based: never probed")

	// The gate caches as in production: a changed answer shows after a
	// refresh.
	p.SetReady("n2")
	_, err = g.Check(ctx, readiness.OperationSiteCreate, "n2")
	require.NoError(t, err)
	require.Equal(t, 1, p.Probes("n2"), "cached refusal reused within FailTTL")
	r, err := g.Refresh(ctx, "n2")
	require.NoError(t, err)
	require.True(t, r.Ready())
	require.Equal(t, 2, p.Probes("n2"))
	require.Equal(t, 3, p.Total())

	p.SetFacts("n1", readinesstest.Facts(func(f *readiness.Facts) { f.Systemd = false }))
	r, err = g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeServiceManagerUnavailable, r.PrimaryReason)
}

func TestGateEdit(t *testing.T) {
	t.Parallel()
	p := preflighttest.NewProber()
	p.Refuse("n1", readiness.CodeSSHAuthFailed)
	g := preflighttest.NewGate(t, nodes(), p, func(c *preflight.Config) { c.Mode = preflight.ModeWarn })
	d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Admit && d.WouldRefuse, "warn mode from edit")
}

func TestRefusePanicsForRecordCodes(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "preflighttest: code node_acquiring is not the outcome of a probe", func() {
		preflighttest.NewProber().Refuse("n1", readiness.CodeNodeAcquiring)
	})
}

// A host's test with the gate installed: its node records have no keys,
// and its nodes do not exist. In a test, NewGate(t, nodes, p) does the
// same and closes the gate at cleanup.
func Example() {
	p := preflighttest.NewProber()
	p.Refuse("n2", readiness.CodeSudoPasswordRequired)
	gate, err := preflight.New(preflight.Config{Nodes: nodes(), Credentials: preflighttest.Credentials(), Prober: p})
	if err != nil {
		panic(err)
	}
	defer gate.Close()

	d, _ := gate.Choose(context.Background(), readiness.OperationSiteCreate, []string{"n2", "n1"})
	fmt.Println(d.NodeID, d.Admit)
	d, _ = gate.Check(context.Background(), readiness.OperationSiteCreate, "n2")
	fmt.Println(d.Err())
	// Output:
	// n1 true
	// preflight: node n2 is not ready for site_create: not_ready: sudo_password_required
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := preflighttest.NewClock(t0)
	require.Equal(t, t0, c.Now())
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Advance(time.Minute)
		}()
	}
	wg.Wait()
	require.Equal(t, t0.Add(10*time.Minute), c.Now())
}
