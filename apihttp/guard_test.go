package apihttp_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
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

// guardSetup is Guard on the host's full paths (Prefix "/api") with a
// fake gate, siteCandidates, the default validation, refusal and errors.
type guardSetup struct {
	gate    *fakeGate
	next    *recordingNext
	logs    *logBuffer
	handler http.Handler

	mu        sync.Mutex
	decisions []preflight.Decision
}

func newGuard(t *testing.T, mutate func(*apihttp.GuardConfig)) *guardSetup {
	t.Helper()
	s := &guardSetup{gate: &fakeGate{}, next: &recordingNext{}}
	logger, logs := newLogger()
	s.logs = logs
	cfg := apihttp.GuardConfig{
		Gate:       s.gate,
		Candidates: siteCandidates,
		Prefix:     "/api",
		OnDecision: func(_ *http.Request, d preflight.Decision) {
			s.mu.Lock()
			s.decisions = append(s.decisions, d)
			s.mu.Unlock()
		},
		Logger: logger,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s.handler = apihttp.Guard(cfg)(s.next)
	return s
}

func (s *guardSetup) do(req *http.Request) *httptest.ResponseRecorder { return serve(s.handler, req) }

func (s *guardSetup) decided() []preflight.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]preflight.Decision(nil), s.decisions...)
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
			rec := s.do(req)

			require.Equal(t, http.StatusConflict, rec.Code, "body %s", rec.Body)
			require.Zero(t, s.next.callCount(), "the next handler ran for a refused create")
			require.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())

			var got contracts.NodeNotReady
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, contracts.NodeNotReadyCodeNodeNotReady, got.Code)
			require.Equal(t, tt.wantNode, got.NodeId)
			require.Equal(t, tt.wantState, got.Readiness.State)
			require.Equal(t, tt.wantPrimary, got.Readiness.PrimaryReason)
			require.Equal(t, string(tt.wantOp), got.Readiness.Operation)
			require.Equal(t, "node is not ready for "+string(tt.wantOp)+": "+got.Readiness.Summary(), got.Message)
			require.NotEmpty(t, got.Readiness.Reasons[0].Remediation)
			require.Nil(t, got.Candidates, "one candidate, yet the body lists candidates")
			if diff := cmp.Diff(report(tt.wantNode, tt.wantOp), got.Readiness); diff != "" {
				t.Errorf("readiness in the 409 body (-want +got):\n%s", diff)
			}

			d := s.decided()
			require.Len(t, d, 1, "OnDecision calls")
			require.False(t, d[0].Admit)
			require.Equal(t, tt.wantNode, d[0].NodeID)
			require.Equal(t, []string{string(tt.wantOp) + " " + tt.wantNode}, s.gate.chosenCalls())
			require.Empty(t, s.logs.String(), "a refusal is the gate's business to log, not the guard's")
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
		{"site without node_id uses the fallback", "/api/sites", `{"name":"Blog","slug":"blog"}`,
			nodeReady, readiness.OperationSiteCreate},
		{"site with null node_id uses the fallback", "/api/sites", `{"name":"Blog","slug":"blog","node_id":null}`,
			nodeReady, readiness.OperationSiteCreate},
		{"environment uses the site's node", "/api/sites/" + siteOnReady + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging","promotion_preset":"commerce-protect","source_environment_id":null}`,
			nodeReady, readiness.OperationEnvCreate},
		{"environment body node_id overrides the site's", "/api/sites/" + siteOnSudo + "/environments",
			`{"name":"Clone","slug":"clone","type":"clone","promotion_preset":"content-protect","node_id":"` + nodeReady + `"}`,
			nodeReady, readiness.OperationEnvCreate},
		{"invalid UTF-8 is passed on as sent", "/api/sites", "{\"name\":\"\xff\xfe\",\"slug\":\"b\"}",
			nodeReady, readiness.OperationSiteCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, nil)
			req := newRequest(http.MethodPost, tt.path, tt.body)
			rec := s.do(req)

			require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, 1, s.next.callCount())
			require.NoError(t, s.next.readErr)
			require.Equal(t, tt.body, string(s.next.body), "the next handler got other bytes")
			require.Equal(t, int64(len(tt.body)), s.next.contentLength)
			require.True(t, s.next.hasDecision, "no decision in the request context")
			require.True(t, s.next.decision.Admit)
			require.Equal(t, tt.wantNode, s.next.decision.NodeID)
			require.Equal(t, tt.wantOp, s.next.decision.Operation)
			require.Len(t, s.decided(), 1, "OnDecision calls")
			require.Equal(t, []string{string(tt.wantOp) + " " + tt.wantNode}, s.gate.chosenCalls())
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
	rec := s.do(req)
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
	rec := s.do(req)

	require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
	validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	require.Equal(t, body, string(s.next.body))
	require.Empty(t, rec.Header().Get("Retry-After"))

	decided := s.decided()
	require.Len(t, decided, 1)
	d := decided[0]
	require.True(t, d.Admit)
	require.True(t, d.WouldRefuse)
	require.Equal(t, preflight.ModeWarn, d.Mode)
	require.Equal(t, []readiness.Code{readiness.CodeSudoPasswordRequired, readiness.CodeRuntimeServiceInactive}, d.Waived)
	require.True(t, s.next.hasDecision)
	require.True(t, s.next.decision.WouldRefuse, "the next handler cannot see the warning")
}

