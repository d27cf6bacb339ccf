package preflight

import (
	"context"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Summary is a node's readiness in a few fields, for a host to embed in
// its own node JSON (a "readiness" member of its node list, say) without
// serving the whole report. Its JSON names are those of the readiness
// fields of contracts.NodeSummary.
type Summary struct {
	State readiness.State `json:"state"`
	// PrimaryReason, Message and Remediation are the primary reason's;
	// empty when the node is ready.
	PrimaryReason readiness.Code `json:"primary_reason,omitempty"`
	Message       string         `json:"message,omitempty"`
	Remediation   string         `json:"remediation,omitempty"`
	// Summary is readiness.Report.Summary: "ready", or the state and the
	// primary reason.
	Summary string `json:"summary"`
	// Retryable is true when every blocking reason may clear by itself.
	Retryable bool `json:"retryable"`
	// PreviousState is the state before the last transition, once there
	// was one.
	PreviousState    readiness.State `json:"previous_state,omitempty"`
	LastCheckedAt    *time.Time      `json:"last_checked_at,omitempty"`
	LastTransitionAt *time.Time      `json:"last_transition_at,omitempty"`
}

// Summary returns the node's Summary from its last Report and Status,
// without probing. Errors are Report's.
func (g *Gate) Summary(ctx context.Context, nodeID string) (Summary, error) {
	r, err := g.Report(ctx, nodeID)
	if err != nil {
		return Summary{}, err
	}
	st, ok := g.Status(nodeID)
	return SummaryOf(r, st, ok), nil
}

// SummaryOf builds a Summary from a report and, when known is true, the
// node's status; without a status the report's own check time is used.
func SummaryOf(r readiness.Report, st NodeStatus, known bool) Summary {
	s := Summary{State: r.State, PrimaryReason: r.PrimaryReason, Summary: r.Summary(), Retryable: r.Retryable()}
	for i := range r.Reasons {
		if r.Reasons[i].Code == r.PrimaryReason && r.PrimaryReason != "" {
			s.Message, s.Remediation = r.Reasons[i].Message, r.Reasons[i].Remediation
			break
		}
	}
	if !known {
		s.LastCheckedAt = utcPtr(r.CheckedAt)
		return s
	}
	s.LastCheckedAt = utcPtr(st.LastCheckedAt)
	s.LastTransitionAt = utcPtr(st.LastTransitionAt)
	if st.PreviousState != "" && !st.LastTransitionAt.IsZero() {
		s.PreviousState = st.PreviousState
	}
	return s
}

func utcPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
