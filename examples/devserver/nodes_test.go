package main

// The node routes' tests, moved here with the routes from apihttp (git
// show 1ef68d4:apihttp/nodes_test.go): the node list, one node, node
// create, and the SDK's report and refresh handlers as the devserver
// mounts them. Most run against the server and its fake fleet; the
// failure cases run the routes over fakes.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// secret stands for raw remote output or internal detail that must never
// reach a response.
const secret = "sudo: a password is required; /home/pressluft/.ssh/id_ed25519"

// requireNoLeak fails if a response body carries internal detail.
func requireNoLeak(t *testing.T, body []byte) {
	t.Helper()
	for _, s := range []string{secret, "password is required;", ".ssh", "goroutine", "panic", "preflight:", "devserver:"} {
		require.NotContains(t, string(body), s)
	}
}

// connections is how often each fake node of the fleet was dialed.
func connections(s *Server) map[string]int {
	out := map[string]int{}
	for _, e := range s.Fleet() {
		if n := s.fleet.fake(e.ID); n != nil {
			out[e.Name] = n.Connections()
		}
	}
	return out
}

func registryInfo(c readiness.Code) readiness.CodeInfo {
	info, _ := readiness.Lookup(c)
	return info
}

func TestListNodes(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	for _, name := range []string{"ready-1", "sudo-password"} {
		res := do(t, s, "POST", "/api/nodes/"+nodeNamed(t, s, name)+"/readiness/refresh", "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	}
	dialed := connections(s)

	res := do(t, s, "GET", "/api/nodes", "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var got []contracts.NodeSummary
	res.json(t, &got)
	require.Equal(t, dialed, connections(s), "listing probed a node")

	ptr := func(s string) *string { return &s }
	code := func(c readiness.Code) *contracts.ReasonCode { x := contracts.ReasonCode(c); return &x }
	state := func(s readiness.State) *contracts.ReadinessState { x := contracts.ReadinessState(s); return &x }
	yes, no := true, false
	var sudo readiness.Reason // with the node's user in the remediation
	var rep readiness.Report
	do(t, s, "GET", "/api/nodes/"+nodeNamed(t, s, "sudo-password")+"/readiness", "").json(t, &rep)
	sudo = rep.Reasons[0]
	acq, never := registryInfo(readiness.CodeNodeAcquiring), registryInfo(readiness.CodeNodeNeverProbed)
	want := map[string]contracts.NodeSummary{
		"ready-1": {Name: "ready-1", Lifecycle: "active", IsLocal: true, State: "ready", Transport: "ssh",
			Summary: ptr("ready"), Retryable: &no, PreviousState: state(readiness.StateUnknown)},
		"sudo-password": {Name: "sudo-password", Lifecycle: "active", State: "not_ready", Transport: "ssh",
			PrimaryReason: code(readiness.CodeSudoPasswordRequired), Summary: ptr("not_ready: sudo_password_required"),
			Retryable: &no, Message: ptr(sudo.Message), Remediation: ptr(sudo.Remediation), PreviousState: state(readiness.StateUnknown)},
		"acquiring": {Name: "acquiring", Lifecycle: "acquiring", State: "pending", Transport: "ssh",
			PrimaryReason: code(readiness.CodeNodeAcquiring), Summary: ptr("pending: node_acquiring"), Retryable: &yes,
			Message: ptr(acq.Message), Remediation: ptr(acq.Remediation)},
		"php-fpm-missing": {Name: "php-fpm-missing", Lifecycle: "active", State: "unknown", Transport: "ssh",
			PrimaryReason: code(readiness.CodeNodeNeverProbed), Summary: ptr("unknown: node_never_probed"), Retryable: &yes,
			Message: ptr(never.Message), Remediation: ptr(never.Remediation)},
	}
	require.Len(t, got, len(defaultFleet))
	for i, n := range got {
		require.Equal(t, defaultFleet[i].name, n.Name, "store order")
		require.Equal(t, nodeNamed(t, s, n.Name), n.Id)
		w, ok := want[n.Name]
		if !ok {
			continue
		}
		w.Id = n.Id
		if diff := cmp.Diff(w, n, cmpopts.IgnoreFields(contracts.NodeSummary{}, "LastCheckedAt", "LastTransitionAt", "Host", "Port", "User", "Reasons")); diff != "" {
			t.Errorf("node %s (-want +got):\n%s", n.Name, diff)
		}
		probed := n.Name == "ready-1" || n.Name == "sudo-password"
		if probed && (n.LastCheckedAt == nil || n.LastTransitionAt == nil) {
			t.Errorf("node %s: got last_checked_at %v, last_transition_at %v, want both", n.Name, n.LastCheckedAt, n.LastTransitionAt)
		}
		if n.Name == "php-fpm-missing" && (n.LastCheckedAt != nil || n.LastTransitionAt != nil) {
			t.Errorf("a node never probed has a check time")
		}
	}
	require.Contains(t, *want["sudo-password"].Remediation, "NOPASSWD", "the remediation is not actionable")
}

// fakeRecords is a nodeRecords that may fail.
type fakeRecords struct {
	rows []NodeRow
	err  error
}

func (f fakeRecords) nodeRows(context.Context) ([]NodeRow, error) { return f.rows, f.err }

func (f fakeRecords) nodeRow(_ context.Context, id string) (NodeRow, error) {
	if f.err != nil {
		return NodeRow{}, f.err
	}
	for _, n := range f.rows {
		if n.ID == id {
			return n, nil
		}
	}
	return NodeRow{}, notFound("node", id)
}

// fakeNodeGate answers every node ready, but "gone" (unknown) and "boom"
// (an internal failure).
type fakeNodeGate struct{}

func (fakeNodeGate) fail(id string) error {
	switch id {
	case "gone":
		return preflight.ErrNodeNotFound
	case "boom":
		return errors.New("preflight: probe: " + secret)
	}
	return nil
}

func (g fakeNodeGate) report(id string) (readiness.Report, error) {
	if err := g.fail(id); err != nil {
		return readiness.Report{}, err
	}
	return readiness.Evaluate(readiness.Observation{NodeID: id, User: "pressluft", HasAddress: true}, readiness.Baseline(), readiness.OperationSiteCreate), nil
}

func (g fakeNodeGate) Report(_ context.Context, id string) (readiness.Report, error) {
	return g.report(id)
}

func (g fakeNodeGate) Refresh(_ context.Context, id string) (readiness.Report, error) {
	return g.report(id)
}

func (g fakeNodeGate) Summary(_ context.Context, id string) (preflight.Summary, error) {
	r, err := g.report(id)
	return preflight.SummaryOf(r, preflight.NodeStatus{}, false), err
}

func (g fakeNodeGate) Summaries(nodes []preflight.Node) []preflight.Summary {
	out := make([]preflight.Summary, len(nodes))
	for i, n := range nodes {
		r, _ := g.report(n.ID)
		out[i] = preflight.SummaryOf(r, preflight.NodeStatus{}, false)
	}
	return out
}

func (g fakeNodeGate) Reports(nodes []preflight.Node) []readiness.Report {
	out := make([]readiness.Report, len(nodes))
	for i, n := range nodes {
		out[i], _ = g.report(n.ID)
	}
	return out
}

type fakeCreator struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (c *fakeCreator) CreateNode(_ context.Context, name, provider string) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name+"|"+provider)
	return newID(), newID(), c.err
}

// syncLog is a log sink safe for concurrent use.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeNodesAPI mounts nodesAPI over fakes the way the server mounts it.
func fakeNodesAPI(t *testing.T, h *nodesAPI) (http.Handler, *syncLog) {
	t.Helper()
	var logs syncLog
	h.log = slog.New(slog.NewTextHandler(&logs, nil))
	if h.gate == nil {
		h.gate = fakeNodeGate{}
	}
	api := newAPIRouter()
	h.routes(api.mux)
	return http.StripPrefix("/api", api), &logs
}

func TestNodeRoutesFailures(t *testing.T) {
	t.Parallel()
	one := []NodeRow{{ID: "n1", Name: "web-1", Status: nodeActive}}
	dbDown := fakeRecords{err: errors.New("sqlite: " + secret)}
	tests := []struct {
		name         string
		api          nodesAPI
		method, path string
		body         string
		wantStatus   int
		wantBody     string // exact, when set
	}{
		{name: "empty list is []", api: nodesAPI{nodes: fakeRecords{}}, method: "GET", path: "/api/nodes", wantStatus: 200, wantBody: "[]\n"},
		{name: "one node", api: nodesAPI{nodes: fakeRecords{rows: one}}, method: "GET", path: "/api/nodes", wantStatus: 200},
		{name: "list, bad filter", api: nodesAPI{nodes: fakeRecords{rows: one}}, method: "GET", path: "/api/nodes?state=broken", wantStatus: 400},
		{name: "list, limit too large", api: nodesAPI{nodes: fakeRecords{rows: one}}, method: "GET", path: "/api/nodes?limit=1001", wantStatus: 400},
		{name: "list, store fails", api: nodesAPI{nodes: dbDown}, method: "GET", path: "/api/nodes", wantStatus: 500},
		{name: "get, store fails", api: nodesAPI{nodes: dbDown}, method: "GET", path: "/api/nodes/n1", wantStatus: 500},
		{name: "readiness, gate fails", api: nodesAPI{nodes: fakeRecords{}}, method: "GET", path: "/api/nodes/boom/readiness", wantStatus: 500},
		{name: "refresh, gate fails", api: nodesAPI{nodes: fakeRecords{}}, method: "POST", path: "/api/nodes/boom/readiness/refresh", wantStatus: 500},
		{name: "create, provider fails", api: nodesAPI{nodes: fakeRecords{}, creator: &fakeCreator{err: errors.New("provider api: " + secret)}},
			method: "POST", path: "/api/nodes", body: `{"name":"web-9"}`, wantStatus: 500},
		{name: "create without provider", api: nodesAPI{nodes: fakeRecords{}}, method: "POST", path: "/api/nodes", body: `{"name":"web-9"}`, wantStatus: 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, logs := fakeNodesAPI(t, &tt.api)
			res := serve(t, h, tt.method, tt.path, tt.body)
			require.Equal(t, tt.wantStatus, res.Status, "body %s", res.Body)
			requireNoLeak(t, res.Body)
			if tt.wantBody != "" {
				require.Equal(t, tt.wantBody, string(res.Body))
			}
			switch tt.wantStatus {
			case 200:
				var got []contracts.NodeSummary
				res.json(t, &got)
				if tt.wantBody == "" {
					require.Len(t, got, 1)
					require.Equal(t, "n1", got[0].Id)
				}
			case 500:
				var e errBody
				res.json(t, &e)
				require.Equal(t, errBody{Code: "internal_error", Message: "internal error"}, e)
				require.Contains(t, logs.String(), secret, "the detail was not logged")
			case 501:
				var e errBody
				res.json(t, &e)
				require.Equal(t, "not_implemented", e.Code)
			}
		})
	}
}

