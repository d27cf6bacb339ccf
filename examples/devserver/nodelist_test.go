package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
	paths := []string{"/api/nodes", "/api/nodes?sort=state&limit=50", "/nodes", "/nodes?state=not_ready&page=2", "/sites/new", "/sites"}
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

// TestNodesPagePages checks the dashboard's node page on a fleet larger
// than a page: not-ready first, 50 rows a page, filters in the query, a
// bad filter answered 400.
func TestNodesPagePages(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.bulkNodes = 120 })
	rows := func(body []byte) int { return strings.Count(string(body), `data-node-id="`) }
	res := do(t, s, "GET", "/nodes", "")
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, 50, rows(res.Body))
	page := string(res.Body)
	require.Contains(t, page, "Showing 1–50 of 128 nodes, page 1 of 3.")
	require.Contains(t, page, `<a href="/nodes?page=2" rel="next">`)
	first := strings.Index(page, `data-readiness-state="not_ready"`)
	require.Positive(t, first)
	require.Less(t, first, strings.Index(page, `data-readiness-state="unknown"`), "not ready before unknown")
	require.Contains(t, page, `data-addr>deploy@198.18.0.52:2222</span>`, "bulk-00052 is decommissioned, on port 2222 as deploy")

	res = do(t, s, "GET", "/nodes?page=3", "")
	require.Equal(t, 28, rows(res.Body))
	require.Contains(t, string(res.Body), `rel="prev"`)
	require.NotContains(t, string(res.Body), `rel="next"`)

	res = do(t, s, "GET", "/nodes?state=pending&q=bulk", "")
	require.Equal(t, 12, rows(res.Body), "bulk nodes 1, 11, ... 111 are provisioning")
	require.Contains(t, string(res.Body), "Showing 1–12 of 12 matching nodes.")
	require.NotContains(t, string(res.Body), `data-readiness-state="unknown"`)

	res = do(t, s, "GET", "/nodes?reason=node_decommissioned&sort=name", "")
	require.Equal(t, 5, rows(res.Body))

	res = do(t, s, "GET", "/nodes?state=bogus", "")
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Contains(t, string(res.Body), "state must be one of")
}

// benchServer is a server with the default fleet plus bulk records to
// make size nodes, no monitor and a paused worker.
func benchServer(b *testing.B, size int) *Server {
	b.Helper()
	s, err := New(Config{MonitorInterval: -1, WorkerPaused: true, bulkNodes: size - len(defaultFleet)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkNodesPage measures the dashboard's default node view (first
// page, not-ready first) and the API page behind it for fleets of 100,
// 1,000 and 10,000 nodes: server time per request, and the page's bytes
// as html-bytes (uncompressed) and gzip-bytes.
func BenchmarkNodesPage(b *testing.B) {
	for _, size := range []int{100, 1000, 10000} {
		s := benchServer(b, size)
		h := s.Handler()
		for _, tc := range []struct{ name, path string }{
			{"dashboard", "/nodes"},
			{"api-page", "/api/nodes?sort=state&limit=50"},
		} {
			b.Run(fmt.Sprintf("%s/nodes=%d", tc.name, size), func(b *testing.B) {
				var plain, zipped int
				for _, gz := range []bool{false, true} {
					req := httptest.NewRequest("GET", tc.path, nil)
					if gz {
						req.Header.Set("Accept-Encoding", "gzip")
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", tc.path, rec.Code)
					}
					if gz {
						zipped = rec.Body.Len()
					} else {
						plain = rec.Body.Len()
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest("GET", tc.path, nil)
					req.Header.Set("Accept-Encoding", "gzip")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", tc.path, rec.Code)
					}
				}
				b.ReportMetric(float64(plain), "html-bytes")
				b.ReportMetric(float64(zipped), "gzip-bytes")
			})
		}
	}
}

// TestNodesPageNamesTheNode checks an unreachable node's row names its
// address, and its remediation the node's own port rather than 22.
func TestNodesPageNamesTheNode(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	id := nodeNamed(t, s, "unreachable")
	do(t, s, "POST", "/api/nodes/"+id+"/readiness/refresh", "")
	var n contracts.NodeSummary
	do(t, s, "GET", "/api/nodes/"+id, "").json(t, &n)
	require.NotEqual(t, 22, *n.Port)
	page := string(do(t, s, "GET", "/nodes?q=unreachable", "").Body)
	require.Contains(t, page, fmt.Sprintf(`data-addr>pressluft@127.0.0.1:%d</span>`, *n.Port))
	require.Contains(t, page, fmt.Sprintf(`<span class="w">allow</span> <span class="w">%d/tcp`, *n.Port), "the firewall command names the node's port")
	require.NotContains(t, page, ">22/tcp")
}

// TestSiteFormBoundedForALargeFleet checks the new-site form's node
// selector on a fleet larger than it lists: ready nodes only, the chosen
// node too, and a hint that says so.
func TestSiteFormBoundedForALargeFleet(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.bulkNodes = 300 })
	ready, sudo := nodeNamed(t, s, "ready-1"), nodeNamed(t, s, "sudo-password")
	for _, id := range []string{ready, sudo} {
		do(t, s, "POST", "/api/nodes/"+id+"/readiness/refresh", "")
	}
	options := func(body []byte) int { return strings.Count(string(body), `<option value="`) - 1 } // less "Choose a node"
	page := do(t, s, "GET", "/sites/new", "")
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, string(page.Body), "this list holds ready nodes only")
	require.Contains(t, string(page.Body), `<option value="`+ready+`"`)
	require.NotContains(t, string(page.Body), `<option value="`+sudo+`"`)
	require.LessOrEqual(t, options(page.Body), 201)

	page = do(t, s, "GET", "/sites/new?node="+sudo, "")
	require.Contains(t, string(page.Body), `<option value="`+sudo+`" data-readiness-state="not_ready" data-reason-code="sudo_password_required" selected>`)
}
