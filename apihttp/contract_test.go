package apihttp_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// TestContractValidatorRejectsDrift shows the response validation the
// other tests rely on is not vacuous: bodies that break the contract in
// the ways a handler could drift are rejected.
func TestContractValidatorRejectsDrift(t *testing.T) {
	t.Parallel()
	rep := report(nodeSudo, readiness.OperationSiteCreate)
	full, err := json.Marshal(map[string]any{"code": "node_not_ready", "message": "m", "node_id": nodeSudo, "readiness": rep})
	require.NoError(t, err)
	mutate := func(fn func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal(full, &m))
		fn(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
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
		{"plain conflict", "POST", "/api/sites", 409, `{"code":"conflict","message":"slug taken"}`, true},
		{"unknown error code", "POST", "/api/sites", 400, `{"code":"oops","message":"m"}`, false},
		{"error without message", "POST", "/api/sites", 400, `{"code":"bad_request"}`, false},
		{"undeclared status", "POST", "/api/sites", 418, `{"code":"bad_request","message":"m"}`, false},
		{"report without checks", "GET", "/api/nodes/" + nodeSudo + "/readiness", 200, withoutKey(t, rep, "checks"), false},
		{"report with an unknown field type", "GET", "/api/nodes/" + nodeSudo + "/readiness", 200,
			strings.Replace(withoutKey(t, rep, "x"), `"duration_ms":320`, `"duration_ms":"320"`, 1), false},
		{"unknown reason code", "POST", "/api/sites", 409, strings.Replace(string(full), `"sudo_password_required"`, `"sudo_broken"`, 1), false},
		{"unknown state", "POST", "/api/sites", 409, mutate(func(m map[string]any) {
			m["readiness"].(map[string]any)["state"] = "maybe"
		}), false},
		{"null reasons", "POST", "/api/sites", 409, mutate(func(m map[string]any) {
			m["readiness"].(map[string]any)["reasons"] = nil
		}), false},
		{"accepted without job_id", "POST", "/api/sites", 202, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest(tt.method, tt.path, "")
			err := responseError(t, req, tt.status, jsonHeader, []byte(tt.body))
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