func TestGuardLeavesOtherRoutesUntouched(t *testing.T) {
	t.Parallel()
	// Paths below the prefix; each runs under Prefix "" and "/api".
	tests := []struct {
		method, path, body string
	}{
		{http.MethodGet, "/sites", ""},
		{http.MethodHead, "/sites", ""},
		{http.MethodPut, "/sites", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPatch, "/sites", `not json`},
		{http.MethodGet, "/sites/" + siteOnSudo, ""},
		{http.MethodDelete, "/sites/" + siteOnSudo, ""},
		{http.MethodGet, "/sites/" + siteOnSudo + "/environments", ""},
		{http.MethodPut, "/sites/" + siteOnSudo + "/environments", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites/", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites/" + siteOnSudo, `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites/" + siteOnSudo + "/other", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites/" + siteOnSudo + "/environments/x", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites/" + siteOnSudo + "/environments/", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sites//environments", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/sitesx", `{"node_id":"` + nodeSudo + `"}`},
		{http.MethodPost, "/nodes", `{"name":"x"}`},
		{http.MethodPost, "/nodes/" + nodeSudo + "/readiness/refresh", ``},
		{http.MethodPost, "/sites/" + siteOnSudo + "/environments/" + siteOnSudo + "/promote", `not json`},
		{http.MethodPost, "/jobs", strings.Repeat("x", 4096)}, // over the limit, but not guarded
	}
	type run struct{ prefix, method, target, body string }
	var runs []run
	for _, prefix := range []string{"", "/api"} {
		for _, tt := range tests {
			runs = append(runs, run{prefix, tt.method, prefix + tt.path, tt.body})
		}
	}
	// The guarded paths of the other prefix.
	runs = append(runs,
		run{"/api", http.MethodPost, "/sites", `{"node_id":"` + nodeSudo + `"}`},
		run{"/api", http.MethodPost, "/sites/" + siteOnSudo + "/environments", `{}`},
		run{"", http.MethodPost, "/api/sites", `{"node_id":"` + nodeSudo + `"}`},
		run{"", http.MethodPost, "/api/sites/" + siteOnSudo + "/environments", `{}`},
		run{"/api/v1", http.MethodPost, "/api/sites", `{"node_id":"` + nodeSudo + `"}`},
	)
	for _, tt := range runs {
		t.Run(fmt.Sprintf("Prefix %q %s %s", tt.prefix, tt.method, tt.target), func(t *testing.T) {
			t.Parallel()
			gate := &fakeGate{}
			var candidates atomic.Int64
			req := newRequest(tt.method, tt.target, tt.body)
			origBody, origCtx := req.Body, req.Context()
			var sawSame, has bool
			var got []byte
			h := apihttp.Guard(apihttp.GuardConfig{
				Gate: gate, Prefix: tt.prefix, MaxBodyBytes: 1024,
				Candidates: func(*http.Request, apihttp.Request) ([]string, error) {
					candidates.Add(1)
					return nil, nil
				},
			})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sawSame = r == req && r.Body == origBody && r.Context() == origCtx
				got, _ = io.ReadAll(r.Body)
				_, has = apihttp.DecisionFrom(r.Context())
				w.WriteHeader(http.StatusTeapot)
			}))
			rec := serve(h, req)
			require.Equal(t, http.StatusTeapot, rec.Code)
			require.True(t, sawSame, "the request was changed")
			require.False(t, has, "an unguarded request has a decision")
			require.Equal(t, tt.body, string(got))
			require.Zero(t, gate.chooses.Load(), "the gate was called")
			require.Zero(t, candidates.Load(), "Candidates was called")
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
		mutate     func(*apihttp.GuardConfig)
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"malformed JSON", "/api/sites", `{"name":"Blog",`, nil, 400, "bad_request", "malformed JSON body"},
		{"malformed JSON after node_id", "/api/sites", `{"node_id":"` + nodeReady + `", }`, nil, 400, "bad_request", "malformed JSON body"},
		{"trailing data", "/api/sites", `{"node_id":"` + nodeReady + `"} {}`, nil, 400, "bad_request", "malformed JSON body"},
		{"empty body", "/api/sites", ``, nil, 400, "bad_request", "request body must be a JSON object"},
		{"array body", "/api/sites", `[{"node_id":"x"}]`, nil, 400, "bad_request", "request body must be a JSON object"},
		{"null body", "/api/sites", `null`, nil, 400, "bad_request", "request body must be a JSON object"},
		{"node_id number", "/api/sites", `{"name":"Blog","node_id":42}`, nil, 400, "bad_request", "node_id must be a string"},
		{"node_id object", env, `{"name":"Blog","node_id":{"id":"x"}}`, nil, 400, "bad_request", "node_id must be a string"},
		{"node_id empty", "/api/sites", `{"name":"Blog","node_id":""}`, nil, 400, "bad_request", "node_id must not be empty"},
		{"unknown site", "/api/sites/" + siteMissing + "/environments", `{"name":"S"}`, nil, 404, "not_found", "not found"},
		{"unknown site with node_id", "/api/sites/" + siteMissing + "/environments", `{"name":"S","node_id":"` + nodeReady + `"}`, nil, 404, "not_found", "not found"},
		{"oversized with length", "/api/sites", `{"name":"` + strings.Repeat("x", 200) + `"}`,
			func(c *apihttp.GuardConfig) { c.MaxBodyBytes = 100 }, 413, "payload_too_large", "request body exceeds 100 bytes"},
		{"gate fails", "/api/sites", `{"name":"Blog","node_id":"` + nodeBoom + `"}`, nil, 500, "internal_error", "internal error"},
		{"gate fails on a later candidate", "/api/sites", `{"name":"Blog"}`,
			func(c *apihttp.GuardConfig) {
				c.Candidates = func(*http.Request, apihttp.Request) ([]string, error) { return []string{nodeSudo, nodeBoom}, nil }
			}, 500, "internal_error", "internal error"},
		{"the host's store fails", "/api/sites/" + siteBoom + "/environments", `{"name":"S"}`, nil, 500, "internal_error", "internal error"},
		{"Candidates rejects the request", "/api/sites", `{"name":"Blog"}`,
			func(c *apihttp.GuardConfig) {
				c.Candidates = func(*http.Request, apihttp.Request) ([]string, error) {
					return nil, fmt.Errorf("%w: no provider offers region eu-9", apihttp.ErrInvalid)
				}
			}, 400, "bad_request", "apihttp: invalid request: no provider offers region eu-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, tt.mutate)
			req := newRequest(http.MethodPost, tt.path, tt.body)
			rec := s.do(req)

			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, contracts.Error{Code: contracts.ApiErrorCode(tt.wantCode), Message: tt.wantMsg}, errorBody(t, rec.Body.Bytes()))
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Zero(t, s.next.callCount(), "the next handler ran")
			requireNoLeak(t, rec.Body.Bytes())
			require.Empty(t, s.decided(), "OnDecision ran without a decision")
			if tt.wantStatus == 500 {
				require.Contains(t, s.logs.String(), "apihttp:", "the failure was not logged")
				require.Contains(t, s.logs.String(), secret, "the operator's log lacks the error's detail")
			} else {
				require.Empty(t, s.logs.String(), "a client error was logged")
			}
			if tt.wantStatus != 500 || tt.name == "the host's store fails" {
				return
			}
			require.NotEmpty(t, s.gate.chosenCalls(), "the gate was not asked")
		})
	}
}

// errReader fails mid-body, as a client that goes away does.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		r.n++
		return copy(p, `{"name":`), nil
	}
	return 0, errors.New("read tcp: connection reset by peer")
}

func TestGuardBodyReadFails(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	req := newRequest(http.MethodPost, "/api/sites", "")
	req.ContentLength = -1
	req.Body = io.NopCloser(&errReader{})
	rec := s.do(req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, contracts.Error{Code: "bad_request", Message: "could not read the request body"}, errorBody(t, rec.Body.Bytes()))
	require.Zero(t, s.gate.chooses.Load())
}

func TestGuardOversizedBodyWithoutLength(t *testing.T) {
	t.Parallel()
	for _, size := range []int{101, 4096, 1 << 20} {
		s := newGuard(t, func(c *apihttp.GuardConfig) { c.MaxBodyBytes = 100 })
		req := newRequest(http.MethodPost, "/api/sites", "{}")
		req.ContentLength = -1
		req.Body = io.NopCloser(strings.NewReader(`{"name":"` + strings.Repeat("x", size) + `"}`))
		rec := s.do(req)
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
		require.Zero(t, s.gate.chooses.Load())
	}
	// Exactly at the limit is accepted.
	s := newGuard(t, func(c *apihttp.GuardConfig) { c.MaxBodyBytes = 100 })
	body := `{"node_id":"` + nodeReady + `","name":"` + strings.Repeat("x", 100-len(`{"node_id":"`+nodeReady+`","name":""}`)) + `"}`
	require.Len(t, body, 100)
	req := newRequest(http.MethodPost, "/api/sites", body)
	req.ContentLength = -1
	rec := s.do(req)
	require.Equal(t, http.StatusAccepted, rec.Code, "body %s", rec.Body)
	require.Equal(t, body, string(s.next.body))
}

func TestGuardDefaultBodyLimit(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	req := newRequest(http.MethodPost, "/api/sites", `{"name":"`+strings.Repeat("x", int(apihttp.DefaultMaxBodyBytes))+`"}`)
	rec := s.do(req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.Equal(t, "request body exceeds 1048576 bytes", errorBody(t, rec.Body.Bytes()).Message)
}

func TestGuardHostMaxBytesReader(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 10)
		s.handler.ServeHTTP(w, r)
	})
	req := newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog"}`)
	req.ContentLength = -1
	rec := serve(h, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.Zero(t, s.gate.chooses.Load())
}

func TestGuardEscapedSiteID(t *testing.T) {
	t.Parallel()
	var got apihttp.Request
	s := newGuard(t, func(c *apihttp.GuardConfig) {
		c.Candidates = func(_ *http.Request, req apihttp.Request) ([]string, error) {
			got = req
			return []string{nodeReady}, nil
		}
	})
	rec := s.do(newRequest(http.MethodPost, "/api/sites/a%2Fb/environments", `{"name":"S"}`))
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, apihttp.Request{Operation: readiness.OperationEnvCreate, SiteID: "a/b", Body: []byte(`{"name":"S"}`)}, got)
}

// TestGuardValidateRunsFirst: the host's Validate sees every guarded
// create before anything else; when it refuses, its own response is the
// answer and neither Candidates nor the gate runs. Every hook reads the
// whole body from r.Body, as the host's own decoder would.
func TestGuardValidateRunsFirst(t *testing.T) {
	t.Parallel()
	const body = `{"name":"","slug":"x"}`
	var order []string
	hook := func(name string, r *http.Request, req apihttp.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		require.Equal(t, body, string(b), "%s read another body from r.Body", name)
		require.Equal(t, body, string(req.Body), "%s got another req.Body", name)
		d, ok := apihttp.DecisionFrom(r.Context())
		order = append(order, fmt.Sprintf("%s decided=%v admit=%v", name, ok, d.Admit))
	}
	for _, valid := range []bool{false, true} {
		order = nil
		s := newGuard(t, func(c *apihttp.GuardConfig) {
			c.Validate = func(w http.ResponseWriter, r *http.Request, req apihttp.Request) bool {
				hook("validate", r, req)
				if !valid {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = io.WriteString(w, `{"code":"bad_request","message":"name is required"}`)
				}
				return valid
			}
			c.Candidates = func(r *http.Request, req apihttp.Request) ([]string, error) {
				hook("candidates", r, req)
				return []string{nodeSudo}, nil
			}
			c.OnDecision = func(r *http.Request, d preflight.Decision) {
				hook("on-decision", r, apihttp.Request{Body: []byte(body)})
			}
			c.Refuse = func(w http.ResponseWriter, r *http.Request, d preflight.Decision) {
				hook("refuse", r, apihttp.Request{Body: []byte(body)})
				apihttp.WriteRefusal(w, d)
			}
		})
		rec := s.do(newRequest(http.MethodPost, "/api/sites", body))
		if !valid {
			require.Equal(t, http.StatusBadRequest, rec.Code)
			require.JSONEq(t, `{"code":"bad_request","message":"name is required"}`, rec.Body.String())
			require.Equal(t, []string{"validate decided=false admit=false"}, order)
			require.Zero(t, s.gate.chooses.Load(), "an invalid create reached the gate")
			continue
		}
		require.Equal(t, http.StatusConflict, rec.Code)
		require.Equal(t, []string{
			"validate decided=false admit=false", "candidates decided=false admit=false",
			"on-decision decided=true admit=false", "refuse decided=true admit=false",
		}, order)
	}
}

// TestGuardDefaultValidationWithHostCandidates: without Validate the
// body must be a JSON object even when Candidates never reads it.
func TestGuardDefaultValidationWithHostCandidates(t *testing.T) {
	t.Parallel()
	s := newGuard(t, func(c *apihttp.GuardConfig) {
		c.Candidates = func(*http.Request, apihttp.Request) ([]string, error) { return []string{nodeReady}, nil }
	})
	for body, want := range map[string]int{`{"a":1}`: 202, `[1]`: 400, `{"a":`: 400, `"x"`: 400} {
		rec := s.do(newRequest(http.MethodPost, "/api/sites", body))
		require.Equal(t, want, rec.Code, "body %s: %s", body, rec.Body)
	}
}

func TestGuardPanicsOnBadConfig(t *testing.T) {
	t.Parallel()
	candidates := apihttp.NodeIDField(nil)
	require.PanicsWithValue(t, "apihttp: Guard: GuardConfig.Gate is required", func() {
		apihttp.Guard(apihttp.GuardConfig{Candidates: candidates})
	})
	require.PanicsWithValue(t, "apihttp: Guard: GuardConfig.Candidates is required", func() {
		apihttp.Guard(apihttp.GuardConfig{Gate: &fakeGate{}})
	})
	for _, prefix := range []string{"api", "/", "/api/", "//api", "/api//v1", "/./api", "/api/..", "/a%62", "/t/{tenant}", "/{$}"} {
		require.Panics(t, func() { apihttp.Guard(apihttp.GuardConfig{Gate: &fakeGate{}, Candidates: candidates, Prefix: prefix}) },
			"Prefix %q", prefix)
	}
	for _, prefix := range []string{"", "/api", "/api/v1", "/é", "/a b"} {
		require.NotPanics(t, func() { apihttp.Guard(apihttp.GuardConfig{Gate: &fakeGate{}, Candidates: candidates, Prefix: prefix}) },
			"Prefix %q", prefix)
	}
}

func TestDecisionFromUnguardedContext(t *testing.T) {
	t.Parallel()
	_, ok := apihttp.DecisionFrom(context.Background())
	require.False(t, ok)
}

// TestGuardNeverLogsObservedData: an admission, a warn-mode admission and
// a refusal log nothing, so a node's observed data (carried in the
// refusal's report, which the client is shown) never reaches the logs;
// an internal failure logs the error's text for the operator and shows
// the client a fixed message.
func TestGuardNeverLogsObservedData(t *testing.T) {
	t.Parallel()
	s := newGuard(t, nil)
	s.gate.warn = map[string]bool{nodeSudo: true}
	for _, node := range []string{nodeReady, nodeSudo, nodeUnreachable, nodeBoom} {
		rec := s.do(newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog","node_id":"`+node+`"}`))
		requireNoLeak(t, rec.Body.Bytes())
		if node == nodeUnreachable {
			require.Equal(t, http.StatusConflict, rec.Code)
			require.Contains(t, rec.Body.String(), observedSecret, "the refusal's report lost its observed detail")
		}
	}
	logs := s.logs.String()
	require.NotContains(t, logs, observedSecret)
	require.Equal(t, 1, strings.Count(logs, "\n"), "want exactly the one internal failure logged:\n%s", logs)
	require.Contains(t, logs, "apihttp: readiness check failed")
}

// TestGuardWithRealGate runs the middleware on a *preflight.Gate: a cold
// node that is not ready is refused after one probe, warn mode admits,
// and the candidate rules of the fake gate hold on the real one.
func TestGuardWithRealGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mode       preflight.Mode
		candidates []string
		wantStatus int
		wantNode   string
		wantListed []string // candidates in the 409 body
		wantProbes map[string]int
	}{
		{"enforce refuses", preflight.ModeEnforce, []string{nodeSudo}, 409, nodeSudo, nil, map[string]int{nodeSudo: 1}},
		{"warn admits", preflight.ModeWarn, []string{nodeSudo}, 202, nodeSudo, nil, map[string]int{nodeSudo: 1}},
		{"first admitted candidate", preflight.ModeEnforce, []string{nodeSudo, nodeReady2, nodeReady}, 202, nodeReady2, nil,
			nil}, // nodeReady may or may not be probed: Choose checks ahead
		{"first admitted candidate, in order", preflight.ModeEnforce, []string{nodeSudo, nodeReady}, 202, nodeReady, nil,
			map[string]int{nodeSudo: 1, nodeReady: 1}},
		{"none admitted", preflight.ModeEnforce, []string{nodeSudo, nodeAcquiring, nodeUnreachable}, 409, nodeSudo,
			[]string{nodeSudo, nodeAcquiring, nodeUnreachable}, map[string]int{nodeSudo: 1, nodeUnreachable: 1}},
		{"unknown candidate passed over", preflight.ModeEnforce, []string{nodeMissing, nodeReady}, 202, nodeReady, nil,
			map[string]int{nodeReady: 1}},
		{"unknown node alone", preflight.ModeEnforce, []string{nodeMissing}, 409, "", nil, map[string]int{}},
		{"no candidate", preflight.ModeWarn, nil, 409, "", nil, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, pr := newRealGate(t, tt.mode)
			next := &recordingNext{}
			h := apihttp.Guard(apihttp.GuardConfig{
				Gate: g, Prefix: "/api",
				Candidates: func(*http.Request, apihttp.Request) ([]string, error) { return tt.candidates, nil },
			})(next)
			req := newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog"}`)
			rec := serve(h, req)
			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			if tt.wantStatus == http.StatusAccepted {
				require.Equal(t, tt.wantNode, next.decision.NodeID)
				require.Equal(t, tt.mode == preflight.ModeWarn, next.decision.WouldRefuse)
			} else {
				require.Zero(t, next.callCount())
				var got contracts.NodeNotReady
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				require.Equal(t, tt.wantNode, got.NodeId)
				if tt.wantNode == "" {
					require.Equal(t, readiness.CodeNoCandidateNode, got.Readiness.PrimaryReason)
				}
				var listed []string
				if got.Candidates != nil {
					for _, c := range *got.Candidates {
						listed = append(listed, c.NodeId)
					}
				}
				require.Equal(t, tt.wantListed, listed)
			}
			for node, n := range pr.counts() {
				require.LessOrEqual(t, n, 1, "node %s probed %d times", node, n)
			}
			if tt.wantProbes == nil {
				return
			}
			if diff := cmp.Diff(tt.wantProbes, pr.counts()); diff != "" {
				t.Errorf("probes per node (-want +got):\n%s", diff)
			}
		})
	}
}

// newRealGate is a *preflight.Gate over a few node records, probed by a
// nodeProber: nodeReady and nodeReady2 are ready, nodeSudo needs a sudo
// password, nodeUnreachable does not answer, nodeAcquiring is still with
// the provider (never probed).
func newRealGate(t *testing.T, mode preflight.Mode) (*preflight.Gate, *nodeProber) {
	t.Helper()
	nodes := preflight.NewMemoryNodes(
		preflight.Node{ID: nodeReady, Host: "203.0.113.1", User: "pressluft"},
		preflight.Node{ID: nodeReady2, Host: "203.0.113.8", User: "pressluft"},
		preflight.Node{ID: nodeSudo, Host: "203.0.113.2", User: "pressluft"},
		preflight.Node{ID: nodeUnreachable, Host: "203.0.113.5", User: "pressluft"},
		preflight.Node{ID: nodeAcquiring, Lifecycle: readiness.LifecycleAcquiring},
	)
	pr := &nodeProber{calls: map[string]int{}}
	g, err := preflight.New(preflight.Config{
		Nodes: nodes, Credentials: preflight.NewMemoryCredentials(testSigner), Prober: pr, Mode: mode,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g, pr
}

var testSigner, _ = ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))

// nodeProber stands in for *probe.Prober and counts probes per node.
type nodeProber struct {
	mu    sync.Mutex
	calls map[string]int
}

func (p *nodeProber) Observe(_ context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	p.mu.Lock()
	p.calls[nodeID]++
	p.mu.Unlock()
	obs := readiness.Observation{NodeID: nodeID, User: t.User, Probed: true, HasAddress: true, CheckedAt: t0, Facts: readyFacts()}
	switch nodeID {
	case nodeSudo:
		obs.Facts.Sudo = readiness.SudoPasswordRequired
	case nodeUnreachable:
		obs.Facts = nil
		obs.Transport = &readiness.TransportFailure{Code: readiness.CodeSSHUnreachable, Detail: "connection refused"}
	}
	return obs
}

func (p *nodeProber) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

func (p *nodeProber) total() int {
	n := 0
	for _, v := range p.counts() {
		n += v
	}
	return n
}
