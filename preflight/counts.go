package preflight

import (
	"context"
	"fmt"

	"github.com/pressluft/runtime-readiness/readiness"
)

// CountStates counts the nodes the NodeSource lists by the state Report
// would give each (pending, ready, not_ready, unknown; a stale result is
// unknown), for a gauge of the fleet. It never probes and makes one
// NodeSource call (Nodes), whatever the fleet size; the rest is a map
// look-up under each node's lock, plus a readiness.Evaluate for a node
// with no usable observation. The error is the NodeSource's, or ctx's.
func (g *Gate) CountStates(ctx context.Context) (map[readiness.State]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("preflight: count states: %w", err)
	}
	nodes, err := g.cfg.Nodes.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("preflight: count states: %w", err)
	}
	now := g.cfg.Now()
	out := map[readiness.State]int{}
	for _, n := range nodes {
		out[g.lastReport(n, now).State]++
	}
	return out, nil
}
