package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	ID, Name string
	// Host, Port and User are where the node is dialed; Host "" while it
	// has no address.
	Host, User string
	Port       int
	Local      bool
	State      string
	Lifecycle  string
	// Primary is the root cause; nil when ready.
	Primary *reasonView
	// More are the other reasons.
	More []reasonView
	// Warnings are a ready node's reasons (failed units, a pending
	// reboot, a busy package manager): nothing blocks, but an operator
	// should know.
	Warnings     []reasonView
	CheckedAt    *time.Time
	TransitionAt *time.Time
	// Step is the acquisition step (1 acquiring, 2 provisioning), 0 when
	// the node is not in acquisition.
	Step int
	// Settling: the node's readiness is about to change by itself
	// (pending, or never probed yet), so the page keeps refreshing.
	Settling bool
	// partial marks an option of a selector that lists part of the fleet.
	partial bool
}

// Addr is user@host:port, or "" while the node has no address.
func (n nodeView) Addr() string {
	if n.Host == "" {
		return ""
	}
	host := n.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return n.User + "@" + host + ":" + strconv.Itoa(n.Port)
}

// forNode names the node's own SSH port and user where a remediation
// names the default port or an unnamed user: the registry's transport
// texts say "allow 22/tcp" and "the SSH user on the node" (the probe's
// own reasons already name the user).
func forNode(remediation string, port int, user string) string {
	if port > 0 && port != 22 {
		remediation = strings.ReplaceAll(remediation, " 22/tcp", " "+strconv.Itoa(port)+"/tcp")
	}
	if user != "" {
		remediation = strings.ReplaceAll(remediation, "the SSH user on the node", "the SSH user "+user+" on the node")
	}
	return remediation
}

