package apihttp_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// recordingNext is the host's create handler: it records what it was
// handed and answers 202 {job_id}, as pressluft's handlers do.
type recordingNext struct {
	mu            sync.Mutex
	calls         int
	body          []byte
	contentLength int64
	decision      preflight.Decision
	hasDecision   bool
	readErr       error
}

func (n *recordingNext) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	n.mu.Lock()
	n.calls++
	n.body, n.readErr, n.contentLength = b, err, r.ContentLength
	n.decision, n.hasDecision = apihttp.DecisionFrom(r.Context())
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(contracts.JobAccepted{JobId: jobID})
}

type guardSetup struct {
	gate      *fakeGate
	next      *recordingNext
	decisions []preflight.Decision
	logs      *logBuffer
	handler   http.Handler
}

func newGuard(t *testing.T, mutate func(*apihttp.Config)) *guardSetup {
	t.Helper()
	s := &guardSetup{gate: &fakeGate{warn: map[string]bool{nodeSudo: false}}, next: &recordingNext{}}
	logger, logs := newLogger()
	s.logs = logs
	var mu sync.Mutex
	cfg := apihttp.Config{
		Gate:        s.gate,
		Sites:       fakeSites{},
		DefaultNode: func(context.Context) (string, error) { return nodeReady, nil },
		OnDecision: func(_ *http.Request, d preflight.Decision) {
			mu.Lock()
			s.decisions = append(s.decisions, d)
			mu.Unlock()
		},
		Logger: logger,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s.handler = apihttp.Guard(cfg)(s.next)
	return s
}

func (s *guardSetup) do(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

func TestGuardRefusesNodesThatAreNotReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		path        string
		body        string
		wantNode    string
		wantOp      readiness.Operation
		wantState   readiness.State
		wantPrimary readiness.Code
		wantRetry   string
	}{
		{"not_ready sudo", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeSudo + `"}`,
			nodeSudo, readiness.OperationSiteCreate, readiness.StateNotReady, readiness.CodeSudoPasswordRequired, ""},
		{"pending acquiring, retryable", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeAcquiring + `"}`,
			nodeAcquiring, readiness.OperationSiteCreate, readiness.StatePending, readiness.CodeNodeAcquiring, "10"},
		{"unknown never probed, retryable", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeNeverProbed + `"}`,
			nodeNeverProbed, readiness.OperationSiteCreate, readiness.StateUnknown, readiness.CodeNodeNeverProbed, "10"},
		{"unknown stale, retryable", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeStale + `"}`,
			nodeStale, readiness.OperationSiteCreate, readiness.StateUnknown, readiness.CodeReadinessStale, "10"},
		{"unreachable, retryable", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeUnreachable + `"}`,
			nodeUnreachable, readiness.OperationSiteCreate, readiness.StateNotReady, readiness.CodeSSHUnreachable, "10"},
		{"decommissioned, not retryable", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeDecommissioned + `"}`,
			nodeDecommissioned, readiness.OperationSiteCreate, readiness.StateNotReady, readiness.CodeNodeDecommissioned, ""},
		{"environment on the site's node", "/api/sites/" + siteOnSudo + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging","promotion_preset":"content-protect"}`,
			nodeSudo, readiness.OperationEnvCreate, readiness.StateNotReady, readiness.CodeSudoPasswordRequired, ""},
		{"environment with body node_id", "/api/sites/" + siteOnReady + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging","promotion_preset":"content-protect","node_id":"` + nodeAcquiring + `"}`,
			nodeAcquiring, readiness.OperationEnvCreate, readiness.StatePending, readiness.CodeNodeAcquiring, "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, nil)
			req := newRequest(http.MethodPost, tt.path, tt.body)
			rec := s.do(t, req)

			require.Equal(t, http.StatusConflict, rec.Code, "body %s", rec.Body)
			require.Equal(t, 0, s.next.calls, "the next handler ran for a refused create")
			require.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())

			var got contracts.NodeNotReady
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, contracts.NodeNotReadyCodeNodeNotReady, got.Code)
			require.Equal(t, tt.wantNode, got.NodeId)
			require.Equal(t, tt.wantState, got.Readiness.State)
			require.Equal(t, tt.wantPrimary, got.Readiness.PrimaryReason)
			require.Equal(t, string(tt.wantOp), got.Readiness.Operation)
			require.True(t, strings.HasPrefix(got.Message, "node is not ready for "+string(tt.wantOp)+": "), "message %q", got.Message)
			require.NotEmpty(t, got.Readiness.Reasons[0].Remediation)
			if diff := cmp.Diff(report(tt.wantNode, tt.wantOp), got.Readiness); diff != "" {
				t.Errorf("readiness in the 409 body (-want +got):\n%s", diff)
			}

			require.Len(t, s.decisions, 1, "OnDecision calls")
			require.False(t, s.decisions[0].Admit)
			require.Equal(t, []string{string(tt.wantOp) + " " + tt.wantNode}, s.gate.checkedCalls())
		})
	}
}

