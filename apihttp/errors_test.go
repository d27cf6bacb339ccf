package apihttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// TestWriteError pins the error shape host handlers share.
func TestWriteError(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	apihttp.WriteError(rec, http.StatusConflict, apihttp.CodeConflict, "slug already taken")
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	require.JSONEq(t, `{"code":"conflict","message":"slug already taken"}`, rec.Body.String())
	validateResponse(t, newRequest("POST", "/api/sites", ""), rec.Code, rec.Header(), rec.Body.Bytes())
}

// refusal is the fake gate's decision for candidates, which must refuse.
func refusal(t *testing.T, candidates ...string) preflight.Decision {
	t.Helper()
	d, err := (&fakeGate{}).Choose(context.Background(), readiness.OperationSiteCreate, candidates)
	require.NoError(t, err)
	require.False(t, d.Admit)
	return d
}

func TestWriteRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		candidates []string
		wantNode   string
		wantListed []string
		wantRetry  string
	}{
		{"one node", []string{nodeSudo}, nodeSudo, nil, ""},
		{"one node that may clear", []string{nodeUnreachable}, nodeUnreachable, nil, "10"},
		// Retry-After does not depend on the candidates' order: a retry
		// may succeed once any candidate clears.
		{"several, the first may clear", []string{nodeAcquiring, nodeSudo}, nodeAcquiring, []string{nodeAcquiring, nodeSudo}, "10"},
		{"several, a later one may clear", []string{nodeSudo, nodeAcquiring}, nodeSudo, []string{nodeSudo, nodeAcquiring}, "10"},
		{"several, none may clear", []string{nodeSudo, nodeDecommissioned}, nodeSudo, []string{nodeSudo, nodeDecommissioned}, ""},
		{"none", nil, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := refusal(t, tt.candidates...)
			rec := httptest.NewRecorder()
			apihttp.WriteRefusal(rec, d)
			require.Equal(t, http.StatusConflict, rec.Code)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
			require.Equal(t, tt.wantRetry != "", apihttp.Retryable(d))
			var got contracts.NodeNotReady
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, tt.wantNode, got.NodeId)
			require.Equal(t, apihttp.RefusalMessage(d), got.Message)
			require.Equal(t, d.Report, got.Readiness)
			var listed []string
			if got.Candidates != nil {
				for i, c := range *got.Candidates {
					listed = append(listed, c.NodeId)
					require.Equal(t, d.Candidates[i].Report, c.Readiness)
				}
			}
			require.Equal(t, tt.wantListed, listed)
		})
	}
}

func TestRefusalMessage(t *testing.T) {
	t.Parallel()
	env := refusal(t, nodeStale)
	env.Operation = readiness.OperationEnvCreate
	for _, tt := range []struct {
		d    preflight.Decision
		want string
	}{
		{refusal(t, nodeSudo), "node is not ready for site_create: not_ready: sudo_password_required (+1 more)"},
		{refusal(t, nodeAcquiring), "node is not ready for site_create: pending: node_acquiring"},
		{env, "node is not ready for env_create: unknown: readiness_stale"},
		{refusal(t, nodeDecommissioned, nodeAcquiring, nodeSudo),
			"no node is ready for site_create: first candidate not_ready: node_decommissioned (3 candidates)"},
		{refusal(t), "no node is available for site_create"},
	} {
		require.Equal(t, tt.want, apihttp.RefusalMessage(tt.d))
		requireNoLeak(t, []byte(apihttp.RefusalMessage(tt.d)))
	}
}

// TestRefusedErrorSeam is the seam of a host with its own service: the
// service returns Decision.Err, the handler finds the *RefusedError and
// answers with WriteRefusal.
func TestRefusedErrorSeam(t *testing.T) {
	t.Parallel()
	err := refusal(t, nodeSudo, nodeAcquiring).Err()
	var refused *preflight.RefusedError
	require.True(t, errors.As(err, &refused))
	rec := httptest.NewRecorder()
	apihttp.WriteRefusal(rec, refused.Decision)
	require.Equal(t, http.StatusConflict, rec.Code)
	validateResponse(t, newRequest(http.MethodPost, "/api/sites", ""), rec.Code, rec.Header(), rec.Body.Bytes())
	require.Equal(t, "10", rec.Header().Get("Retry-After"))
}
