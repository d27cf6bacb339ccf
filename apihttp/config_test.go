package apihttp_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// The hooks of GuardConfig: Candidates (and NodeIDField), Refuse, Error.

func candidatesOf(ids ...string) apihttp.CandidatesFunc {
	return func(*http.Request, apihttp.Request) ([]string, error) { return ids, nil }
}

func TestGuardCandidates(t *testing.T) {
	t.Parallel()
	type listed struct {
		node  string
		state readiness.State
		code  readiness.Code
	}
	tests := []struct {
		name       string
		candidates []string
		wantStatus int
		wantNode   string
		wantMsg    string   // 409 message
		wantRetry  string   // 409 Retry-After
		wantListed []listed // 409 candidates, in order
	}{
		{name: "first admitted wins", candidates: []string{nodeSudo, nodeReady2, nodeReady},
			wantStatus: 202, wantNode: nodeReady2},
		{name: "admitted after unknown ones", candidates: []string{nodeMissing, nodeAcquiring, nodeReady},
			wantStatus: 202, wantNode: nodeReady},
		{name: "none admitted lists every candidate's reasons",
			candidates: []string{nodeSudo, nodeDecommissioned, nodeUnreachable},
			wantStatus: 409, wantNode: nodeSudo, wantRetry: "10",
			wantMsg: "no node is ready for site_create: first candidate not_ready: sudo_password_required (+1 more) (3 candidates)",
			wantListed: []listed{
				{nodeSudo, readiness.StateNotReady, readiness.CodeSudoPasswordRequired},
				{nodeDecommissioned, readiness.StateNotReady, readiness.CodeNodeDecommissioned},
				{nodeUnreachable, readiness.StateNotReady, readiness.CodeSSHUnreachable},
			}},
		{name: "none admitted, none may clear by itself", candidates: []string{nodeDecommissioned, nodeSudo},
			wantStatus: 409, wantNode: nodeDecommissioned,
			wantMsg: "no node is ready for site_create: first candidate not_ready: node_decommissioned (2 candidates)",
			wantListed: []listed{
				{nodeDecommissioned, readiness.StateNotReady, readiness.CodeNodeDecommissioned},
				{nodeSudo, readiness.StateNotReady, readiness.CodeSudoPasswordRequired},
			}},
		{name: "one refused among unknown ones is a single refusal", candidates: []string{nodeMissing, nodeAcquiring},
			wantStatus: 409, wantNode: nodeAcquiring, wantRetry: "10",
			wantMsg: "node is not ready for site_create: pending: node_acquiring"},
		{name: "zero candidates", candidates: nil,
			wantStatus: 409, wantNode: "", wantMsg: "no node is available for site_create"},
		{name: "only unknown candidates", candidates: []string{nodeMissing},
			wantStatus: 409, wantNode: "", wantMsg: "no node is available for site_create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, func(c *apihttp.GuardConfig) { c.Candidates = candidatesOf(tt.candidates...) })
			req := newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog"}`)
			rec := s.do(req)
			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, []string{"site_create " + strings.Join(tt.candidates, ",")}, s.gate.chosenCalls(),
				"the gate was not asked once with the candidates in order")
			d := s.decided()
			require.Len(t, d, 1, "OnDecision calls")
			require.Equal(t, tt.wantNode, d[0].NodeID)
			if tt.wantStatus == http.StatusAccepted {
				require.Equal(t, 1, s.next.callCount())
				require.Equal(t, tt.wantNode, s.next.decision.NodeID, "the next handler got another node")
				return
			}
			require.Zero(t, s.next.callCount(), "the next handler ran for a refused create")
			require.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
			var got contracts.NodeNotReady
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, contracts.NodeNotReadyCodeNodeNotReady, got.Code)
			require.Equal(t, tt.wantNode, got.NodeId)
			require.Equal(t, tt.wantMsg, got.Message)
			if tt.wantNode == "" {
				require.Equal(t, readiness.CodeNoCandidateNode, got.Readiness.PrimaryReason)
				require.Equal(t, readiness.StateNotReady, got.Readiness.State)
			}
			var gotListed []listed
			if got.Candidates != nil {
				for _, c := range *got.Candidates {
					gotListed = append(gotListed, listed{c.NodeId, c.Readiness.State, c.Readiness.PrimaryReason})
					require.NotEmpty(t, c.Readiness.Reasons, "candidate %s without reasons", c.NodeId)
					require.Equal(t, report(c.NodeId, readiness.OperationSiteCreate), c.Readiness)
				}
			}
			if diff := cmp.Diff(tt.wantListed, gotListed, cmp.AllowUnexported(listed{})); diff != "" {
				t.Errorf("candidates in the 409 body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeIDField(t *testing.T) {
	t.Parallel()
	fallback := func(_ *http.Request, req apihttp.Request) ([]string, error) {
		return []string{"fallback-" + string(req.Operation)}, nil
	}
	tests := []struct {
		name     string
		body     string
		fallback apihttp.CandidatesFunc
		want     []string
		wantErr  string // ErrInvalid with this text
	}{
		{"node_id", `{"node_id":"n1"}`, fallback, []string{"n1"}, ""},
		{"node_id without fallback", `{"node_id":"n1"}`, nil, []string{"n1"}, ""},
		{"absent asks the fallback", `{"name":"x"}`, fallback, []string{"fallback-site_create"}, ""},
		{"null asks the fallback", `{"node_id":null}`, fallback, []string{"fallback-site_create"}, ""},
		{"absent without fallback: no candidate", `{"name":"x"}`, nil, nil, ""},
		{"last one wins, as encoding/json reads it", `{"node_id":"a","NODE_ID":"b"}`, fallback, []string{"b"}, ""},
		{"nested node_id is not the body's", `{"x":{"node_id":"n1"}}`, nil, nil, ""},
		{"number", `{"node_id":7}`, fallback, nil, "node_id must be a string"},
		{"list", `{"node_id":["n1"]}`, fallback, nil, "node_id must be a string"},
		{"empty", `{"node_id":""}`, fallback, nil, "node_id must not be empty"},
		{"malformed", `{"node_id":"n1"`, fallback, nil, "malformed JSON body"},
		{"not an object", `["n1"]`, fallback, nil, "request body must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := apihttp.NodeIDField(tt.fallback)(nil, apihttp.Request{Operation: readiness.OperationSiteCreate, Body: []byte(tt.body)})
			if tt.wantErr != "" {
				require.ErrorIs(t, err, apihttp.ErrInvalid)
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("the fallback's error is passed on", func(t *testing.T) {
		t.Parallel()
		boom := fmt.Errorf("site: %w", apihttp.ErrNotFound)
		_, err := apihttp.NodeIDField(func(*http.Request, apihttp.Request) ([]string, error) { return nil, boom })(nil,
			apihttp.Request{Body: []byte(`{}`)})
		require.ErrorIs(t, err, boom)
	})
}

// TestGuardNodeIDFieldStatuses: through Guard, NodeIDField's errors are
// 400 bad_request with their text, and a missing node_id without a
// fallback is a no_candidate_node refusal.
func TestGuardNodeIDFieldStatuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body       string
		wantStatus int
		wantMsg    string
	}{
		{`{"name":"Blog","node_id":42}`, 400, "node_id must be a string"},
		{`{"name":"Blog","node_id":true}`, 400, "node_id must be a string"},
		{`{"name":"Blog","node_id":{"id":"x"}}`, 400, "node_id must be a string"},
		{`{"name":"Blog","node_id":""}`, 400, "node_id must not be empty"},
		{`{"name":"Blog"}`, 409, "no node is available for site_create"},
		{`{"name":"Blog","node_id":null}`, 409, "no node is available for site_create"},
		{`{"name":"Blog","node_id":"` + nodeReady + `"}`, 202, ""},
	} {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			s := newGuard(t, func(c *apihttp.GuardConfig) { c.Candidates = apihttp.NodeIDField(nil) })
			req := newRequest(http.MethodPost, "/api/sites", tt.body)
			rec := s.do(req)
			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			if tt.wantMsg != "" {
				require.Equal(t, tt.wantMsg, errorBody(t, rec.Body.Bytes()).Message)
			}
			if tt.wantStatus == 400 {
				require.Zero(t, s.gate.chooses.Load(), "a bad node_id reached the gate")
			}
		})
	}
}

// flatRefusal is a host's RefuseFunc: its own flat {"code","message"}
// error shape, the message from RefusalMessage, and Retry-After when the
// refusal may clear by itself.
func flatRefusal(w http.ResponseWriter, _ *http.Request, d preflight.Decision) {
	if apihttp.Retryable(d) {
		w.Header().Set("Retry-After", apihttp.RetryAfterSeconds)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusConflict)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": apihttp.CodeNodeNotReady, "message": apihttp.RefusalMessage(d)})
}

// TestGuardRefuseHook: a host whose tests decode every error body into
// map[string]string (pressluft's do) cannot take the default refusal,
// whose readiness member is an object; the Refuse hook lets it write its
// own flat shape.
func TestGuardRefuseHook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		candidates []string
		wantMsg    string
		wantRetry  string
	}{
		{"one node", []string{nodeSudo}, "node is not ready for site_create: not_ready: sudo_password_required (+1 more)", ""},
		{"one pending node", []string{nodeAcquiring}, "node is not ready for site_create: pending: node_acquiring", "10"},
		{"several", []string{nodeSudo, nodeAcquiring},
			"no node is ready for site_create: first candidate not_ready: sudo_password_required (+1 more) (2 candidates)", "10"},
		{"none", nil, "no node is available for site_create", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, custom := range []bool{true, false} {
				s := newGuard(t, func(c *apihttp.GuardConfig) {
					c.Candidates = candidatesOf(tt.candidates...)
					if custom {
						c.Refuse = flatRefusal
					}
				})
				rec := s.do(newRequest(http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog"}`))
				require.Equal(t, http.StatusConflict, rec.Code)
				require.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
				require.Zero(t, s.next.callCount())
				var flat map[string]string
				err := json.Unmarshal(rec.Body.Bytes(), &flat)
				if !custom {
					var typeErr *json.UnmarshalTypeError
					require.ErrorAs(t, err, &typeErr, "the default refusal decodes into map[string]string: %s", rec.Body)
					require.Contains(t, []string{"object", "array"}, typeErr.Value, "a nested member (readiness, candidates) is what breaks it")
					continue
				}
				require.NoError(t, err, "the host's refusal does not decode into map[string]string: %s", rec.Body)
				require.Equal(t, map[string]string{"code": "node_not_ready", "message": tt.wantMsg}, flat)
			}
		})
	}
}