func TestGuardAdmitsAndPassesTheBodyByteForByte(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		body     string
		wantNode string
		wantOp   readiness.Operation
	}{
		{"site with node_id", "/api/sites",
			"{\"name\": \"Blog\",\n \"slug\":\"blog\", \"node_id\":\"" + nodeReady + "\", \"extra\": [1, 2.50, {\"x\": null}], \"u\":\"\\u00e9\"}",
			nodeReady, readiness.OperationSiteCreate},
		{"site without node_id uses DefaultNode", "/api/sites", `{"name":"Blog","slug":"blog"}`,
			nodeReady, readiness.OperationSiteCreate},
		{"site with null node_id uses DefaultNode", "/api/sites", `{"name":"Blog","slug":"blog","node_id":null}`,
			nodeReady, readiness.OperationSiteCreate},
		{"environment uses the site's node", "/api/sites/" + siteOnReady + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging","promotion_preset":"commerce-protect","source_environment_id":null}`,
			nodeReady, readiness.OperationEnvCreate},
		{"environment body node_id overrides the site's", "/api/sites/" + siteOnSudo + "/environments",
			`{"name":"Clone","slug":"clone","type":"clone","promotion_preset":"content-protect","node_id":"` + nodeReady + `"}`,
			nodeReady, readiness.OperationEnvCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, nil)
			req := newRequest(http.MethodPost, tt.path, tt.body)
			rec := s.do(t, req)

			require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, 1, s.next.calls)
			require.NoError(t, s.next.readErr)
			require.Equal(t, tt.body, string(s.next.body), "the next handler got other bytes")
			require.Equal(t, int64(len(tt.body)), s.next.contentLength)
			require.True(t, s.next.hasDecision, "no decision in the request context")
			require.True(t, s.next.decision.Admit)
			require.Equal(t, tt.wantNode, s.next.decision.NodeID)
			require.Equal(t, tt.wantOp, s.next.decision.Operation)
			require.Len(t, s.decisions, 1, "OnDecision calls")
			require.Equal(t, []string{string(tt.wantOp) + " " + tt.wantNode}, s.gate.checkedCalls())
		})
	}
}

func TestGuardChunkedBodyKeepsUnknownLength(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	body := `{"name":"Blog","slug":"blog","node_id":"` + nodeReady + `"}`
	req := newRequest(http.MethodPost, "/api/sites", body)
	req.ContentLength = -1
	req.Body = io.NopCloser(strings.NewReader(body)) // no length known
	rec := s.do(t, req)
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, body, string(s.next.body))
	require.Equal(t, int64(-1), s.next.contentLength)
}

func TestGuardWarnModeAdmitsAndReportsTheDecision(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	s.gate.warn = map[string]bool{nodeSudo: true}
	body := `{"name":"Blog","slug":"blog","node_id":"` + nodeSudo + `"}`
	req := newRequest(http.MethodPost, "/api/sites", body)
	rec := s.do(t, req)

	require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
	validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	require.Equal(t, body, string(s.next.body))
	require.Empty(t, rec.Header().Get("Retry-After"))

	require.Len(t, s.decisions, 1)
	d := s.decisions[0]
	require.True(t, d.Admit)
	require.True(t, d.WouldRefuse)
	require.Equal(t, preflight.ModeWarn, d.Mode)
	require.Equal(t, []readiness.Code{readiness.CodeSudoPasswordRequired, readiness.CodeRuntimeServiceInactive}, d.Waived)
	require.True(t, s.next.hasDecision)
	require.True(t, s.next.decision.WouldRefuse, "the next handler cannot see the warning")
}

