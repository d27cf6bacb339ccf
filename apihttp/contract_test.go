package apihttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/internal/contracttest"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Every response apihttp writes is validated against contracts/openapi.yaml
// with kin-openapi: the guarded creates (POST /api/sites and POST
// /api/sites/{id}/environments: 400, 404, 409 with and without
// candidates, 413, 500; 202 is the host's) and the readiness handlers
// (GET /api/nodes/{id}/readiness, POST /api/nodes/{id}/readiness/refresh:
// 200, 403, 404, 500). The other tests call validateResponse on what they
// get; the tests below pin the refusal bodies and show the validator is
// not vacuous.

// validateResponse checks one response, status, headers and body, against
// the operation in contracts/openapi.yaml that req (as the client sent
// it, with its /api path) matches. A status the operation does not
// declare fails; internal/contracttest says how HEAD and requests no
// operation matches are checked.
func validateResponse(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	require.NoError(t, contracttest.ValidateResponse(req, status, header, body),
		"%s %s: %d %s does not match the contract", req.Method, req.URL.Path, status, body)
}

// validateSchema checks a body against a named schema, for responses to
// requests no operation matches (405 of a method the contract does not
// declare).
func validateSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	require.NoError(t, contracttest.ValidateBody(name, body), "%s: %s", name, body)
}

// TestRefusalBodiesMatchTheContract: WriteRefusal's 409 for one node, for
// several candidates (with candidates) and for none (no_candidate_node,
// node_id ""), on both guarded operations.
func TestRefusalBodiesMatchTheContract(t *testing.T) {
	t.Parallel()
	gate := &fakeGate{}
	choose := func(op readiness.Operation, candidates ...string) preflight.Decision {
		d, err := gate.Choose(context.Background(), op, candidates)
		require.NoError(t, err)
		require.False(t, d.Admit)
		return d
	}
	tests := []struct {
		name           string
		candidates     []string
		wantCandidates int
	}{
		{"one node", []string{nodeSudo}, 0},
		{"one node, pending", []string{nodeAcquiring}, 0},
		{"several candidates", []string{nodeSudo, nodeAcquiring, nodeUnreachable, nodeStale}, 4},
		{"several, one unknown", []string{nodeMissing, nodeDecommissioned, nodeNeverProbed}, 2},
		{"no candidate", nil, 0},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/sites", "/api/sites/" + siteOnSudo + "/environments"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				t.Parallel()
				op := readiness.OperationSiteCreate
				if strings.HasSuffix(path, "/environments") {
					op = readiness.OperationEnvCreate
				}
				rec := httptest.NewRecorder()
				apihttp.WriteRefusal(rec, choose(op, tt.candidates...))
				validateResponse(t, newRequest(http.MethodPost, path, ""), rec.Code, rec.Header(), rec.Body.Bytes())
				var raw map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
				_, has := raw["candidates"]
				require.Equal(t, tt.wantCandidates > 0, has, "candidates member in %s", rec.Body)
				var got contracts.NodeNotReady
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				if tt.wantCandidates > 0 {
					require.Len(t, *got.Candidates, tt.wantCandidates)
				}
			})
		}
	}
}

