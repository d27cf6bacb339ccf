package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// stepper drives simulated acquisitions: a node moves on only when the
// test releases it, so no test depends on the clock.
type stepper struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
}

func newStepper() *stepper { return &stepper{gates: map[string]chan struct{}{}} }

func (s *stepper) ch(nodeID string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.gates[nodeID]
	if !ok {
		c = make(chan struct{})
		s.gates[nodeID] = c
	}
	return c
}

func (s *stepper) wait(ctx context.Context, nodeID, _ string) bool {
	select {
	case <-s.ch(nodeID):
		return true
	case <-ctx.Done():
		return false
	}
}

// release lets nodeID take its next step.
func (s *stepper) release(t *testing.T, nodeID string) {
	t.Helper()
	select {
	case s.ch(nodeID) <- struct{}{}:
	case <-time.After(10 * time.Second):
		t.Fatalf("acquisition of %s did not reach its next step", nodeID)
	}
}

// testServer starts a Server with the default fleet, no monitor, fast
// polling, and acquisitions that wait for the test (the fleet's
// "acquiring" node stays acquiring).
func testServer(t *testing.T, mod func(*Config)) (*Server, *stepper) {
	t.Helper()
	st := newStepper()
	cfg := Config{
		MonitorInterval: -1,
		PollInterval:    10 * time.Millisecond,
		DrainTimeout:    5 * time.Second,
		acquireWait:     st.wait,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, st
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// errBody is the project's error shape, plus the refusal's fields.
type errBody struct {
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	NodeID     string            `json:"node_id"`
	Readiness  *readiness.Report `json:"readiness"`
	Candidates []struct {
		NodeID    string           `json:"node_id"`
		Readiness readiness.Report `json:"readiness"`
	} `json:"candidates"`
}

// do serves one request with the server's handler; an /api answer is
// checked against the contract (checkContract).
func do(t *testing.T, s *Server, method, path, body string, header ...string) response {
	t.Helper()
	return serve(t, s.Handler(), method, path, body, header...)
}

// serve is do for any handler; header is name, value pairs.
func serve(t *testing.T, h http.Handler, method, path, body string, header ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	checkContract(t, req, res)
	return res
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// nodeNamed returns the id of a fleet node.
func nodeNamed(t *testing.T, s *Server, name string) string {
	t.Helper()
	for _, e := range s.Fleet() {
		if e.Name == name {
			return e.ID
		}
	}
	t.Fatalf("no fleet node %q", name)
	return ""
}

func fakeNamed(t *testing.T, s *Server, name string) *sshtest.Node {
	t.Helper()
	n := s.fleet.fake(nodeNamed(t, s, name))
	require.NotNil(t, n, "fake node %q", name)
	return n
}

// createSite posts a site and returns the 202's job id.
func createSite(t *testing.T, s *Server, body map[string]string) string {
	t.Helper()
	res := do(t, s, "POST", "/api/sites", mustJSON(t, body))
	require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
	var out struct {
		JobID string `json:"job_id"`
	}
	res.json(t, &out)
	require.NotEmpty(t, out.JobID)
	return out.JobID
}

// waitJob polls the job until it is finished (bounded) and returns it.
func waitJob(t *testing.T, s *Server, jobID string) Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := do(t, s, "GET", "/api/jobs/"+jobID, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var j Job
		res.json(t, &j)
		switch j.Status {
		case jobSucceeded, jobFailed, jobCancelled:
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 20s", jobID, j.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func count(t *testing.T, s *Server, table, where string, args ...any) int {
	t.Helper()
	n, err := s.store.count(context.Background(), table, where, args...)
	require.NoError(t, err)
	return n
}

// ranJobCommand reports whether a job's command reached the fake node
// (as opposed to the probe, which runs "exec /bin/sh -s").
func ranJobCommand(n *sshtest.Node) bool {
	for _, e := range n.Execs() {
		if e.Command == jobCommand {
			return true
		}
	}
	return false
}