// sortLabel names a sort order for the sort selector.
func sortLabel(sort string) string {
	switch sort {
	case "name":
		return "By name"
	case "checked":
		return "Least recently checked first"
	case "store":
		return "Oldest first"
	}
	return "Needs attention first"
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
		CheckedAt: s.LastCheckedAt, TransitionAt: s.LastTransitionAt, Port: 22,
	}
	if s.Host != nil {
		n.Host = *s.Host
	}
	if s.User != nil {
		n.User = *s.User
	}
	if s.Port != nil && *s.Port > 0 {
		n.Port = *s.Port
	}
	if s.PrimaryReason != nil {
		r := reasonView{Code: string(*s.PrimaryReason)}
		if s.Message != nil {
			r.Message = *s.Message
		}
		if s.Remediation != nil {
			r.Remediation = splitRemediation(forNode(*s.Remediation, n.Port, n.User))
		}
		n.Primary = &r
	}
	if s.Reasons != nil && len(*s.Reasons) > 0 {
		rs := slices.Clone(*s.Reasons)
		for i := range rs {
			rs[i].Remediation = forNode(rs[i].Remediation, n.Port, n.User)
		}
		views := reasonViews(rs)
		if s.State == contracts.ReadinessStateReady {
			// A ready node's reasons are warnings: work is admitted.
			n.Primary, n.Warnings = nil, views
		} else {
			n.Primary, n.More = &views[0], views[1:]
		}
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

// node is GET /api/nodes/{id}: one node, nil when the API does not
// answer it (logged).
func (h *Handler) node(r *http.Request, id string) *nodeView {
	var s contracts.NodeSummary
	if err := h.api.get(r, "/api/nodes/"+url.PathEscape(id), &s); err != nil {
		h.cfg.Logger.Warn("dashboard: node", "node", id, "error", err)
		return nil
	}
	n := summaryView(s)
	return &n
}

// nodesPerPage is how many nodes /nodes shows on one page.
const nodesPerPage = 50

// nodeFilter is /nodes's query: what to show, in which order, which page.
type nodeFilter struct {
	State, Reason, Q, Sort string
	Page                   int // from 1
}

func parseNodeFilter(v url.Values) nodeFilter {
	f := nodeFilter{State: v.Get("state"), Reason: v.Get("reason"), Q: strings.TrimSpace(v.Get("q")), Sort: v.Get("sort"), Page: 1}
	if f.Sort == "" {
		f.Sort = "state" // what needs the operator first
	}
	if p, err := strconv.Atoi(v.Get("page")); err == nil && p > 1 {
		f.Page = p
	}
	return f
}

// apiQuery is the API's query for the filter's page.
func (f nodeFilter) apiQuery() string {
	v := url.Values{}
	for k, x := range map[string]string{"state": f.State, "reason": f.Reason, "q": f.Q, "sort": f.Sort} {
		if x != "" {
			v.Set(k, x)
		}
	}
	v.Set("limit", strconv.Itoa(nodesPerPage))
	v.Set("offset", strconv.Itoa((f.Page-1)*nodesPerPage))
	return v.Encode()
}

// URL is /nodes with the filter and page p.
func (f nodeFilter) URL(p int) string {
	v := url.Values{}
	for k, x := range map[string]string{"state": f.State, "reason": f.Reason, "q": f.Q} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Sort != "state" {
		v.Set("sort", f.Sort)
	}
	if p > 1 {
		v.Set("page", strconv.Itoa(p))
	}
	if len(v) == 0 {
		return "/nodes"
	}
	return "/nodes?" + v.Encode()
}

// Filtered reports whether anything narrows the list.
func (f nodeFilter) Filtered() bool { return f.State != "" || f.Reason != "" || f.Q != "" }

type nodesData struct {
	Nodes  []nodeView
	Filter nodeFilter
	// Ready, NotReady, Pending and Other count the whole fleet; Fleet is
	// their sum, Total the nodes that match the filter.
	Ready, NotReady, Pending, Other, Fleet, Total int
	// First and Last number the nodes shown (from 1); Pages is how many
	// pages the filter has.
	First, Last, Pages int
	// Prev and Next are the neighbouring pages' addresses, "" at an end.
	Prev, Next string
	// Reasons are the reason codes the filter offers.
	Reasons []string
	// Flash is the node just re-checked, if any.
	Flash *nodeView
}

// reasonCodes are the codes the reason filter offers: every registered
// code, in registry order.
var reasonCodes = func() []string {
	var out []string
	for _, c := range readiness.Registry() {
		out = append(out, string(c.Code))
	}
	return out
}()

// parseStateCounts reads the API's X-State-Counts header.
func parseStateCounts(h string, d *nodesData) {
	for part := range strings.SplitSeq(h, ",") {
		k, v, _ := strings.Cut(part, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case string(readiness.StateReady):
			d.Ready = n
		case string(readiness.StateNotReady):
			d.NotReady = n
		case string(readiness.StatePending):
			d.Pending = n
		default:
			d.Other += n
		}
		d.Fleet += n
	}
}

// nodes is GET /nodes: one page of nodes, not-ready first unless sorted
// otherwise, filtered by state, reason and name (?state=, ?reason=, ?q=,
// ?sort=, ?page=). One API call whatever the fleet size, and a page of at
// most nodesPerPage rows.
func (h *Handler) nodes(w http.ResponseWriter, r *http.Request) {
	f := parseNodeFilter(r.URL.Query())
	path := "/api/nodes?" + f.apiQuery()
	res, err := h.api.do(r, http.MethodGet, path, nil)
	var sums []contracts.NodeSummary
	if err == nil && res.Status != http.StatusOK {
		err = res.apiError()
	}
	if err == nil {
		err = res.decode(&sums)
	}
	if err != nil {
		h.apiFailed(w, r, "Nodes", err)
		return
	}
	d := nodesData{Filter: f, Reasons: reasonCodes}
	d.Total, _ = strconv.Atoi(res.Header.Get("X-Total-Count"))
	parseStateCounts(res.Header.Get("X-State-Counts"), &d)
	d.Pages = max(1, (d.Total+nodesPerPage-1)/nodesPerPage)
	if len(sums) > 0 {
		d.First = (f.Page-1)*nodesPerPage + 1
		d.Last = d.First + len(sums) - 1
	}
	if f.Page > 1 {
		d.Prev = f.URL(min(f.Page-1, d.Pages))
	}
	if f.Page < d.Pages {
		d.Next = f.URL(f.Page + 1)
	}
	settling := false
	checked := r.URL.Query().Get("checked")
	for _, s := range sums {
		d.Nodes = append(d.Nodes, summaryView(s))
	}
	for i, n := range d.Nodes {
		settling = settling || n.Settling
		if checked != "" && n.ID == checked {
			d.Flash = &d.Nodes[i]
		}
	}
	p := page{Title: "Nodes", Nav: "nodes", Data: d}
	if settling {
		p.Refresh, p.Poll = h.refreshSeconds(), path
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