// TestContractValidatorRejectsDrift shows the response validation the
// other tests rely on is not vacuous: bodies that break the contract in
// the ways a handler could drift are rejected.
func TestContractValidatorRejectsDrift(t *testing.T) {
	t.Parallel()
	rep := report(nodeSudo, readiness.OperationSiteCreate)
	acq := report(nodeAcquiring, readiness.OperationSiteCreate)
	full, err := json.Marshal(map[string]any{"code": "node_not_ready", "message": "m", "node_id": nodeSudo, "readiness": rep})
	require.NoError(t, err)
	withCandidates, err := json.Marshal(map[string]any{"code": "node_not_ready", "message": "m", "node_id": nodeSudo, "readiness": rep,
		"candidates": []any{map[string]any{"node_id": nodeSudo, "readiness": rep}, map[string]any{"node_id": nodeAcquiring, "readiness": acq}}})
	require.NoError(t, err)
	mutate := func(src []byte, fn func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal(src, &m))
		fn(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	candidate := func(m map[string]any, i int) map[string]any {
		return m["candidates"].([]any)[i].(map[string]any)
	}
	readinessPath := "/api/nodes/" + nodeSudo + "/readiness"
	refreshPath := readinessPath + "/refresh"
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string
		ok     bool
	}{
		{"valid refusal", "POST", "/api/sites", 409, string(full), true},
		{"valid refusal with candidates", "POST", "/api/sites", 409, string(withCandidates), true},
		{"valid refusal on an environment", "POST", "/api/sites/" + siteOnSudo + "/environments", 409, string(withCandidates), true},
		{"plain conflict", "POST", "/api/sites", 409, `{"code":"conflict","message":"slug taken"}`, true},
		{"flat node_not_ready", "POST", "/api/sites", 409, `{"code":"node_not_ready","message":"m"}`, false},
		{"unknown error code", "POST", "/api/sites", 400, `{"code":"oops","message":"m"}`, false},
		{"error without message", "POST", "/api/sites", 400, `{"code":"bad_request"}`, false},
		{"undeclared status", "POST", "/api/sites", 418, `{"code":"bad_request","message":"m"}`, false},
		{"report", "GET", readinessPath, 200, withoutKey(t, rep, "x"), true},
		{"report without checks", "GET", readinessPath, 200, withoutKey(t, rep, "checks"), false},
		{"report with an unknown field type", "GET", readinessPath, 200,
			strings.Replace(withoutKey(t, rep, "x"), `"duration_ms":320`, `"duration_ms":"320"`, 1), false},
		{"refresh forbidden", "POST", refreshPath, 403, `{"code":"forbidden","message":"cross-origin request refused"}`, true},
		{"report forbidden is undeclared", "GET", readinessPath, 403, `{"code":"forbidden","message":"m"}`, false},
		{"unknown reason code", "POST", "/api/sites", 409, strings.Replace(string(full), `"sudo_password_required"`, `"sudo_broken"`, 1), false},
		{"unknown state", "POST", "/api/sites", 409, mutate(full, func(m map[string]any) {
			m["readiness"].(map[string]any)["state"] = "maybe"
		}), false},
		{"null reasons", "POST", "/api/sites", 409, mutate(full, func(m map[string]any) {
			m["readiness"].(map[string]any)["reasons"] = nil
		}), false},
		{"candidate without readiness", "POST", "/api/sites", 409, mutate(withCandidates, func(m map[string]any) {
			delete(candidate(m, 1), "readiness")
		}), false},
		{"candidate without node_id", "POST", "/api/sites", 409, mutate(withCandidates, func(m map[string]any) {
			delete(candidate(m, 0), "node_id")
		}), false},
		{"candidate with an unknown state", "POST", "/api/sites", 409, mutate(withCandidates, func(m map[string]any) {
			candidate(m, 1)["readiness"].(map[string]any)["state"] = "maybe"
		}), false},
		{"candidates not a list", "POST", "/api/sites", 409, mutate(withCandidates, func(m map[string]any) {
			m["candidates"] = map[string]any{"node_id": nodeSudo}
		}), false},
		{"accepted without job_id", "POST", "/api/sites", 202, `{}`, false},
		{"no operation, yet 200", "GET", "/api/readiness", 200, withoutKey(t, rep, "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest(tt.method, tt.path, "")
			err := contracttest.ValidateResponse(req, tt.status, jsonHeader, []byte(tt.body))
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err, "the validator accepted %s", tt.body)
			}
		})
	}
}

// withoutKey marshals v without one top-level key.
func withoutKey(t *testing.T, v any, key string) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	delete(m, key)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}
