package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// maxListLimit is the largest page GET /api/nodes?limit= serves.
const maxListLimit = 1000

// listQuery is GET /nodes's filters, sort and page.
type listQuery struct {
	state  contracts.ReadinessState // "" means any
	reason string                   // "" means any
	q      string                   // lower case; "" means any
	sort   contracts.ListNodesParamsSort
	limit  int // -1 means all
	offset int
}

// parseListQuery reads the list's query parameters; the error is the
// 400's operator-safe message.
func parseListQuery(v url.Values) (listQuery, error) {
	q := listQuery{
		state: contracts.ReadinessState(v.Get("state")), reason: v.Get("reason"),
		q: strings.ToLower(strings.TrimSpace(v.Get("q"))), sort: contracts.ListNodesParamsSort(v.Get("sort")), limit: -1,
	}
	if q.sort == "" {
		q.sort = contracts.ListNodesParamsSortStore
	}
	switch {
	case q.state != "" && !q.state.Valid():
		return q, fmt.Errorf("state must be one of ready, not_ready, pending, unknown")
	case !q.sort.Valid():
		return q, fmt.Errorf("sort must be one of store, state, name, checked")
	case len(q.reason) > 64 || strings.Trim(q.reason, "abcdefghijklmnopqrstuvwxyz_") != "":
		return q, fmt.Errorf("reason must be a reason code")
	case len(q.q) > 100 || !displayable(q.q) && q.q != "":
		return q, fmt.Errorf("q must be visible text of at most 100 bytes")
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &q.limit, maxListLimit}, {"offset", &q.offset, -1}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || (p.max >= 0 && n > p.max) {
			if p.max >= 0 {
				return q, fmt.Errorf("%s must be an integer from 0 to %d", p.name, p.max)
			}
			return q, fmt.Errorf("%s must be a non-negative integer", p.name)
		}
		*p.dst = n
	}
	return q, nil
}

// listed is one node of the list: its record, its gate view and its
// readiness.
type listed struct {
	row    NodeRow
	node   preflight.Node
	sum    preflight.Summary
	report readiness.Report
}

func (l *listed) matches(q listQuery) bool {
	if q.state != "" && string(l.sum.State) != string(q.state) {
		return false
	}
	if q.reason != "" && !slices.ContainsFunc(l.report.Reasons, func(r readiness.Reason) bool { return string(r.Code) == q.reason }) {
		return false
	}
	if q.q != "" {
		return strings.Contains(strings.ToLower(l.row.Name), q.q) ||
			strings.Contains(strings.ToLower(l.node.Host), q.q) || strings.Contains(strings.ToLower(l.row.SSHUser), q.q)
	}
	return true
}

// stateRank orders states for sort=state: what needs the operator first.
func stateRank(s readiness.State) int {
	switch s {
	case readiness.StateNotReady:
		return 0
	case readiness.StateUnknown:
		return 1
	case readiness.StatePending:
		return 2
	}
	return 3
}

func checkedAt(l *listed) time.Time {
	if l.sum.LastCheckedAt == nil {
		return time.Time{}
	}
	return *l.sum.LastCheckedAt
}

func sortListed(ls []*listed, by contracts.ListNodesParamsSort) {
	byName := func(a, b *listed) int {
		return cmp.Or(strings.Compare(a.row.Name, b.row.Name), strings.Compare(a.row.ID, b.row.ID))
	}
	switch by {
	case contracts.ListNodesParamsSortName:
		slices.SortStableFunc(ls, byName)
	case contracts.ListNodesParamsSortState:
		slices.SortStableFunc(ls, func(a, b *listed) int {
			return cmp.Or(cmp.Compare(stateRank(a.sum.State), stateRank(b.sum.State)), byName(a, b))
		})
	case contracts.ListNodesParamsSortChecked:
		slices.SortStableFunc(ls, func(a, b *listed) int { return cmp.Or(checkedAt(a).Compare(checkedAt(b)), byName(a, b)) })
	}
}

// stateCounts is the X-State-Counts header: the whole fleet by state.
func stateCounts(ls []listed) string {
	c := map[readiness.State]int{}
	for i := range ls {
		c[ls[i].sum.State]++
	}
	return fmt.Sprintf("ready=%d,not_ready=%d,pending=%d,unknown=%d",
		c[readiness.StateReady], c[readiness.StateNotReady], c[readiness.StatePending], c[readiness.StateUnknown])
}

// list is GET /nodes: the nodes with their last known readiness, filtered,
// sorted and paged as asked (every node in store order by default). One
// store query and one pass of the gate over the listed records, whatever
// the fleet size; it never probes.
func (h *nodesAPI) list(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	rows, err := h.nodes.nodeRows(r.Context())
	if err != nil {
		internalError(h.log, w, r, err)
		return
	}
	nodes := make([]preflight.Node, len(rows))
	for i, n := range rows {
		nodes[i] = n.preflight()
	}
	sums, reports := h.gate.Summaries(nodes), h.gate.Reports(nodes)
	all := make([]listed, len(rows))
	match := make([]*listed, 0, len(rows))
	for i := range rows {
		all[i] = listed{row: rows[i], node: nodes[i], sum: sums[i], report: reports[i]}
		if all[i].matches(q) {
			match = append(match, &all[i])
		}
	}
	sortListed(match, q.sort)
	w.Header().Set("X-Total-Count", strconv.Itoa(len(match)))
	w.Header().Set("X-State-Counts", stateCounts(all))
	page := match[min(q.offset, len(match)):]
	if q.limit >= 0 {
		page = page[:min(q.limit, len(page))]
	}
	out := make([]contracts.NodeSummary, len(page))
	for i, l := range page {
		out[i] = nodeSummary(l.row, l.node, l.sum, l.report.Reasons)
	}
	writeJSON(w, http.StatusOK, out)
}
