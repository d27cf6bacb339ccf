package apihttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
)

// Node, site and job ids are UUIDs, as in pressluft.
const (
	nodeReady          = "10000000-0000-4000-8000-000000000001"
	nodeSudo           = "10000000-0000-4000-8000-000000000002"
	nodeAcquiring      = "10000000-0000-4000-8000-000000000003"
	nodeNeverProbed    = "10000000-0000-4000-8000-000000000004"
	nodeUnreachable    = "10000000-0000-4000-8000-000000000005"
	nodeDecommissioned = "10000000-0000-4000-8000-000000000006"
	nodeStale          = "10000000-0000-4000-8000-000000000007"
	nodeReady2         = "10000000-0000-4000-8000-000000000008"
	nodeBoom           = "10000000-0000-4000-8000-0000000000ee" // the gate fails internally
	nodeMissing        = "10000000-0000-4000-8000-0000000000ff" // unknown to the gate

	siteOnReady = "20000000-0000-4000-8000-000000000001"
	siteOnSudo  = "20000000-0000-4000-8000-000000000002"
	siteBoom    = "20000000-0000-4000-8000-0000000000ee" // the host's store fails
	siteMissing = "20000000-0000-4000-8000-0000000000ff"

	jobID = "30000000-0000-4000-8000-000000000001"
)

// secret stands for raw remote output or internal detail that must never
// reach a response.
const secret = "sudo: a password is required; /home/pressluft/.ssh/id_ed25519"

// observedSecret stands for what a probe observed on a node (the detail
// of a transport failure): a refusal's body carries it in its report, but
// no log line ever does.
const observedSecret = "banner: OpenSSH_9.6 internal-host-7"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func readyFacts() *readiness.Facts { return readinesstest.ReadyFacts() }

// report evaluates a real readiness.Report of each kind the tests need.
func report(nodeID string, op readiness.Operation) readiness.Report {
	obs := readiness.Observation{
		NodeID: nodeID, User: "pressluft", HasAddress: true, Probed: true,
		CheckedAt: t0, Duration: 320 * time.Millisecond, Facts: readyFacts(),
	}
	switch nodeID {
	case nodeSudo:
		obs.Facts.Sudo = readiness.SudoPasswordRequired
		c := obs.Facts.Components[readiness.ComponentNginx]
		c.Service = "inactive"
		obs.Facts.Components[readiness.ComponentNginx] = c
	case nodeAcquiring:
		obs = readiness.Observation{NodeID: nodeID, Lifecycle: readiness.LifecycleAcquiring, CheckedAt: t0}
	case nodeNeverProbed:
		obs = readiness.Observation{NodeID: nodeID, User: "pressluft", HasAddress: true}
	case nodeUnreachable:
		obs.Facts = nil
		obs.Transport = &readiness.TransportFailure{Code: readiness.CodeSSHUnreachable, Detail: "connection refused; " + observedSecret}
	case nodeDecommissioned:
		obs = readiness.Observation{NodeID: nodeID, Lifecycle: readiness.LifecycleDecommissioned, CheckedAt: t0}
	}
	r := readiness.Evaluate(obs, readiness.PolicyFor(op), op)
	if nodeID == nodeStale {
		r = r.Stale()
	}
	return r
}

// noCandidate is the decision of an operation without a candidate node,
// as preflight.Gate.Choose makes it.
func noCandidate(op readiness.Operation) preflight.Decision {
	return preflight.Decision{Operation: op, Mode: preflight.ModeEnforce, WouldRefuse: true, Report: readiness.NoCandidate(op, t0)}
}

// fakeGate is a Chooser and Reporter that answers from report() and
// counts its calls. It chooses as preflight.Gate.Choose does (the first
// admitted candidate; otherwise the first refusal with every candidate's;
// unknown nodes passed over; no candidate a no_candidate_node refusal);
// TestGuardWithRealGate holds Guard to the same answers on a real gate.
// Nodes in warn are admitted although not ready, as ModeWarn does.
type fakeGate struct {
	warn      map[string]bool
	chooses   atomic.Int64
	reports   atomic.Int64
	refreshes atomic.Int64

	mu     sync.Mutex
	chosen []string // "op cand1,cand2,..." per Choose
}

func (g *fakeGate) lookup(nodeID string) error {
	switch nodeID {
	case nodeMissing:
		return fmt.Errorf("preflight: node %q: %w", nodeID, preflight.ErrNodeNotFound)
	case nodeBoom:
		return errors.New("preflight: probe: " + secret)
	}
	return nil
}

