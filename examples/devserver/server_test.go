package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// Every not-ready node of the fleet refuses both create flows with a
// stable primary reason, before any job row, and leaves an audit row.
func TestCreateRefusedOnNotReadyNodes(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	siteJob := createSite(t, s, map[string]string{"name": "Base", "slug": "base"})
	base := waitJob(t, s, siteJob)
	require.Equal(t, jobSucceeded, base.Status, "job: %+v", base)

	cases := []struct {
		node string
		want readiness.Code
	}{
		{"sudo-password", readiness.CodeSudoPasswordRequired},
		{"php-fpm-missing", readiness.CodeRuntimeComponentMissing},
		{"mariadb-old", readiness.CodeRuntimeVersionUnsupported},
		{"nginx-inactive", readiness.CodeRuntimeServiceInactive},
		{"unreachable", readiness.CodeSSHUnreachable},
		{"host-key-changed", readiness.CodeSSHHostKeyMismatch},
		{"acquiring", readiness.CodeNodeAcquiring},
	}
	flows := []struct {
		op   readiness.Operation
		path string
		body func(nodeID, slug string) map[string]string
	}{
		{readiness.OperationSiteCreate, "/api/sites", func(id, slug string) map[string]string {
			return map[string]string{"name": "Shop", "slug": slug, "node_id": id}
		}},
		{readiness.OperationEnvCreate, "/api/sites/" + base.SiteID + "/environments", func(id, slug string) map[string]string {
			return map[string]string{"name": "Staging", "slug": slug, "type": "staging",
				"promotion_preset": "content-protect", "node_id": id}
		}},
	}
	jobsBefore := count(t, s, "jobs", "")
	for _, c := range cases {
		for _, f := range flows {
			t.Run(string(f.op)+"/"+c.node, func(t *testing.T) {
				id := nodeNamed(t, s, c.node)
				res := do(t, s, "POST", f.path, mustJSON(t, f.body(id, "s-"+c.node)))
				require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
				var e errBody
				res.json(t, &e)
				if e.Code != "node_not_ready" || e.NodeID != id || e.Readiness == nil {
					t.Fatalf("got %s, want node_not_ready for %s with a report", res.Body, id)
				}
				if e.Readiness.PrimaryReason != c.want {
					t.Errorf("got primary_reason %q, want %q", e.Readiness.PrimaryReason, c.want)
				}
				if c.want == readiness.CodeNodeAcquiring && res.Header.Get("Retry-After") == "" {
					t.Errorf("got no Retry-After for a pending node")
				}
				if n := count(t, s, "jobs", "node_id = ? AND job_type != 'node_acquire'", id); n != 0 {
					t.Errorf("got %d job rows for %s, want 0", n, c.node)
				}
				if n := count(t, s, "audit_logs", "resource_id = ? AND action = ? AND result = 'refused'", id, string(f.op)); n != 1 {
					t.Errorf("got %d refused audit rows, want 1", n)
				}
			})
		}
	}
	if n := count(t, s, "jobs", ""); n != jobsBefore {
		t.Errorf("got %d job rows after the refusals, want %d", n, jobsBefore)
	}
	if n := count(t, s, "environments", "slug LIKE 's-%'"); n != 0 {
		t.Errorf("got %d environments from refused creates, want 0", n)
	}

	var details struct {
		Reasons []readiness.Code `json:"reasons"`
	}
	logs, err := s.store.auditLogs(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, logs)
	require.NoError(t, json.Unmarshal([]byte(logs[0].DetailsJSON), &details))
	require.NotEmpty(t, details.Reasons, "audit details carry the reason codes: %s", logs[0].DetailsJSON)
}

