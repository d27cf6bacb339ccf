package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// An invalid create is the handler's 400 (or the store's 404 or 409),
// decided before any readiness check: no node is dialed, no job row and
// no audit row is written, even when the body names a node that is not
// ready.
func TestInvalidCreateCausesNoProbe(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	// A site to add environments to, on the sudo-password node: created
	// in the store directly, so that nothing has probed any node yet.
	sudo := nodeNamed(t, s, "sudo-password")
	siteID, _, err := s.store.createSite(context.Background(), siteCreate{Name: "Blog", Slug: "blog", NodeID: sudo})
	require.NoError(t, err)
	env := "/api/sites/" + siteID + "/environments"
	unknown := newID()
	node := `,"node_id":"` + sudo + `"`
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"empty name", "/api/sites", `{"name":"","slug":"x"` + node + `}`, 400, "bad_request"},
		{"empty name, no node_id", "/api/sites", `{"name":"","slug":"x"}`, 400, "bad_request"},
		{"blank name", "/api/sites", `{"name":"   ","slug":"x"` + node + `}`, 400, "bad_request"},
		{"bad slug", "/api/sites", `{"name":"Shop","slug":"Not A Slug"` + node + `}`, 400, "bad_request"},
		{"no slug", "/api/sites", `{"name":"Shop"` + node + `}`, 400, "bad_request"},
		{"unknown field", "/api/sites", `{"name":"Shop","slug":"shop","plan":"pro"` + node + `}`, 400, "bad_request"},
		{"empty node_id", "/api/sites", `{"name":"Shop","slug":"shop","node_id":""}`, 400, "bad_request"},
		{"node_id not a string", "/api/sites", `{"name":"Shop","slug":"shop","node_id":7}`, 400, "bad_request"},
		{"not an object", "/api/sites", `["Shop"]`, 400, "bad_request"},
		{"trailing data", "/api/sites", `{"name":"Shop","slug":"shop"` + node + `} {}`, 400, "bad_request"},
		{"malformed", "/api/sites", `{"name":"Shop",`, 400, "bad_request"},
		{"unknown node", "/api/sites", `{"name":"Shop","slug":"shop","node_id":"` + unknown + `"}`, 404, "not_found"},
		{"slug taken", "/api/sites", `{"name":"Blog 2","slug":"blog"` + node + `}`, 409, "conflict"},
		{"slug taken, no node_id", "/api/sites", `{"name":"Blog 2","slug":"blog"}`, 409, "conflict"},
		{"env empty name", env, `{"name":"","slug":"s","type":"staging","promotion_preset":"content-protect"}`, 400, "bad_request"},
		{"env bad type", env, `{"name":"S","slug":"s","type":"dev","promotion_preset":"content-protect"}`, 400, "bad_request"},
		{"env unknown field", env, `{"name":"S","slug":"s","type":"staging","promotion_preset":"content-protect","size":1}`, 400, "bad_request"},
		{"env clone without source", env, `{"name":"C","slug":"c","type":"clone","promotion_preset":"content-protect"}`, 400, "bad_request"},
		{"env unknown site", "/api/sites/" + unknown + "/environments", `{"name":"S","slug":"s","type":"staging","promotion_preset":"content-protect"` + node + `}`, 404, "not_found"},
		{"env unknown source", env, `{"name":"C","slug":"c","type":"clone","source_environment_id":"` + unknown + `","promotion_preset":"content-protect"}`, 404, "not_found"},
		{"env slug taken", env, `{"name":"P","slug":"production","type":"staging","promotion_preset":"content-protect"}`, 409, "conflict"},
		{"env second production", env, `{"name":"P","slug":"prod-2","type":"production","promotion_preset":"content-protect"}`, 409, "conflict"},
		{"env unknown node", env, `{"name":"S","slug":"s","type":"staging","promotion_preset":"content-protect","node_id":"` + unknown + `"}`, 404, "not_found"},
	}
	jobs := count(t, s, "jobs", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := do(t, s, "POST", c.path, c.body)
			require.Equal(t, c.status, res.Status, "body: %s", res.Body)
			var e errBody
			res.json(t, &e)
			require.Equal(t, c.code, e.Code)
			require.NotEmpty(t, e.Message)
		})
	}
	for name, n := range connections(s) {
		if n != 0 {
			t.Errorf("node %s was dialed %d times, want 0: invalid creates are not checked", name, n)
		}
	}
	require.Equal(t, jobs, count(t, s, "jobs", ""), "job rows")
	require.Zero(t, count(t, s, "audit_logs", ""), "audit rows")

	// The same body, valid, is checked and refused.
	res := do(t, s, "POST", "/api/sites", `{"name":"Shop","slug":"shop"`+node+`}`)
	require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
	require.Equal(t, 1, fakeNamed(t, s, "sudo-password").Connections())
}

// A ready node admits a create: 202 and exactly one job row for it.
func TestCreateOnReadyNodeEnqueuesOneJob(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	ready := nodeNamed(t, s, "ready-1")
	jobID := createSite(t, s, map[string]string{"name": "Blog", "slug": "blog", "node_id": ready})
	require.Equal(t, 1, count(t, s, "jobs", "job_type = 'site_create'"))
	require.Equal(t, 1, count(t, s, "jobs", "id = ? AND node_id = ? AND status = 'queued'", jobID, ready))
	require.Zero(t, count(t, s, "audit_logs", ""), "an admission on a ready node is not audited")
}