func TestGuardLeavesOtherRoutesUntouched(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, target, body string
	}{
		{http.MethodGet, "/api/sites", ""},
		{http.MethodPut, "/api/sites", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPatch, "/api/sites", `not json`},
		{http.MethodGet, "/api/sites/" + siteOnSudo, ""},
		{http.MethodDelete, "/api/sites/" + siteOnSudo, ""},
		{http.MethodGet, "/api/sites/" + siteOnSudo + "/environments", ""},
		{http.MethodPut, "/api/sites/" + siteOnSudo + "/environments", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sites/", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sites/" + siteOnSudo, `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sites/" + siteOnSudo + "/other", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sites/" + siteOnSudo + "/environments/x", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sites/" + siteOnSudo + "/environments/", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sites//environments", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/sitesx", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/api/nodes", `{"name":"x"}`},
		{http.MethodPost, "/api/sites/" + siteOnSudo + "/environments/" + siteOnSudo + "/promote", `not json`},
		{http.MethodPost, "/api/jobs", strings.Repeat("x", 4096)}, // over the limit, but not guarded
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, func(c *apihttp.Config) { c.MaxBodyBytes = 1024 })
			req := newRequest(tt.method, tt.target, tt.body)
			origBody, origCtx := req.Body, req.Context()
			var sawSame bool
			var got []byte
			s.handler = apihttp.Guard(apihttp.Config{Gate: s.gate})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sawSame = r.Body == origBody && r.Context() == origCtx
				got, _ = io.ReadAll(r.Body)
				_, has := apihttp.DecisionFrom(r.Context())
				require.False(t, has)
				w.WriteHeader(http.StatusTeapot)
			}))
			rec := s.do(t, req)
			require.Equal(t, http.StatusTeapot, rec.Code)
			require.True(t, sawSame, "the request was changed")
			require.Equal(t, tt.body, string(got))
			require.Zero(t, s.gate.checks.Load(), "the gate was called")
		})
	}
}

func TestGuardBadInput(t *testing.T) {
	t.Parallel()
	env := "/api/sites/" + siteOnReady + "/environments"
	tests := []struct {
		name       string
		path       string
		body       string
		mutate     func(*apihttp.Config)
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"malformed JSON", "/api/sites", `{"name":"Blog",`, nil, 400, "bad_request", "malformed JSON body"},
		{"malformed JSON after node_id", "/api/sites", `{"node_id":"` + nodeReady + `", }`, nil, 400, "bad_request", "malformed JSON body"},
		{"empty body", "/api/sites", ``, nil, 400, "bad_request", "request body must be a JSON object"},
		{"array body", "/api/sites", `[{"node_id":"x"}]`, nil, 400, "bad_request", "request body must be a JSON object"},
		{"null body", "/api/sites", `null`, nil, 400, "bad_request", "request body must be a JSON object"},
		{"node_id number", "/api/sites", `{"name":"Blog","node_id":42}`, nil, 400, "bad_request", "node_id must be a string"},
		{"node_id object", env, `{"name":"Blog","node_id":{"id":"x"}}`, nil, 400, "bad_request", "node_id must be a string"},
		{"node_id empty", "/api/sites", `{"name":"Blog","node_id":""}`, nil, 400, "bad_request", "node_id must not be empty"},
		{"no node_id and no DefaultNode", "/api/sites", `{"name":"Blog","slug":"blog"}`,
			func(c *apihttp.Config) { c.DefaultNode = nil }, 400, "bad_request", "node_id is required"},
		{"no node_id and no default node", "/api/sites", `{"name":"Blog","slug":"blog"}`,
			func(c *apihttp.Config) {
				c.DefaultNode = func(context.Context) (string, error) { return "", apihttp.ErrNotFound }
			}, 400, "bad_request", "node_id is required: there is no default node"},
		{"unknown node", "/api/sites", `{"name":"Blog","node_id":"` + nodeMissing + `"}`, nil, 404, "not_found", "node not found"},
		{"unknown default node", "/api/sites", `{"name":"Blog"}`,
			func(c *apihttp.Config) {
				c.DefaultNode = func(context.Context) (string, error) { return nodeMissing, nil }
			}, 404, "not_found", "node not found"},
		{"unknown node on environment", env, `{"name":"S","node_id":"` + nodeMissing + `"}`, nil, 404, "not_found", "node not found"},
		{"unknown site", "/api/sites/" + siteMissing + "/environments", `{"name":"S"}`, nil, 404, "not_found", "site not found"},
		{"unknown site with node_id", "/api/sites/" + siteMissing + "/environments", `{"name":"S","node_id":"` + nodeReady + `"}`, nil, 404, "not_found", "site not found"},
		{"oversized with length", "/api/sites", `{"name":"` + strings.Repeat("x", 200) + `"}`,
			func(c *apihttp.Config) { c.MaxBodyBytes = 100 }, 413, "payload_too_large", "request body exceeds 100 bytes"},
		{"gate fails", "/api/sites", `{"name":"Blog","node_id":"` + nodeBoom + `"}`, nil, 500, "internal_error", "internal error"},
		{"sites fail", "/api/sites/" + nodeBoom + "/environments", `{"name":"S"}`, nil, 500, "internal_error", "internal error"},
		{"DefaultNode fails", "/api/sites", `{"name":"Blog"}`,
			func(c *apihttp.Config) {
				c.DefaultNode = func(context.Context) (string, error) { return "", errors.New("db: " + secret) }
			}, 500, "internal_error", "internal error"},
		{"no Sites and no node_id", env, `{"name":"S"}`,
			func(c *apihttp.Config) { c.Sites = nil }, 500, "internal_error", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, tt.mutate)
			req := newRequest(http.MethodPost, tt.path, tt.body)
			rec := s.do(t, req)

			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, contracts.Error{Code: contracts.ApiErrorCode(tt.wantCode), Message: tt.wantMsg}, errorBody(t, rec.Body.Bytes()))
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Zero(t, s.next.calls, "the next handler ran")
			requireNoLeak(t, rec.Body.Bytes())
			if tt.wantStatus == 500 {
				require.Contains(t, s.logs.String(), "apihttp:", "the failure was not logged")
			}
			if tt.wantStatus != 404 || tt.wantMsg != "node not found" {
				require.Empty(t, s.decisions, "OnDecision ran without a decision")
			}
		})
	}
}

func TestGuardOversizedBodyWithoutLength(t *testing.T) {
	t.Parallel()
	for _, size := range []int{101, 4096, 1 << 20} {
		s := newGuard(t, func(c *apihttp.Config) { c.MaxBodyBytes = 100 })
		req := newRequest(http.MethodPost, "/api/sites", "{}")
		req.ContentLength = -1
		req.Body = io.NopCloser(strings.NewReader(`{"name":"` + strings.Repeat("x", size) + `"}`))
		rec := s.do(t, req)
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
		require.Zero(t, s.gate.checks.Load())
	}
	// Exactly at the limit is accepted.
	s := newGuard(t, func(c *apihttp.Config) { c.MaxBodyBytes = 100 })
	body := `{"node_id":"` + nodeReady + `","name":"` + strings.Repeat("x", 100-len(`{"node_id":"`+nodeReady+`","name":""}`)) + `"}`
	require.Len(t, body, 100)
	req := newRequest(http.MethodPost, "/api/sites", body)
	req.ContentLength = -1
	rec := s.do(t, req)
	require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
	require.Equal(t, body, string(s.next.body))
}

func TestGuardHostMaxBytesReader(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	inner := s.handler
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 10)
		inner.ServeHTTP(w, r)
	})
	req := newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog"}`)
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

func TestGuardEscapedSiteID(t *testing.T) {
	t.Parallel()
	var got string
	sites := sitesFunc(func(_ context.Context, id string) (string, error) { got = id; return nodeReady, nil })
	s := newGuard(t, func(c *apihttp.Config) { c.Sites = sites })
	rec := s.do(t, newRequest(http.MethodPost, "/api/sites/a%2Fb/environments", `{"name":"S"}`))
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, "a/b", got)
}

type sitesFunc func(ctx context.Context, id string) (string, error)

func (f sitesFunc) SiteNode(ctx context.Context, id string) (string, error) { return f(ctx, id) }

func TestGuardPanicsWithoutGate(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "apihttp: Guard: Config.Gate is required", func() { apihttp.Guard(apihttp.Config{}) })
}

