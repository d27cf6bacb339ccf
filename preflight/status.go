package preflight

import (
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// NodeStatus is a node's readiness over time, as the gate has seen it:
// the state of the last report produced (by a probe, evaluated under the
// DefaultOperation's policy, or from the node's record) and when it last
// changed.
type NodeStatus struct {
	NodeID string
	State  readiness.State
	// PreviousState is the state before the last transition;
	// readiness.StateUnknown for the first one.
	PreviousState readiness.State
	// PrimaryReason is the last report's primary reason; "" when ready.
	PrimaryReason readiness.Code
	// LastTransitionAt is when State last changed (gate clock).
	LastTransitionAt time.Time
	// LastCheckedAt is when the last report was produced (gate clock).
	LastCheckedAt time.Time
}

// Status returns the node's status, and false if the gate has produced no
// report for it yet. It never probes and never consults the NodeSource.
func (g *Gate) Status(nodeID string) (NodeStatus, bool) {
	e := g.lookup(nodeID)
	if e == nil {
		return NodeStatus{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status, e.hasStatus
}

// recordLocked updates the status with a new report. e.mu must be held.
func (e *entry) recordLocked(r readiness.Report, now time.Time) {
	if !e.hasStatus {
		e.hasStatus = true
		e.status = NodeStatus{NodeID: r.NodeID, State: readiness.StateUnknown}
	}
	if r.State != e.status.State {
		e.status.PreviousState = e.status.State
		e.status.State = r.State
		e.status.LastTransitionAt = now
	}
	e.status.PrimaryReason = r.PrimaryReason
	e.status.LastCheckedAt = now
}