// A ready node admits both flows; the worker runs each job over SSH to
// succeeded, and the read routes show the result.
func TestCreateAdmittedRunsToSuccess(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	ready := fakeNamed(t, s, "ready-1")

	site := waitJob(t, s, createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"}))
	require.Equal(t, jobSucceeded, site.Status, "job: %+v", site)
	require.Equal(t, nodeNamed(t, s, "ready-1"), site.NodeID, "no node_id: the default (local) node")
	require.Equal(t, 1, site.AttemptCount)

	res := do(t, s, "POST", "/api/sites/"+site.SiteID+"/environments", mustJSON(t, map[string]string{
		"name": "Staging", "slug": "staging", "type": "staging", "promotion_preset": "commerce-protect",
	}))
	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	var acc struct {
		JobID string `json:"job_id"`
	}
	res.json(t, &acc)
	env := waitJob(t, s, acc.JobID)
	require.Equal(t, jobSucceeded, env.Status, "job: %+v", env)
	require.Equal(t, jobEnvCreate, env.JobType)
	require.True(t, ranJobCommand(ready), "the job's command ran on the node")

	var got Site
	do(t, s, "GET", "/api/sites/"+site.SiteID, "").json(t, &got)
	require.Equal(t, "active", got.Status)
	var envs []Environment
	do(t, s, "GET", "/api/sites/"+site.SiteID+"/environments", "").json(t, &envs)
	require.Len(t, envs, 2)
	require.Equal(t, "production", envs[0].EnvironmentType)
	require.Equal(t, "staging", envs[1].EnvironmentType)
	require.Equal(t, "active", envs[1].Status)
	var jobs []Job
	do(t, s, "GET", "/api/jobs", "").json(t, &jobs)
	require.GreaterOrEqual(t, len(jobs), 3) // the fleet's node_acquire, site_create, env_create
	if n := count(t, s, "audit_logs", ""); n != 0 {
		t.Errorf("got %d audit rows for admitted ready creates, want 0", n)
	}
}

// A node that stops being ready between enqueue and run fails the job
// with NODE_NOT_READY; nothing runs on it.
func TestNodeStopsBeingReadyAfterEnqueue(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	ready := fakeNamed(t, s, "ready-1")
	jobID := createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"})
	ready.SetProfile(sshtest.SudoPasswordProfile())
	s.worker.resume()

	j := waitJob(t, s, jobID)
	if j.Status != jobFailed || j.ErrorCode != preflight.JobErrorNodeNotReady {
		t.Fatalf("got status %s code %q, want failed NODE_NOT_READY", j.Status, j.ErrorCode)
	}
	require.Equal(t, "node is not ready for site_create: not_ready: sudo_password_required", j.ErrorMessage, "the refusal's summary")
	require.False(t, ranJobCommand(ready), "the job's command must not run on a node that is not ready")
	var site Site
	do(t, s, "GET", "/api/sites/"+j.SiteID, "").json(t, &site)
	require.Equal(t, "failed", site.Status)
}

// 1,000 parallel creates against a cold ready node: one probe, every one
// admitted, 1,000 job rows.
func TestBurstOneProbe(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	ready := fakeNamed(t, s, "ready-1")
	require.Equal(t, 0, ready.Connections(), "the node starts cold")

	const n = 1000
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res := do(t, s, "POST", "/api/sites", fmt.Sprintf(`{"name":"Site %d","slug":"site-%d"}`, i, i))
			statuses[i] = res.Status
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusAccepted {
			t.Fatalf("request %d: got status %d, want 202", i, st)
		}
	}
	if got := ready.Connections(); got != 1 {
		t.Errorf("got %d SSH connections, want exactly 1 probe", got)
	}
	if got := count(t, s, "jobs", "job_type = 'site_create' AND status = 'queued'"); got != n {
		t.Errorf("got %d queued site_create jobs, want %d", got, n)
	}
	if got := count(t, s, "sites", ""); got != n {
		t.Errorf("got %d sites, want %d", got, n)
	}
}

// Warn mode admits a create on a node that is not ready and audits it as
// warned; the worker still refuses to run it.
func TestWarnModeAdmitsAndWorkerRefuses(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.Mode = preflight.ModeWarn })
	id := nodeNamed(t, s, "sudo-password")
	jobID := createSite(t, s, map[string]string{"name": "Shop", "slug": "shop", "node_id": id})
	if n := count(t, s, "audit_logs", "resource_id = ? AND action = 'site_create' AND result = 'warned'", id); n != 1 {
		t.Errorf("got %d warned audit rows, want 1", n)
	}
	j := waitJob(t, s, jobID)
	if j.Status != jobFailed || j.ErrorCode != preflight.JobErrorNodeNotReady {
		t.Fatalf("got status %s code %q, want failed NODE_NOT_READY", j.Status, j.ErrorCode)
	}
	require.False(t, ranJobCommand(fakeNamed(t, s, "sudo-password")), "nothing runs on a node that is not ready")

	// Lifecycle codes are never waived: an acquiring node is still refused.
	res := do(t, s, "POST", "/api/sites", mustJSON(t, map[string]string{
		"name": "X", "slug": "x", "node_id": nodeNamed(t, s, "acquiring")}))
	require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)

	// Without node_id, warn mode admits the first candidate although it
	// is not ready, and audits it as warned.
	local := nodeNamed(t, s, "ready-1")
	fakeNamed(t, s, "ready-1").SetProfile(sshtest.SudoPasswordProfile())
	j = waitJob(t, s, createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"}))
	require.Equal(t, local, j.NodeID)
	if n := count(t, s, "audit_logs", "resource_id = ? AND action = 'site_create' AND result = 'warned'", local); n != 1 {
		t.Errorf("got %d warned audit rows for the chosen node, want 1", n)
	}
	require.Equal(t, jobFailed, j.Status, "the worker still refuses: %+v", j)
}