func (g *fakeGate) check(op readiness.Operation, nodeID string) (preflight.Decision, error) {
	if err := g.lookup(nodeID); err != nil {
		return preflight.Decision{}, err
	}
	r := report(nodeID, op)
	d := preflight.Decision{Operation: op, NodeID: nodeID, Admit: true, Mode: preflight.ModeEnforce, Report: r}
	if !r.Ready() {
		d.WouldRefuse = true
		if g.warn[nodeID] {
			d.Mode = preflight.ModeWarn
			for _, x := range r.Blocking() {
				d.Waived = append(d.Waived, x.Code)
			}
		} else {
			d.Admit = false
		}
	}
	return d, nil
}

func (g *fakeGate) Choose(_ context.Context, op readiness.Operation, candidates []string) (preflight.Decision, error) {
	g.chooses.Add(1)
	g.mu.Lock()
	g.chosen = append(g.chosen, string(op)+" "+strings.Join(candidates, ","))
	g.mu.Unlock()
	var refused []preflight.Decision
	for _, id := range candidates {
		d, err := g.check(op, id)
		switch {
		case errors.Is(err, preflight.ErrNodeNotFound):
			continue
		case err != nil:
			return preflight.Decision{}, err
		case d.Admit:
			return d, nil
		}
		refused = append(refused, d)
	}
	if len(refused) == 0 {
		return noCandidate(op), nil
	}
	d := refused[0]
	d.Candidates = refused
	return d, nil
}

func (g *fakeGate) Report(_ context.Context, nodeID string) (readiness.Report, error) {
	g.reports.Add(1)
	if err := g.lookup(nodeID); err != nil {
		return readiness.Report{}, err
	}
	return report(nodeID, readiness.OperationSiteCreate), nil
}

func (g *fakeGate) Refresh(_ context.Context, nodeID string) (readiness.Report, error) {
	g.refreshes.Add(1)
	if err := g.lookup(nodeID); err != nil {
		return readiness.Report{}, err
	}
	return report(nodeID, readiness.OperationSiteCreate), nil
}

// chosenCalls returns one "op cand1,cand2" line per Choose call.
func (g *fakeGate) chosenCalls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.chosen...)
}

// hostSites maps the test sites to their nodes, as a host's store does.
func hostSites(siteID string) (string, error) {
	switch siteID {
	case siteOnReady:
		return nodeReady, nil
	case siteOnSudo:
		return nodeSudo, nil
	case siteBoom:
		return "", errors.New("sites: " + secret)
	}
	return "", fmt.Errorf("site %q: %w", siteID, apihttp.ErrNotFound)
}

// siteCandidates is the CandidatesFunc most tests use: the body's
// node_id, else the site's node for an environment and nodeReady for a
// site. An environments create always resolves its site first, so an
// unknown site is 404 even with a node_id.
func siteCandidates(r *http.Request, req apihttp.Request) ([]string, error) {
	var siteNode string
	if req.SiteID != "" {
		n, err := hostSites(req.SiteID)
		if err != nil {
			return nil, err
		}
		siteNode = n
	}
	return apihttp.NodeIDField(func(*http.Request, apihttp.Request) ([]string, error) {
		if siteNode != "" {
			return []string{siteNode}, nil
		}
		return []string{nodeReady}, nil
	})(r, req)
}

// recordingNext is the host's create handler: it records what it was
// handed and answers 202 {job_id}, as pressluft's handlers do.
type recordingNext struct {
	mu            sync.Mutex
	calls         int
	body          []byte
	contentLength int64
	decision      preflight.Decision
	hasDecision   bool
	readErr       error
}

func (n *recordingNext) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	n.mu.Lock()
	n.calls++
	n.body, n.readErr, n.contentLength = b, err, r.ContentLength
	n.decision, n.hasDecision = apihttp.DecisionFrom(r.Context())
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(contracts.JobAccepted{JobId: jobID})
}

func (n *recordingNext) callCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogger logs everything, debug included, so that a test sees any
// line that could carry what it must not.
func newLogger() (*slog.Logger, *logBuffer) {
	var lb logBuffer
	return slog.New(slog.NewTextHandler(&lb, &slog.HandlerOptions{Level: slog.LevelDebug})), &lb
}

// errorBody decodes the error shape.
func errorBody(t *testing.T, body []byte) contracts.Error {
	t.Helper()
	var e contracts.Error
	require.NoError(t, json.Unmarshal(body, &e), "body %q", body)
	return e
}

// requireNoLeak fails if a response body carries internal detail.
func requireNoLeak(t *testing.T, body []byte) {
	t.Helper()
	for _, s := range []string{secret, "password is required;", ".ssh", "goroutine", "panic", "preflight:", "sites:"} {
		require.NotContains(t, string(body), s)
	}
}

func newRequest(method, target, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