// hostErrors is a host's ErrorFunc: its own shape, recording each call.
type hostErrors struct {
	mu    sync.Mutex
	calls []string // "status code"
}

func (h *hostErrors) write(w http.ResponseWriter, status int, code, message string) {
	h.mu.Lock()
	h.calls = append(h.calls, fmt.Sprint(status, " ", code))
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "detail": message})
}

func TestGuardErrorHook(t *testing.T) {
	t.Parallel()
	boom := func(*http.Request, apihttp.Request) ([]string, error) { return nil, errors.New("db: " + secret) }
	tests := []struct {
		name       string
		path       string
		body       string
		chunked    bool
		candidates apihttp.CandidatesFunc
		wantStatus int
		wantCode   string
	}{
		{"not an object", "/api/sites", `[]`, false, nil, 400, "bad_request"},
		{"malformed", "/api/sites", `{"name":`, false, nil, 400, "bad_request"},
		{"bad node_id", "/api/sites", `{"node_id":1}`, false, nil, 400, "bad_request"},
		{"unreadable body", "/api/sites", "", true, nil, 400, "bad_request"},
		{"unknown site", "/api/sites/" + siteMissing + "/environments", `{}`, false, nil, 404, "not_found"},
		{"too large", "/api/sites", `{"name":"` + strings.Repeat("x", 300) + `"}`, false, nil, 413, "payload_too_large"},
		{"too large, chunked", "/api/sites", `{"name":"` + strings.Repeat("x", 300) + `"}`, true, nil, 413, "payload_too_large"},
		{"Candidates fails", "/api/sites", `{}`, false, boom, 500, "internal_error"},
		{"gate fails", "/api/sites", `{"node_id":"` + nodeBoom + `"}`, false, nil, 500, "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := &hostErrors{}
			s := newGuard(t, func(c *apihttp.GuardConfig) {
				c.Error = errs.write
				c.MaxBodyBytes = 256
				if tt.candidates != nil {
					c.Candidates = tt.candidates
				}
			})
			req := newRequest(http.MethodPost, tt.path, tt.body)
			if tt.chunked {
				req.ContentLength = -1
				if tt.body == "" {
					req.Body = io.NopCloser(&errReader{})
				} else {
					req.Body = io.NopCloser(strings.NewReader(tt.body))
				}
			}
			rec := s.do(req)
			require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
			require.Equal(t, []string{fmt.Sprint(tt.wantStatus, " ", tt.wantCode)}, errs.calls)
			var got map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, tt.wantCode, got["error"], "not the host's shape: %s", rec.Body)
			require.NotContains(t, rec.Body.String(), `"code"`, "the default shape was written")
			requireNoLeak(t, rec.Body.Bytes())
			require.Zero(t, s.next.callCount())
		})
	}
	t.Run("a refusal is Refuse's, not Error's", func(t *testing.T) {
		t.Parallel()
		errs := &hostErrors{}
		s := newGuard(t, func(c *apihttp.GuardConfig) { c.Error = errs.write })
		rec := s.do(newRequest(http.MethodPost, "/api/sites", `{"node_id":"`+nodeSudo+`"}`))
		require.Equal(t, http.StatusConflict, rec.Code)
		require.Empty(t, errs.calls)
	})
}
