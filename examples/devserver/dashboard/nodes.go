package dashboard

import (
	"net/http"
	"net/url"
	"time"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/readiness"
)

// reasonView is one reason as the pages show it.
type reasonView struct {
	Code        string
	Component   string
	Message     string
	Remediation []segment
	Warning     bool
	Observed    string
	Required    string
}

func reasonViews(rs []readiness.Reason) []reasonView {
	out := make([]reasonView, 0, len(rs))
	for _, r := range rs {
		out = append(out, reasonView{
			Code: string(r.Code), Component: r.Component, Message: r.Message,
			Remediation: splitRemediation(r.Remediation),
			Warning:     r.Severity == readiness.SeverityWarning,
			Observed:    r.Observed, Required: r.Required,
		})
	}
	return out
}

// nodeView is one row of /nodes and one option of the node selectors.
type nodeView struct {
	ID, Name  string
	Local     bool
	State     string
	Lifecycle string
	// Primary is the root cause; nil when ready.
	Primary *reasonView
	// More are the other reasons.
	More         []reasonView
	CheckedAt    *time.Time
	TransitionAt *time.Time
	// Step is the acquisition step (1 acquiring, 2 provisioning), 0 when
	// the node is not in acquisition.
	Step int
	// Settling: the node's readiness is about to change by itself
	// (pending, or never probed yet), so the page keeps refreshing.
	Settling bool
}

func stateLabel(state string) string {
	switch state {
	case string(readiness.StateReady):
		return "Ready"
	case string(readiness.StateNotReady):
		return "Not ready"
	case string(readiness.StatePending):
		return "Pending"
	default:
		return "Unknown"
	}
}

// Label is the node selector's option text: the name and the readiness,
// with the reason when the node is not ready.
func (n nodeView) Label() string {
	s := n.Name
	if n.Local {
		s += " (local)"
	}
	s += " — " + stateLabel(n.State)
	if n.Primary != nil {
		s += ": " + firstSentence(n.Primary.Message)
		if n.Primary.Component != "" {
			s += " (" + n.Primary.Component + ")"
		}
	}
	return s
}

func summaryView(s contracts.NodeSummary) nodeView {
	n := nodeView{
		ID: s.Id, Name: s.Name, Local: s.IsLocal, State: string(s.State), Lifecycle: s.Lifecycle,
		CheckedAt: s.LastCheckedAt, TransitionAt: s.LastTransitionAt,
	}
	if s.PrimaryReason != nil {
		r := reasonView{Code: string(*s.PrimaryReason)}
		if s.Message != nil {
			r.Message = *s.Message
		}
		if s.Remediation != nil {
			r.Remediation = splitRemediation(*s.Remediation)
		}
		n.Primary = &r
	}
	if s.Reasons != nil && len(*s.Reasons) > 0 {
		rs := reasonViews(*s.Reasons)
		n.Primary, n.More = &rs[0], rs[1:]
	}
	switch s.Lifecycle {
	case string(readiness.LifecycleAcquiring):
		n.Step = 1
	case string(readiness.LifecycleProvisioning):
		n.Step = 2
	}
	n.Settling = s.State == contracts.ReadinessStatePending ||
		(s.PrimaryReason != nil && *s.PrimaryReason == contracts.ReasonCodeNodeNeverProbed)
	return n
}

// listNodes is GET /api/nodes: one API call, whose answer carries every
// reason of a node that is not ready.
func (h *Handler) listNodes(r *http.Request) ([]nodeView, error) {
	var sums []contracts.NodeSummary
	if err := h.api.get(r, "/api/nodes", &sums); err != nil {
		return nil, err
	}
	out := make([]nodeView, 0, len(sums))
	for _, s := range sums {
		out = append(out, summaryView(s))
	}
	return out, nil
}

type nodesData struct {
	Nodes                           []nodeView
	Ready, NotReady, Pending, Other int
	// Flash is the node just re-checked, if any.
	Flash *nodeView
}

// nodes is GET /nodes.
func (h *Handler) nodes(w http.ResponseWriter, r *http.Request) {
	nodes, err := h.listNodes(r)
	if err != nil {
		h.apiFailed(w, r, "Nodes", err)
		return
	}
	d := nodesData{Nodes: nodes}
	settling := false
	checked := r.URL.Query().Get("checked")
	for i, n := range nodes {
		switch n.State {
		case string(readiness.StateReady):
			d.Ready++
		case string(readiness.StateNotReady):
			d.NotReady++
		case string(readiness.StatePending):
			d.Pending++
		default:
			d.Other++
		}
		settling = settling || n.Settling
		if checked != "" && n.ID == checked {
			d.Flash = &nodes[i]
		}
	}
	p := page{Title: "Nodes", Nav: "nodes", Data: d}
	if settling {
		p.Refresh, p.Poll = h.refreshSeconds(), "/api/nodes"
	}
	h.render(w, http.StatusOK, "nodes", p)
}

func (h *Handler) refreshSeconds() int {
	s := int(h.cfg.RefreshInterval.Round(time.Second) / time.Second)
	return max(s, 1)
}

// recheck is POST /nodes/{id}/recheck: a forced probe, then back to the
// page the operator came from (the form's "return" field, a local path),
// /nodes by default.
func (h *Handler) recheck(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res, err := h.api.do(r, http.MethodPost, "/api/nodes/"+url.PathEscape(id)+"/readiness/refresh", nil)
	if err == nil && res.Status != http.StatusOK {
		err = res.apiError()
	}
	if err != nil {
		h.apiFailed(w, r, "Node", err)
		return
	}
	back := r.PostFormValue("return")
	if !localPath(back) {
		back = "/nodes?checked=" + url.QueryEscape(id) + "#node-" + url.PathEscape(id)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
