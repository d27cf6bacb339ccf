package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// After a create refused for sudo, /metrics (outside /api) serves a
// lint-clean exposition that counts the refusal by its primary reason.
func TestMetricsAfterRefusedCreate(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	sudo := nodeNamed(t, s, "sudo-password")
	res := do(t, s, http.MethodPost, "/api/sites", mustJSON(t, map[string]string{"name": "Shop", "slug": "shop", "node_id": sudo}))
	require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)

	problems, err := testutil.GatherAndLint(s.metrics)
	require.NoError(t, err)
	require.Empty(t, problems)
	const want = `
# HELP pressluft_readiness_checks_total Readiness gate decisions, by operation and decision (admitted, refused, warned).
# TYPE pressluft_readiness_checks_total counter
pressluft_readiness_checks_total{decision="refused",operation="site_create"} 1
# HELP pressluft_readiness_refusals_total Operations the readiness gate refused, by the refusal's primary reason code.
# TYPE pressluft_readiness_refusals_total counter
pressluft_readiness_refusals_total{code="sudo_password_required"} 1
`
	require.NoError(t, testutil.GatherAndCompare(s.metrics, strings.NewReader(want),
		"pressluft_readiness_checks_total", "pressluft_readiness_refusals_total"))

	m := do(t, s, http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, m.Status)
	require.Contains(t, m.Header.Get("Content-Type"), "text/plain")
	body := string(m.Body)
	for _, line := range []string{
		`pressluft_readiness_refusals_total{code="sudo_password_required"} 1`,
		`pressluft_readiness_nodes{state="ready"}`,
		`pressluft_readiness_nodes{state="not_ready"}`,
		`pressluft_readiness_probe_duration_seconds_count`,
	} {
		require.Contains(t, body, line)
	}
}
