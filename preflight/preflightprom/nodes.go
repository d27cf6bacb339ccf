package preflightprom

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pressluft/runtime-readiness/readiness"
)

// StateCounter counts the fleet's nodes by readiness state without
// probing. *preflight.Gate implements it (CountStates).
type StateCounter interface {
	CountStates(ctx context.Context) (map[readiness.State]int, error)
}

// DefaultScrapeTimeout bounds one CountStates call of a NodesCollector
// whose timeout is zero.
const DefaultScrapeTimeout = 5 * time.Second

// states are always exported, at zero when no node is in them, so a
// graph of each has no gaps.
var states = []readiness.State{
	readiness.StateReady, readiness.StateNotReady, readiness.StatePending, readiness.StateUnknown,
}

// NodesCollector exports pressluft_readiness_nodes{state}, computed at
// scrape time. Create it with NewNodesCollector.
type NodesCollector struct {
	gate    StateCounter
	timeout time.Duration
	desc    *prometheus.Desc
}

// NewNodesCollector returns a collector that calls gate.CountStates on
// every scrape, bounded by timeout (0 means DefaultScrapeTimeout).
func NewNodesCollector(gate StateCounter, timeout time.Duration) *NodesCollector {
	if timeout <= 0 {
		timeout = DefaultScrapeTimeout
	}
	return &NodesCollector{
		gate: gate, timeout: timeout,
		desc: prometheus.NewDesc("pressluft_readiness_nodes",
			"Nodes by readiness state (ready, not_ready, pending, unknown) as the gate last saw them; never probes.",
			[]string{"state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *NodesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A CountStates error fails the
// scrape with it (an invalid metric) rather than exporting wrong counts.
func (c *NodesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.gate.CountStates(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	for s, n := range counts {
		if !slices.Contains(states, s) {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(s))
		}
	}
}