// POST /api/nodes answers 202 at once; readiness is pending (acquiring,
// then provisioning) until the provider finishes and a probe passes.
func TestCreateNodeAcquisition(t *testing.T) {
	t.Parallel()
	s, steps := testServer(t, nil)
	res := do(t, s, "POST", "/api/nodes", `{"name":"web-2","provider":"simulated"}`)
	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	var acc struct {
		NodeID string `json:"node_id"`
		JobID  string `json:"job_id"`
	}
	res.json(t, &acc)
	require.NotEmpty(t, acc.NodeID)

	report := func() readiness.Report {
		t.Helper()
		res := do(t, s, "POST", "/api/nodes/"+acc.NodeID+"/readiness/refresh", "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var r readiness.Report
		res.json(t, &r)
		return r
	}
	r := report()
	if r.State != readiness.StatePending || r.PrimaryReason != readiness.CodeNodeAcquiring {
		t.Fatalf("got %s/%s, want pending/node_acquiring", r.State, r.PrimaryReason)
	}
	var j Job
	do(t, s, "GET", "/api/jobs/"+acc.JobID, "").json(t, &j)
	require.Equal(t, jobNodeAcquire, j.JobType)
	require.Equal(t, jobRunning, j.Status)

	steps.release(t, acc.NodeID) // -> provisioning
	r = pollReport(t, report, func(r readiness.Report) bool { return r.PrimaryReason != readiness.CodeNodeAcquiring })
	if r.State != readiness.StatePending || r.PrimaryReason != readiness.CodeNodeProvisioning {
		t.Fatalf("got %s/%s, want pending/node_provisioning", r.State, r.PrimaryReason)
	}
	steps.release(t, acc.NodeID) // -> active
	r = pollReport(t, report, func(r readiness.Report) bool { return r.State != readiness.StatePending })
	require.Equal(t, readiness.StateReady, r.State, "reasons: %+v", r.Reasons)
	j = waitJob(t, s, acc.JobID)
	require.Equal(t, jobSucceeded, j.Status)

	// The new node takes work.
	site := waitJob(t, s, createSite(t, s, map[string]string{"name": "New", "slug": "new", "node_id": acc.NodeID}))
	require.Equal(t, jobSucceeded, site.Status, "job: %+v", site)
}

func pollReport(t *testing.T, get func() readiness.Report, done func(readiness.Report) bool) readiness.Report {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get()
		if done(r) || time.Now().After(deadline) {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	site := waitJob(t, s, createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"}))
	env := "/api/sites/" + site.SiteID + "/environments"
	unknown := newID()
	huge := `{"name":"` + strings.Repeat("x", maxBody) + `","slug":"big"}`
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/api/sites", `{"name":`, 400, "bad_request"},
		{"malformed JSON env", "POST", env, `[1,`, 400, "bad_request"},
		{"unknown node", "POST", "/api/sites", `{"name":"A","slug":"a","node_id":"` + unknown + `"}`, 404, "not_found"},
		{"unknown site", "POST", "/api/sites/" + unknown + "/environments", `{"name":"S","slug":"s","type":"staging","promotion_preset":"content-protect"}`, 404, "not_found"},
		{"oversized", "POST", "/api/sites", huge, 413, "payload_too_large"},
		{"duplicate slug", "POST", "/api/sites", `{"name":"Blog 2","slug":"blog"}`, 409, "conflict"},
		{"invalid slug", "POST", "/api/sites", `{"name":"A","slug":"Not A Slug"}`, 400, "bad_request"},
		{"slug too long", "POST", "/api/sites", `{"name":"A","slug":"` + strings.Repeat("a", 64) + `"}`, 400, "bad_request"},
		{"empty name", "POST", "/api/sites", `{"name":"","slug":"a"}`, 400, "bad_request"},
		{"name too long", "POST", "/api/sites", `{"name":"` + strings.Repeat("n", 101) + `","slug":"a"}`, 400, "bad_request"},
		{"env bad type", "POST", env, `{"name":"S","slug":"s","type":"dev","promotion_preset":"content-protect"}`, 400, "bad_request"},
		{"env no preset", "POST", env, `{"name":"S","slug":"s","type":"staging"}`, 400, "bad_request"},
		{"env clone without source", "POST", env, `{"name":"C","slug":"c","type":"clone","promotion_preset":"content-protect"}`, 400, "bad_request"},
		{"env unknown source", "POST", env, `{"name":"C","slug":"c","type":"clone","source_environment_id":"` + unknown + `","promotion_preset":"content-protect"}`, 404, "not_found"},
		{"env duplicate slug", "POST", env, `{"name":"P","slug":"production","type":"staging","promotion_preset":"content-protect"}`, 409, "conflict"},
		{"env second production", "POST", env, `{"name":"P","slug":"prod-2","type":"production","promotion_preset":"content-protect"}`, 409, "conflict"},
		{"unknown site get", "GET", "/api/sites/" + unknown, "", 404, "not_found"},
		{"unknown site envs", "GET", "/api/sites/" + unknown + "/environments", "", 404, "not_found"},
		{"unknown job", "GET", "/api/jobs/" + unknown, "", 404, "not_found"},
		{"bad job filter", "GET", "/api/jobs?status=done", "", 400, "bad_request"},
		{"unknown provider", "POST", "/api/nodes", `{"name":"n","provider":"aws"}`, 400, "bad_request"},
		{"unknown node readiness", "GET", "/api/nodes/" + unknown + "/readiness", "", 404, "not_found"},
	}
	jobs := count(t, s, "jobs", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := do(t, s, c.method, c.path, c.body)
			require.Equal(t, c.status, res.Status, "body: %.300s", res.Body)
			var e errBody
			res.json(t, &e)
			require.Equal(t, c.code, e.Code)
			require.NotEmpty(t, e.Message)
		})
	}
	if n := count(t, s, "jobs", ""); n != jobs {
		t.Errorf("got %d jobs after bad inputs, want %d", n, jobs)
	}
}