func TestNodeEndpoints(t *testing.T) {
	t.Parallel()
	unknown := newID()
	tests := []struct {
		name         string
		method, path string // NODE in path: the node named node
		node         string
		body         string
		header       []string
		wantStatus   int
		wantCode     string // error responses
		check        func(t *testing.T, s *Server, res response)
	}{
		{name: "get node", method: "GET", path: "/api/nodes/NODE", node: "acquiring", wantStatus: 200,
			check: func(t *testing.T, s *Server, res response) {
				var got contracts.NodeSummary
				res.json(t, &got)
				require.Equal(t, nodeNamed(t, s, "acquiring"), got.Id)
				require.Equal(t, contracts.ReadinessStatePending, got.State)
				require.Equal(t, contracts.ReasonCodeNodeAcquiring, *got.PrimaryReason)
			}},
		{name: "get unknown node", method: "GET", path: "/api/nodes/" + unknown, wantStatus: 404, wantCode: "not_found"},
		{name: "readiness", method: "GET", path: "/api/nodes/NODE/readiness", node: "sudo-password", wantStatus: 200,
			check: func(t *testing.T, s *Server, res response) {
				var got readiness.Report
				res.json(t, &got)
				require.Equal(t, readiness.CodeNodeNeverProbed, got.PrimaryReason, "GET readiness does not probe")
				require.Zero(t, fakeNamed(t, s, "sudo-password").Connections(), "GET readiness probed")
			}},
		{name: "readiness of a pending node", method: "GET", path: "/api/nodes/NODE/readiness", node: "acquiring", wantStatus: 200,
			check: func(t *testing.T, s *Server, res response) {
				var got readiness.Report
				res.json(t, &got)
				require.Equal(t, readiness.StatePending, got.State)
			}},
		{name: "readiness unknown node", method: "GET", path: "/api/nodes/" + unknown + "/readiness", wantStatus: 404, wantCode: "not_found"},
		{name: "refresh", method: "POST", path: "/api/nodes/NODE/readiness/refresh", node: "unreachable", wantStatus: 200,
			check: func(t *testing.T, s *Server, res response) {
				var got readiness.Report
				res.json(t, &got)
				require.Equal(t, readiness.CodeSSHUnreachable, got.PrimaryReason)
			}},
		{name: "refresh probes", method: "POST", path: "/api/nodes/NODE/readiness/refresh", node: "sudo-password", wantStatus: 200,
			check: func(t *testing.T, s *Server, res response) {
				var got readiness.Report
				res.json(t, &got)
				require.Equal(t, readiness.CodeSudoPasswordRequired, got.PrimaryReason)
				require.Equal(t, 1, fakeNamed(t, s, "sudo-password").Connections())
			}},
		{name: "refresh unknown node", method: "POST", path: "/api/nodes/" + unknown + "/readiness/refresh", wantStatus: 404, wantCode: "not_found"},
		{name: "refresh from another site", method: "POST", path: "/api/nodes/NODE/readiness/refresh", node: "php-fpm-missing",
			header: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, wantStatus: 403, wantCode: "forbidden",
			check: func(t *testing.T, s *Server, res response) {
				require.Zero(t, fakeNamed(t, s, "php-fpm-missing").Connections(), "a cross-origin refresh probed")
			}},
		{name: "create", method: "POST", path: "/api/nodes", body: `{"name":"  web-9 ","provider":"simulated"}`, wantStatus: 202,
			check: func(t *testing.T, s *Server, res response) {
				var got contracts.NodeAccepted
				res.json(t, &got)
				require.Equal(t, "/api/nodes/"+got.NodeId, res.Header.Get("Location"))
				n := do(t, s, "GET", res.Header.Get("Location"), "")
				var sum contracts.NodeSummary
				n.json(t, &sum)
				require.Equal(t, "web-9", sum.Name, "the name is trimmed")
				require.Equal(t, contracts.ReadinessStatePending, sum.State, "a node being acquired is pending")
				var j Job
				do(t, s, "GET", "/api/jobs/"+got.JobId, "").json(t, &j)
				require.Equal(t, jobNodeAcquire, j.JobType)
				require.Equal(t, got.NodeId, j.NodeID)
			}},
		{name: "create without provider", method: "POST", path: "/api/nodes", body: `{"name":"web-9"}`, wantStatus: 202},
		{name: "create 100-character name", method: "POST", path: "/api/nodes", body: `{"name":"` + strings.Repeat("ä", 100) + `"}`, wantStatus: 202},
		{name: "create malformed JSON", method: "POST", path: "/api/nodes", body: `{"name":`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create not an object", method: "POST", path: "/api/nodes", body: `"web-9"`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create empty body", method: "POST", path: "/api/nodes", body: ``, wantStatus: 400, wantCode: "bad_request"},
		{name: "create without name", method: "POST", path: "/api/nodes", body: `{"provider":"simulated"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create blank name", method: "POST", path: "/api/nodes", body: `{"name":"   "}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create name too long", method: "POST", path: "/api/nodes", body: `{"name":"` + strings.Repeat("x", 101) + `"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create name not a string", method: "POST", path: "/api/nodes", body: `{"name":7}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create provider not a string", method: "POST", path: "/api/nodes", body: `{"name":"a","provider":["x"]}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create unknown field", method: "POST", path: "/api/nodes", body: `{"name":"a","size":"xl"}`, wantStatus: 400, wantCode: "bad_request"},
		{name: "create too large", method: "POST", path: "/api/nodes", body: `{"name":"` + strings.Repeat("x", maxBody) + `"}`, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "create unknown provider", method: "POST", path: "/api/nodes", body: `{"name":"web-9","provider":"nope"}`, wantStatus: 400, wantCode: "bad_request",
			check: func(t *testing.T, s *Server, res response) {
				var e errBody
				res.json(t, &e)
				require.Contains(t, e.Message, `unknown provider "nope"`)
			}},
	}
	s, _ := testServer(t, nil)
	var mu sync.Mutex // the cases share one server; probes must not overlap their counts
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			path := tt.path
			if tt.node != "" {
				path = strings.Replace(path, "NODE", nodeNamed(t, s, tt.node), 1)
			}
			res := do(t, s, tt.method, path, tt.body, tt.header...)
			require.Equal(t, tt.wantStatus, res.Status, "body %.300s", res.Body)
			require.Equal(t, "application/json", res.Header.Get("Content-Type"))
			requireNoLeak(t, res.Body)
			if tt.wantCode != "" {
				var e errBody
				res.json(t, &e)
				require.Equal(t, tt.wantCode, e.Code)
				require.NotEmpty(t, e.Message)
			}
			if tt.check != nil {
				tt.check(t, s, res)
			}
		})
	}
}

// The refresh handler the server mounts is the SDK's: a report the
// probe has just taken, not one from the cache.
func TestRefreshFollowsTheNode(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	id := nodeNamed(t, s, "sudo-password")
	refresh := func() readiness.Report {
		res := do(t, s, "POST", "/api/nodes/"+id+"/readiness/refresh", "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var r readiness.Report
		res.json(t, &r)
		return r
	}
	require.Equal(t, readiness.StateNotReady, refresh().State)
	fakeNamed(t, s, "sudo-password").SetProfile(sshtest.ReadyProfile())
	require.Equal(t, readiness.StateReady, refresh().State)
	var got contracts.NodeSummary
	do(t, s, "GET", "/api/nodes/"+id, "").json(t, &got)
	require.Equal(t, contracts.ReadinessStateReady, got.State)
	require.Equal(t, contracts.ReadinessStateNotReady, *got.PreviousState)
	require.WithinDuration(t, time.Now(), *got.LastTransitionAt, time.Minute)
}
