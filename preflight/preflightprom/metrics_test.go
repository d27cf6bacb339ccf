package preflightprom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflightprom"
	"github.com/pressluft/runtime-readiness/preflight/preflighttest"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// timedProber reports every probe as taking a fixed time.
type timedProber struct {
	*preflighttest.Prober
	took time.Duration
}

func (p timedProber) Observe(ctx context.Context, id string, t sshexec.Target) readiness.Observation {
	obs := p.Prober.Observe(ctx, id, t)
	obs.Duration = p.took
	return obs
}

// fleet is a gate over five nodes fed into one Metrics: web-1 ready,
// web-2 refused (sudo asks for a password), web-3 unreachable but
// ssh_unreachable in warn mode, web-4 provisioning, web-5 never checked.
func fleet(t *testing.T) (*preflightprom.Metrics, *preflight.Gate, *prometheus.Registry) {
	t.Helper()
	nodes := preflight.NewMemoryNodes(
		preflight.Node{ID: "web-1", Host: "203.0.113.1", User: "pressluft"},
		preflight.Node{ID: "web-2", Host: "203.0.113.2", User: "pressluft"},
		preflight.Node{ID: "web-3", Host: "203.0.113.3", User: "pressluft"},
		preflight.Node{ID: "web-4", Host: "203.0.113.4", User: "pressluft", Lifecycle: readiness.LifecycleProvisioning},
		preflight.Node{ID: "web-5", Host: "203.0.113.5", User: "pressluft"},
	)
	p := preflighttest.NewProber()
	p.SetFacts("web-2", readinesstest.Facts(func(f *readiness.Facts) { f.Sudo = readiness.SudoPasswordRequired }))
	p.Refuse("web-3", readiness.CodeSSHUnreachable)
	m := preflightprom.NewMetrics()
	gate, err := preflight.New(preflight.Config{
		Nodes: nodes, Credentials: preflighttest.Credentials(), Prober: timedProber{p, 250 * time.Millisecond},
		CodeModes:     map[readiness.Code]preflight.Mode{readiness.CodeSSHUnreachable: preflight.ModeWarn},
		Observer:      m.Observer(nil),
		ProbeObserver: m.ProbeObserver(nil),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = gate.Close() })
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, preflightprom.NewNodesCollector(gate, 0))
	return m, gate, reg
}

func check(t *testing.T, g *preflight.Gate, id string) preflight.Decision {
	t.Helper()
	d, err := g.Check(context.Background(), readiness.OperationSiteCreate, id)
	require.NoError(t, err)
	return d
}

