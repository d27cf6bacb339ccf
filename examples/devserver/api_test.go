package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every answer of the API router is in the error shape, an unknown route
// (404 not_found) and a route's other methods (405 method_not_allowed,
// with Allow) included; reads of the host routes answer as before.
func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	ready := nodeNamed(t, s, "ready-1")
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
	}{
		{"GET", "/api/nope", 404, ""},
		{"GET", "/api/", 404, ""},
		{"POST", "/api/jobs", 405, "GET, HEAD"},
		{"DELETE", "/api/jobs/" + newID(), 405, "GET, HEAD"},
		{"PATCH", "/api/sites", 405, "GET, HEAD, POST"},
		{"POST", "/api/sites/x/other", 404, ""},
		{"PUT", "/api/sites/x/environments", 405, "GET, HEAD, POST"},
		{"DELETE", "/api/nodes/" + ready, 405, "GET, HEAD"},
		{"PUT", "/api/nodes", 405, "GET, HEAD, POST"},
		{"GET", "/api/nodes/" + ready + "/readiness/refresh", 405, "POST"},
		{"POST", "/api/nodes/" + ready + "/readiness", 405, "GET, HEAD"},
		{"GET", "/api/nodes/" + ready + "/other", 404, ""},
		{"GET", "/api/nodes/a/b/c/d", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := do(t, s, tt.method, tt.path, "")
			require.Equal(t, tt.wantStatus, res.Status, "body %s", res.Body)
			require.Equal(t, tt.wantAllow, res.Header.Get("Allow"))
			require.Equal(t, "application/json", res.Header.Get("Content-Type"))
			var e errBody
			res.json(t, &e)
			want := map[int]string{404: "not_found", 405: "method_not_allowed"}[tt.wantStatus]
			require.Equal(t, want, e.Code)
			require.NotEmpty(t, e.Message)
		})
	}
	for _, path := range []string{"/api/sites", "/api/jobs?status=failed"} {
		res := do(t, s, "GET", path, "")
		require.Equal(t, http.StatusOK, res.Status, "%s: %s", path, res.Body)
		require.Equal(t, "[]\n", string(res.Body), path)
	}
	for _, f := range s.Fleet() {
		if n := s.fleet.fake(f.ID); n != nil && n.Connections() != 0 {
			t.Errorf("node %s was dialed %d times, want 0: no route here probes", f.Name, n.Connections())
		}
	}
	if n := count(t, s, "audit_logs", ""); n != 0 {
		t.Errorf("got %d audit rows, want 0: no route here decides", n)
	}
}
