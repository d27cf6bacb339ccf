package apihttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// fakeCreator records CreateNode calls.
type fakeCreator struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (c *fakeCreator) CreateNode(_ context.Context, name, provider string) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name+"|"+provider)
	if c.err != nil {
		return "", "", c.err
	}
	return nodeAcquiring, jobID, nil
}

type nodesSetup struct {
	gate    *fakeGate
	creator *fakeCreator
	logs    *logBuffer
	handler http.Handler
}

func newNodes(t *testing.T, mutate func(*apihttp.Config)) *nodesSetup {
	t.Helper()
	logger, logs := newLogger()
	s := &nodesSetup{gate: &fakeGate{}, creator: &fakeCreator{}, logs: logs}
	cfg := apihttp.Config{Gate: s.gate, Nodes: testNodes(), Creator: s.creator, Logger: logger}
	if mutate != nil {
		mutate(&cfg)
	}
	mux := http.NewServeMux()
	h := apihttp.NewNodesHandler(cfg)
	mux.Handle("/api/nodes", h)
	mux.Handle("/api/nodes/", h)
	s.handler = mux
	return s
}

func (s *nodesSetup) do(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

func TestListNodes(t *testing.T) {
	t.Parallel()
	s := newNodes(t, nil)
	req := newRequest(http.MethodGet, "/api/nodes", "")
	rec := s.do(t, req)
	require.Equal(t, http.StatusOK, rec.Code, "body %s", rec.Body)
	validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())

	var got []contracts.NodeSummary
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	ptr := func(s string) *string { return &s }
	code := func(c readiness.Code) *contracts.ReasonCode { x := contracts.ReasonCode(c); return &x }
	state := func(s readiness.State) *contracts.ReadinessState { x := contracts.ReadinessState(s); return &x }
	yes, no := true, false
	at, before := t0, t0.Add(-60*60e9)
	sudo := report(nodeSudo, readiness.OperationSiteCreate)
	want := []contracts.NodeSummary{
		{Id: nodeReady, Name: "local", Lifecycle: "active", IsLocal: true, State: "ready", Transport: "ssh",
			Summary: ptr("ready"), Retryable: &no, PreviousState: state(readiness.StateUnknown),
			LastCheckedAt: &at, LastTransitionAt: &at},
		{Id: nodeSudo, Name: "web-2", Lifecycle: "active", State: "not_ready", Transport: "ssh",
			PrimaryReason: code(readiness.CodeSudoPasswordRequired),
			Summary:       ptr("not_ready: sudo_password_required (+1 more)"), Retryable: &no,
			Message: ptr(sudo.Reasons[0].Message), Remediation: ptr(sudo.Reasons[0].Remediation),
			PreviousState: state(readiness.StateReady), LastCheckedAt: &at, LastTransitionAt: &before},
		{Id: nodeAcquiring, Name: "web-3", Lifecycle: "acquiring", State: "pending", Transport: "ssh",
			PrimaryReason: code(readiness.CodeNodeAcquiring), Summary: ptr("pending: node_acquiring"), Retryable: &yes,
			Message: ptr("The provider is still acquiring this node."), Remediation: ptr(registryRemediation(readiness.CodeNodeAcquiring)),
			LastCheckedAt: &at},
		{Id: nodeNeverProbed, Name: "web-4", Lifecycle: "unreachable", State: "unknown", Transport: "ssh",
			PrimaryReason: code(readiness.CodeNodeNeverProbed), Summary: ptr("unknown: node_never_probed"), Retryable: &yes,
			Message: ptr("The node's readiness has not been checked yet."), Remediation: ptr(registryRemediation(readiness.CodeNodeNeverProbed))},
		{Id: nodeStale, Name: "web-5", Lifecycle: "active", State: "unknown", Transport: "ssh",
			PrimaryReason: code(readiness.CodeReadinessStale), Summary: ptr("unknown: readiness_stale"), Retryable: &yes,
			Message: ptr("The last readiness check is too old to rely on."), Remediation: ptr(registryRemediation(readiness.CodeReadinessStale)),
			LastCheckedAt: &at},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /api/nodes (-want +got):\n%s", diff)
	}
	require.Zero(t, s.gate.refreshes.Load(), "listing probed a node")
	require.Zero(t, s.gate.checks.Load(), "listing checked a node")
	require.Contains(t, *got[1].Remediation, "NOPASSWD", "the remediation is not actionable")
}

func registryRemediation(c readiness.Code) string {
	info, _ := readiness.Lookup(c)
	return info.Remediation
}