func TestMetricsAfterKnownDecisions(t *testing.T) {
	t.Parallel()
	m, gate, reg := fleet(t)
	if d := check(t, gate, "web-1"); !d.Admit || d.WouldRefuse {
		t.Fatalf("web-1: got admit=%v would_refuse=%v, want a ready admission", d.Admit, d.WouldRefuse)
	}
	check(t, gate, "web-1") // cached: a decision, no probe
	if d := check(t, gate, "web-2"); d.Admit {
		t.Fatalf("web-2: got admit=%v, want refused", d.Admit)
	}
	if d := check(t, gate, "web-3"); !d.Admit || !d.WouldRefuse {
		t.Fatalf("web-3: got admit=%v would_refuse=%v, want a warn-mode admission", d.Admit, d.WouldRefuse)
	}
	if d := check(t, gate, "web-4"); d.Admit { // pending: decided from its record, no probe
		t.Fatalf("web-4: got admit=%v, want refused", d.Admit)
	}

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)

	const want = `
# HELP pressluft_readiness_checks_total Readiness gate decisions, by operation and decision (admitted, refused, warned).
# TYPE pressluft_readiness_checks_total counter
pressluft_readiness_checks_total{decision="admitted",operation="site_create"} 2
pressluft_readiness_checks_total{decision="refused",operation="site_create"} 2
pressluft_readiness_checks_total{decision="warned",operation="site_create"} 1
# HELP pressluft_readiness_refusals_total Operations the readiness gate refused, by the refusal's primary reason code.
# TYPE pressluft_readiness_refusals_total counter
pressluft_readiness_refusals_total{code="node_provisioning"} 1
pressluft_readiness_refusals_total{code="sudo_password_required"} 1
# HELP pressluft_readiness_waived_total Blocking reasons admitted in warn mode, by reason code.
# TYPE pressluft_readiness_waived_total counter
pressluft_readiness_waived_total{code="ssh_unreachable"} 1
# HELP pressluft_readiness_probe_duration_seconds Duration of the readiness gate's SSH probes, from when a probe got its slot.
# TYPE pressluft_readiness_probe_duration_seconds histogram
pressluft_readiness_probe_duration_seconds_bucket{le="0.005"} 0
pressluft_readiness_probe_duration_seconds_bucket{le="0.01"} 0
pressluft_readiness_probe_duration_seconds_bucket{le="0.025"} 0
pressluft_readiness_probe_duration_seconds_bucket{le="0.05"} 0
pressluft_readiness_probe_duration_seconds_bucket{le="0.1"} 0
pressluft_readiness_probe_duration_seconds_bucket{le="0.25"} 3
pressluft_readiness_probe_duration_seconds_bucket{le="0.5"} 3
pressluft_readiness_probe_duration_seconds_bucket{le="1"} 3
pressluft_readiness_probe_duration_seconds_bucket{le="2.5"} 3
pressluft_readiness_probe_duration_seconds_bucket{le="5"} 3
pressluft_readiness_probe_duration_seconds_bucket{le="10"} 3
pressluft_readiness_probe_duration_seconds_bucket{le="+Inf"} 3
pressluft_readiness_probe_duration_seconds_sum 0.75
pressluft_readiness_probe_duration_seconds_count 3
`
	require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want)))

	const wantNodes = `
# HELP pressluft_readiness_nodes Nodes by readiness state (ready, not_ready, pending, unknown) as the gate last saw them; never probes.
# TYPE pressluft_readiness_nodes gauge
pressluft_readiness_nodes{state="not_ready"} 2
pressluft_readiness_nodes{state="pending"} 1
pressluft_readiness_nodes{state="ready"} 1
pressluft_readiness_nodes{state="unknown"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(wantNodes), "pressluft_readiness_nodes"))
}

func TestObserversChain(t *testing.T) {
	t.Parallel()
	m := preflightprom.NewMetrics()
	var decisions, probes int
	m.Observer(func(preflight.Decision) { decisions++ })(preflight.Decision{Operation: readiness.OperationEnvCreate, Admit: true})
	m.ProbeObserver(func(preflight.ProbeEvent) { probes++ })(preflight.ProbeEvent{NodeID: "n", Duration: time.Second})
	if decisions != 1 || probes != 1 {
		t.Fatalf("got %d decisions and %d probes passed on, want 1 and 1", decisions, probes)
	}
	const want = `
# HELP pressluft_readiness_checks_total Readiness gate decisions, by operation and decision (admitted, refused, warned).
# TYPE pressluft_readiness_checks_total counter
pressluft_readiness_checks_total{decision="admitted",operation="env_create"} 1
`
	require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want), "pressluft_readiness_checks_total"))
	if got := testutil.CollectAndCount(m, "pressluft_readiness_probe_duration_seconds"); got != 1 {
		t.Fatalf("got %d probe histograms, want 1", got)
	}
}

type failingCounter struct{}

func (failingCounter) CountStates(context.Context) (map[readiness.State]int, error) {
	return nil, errors.New("database is locked")
}

func TestNodesCollectorFailsTheScrape(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(preflightprom.NewNodesCollector(failingCounter{}, time.Second))
	_, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("Gather: got %v, want the CountStates error", err)
	}
}
