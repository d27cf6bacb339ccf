package apihttp_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/readiness"
)

// nodeAPI is the readiness handlers mounted as the host mounts its own
// routes: patterns without /api on an inner ServeMux, which the outer
// mux serves under http.StripPrefix("/api", ...).
type nodeAPI struct {
	gate    *fakeGate
	logs    *logBuffer
	handler http.Handler
}

func newNodeAPI(t *testing.T, mutate func(*apihttp.HandlerConfig)) *nodeAPI {
	t.Helper()
	logger, logs := newLogger()
	s := &nodeAPI{gate: &fakeGate{}, logs: logs}
	cfg := apihttp.HandlerConfig{Gate: s.gate, Logger: logger}
	if mutate != nil {
		mutate(&cfg)
	}
	report, refresh := apihttp.NewReportHandler(cfg), apihttp.NewRefreshHandler(cfg)
	api := http.NewServeMux()
	api.Handle("GET /nodes/{id}/readiness", report)
	api.Handle("POST /nodes/{id}/readiness/refresh", refresh)
	// Without a method in the pattern the handlers answer 405 themselves.
	api.Handle("/any/nodes/{id}/readiness", report)
	api.Handle("/any/nodes/{id}/readiness/refresh", refresh)
	// Without an {id} wildcard the default NodeID is empty.
	api.Handle("GET /readiness", report)
	api.Handle("POST /readiness/refresh", refresh)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	s.handler = mux
	return s
}

func (s *nodeAPI) do(req *http.Request) ([]byte, int, http.Header) {
	rec := serve(s.handler, req)
	return rec.Body.Bytes(), rec.Code, rec.Header()
}

func readinessPath(id string) string { return "/api/nodes/" + id + "/readiness" }
func refreshPath(id string) string   { return "/api/nodes/" + id + "/readiness/refresh" }

func TestReadinessHandlers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		method        string
		path          string
		wantStatus    int
		wantState     readiness.State // 200
		wantCode      string          // errors
		wantReports   int64
		wantRefreshes int64
	}{
		{"report", "GET", readinessPath(nodeSudo), 200, readiness.StateNotReady, "", 1, 0},
		{"report of a pending node", "GET", readinessPath(nodeAcquiring), 200, readiness.StatePending, "", 1, 0},
		{"report never probed", "GET", readinessPath(nodeNeverProbed), 200, readiness.StateUnknown, "", 1, 0},
		{"report stale", "GET", readinessPath(nodeStale), 200, readiness.StateUnknown, "", 1, 0},
		{"report HEAD", "HEAD", readinessPath(nodeReady), 200, "", "", 1, 0},
		{"report of an unknown node", "GET", readinessPath(nodeMissing), 404, "", "not_found", 1, 0},
		{"report, gate fails", "GET", readinessPath(nodeBoom), 500, "", "internal_error", 1, 0},
		{"report, empty id", "GET", "/api/readiness", 404, "", "not_found", 0, 0},
		{"refresh", "POST", refreshPath(nodeUnreachable), 200, readiness.StateNotReady, "", 0, 1},
		{"refresh of an unknown node", "POST", refreshPath(nodeMissing), 404, "", "not_found", 0, 1},
		{"refresh, gate fails", "POST", refreshPath(nodeBoom), 500, "", "internal_error", 0, 1},
		{"refresh, empty id", "POST", "/api/readiness/refresh", 404, "", "not_found", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newNodeAPI(t, nil)
			req := newRequest(tt.method, tt.path, "")
			body, status, header := s.do(req)
			require.Equal(t, tt.wantStatus, status, "body %s", body)
			require.Equal(t, "application/json", header.Get("Content-Type"))
			require.Equal(t, tt.wantReports, s.gate.reports.Load(), "Report calls")
			require.Equal(t, tt.wantRefreshes, s.gate.refreshes.Load(), "Refresh calls (probes)")
			requireNoLeak(t, body)
			switch {
			case strings.HasPrefix(tt.path, "/api/nodes/"):
				// HEAD is checked as the GET the contract declares.
				validateResponse(t, req, status, header, body)
			default:
				validateSchema(t, "Error", body)
			}
			if tt.wantCode != "" {
				e := errorBody(t, body)
				require.Equal(t, contracts.ApiErrorCode(tt.wantCode), e.Code)
				if tt.wantStatus == 500 {
					require.Equal(t, "internal error", e.Message)
					require.Contains(t, s.logs.String(), "apihttp:")
					require.Contains(t, s.logs.String(), secret, "the operator's log lacks the error's detail")
				}
				return
			}
			require.Empty(t, s.logs.String())
			var got readiness.Report
			require.NoError(t, json.Unmarshal(body, &got))
			id := strings.Split(tt.path, "/")[3]
			want, err := json.Marshal(report(id, readiness.OperationSiteCreate))
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(body), "the report is not served as readiness marshals it")
			if tt.wantState != "" {
				require.Equal(t, tt.wantState, got.State)
			}
		})
	}
}

func TestReadinessHandlersMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		wantAllow  string
		errorShape bool // the handler's own 405, not the mux's
	}{
		{"mux: POST report", "POST", readinessPath(nodeReady), "GET, HEAD", false},
		{"mux: GET refresh", "GET", refreshPath(nodeReady), "POST", false},
		{"handler: DELETE report", "DELETE", "/api/any/nodes/" + nodeReady + "/readiness", "GET, HEAD", true},
		{"handler: POST report", "POST", "/api/any/nodes/" + nodeReady + "/readiness", "GET, HEAD", true},
		{"handler: GET refresh", "GET", "/api/any/nodes/" + nodeReady + "/readiness/refresh", "POST", true},
		{"handler: PUT refresh", "PUT", "/api/any/nodes/" + nodeReady + "/readiness/refresh", "POST", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newNodeAPI(t, nil)
			body, status, header := s.do(newRequest(tt.method, tt.path, ""))
			require.Equal(t, http.StatusMethodNotAllowed, status, "body %s", body)
			require.Equal(t, tt.wantAllow, header.Get("Allow"))
			require.Zero(t, s.gate.reports.Load()+s.gate.refreshes.Load(), "the gate was called")
			if tt.errorShape {
				validateSchema(t, "Error", body)
				require.Equal(t, contracts.Error{Code: "method_not_allowed", Message: "method not allowed"}, errorBody(t, body))
			}
		})
	}
}

