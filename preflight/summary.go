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

// Summaries returns the Summary of each node, in order, from records the
// host has already listed (its own node list, one query): the same
// answer as Summary for each, without a NodeSource look-up or a probe.
// A record's ID must be set; the gate trusts the record as it is, so a
// node deleted since the host listed it still gets a summary. Its cost
// is a map look-up under each node's lock, plus a readiness.Evaluate for
// a node with no usable observation. It takes no context because it does
// no I/O.
func (g *Gate) Summaries(nodes []Node) []Summary {
	now := g.cfg.Now()
	out := make([]Summary, len(nodes))
	for i, n := range nodes {
		r := g.lastReport(n, now)
		st, ok := g.Status(n.ID)
		out[i] = SummaryOf(r, st, ok)
	}
	return out
}

// Reports returns each node's last known report (Report's answer), in
// order, from records the host has already listed, without a NodeSource
// look-up or a probe: for a list that shows every reason, not just the
// primary one. The reports are shared with other callers: treat them as
// read-only.
func (g *Gate) Reports(nodes []Node) []readiness.Report {
	now := g.cfg.Now()
	out := make([]readiness.Report, len(nodes))
	for i, n := range nodes {
		out[i] = g.lastReport(n, now)
	}
	return out
}