// Without node_id, the site goes to the first candidate the gate admits,
// in store order (the local node first); when none is ready the refusal
// carries every candidate's reasons, and with no candidate at all it is
// no_candidate_node.
func TestCreateSiteChoosesAmongCandidates(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	// The local node stops being ready: now no node of the fleet is.
	fakeNamed(t, s, "ready-1").SetProfile(sshtest.SudoPasswordProfile())
	res := do(t, s, "POST", "/api/sites", `{"name":"Blog","slug":"blog"}`)
	require.Equal(t, http.StatusConflict, res.Status, "body: %.500s", res.Body)
	var e errBody
	res.json(t, &e)
	require.Equal(t, "node_not_ready", e.Code)
	local := nodeNamed(t, s, "ready-1")
	require.Equal(t, local, e.NodeID, "the top-level refusal is the first candidate's")
	require.Equal(t, readiness.CodeSudoPasswordRequired, e.Readiness.PrimaryReason)
	require.Equal(t, "no node is ready for site_create: first candidate not_ready: sudo_password_required (8 candidates)", e.Message)
	want := map[string]readiness.Code{
		"ready-1":          readiness.CodeSudoPasswordRequired,
		"sudo-password":    readiness.CodeSudoPasswordRequired,
		"php-fpm-missing":  readiness.CodeRuntimeComponentMissing,
		"mariadb-old":      readiness.CodeRuntimeVersionUnsupported,
		"nginx-inactive":   readiness.CodeRuntimeServiceInactive,
		"unreachable":      readiness.CodeSSHUnreachable,
		"host-key-changed": readiness.CodeSSHHostKeyMismatch,
		"acquiring":        readiness.CodeNodeAcquiring,
	}
	require.Len(t, e.Candidates, len(defaultFleet))
	for i, c := range e.Candidates {
		name := defaultFleet[i].name
		require.Equal(t, nodeNamed(t, s, name), c.NodeID, "candidate %d: store order, local first", i)
		if c.Readiness.PrimaryReason != want[name] {
			t.Errorf("candidate %s: got %s, want %s", name, c.Readiness.PrimaryReason, want[name])
		}
	}
	require.Zero(t, count(t, s, "jobs", "job_type = 'site_create'"), "a refused create made a job")
	require.Zero(t, count(t, s, "sites", ""), "a refused create made a site")
	logs, err := s.store.auditLogs(context.Background())
	require.NoError(t, err)
	require.Len(t, logs, 1, "one audit row for the refusal")
	require.Equal(t, local, logs[0].ResourceID)
	require.Equal(t, "refused", logs[0].Result)
	var details struct {
		Candidates []struct {
			NodeID        string         `json:"node_id"`
			PrimaryReason readiness.Code `json:"primary_reason"`
		} `json:"candidates"`
	}
	require.NoError(t, json.Unmarshal([]byte(logs[0].DetailsJSON), &details))
	require.Len(t, details.Candidates, len(defaultFleet), "the audit row names every candidate: %s", logs[0].DetailsJSON)

	// The operator fixes sudo on the sudo-password node: it is the first
	// ready candidate now (the local node is still refused).
	sudo := fakeNamed(t, s, "sudo-password")
	sudo.SetProfile(sshtest.ReadyProfile())
	_, err = s.gate.Refresh(context.Background(), nodeNamed(t, s, "sudo-password"))
	require.NoError(t, err)
	j := waitJob(t, s, createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"}))
	require.Equal(t, nodeNamed(t, s, "sudo-password"), j.NodeID)
	require.Equal(t, jobSucceeded, j.Status, "job: %+v", j)

	// No candidate at all.
	_, err = s.store.w.Exec(`UPDATE nodes SET status = 'decommissioned'`)
	require.NoError(t, err)
	res = do(t, s, "POST", "/api/sites", `{"name":"Shop","slug":"shop"}`)
	require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
	e = errBody{}
	res.json(t, &e)
	require.Equal(t, "node_not_ready", e.Code)
	require.Empty(t, e.NodeID)
	require.Equal(t, readiness.CodeNoCandidateNode, e.Readiness.PrimaryReason)
	require.Equal(t, "no node is available for site_create", e.Message)
	require.Empty(t, res.Header.Get("Retry-After"))
	require.Equal(t, 1, count(t, s, "jobs", "job_type = 'site_create'"))
	require.Equal(t, 1, count(t, s, "audit_logs", "resource_id = '' AND result = 'refused'"))
}

// The refusal of a create names a node that is not ready with the
// gate's report, in the contract's shape, with Retry-After only when it
// may clear by itself.
func TestRefusalShape(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	for _, c := range []struct {
		node  string
		retry bool
	}{{"sudo-password", false}, {"acquiring", true}, {"unreachable", true}} {
		id := nodeNamed(t, s, c.node)
		res := do(t, s, "POST", "/api/sites", `{"name":"Shop","slug":"shop","node_id":"`+id+`"}`)
		require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
		require.Equal(t, c.retry, res.Header.Get("Retry-After") != "", "%s: Retry-After %q", c.node, res.Header.Get("Retry-After"))
		var e errBody
		res.json(t, &e)
		require.Equal(t, id, e.NodeID)
		require.Empty(t, e.Candidates, "a node the body names is the only candidate")
		require.True(t, strings.HasPrefix(e.Message, "node is not ready for site_create: "), e.Message)
	}
}