// TestRefreshRefusesCrossOriginRequests: refresh starts a probe, and the
// host's session is a cookie, so a cross-origin browser request is 403
// forbidden before any probe; same-origin and non-browser requests pass.
// Reading a report is safe and never refused.
func TestRefreshRefusesCrossOriginRequests(t *testing.T) {
	t.Parallel()
	trusted := http.NewCrossOriginProtection()
	require.NoError(t, trusted.AddTrustedOrigin("https://admin.example"))
	tests := []struct {
		name       string
		method     string
		header     map[string]string
		protection *http.CrossOriginProtection
		wantStatus int
	}{
		{"no browser headers (curl, Go clients)", "POST", nil, nil, 200},
		{"same-origin fetch", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, nil, 200},
		{"typed by the user", "POST", map[string]string{"Sec-Fetch-Site": "none"}, nil, 200},
		{"cross-site fetch", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, nil, 403},
		{"same-site fetch from a sibling host", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, nil, 403},
		{"cross-site fetch with a matching-looking Origin", "POST",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.test"}, nil, 403},
		{"Origin matches Host", "POST", map[string]string{"Origin": "http://example.test"}, nil, 200},
		{"Origin is another host", "POST", map[string]string{"Origin": "https://evil.example"}, nil, 403},
		{"Origin is another port", "POST", map[string]string{"Origin": "http://example.test:8080"}, nil, 403},
		{"trusted origin", "POST",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://admin.example"}, trusted, 200},
		{"untrusted origin with a trust list", "POST",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, trusted, 403},
		{"cross-site read of a report", "GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newNodeAPI(t, func(c *apihttp.HandlerConfig) { c.CrossOrigin = tt.protection })
			path := refreshPath(nodeReady)
			if tt.method == "GET" {
				path = readinessPath(nodeReady)
			}
			req := newRequest(tt.method, path, "")
			req.Host = "example.test"
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			body, status, header := s.do(req)
			require.Equal(t, tt.wantStatus, status, "body %s", body)
			validateResponse(t, req, status, header, body)
			if tt.wantStatus == http.StatusForbidden {
				require.Equal(t, contracts.Error{Code: "forbidden", Message: "cross-origin request refused"}, errorBody(t, body))
				require.Zero(t, s.gate.refreshes.Load(), "a cross-origin request probed")
				return
			}
			require.Equal(t, int64(map[string]int{"POST": 1, "GET": 0}[tt.method]), s.gate.refreshes.Load())
		})
	}
}

// TestReadinessHandlersCustomNodeID: a host whose routes name the node
// otherwise (another wildcard, its own names) passes NodeID.
func TestReadinessHandlersCustomNodeID(t *testing.T) {
	t.Parallel()
	byName := map[string]string{"web-2": nodeSudo, "web-5": nodeUnreachable}
	cfg := apihttp.HandlerConfig{Gate: &fakeGate{}, NodeID: func(r *http.Request) string { return byName[r.PathValue("server")] }}
	gate := cfg.Gate.(*fakeGate)
	api := http.NewServeMux()
	api.Handle("GET /servers/{server}/readiness", apihttp.NewReportHandler(cfg))
	api.Handle("POST /servers/{server}/readiness/refresh", apihttp.NewRefreshHandler(cfg))
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))

	rec := serve(mux, newRequest("GET", "/api/servers/web-2/readiness", ""))
	require.Equal(t, http.StatusOK, rec.Code, "body %s", rec.Body)
	var got readiness.Report
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Equal(t, nodeSudo, got.NodeID)

	rec = serve(mux, newRequest("POST", "/api/servers/web-5/readiness/refresh", ""))
	require.Equal(t, http.StatusOK, rec.Code, "body %s", rec.Body)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Equal(t, readiness.CodeSSHUnreachable, got.PrimaryReason)

	for _, req := range []*http.Request{
		newRequest("GET", "/api/servers/web-9/readiness", ""),
		newRequest("POST", "/api/servers/web-9/readiness/refresh", ""),
	} {
		rec = serve(mux, req)
		require.Equal(t, http.StatusNotFound, rec.Code, "%s %s", req.Method, req.URL)
	}
	require.Equal(t, int64(1), gate.reports.Load())
	require.Equal(t, int64(1), gate.refreshes.Load(), "an empty id reached the gate")
}

func TestReadinessHandlersErrorHook(t *testing.T) {
	t.Parallel()
	errs := &hostErrors{}
	s := newNodeAPI(t, func(c *apihttp.HandlerConfig) { c.Error = errs.write })
	reqs := []*http.Request{
		newRequest("GET", readinessPath(nodeMissing), ""),
		newRequest("GET", readinessPath(nodeBoom), ""),
		newRequest("POST", "/api/any/nodes/"+nodeReady+"/readiness", ""),
		newRequest("POST", refreshPath(nodeMissing), ""),
		newRequest("POST", "/api/readiness/refresh", ""),
	}
	cross := newRequest("POST", refreshPath(nodeReady), "")
	cross.Header.Set("Sec-Fetch-Site", "cross-site")
	reqs = append(reqs, cross)
	for _, req := range reqs {
		body, _, _ := s.do(req)
		require.NotContains(t, string(body), `"code"`, "%s %s: the default shape was written", req.Method, req.URL)
		requireNoLeak(t, body)
	}
	require.Equal(t, []string{
		"404 not_found", "500 internal_error", "405 method_not_allowed", "404 not_found", "404 not_found", "403 forbidden",
	}, errs.calls)
}

func TestReadinessHandlersPanicWithoutGate(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "apihttp: NewReportHandler: HandlerConfig.Gate is required", func() {
		apihttp.NewReportHandler(apihttp.HandlerConfig{})
	})
	require.PanicsWithValue(t, "apihttp: NewRefreshHandler: HandlerConfig.Gate is required", func() {
		apihttp.NewRefreshHandler(apihttp.HandlerConfig{})
	})
}
