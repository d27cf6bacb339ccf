package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/contracts"
)

// TestListWorkIsFixed proves the node list, the dashboard's node page and
// its new-site form run the same number of store queries for a fleet of
// 10 nodes as for one of 200: no query per node.
func TestListWorkIsFixed(t *testing.T) {
	t.Parallel()
	fleets := []int{10, 200}
	paths := []string{"/api/nodes", "/api/nodes?sort=state&limit=50", "/nodes", "/sites/new"}
	queries := map[string][]int64{}
	for _, size := range fleets {
		s, _ := testServer(t, func(c *Config) { c.bulkNodes = size - len(defaultFleet) })
		for _, name := range []string{"ready-1", "sudo-password", "unreachable"} {
			do(t, s, "POST", "/api/nodes/"+nodeNamed(t, s, name)+"/readiness/refresh", "")
		}
		var all []contracts.NodeSummary
		do(t, s, "GET", "/api/nodes", "").json(t, &all)
		require.Len(t, all, size)
		for _, p := range paths {
			before := s.store.readQueries()
			res := do(t, s, "GET", p, "")
			require.Equal(t, http.StatusOK, res.Status, "%s: %s", p, res.Body)
			queries[p] = append(queries[p], s.store.readQueries()-before)
		}
	}
	for _, p := range paths {
		q := queries[p]
		if q[0] != q[1] || q[0] == 0 {
			t.Errorf("%s: got %d store queries at %d nodes and %d at %d, want the same (and not 0)", p, q[0], fleets[0], q[1], fleets[1])
		}
	}
	t.Logf("store queries per request: %v", queries)
}

// TestListFilters checks the list's filters, sort and page on a fleet of
// known lifecycles.
func TestListFilters(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.bulkNodes = 100 })
	do(t, s, "POST", "/api/nodes/"+nodeNamed(t, s, "sudo-password")+"/readiness/refresh", "")
	list := func(q string) ([]contracts.NodeSummary, http.Header) {
		t.Helper()
		res := do(t, s, "GET", "/api/nodes"+q, "")
		require.Equal(t, http.StatusOK, res.Status, "%s: %s", q, res.Body)
		var out []contracts.NodeSummary
		res.json(t, &out)
		return out, res.Header
	}
	all, h := list("")
	require.Len(t, all, 108)
	require.Equal(t, "108", h.Get("X-Total-Count"))
	// bulk: 10 provisioning (i%10==0), 4 decommissioned (i%25==1), 86 never probed;
	// default fleet: sudo-password probed not ready, acquiring pending, 6 never probed.
	require.Equal(t, "ready=0,not_ready=5,pending=11,unknown=92", h.Get("X-State-Counts"))

	got, h := list("?state=not_ready")
	require.Equal(t, "5", h.Get("X-Total-Count"))
	for _, n := range got {
		require.Equal(t, contracts.ReadinessStateNotReady, n.State, n.Name)
		require.NotNil(t, n.Reasons, "%s: a not-ready node carries its reasons", n.Name)
	}
	got, _ = list("?reason=node_decommissioned")
	require.Len(t, got, 4)
	got, _ = list("?q=BULK-0000")
	require.Len(t, got, 9, "bulk-00001 .. bulk-00009")
	got, _ = list("?q=deploy&limit=5")
	require.Len(t, got, 5)
	require.Equal(t, 2222, *got[0].Port)
	require.Equal(t, "deploy", *got[0].User)

	got, h = list("?sort=state&limit=10&offset=0")
	require.Len(t, got, 10)
	require.Equal(t, "108", h.Get("X-Total-Count"))
	for i, n := range got[:5] {
		require.Equal(t, contracts.ReadinessStateNotReady, n.State, "position %d: not ready first", i)
	}
	require.Equal(t, contracts.ReadinessStateUnknown, got[5].State)
	got, _ = list("?sort=name&offset=107")
	require.Len(t, got, 1)
	require.Equal(t, "unreachable", got[0].Name)
	got, _ = list("?offset=500")
	require.Empty(t, got)

	for _, q := range []string{"?state=x", "?sort=random", "?limit=-1", "?limit=1001", "?offset=a", "?reason=Bad-Code", "?q=%00"} {
		res := do(t, s, "GET", "/api/nodes"+q, "")
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", q, res.Body)
	}
}