func TestListNodesEmptyAndFailing(t *testing.T) {
	t.Parallel()
	t.Run("empty is []", func(t *testing.T) {
		t.Parallel()
		s := newNodes(t, func(c *apihttp.Config) { c.Nodes = preflight.NewMemoryNodes() })
		req := newRequest(http.MethodGet, "/api/nodes", "")
		rec := s.do(t, req)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "[]\n", rec.Body.String())
		validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	})
	t.Run("node deleted while listing is skipped", func(t *testing.T) {
		t.Parallel()
		s := newNodes(t, func(c *apihttp.Config) {
			c.Nodes = preflight.NewMemoryNodes(preflight.Node{ID: nodeMissing}, preflight.Node{ID: nodeReady, Name: "local"})
		})
		req := newRequest(http.MethodGet, "/api/nodes", "")
		rec := s.do(t, req)
		require.Equal(t, http.StatusOK, rec.Code)
		var got []contracts.NodeSummary
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Len(t, got, 1)
		require.Equal(t, nodeReady, got[0].Id)
	})
	for name, nodes := range map[string]preflight.NodeSource{
		"node source fails": failingNodes{},
		"gate fails":        preflight.NewMemoryNodes(preflight.Node{ID: nodeBoom}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newNodes(t, func(c *apihttp.Config) { c.Nodes = nodes })
			req := newRequest(http.MethodGet, "/api/nodes", "")
			rec := s.do(t, req)
			require.Equal(t, http.StatusInternalServerError, rec.Code)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, contracts.Error{Code: "internal_error", Message: "internal error"}, errorBody(t, rec.Body.Bytes()))
			requireNoLeak(t, rec.Body.Bytes())
			require.Contains(t, s.logs.String(), secret, "the detail was not logged")
		})
	}
}

type failingNodes struct{}

func (failingNodes) Node(context.Context, string) (preflight.Node, error) {
	return preflight.Node{}, errors.New("db: " + secret)
}
func (failingNodes) Nodes(context.Context) ([]preflight.Node, error) {
	return nil, errors.New("db: " + secret)
}

func TestNodeEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		mutate     func(*apihttp.Config)
		wantStatus int
		wantCode   string // error responses
		check      func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder)
	}{
		{name: "get node", method: "GET", path: "/api/nodes/" + nodeSudo, wantStatus: 200,
			check: func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder) {
				var got contracts.NodeSummary
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				require.Equal(t, nodeSudo, got.Id)
				require.Equal(t, contracts.ReadinessStateNotReady, got.State)
				require.Equal(t, contracts.ReasonCodeSudoPasswordRequired, *got.PrimaryReason)
			}},
		{name: "get unknown node", method: "GET", path: "/api/nodes/" + nodeMissing, wantStatus: 404, wantCode: "not_found"},
		{name: "get node, source fails", method: "GET", path: "/api/nodes/" + nodeReady, wantStatus: 500, wantCode: "internal_error",
			mutate: func(c *apihttp.Config) { c.Nodes = failingNodes{} }},
		{name: "readiness", method: "GET", path: "/api/nodes/" + nodeSudo + "/readiness", wantStatus: 200,
			check: func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder) {
				wantJSON, err := json.Marshal(report(nodeSudo, readiness.OperationSiteCreate))
				require.NoError(t, err)
				require.JSONEq(t, string(wantJSON), rec.Body.String(), "the report is not served as readiness marshals it")
				require.Zero(t, s.gate.refreshes.Load(), "GET readiness probed")
			}},
		{name: "readiness of a pending node", method: "GET", path: "/api/nodes/" + nodeAcquiring + "/readiness", wantStatus: 200},
		{name: "readiness never probed", method: "GET", path: "/api/nodes/" + nodeNeverProbed + "/readiness", wantStatus: 200},
		{name: "readiness unknown node", method: "GET", path: "/api/nodes/" + nodeMissing + "/readiness", wantStatus: 404, wantCode: "not_found"},
		{name: "readiness gate fails", method: "GET", path: "/api/nodes/" + nodeBoom + "/readiness", wantStatus: 500, wantCode: "internal_error"},
		{name: "refresh", method: "POST", path: "/api/nodes/" + nodeUnreachable + "/readiness/refresh", wantStatus: 200,
			check: func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder) {
				var got readiness.Report
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				require.Equal(t, readiness.CodeSSHUnreachable, got.PrimaryReason)
				require.Equal(t, int64(1), s.gate.refreshes.Load())
			}},
		{name: "refresh unknown node", method: "POST", path: "/api/nodes/" + nodeMissing + "/readiness/refresh", wantStatus: 404, wantCode: "not_found"},
		{name: "refresh gate fails", method: "POST", path: "/api/nodes/" + nodeBoom + "/readiness/refresh", wantStatus: 500, wantCode: "internal_error"},
		{name: "create", method: "POST", path: "/api/nodes", body: `{"name":"  web-9 ","provider":"hetzner"}`, wantStatus: 202,
			check: func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder) {
				var got contracts.NodeAccepted
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				require.Equal(t, contracts.NodeAccepted{NodeId: nodeAcquiring, JobId: jobID}, got)
				require.Equal(t, "/api/nodes/"+nodeAcquiring, rec.Header().Get("Location"))
				require.Equal(t, []string{"web-9|hetzner"}, s.creator.calls)
			}},
		{name: "create without provider", method: "POST", path: "/api/nodes", body: `{"name":"web-9"}`, wantStatus: 202,
			check: func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder) {
				require.Equal(t, []string{"web-9|"}, s.creator.calls)
			}},
		{name: "create 100-character name", method: "POST", path: "/api/nodes", body: `{"name":"` + strings.Repeat("ä", 100) + `"}`, wantStatus: 202},
		{name: "create malformed JSON", method: "POST", path: "/api/nodes", body: `{"name":`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create not an object", method: "POST", path: "/api/nodes", body: `"web-9"`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create empty body", method: "POST", path: "/api/nodes", body: ``, wantStatus: 400, wantCode: "bad_request"},
		{name: "create without name", method: "POST", path: "/api/nodes", body: `{"provider":"hetzner"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create blank name", method: "POST", path: "/api/nodes", body: `{"name":"   "}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create name too long", method: "POST", path: "/api/nodes", body: `{"name":"` + strings.Repeat("x", 101) + `"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create name not a string", method: "POST", path: "/api/nodes", body: `{"name":7}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create provider not a string", method: "POST", path: "/api/nodes", body: `{"name":"a","provider":["x"]}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create too large", method: "POST", path: "/api/nodes", body: `{"name":"` + strings.Repeat("x", 300) + `"}`,
			mutate: func(c *apihttp.Config) { c.MaxBodyBytes = 256 }, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "create without creator", method: "POST", path: "/api/nodes", body: `{"name":"web-9"}`,
			mutate: func(c *apihttp.Config) { c.Creator = nil }, wantStatus: 501, wantCode: "not_implemented"},
		{name: "create rejected by creator", method: "POST", path: "/api/nodes", body: `{"name":"web-9","provider":"nope"}`,
			mutate: func(c *apihttp.Config) {
				c.Creator = &fakeCreator{err: fmt.Errorf("unknown provider %q: %w", "nope", apihttp.ErrInvalid)}
			}, wantStatus: 400, wantCode: "bad_request",
			check: func(t *testing.T, s *nodesSetup, rec *httptest.ResponseRecorder) {
				require.Contains(t, errorBody(t, rec.Body.Bytes()).Message, `unknown provider "nope"`)
			}},
		{name: "create fails", method: "POST", path: "/api/nodes", body: `{"name":"web-9"}`,
			mutate:     func(c *apihttp.Config) { c.Creator = &fakeCreator{err: errors.New("provider api: " + secret)} },
			wantStatus: 500, wantCode: "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newNodes(t, tt.mutate)
			req := newRequest(tt.method, tt.path, tt.body)
			rec := s.do(t, req)
			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			requireNoLeak(t, rec.Body.Bytes())
			if tt.wantCode != "" {
				require.Equal(t, contracts.ApiErrorCode(tt.wantCode), errorBody(t, rec.Body.Bytes()).Code)
			}
			if tt.wantStatus == 500 {
				require.Equal(t, "internal error", errorBody(t, rec.Body.Bytes()).Message)
				require.Contains(t, s.logs.String(), "apihttp:")
			}
			if tt.check != nil {
				tt.check(t, s, rec)
			}
		})
	}
}

func TestNodesUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
	}{
		{"DELETE", "/api/nodes/" + nodeReady, 405, "GET, HEAD"},
		{"PUT", "/api/nodes", 405, "GET, HEAD, POST"},
		{"GET", "/api/nodes/" + nodeReady + "/readiness/refresh", 405, "POST"},
		{"POST", "/api/nodes/" + nodeReady + "/readiness", 405, "GET, HEAD"},
		{"GET", "/api/nodes/" + nodeReady + "/other", 404, ""},
		{"GET", "/api/nodes/a/b/c/d", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			s := newNodes(t, nil)
			rec := s.do(t, newRequest(tt.method, tt.path, ""))
			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			require.Equal(t, tt.wantAllow, rec.Header().Get("Allow"))
			validateSchema(t, "Error", rec.Body.Bytes())
			want := map[int]string{404: "not_found", 405: "method_not_allowed"}[tt.wantStatus]
			require.Equal(t, contracts.ApiErrorCode(want), errorBody(t, rec.Body.Bytes()).Code)
		})
	}
}

func TestNewNodesHandlerPanicsWithoutNodes(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "apihttp: NewNodesHandler: Config.Nodes is required", func() {
		apihttp.NewNodesHandler(apihttp.Config{Gate: &fakeGate{}})
	})
	require.PanicsWithValue(t, "apihttp: NewNodesHandler: Config.Gate is required", func() {
		apihttp.NewNodesHandler(apihttp.Config{Nodes: testNodes()})
	})
}

// TestWriteError pins the error shape host handlers share.
func TestWriteError(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	apihttp.WriteError(rec, http.StatusConflict, apihttp.CodeConflict, "slug already taken")
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"code":"conflict","message":"slug already taken"}`, rec.Body.String())
	validateResponse(t, newRequest("POST", "/api/sites", ""), rec.Code, rec.Header(), rec.Body.Bytes())
}