func TestDecisionFromUnguardedContext(t *testing.T) {
	t.Parallel()
	_, ok := apihttp.DecisionFrom(context.Background())
	require.False(t, ok)
}

// TestGuardWithRealGate runs the middleware on a *preflight.Gate: a cold
// node that is not ready is refused after one probe, and warn mode admits.
func TestGuardWithRealGate(t *testing.T) {
	t.Parallel()
	for _, mode := range []preflight.Mode{preflight.ModeEnforce, preflight.ModeWarn} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			nodes := preflight.NewMemoryNodes(preflight.Node{ID: nodeSudo, Host: "203.0.113.10", User: "pressluft"})
			pr := &staticProber{}
			g, err := preflight.New(preflight.Config{
				Nodes: nodes, Credentials: preflight.NewMemoryCredentials(testSigner), Prober: pr, Mode: mode,
			})
			require.NoError(t, err)
			t.Cleanup(func() { _ = g.Close() })
			next := &recordingNext{}
			h := apihttp.Guard(apihttp.Config{Gate: g})(next)
			req := newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog","node_id":"`+nodeSudo+`"}`)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			if mode == preflight.ModeEnforce {
				require.Equal(t, http.StatusConflict, rec.Code, "body %s", rec.Body)
				require.Zero(t, next.calls)
			} else {
				require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
				require.True(t, next.decision.WouldRefuse)
			}
			require.Equal(t, int64(1), pr.calls.Load())
		})
	}
}

var testSigner, _ = ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))

// staticProber stands in for *probe.Prober: sudo asks for a password.
type staticProber struct{ calls atomic.Int64 }

func (p *staticProber) Observe(_ context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	p.calls.Add(1)
	f := readyFacts()
	f.Sudo = readiness.SudoPasswordRequired
	return readiness.Observation{NodeID: nodeID, User: t.User, Probed: true, HasAddress: true, CheckedAt: t0, Facts: f}
}