// Close stops everything New started: no goroutine is left behind.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	base := leaktest.Take()
	s, err := New(Config{MonitorInterval: 20 * time.Millisecond, PollInterval: 10 * time.Millisecond, AcquireStep: time.Hour})
	require.NoError(t, err)
	createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"})
	res := do(t, s, "POST", "/api/nodes", `{"name":"web-2"}`)
	require.Equal(t, http.StatusAccepted, res.Status)
	time.Sleep(50 * time.Millisecond) // let the monitor, worker and provider get going
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	leaktest.Check(t, base)
}

// With real (millisecond) provider steps, the fleet's acquiring node
// becomes ready on its own.
func TestFleetAcquiringNodeBecomesReady(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) {
		c.acquireWait = nil
		c.AcquireStep = 10 * time.Millisecond
	})
	id := nodeNamed(t, s, "acquiring")
	r := pollReport(t, func() readiness.Report {
		res := do(t, s, "POST", "/api/nodes/"+id+"/readiness/refresh", "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var r readiness.Report
		res.json(t, &r)
		return r
	}, func(r readiness.Report) bool { return r.State == readiness.StateReady })
	require.Equal(t, readiness.StateReady, r.State, "reasons: %+v", r.Reasons)
}

// A -db file survives a restart: sites, jobs and node ids are kept, and a
// job left running by the previous process goes back to the queue.
func TestPersistentDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dev.db")
	cfg := func(c *Config) { c.DBPath = path; c.WorkerPaused = true }
	s1, _ := testServer(t, cfg)
	jobID := createSite(t, s1, map[string]string{"name": "Blog", "slug": "blog"})
	ready := nodeNamed(t, s1, "ready-1")
	_, err := s1.store.w.Exec(`UPDATE jobs SET status = 'running', locked_by = 'gone' WHERE id = ?`, jobID)
	require.NoError(t, err)
	require.NoError(t, s1.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "a -db file is kept")

	s2, _ := testServer(t, func(c *Config) { c.DBPath = path })
	require.Equal(t, ready, nodeNamed(t, s2, "ready-1"), "node ids survive a restart")
	j := waitJob(t, s2, jobID)
	require.Equal(t, jobSucceeded, j.Status, "job: %+v", j)
	var sites []Site
	do(t, s2, "GET", "/api/sites", "").json(t, &sites)
	require.Len(t, sites, 1)
}
