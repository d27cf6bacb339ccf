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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
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
	nodeBoom           = "10000000-0000-4000-8000-0000000000ee" // the gate fails internally
	nodeMissing        = "10000000-0000-4000-8000-0000000000ff" // unknown to the gate

	siteOnReady = "20000000-0000-4000-8000-000000000001"
	siteOnSudo  = "20000000-0000-4000-8000-000000000002"
	siteMissing = "20000000-0000-4000-8000-0000000000ff"

	jobID = "30000000-0000-4000-8000-000000000001"
)

// secret stands for raw remote output or internal detail that must never
// reach a response.
const secret = "sudo: a password is required; /home/pressluft/.ssh/id_ed25519"

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
		obs.Transport = &readiness.TransportFailure{Code: readiness.CodeSSHUnreachable, Detail: "connection refused"}
	case nodeDecommissioned:
		obs = readiness.Observation{NodeID: nodeID, Lifecycle: readiness.LifecycleDecommissioned, CheckedAt: t0}
	}
	r := readiness.Evaluate(obs, readiness.PolicyFor(op), op)
	if nodeID == nodeStale {
		r = r.Stale()
	}
	return r
}

// fakeGate answers from report() and counts its calls. Nodes in warn are
// admitted although not ready, as preflight's ModeWarn does.
type fakeGate struct {
	warn      map[string]bool
	checks    atomic.Int64
	reports   atomic.Int64
	refreshes atomic.Int64

	mu      sync.Mutex
	checked []string // "op node"
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

func (g *fakeGate) Check(_ context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error) {
	g.checks.Add(1)
	g.mu.Lock()
	g.checked = append(g.checked, string(op)+" "+nodeID)
	g.mu.Unlock()
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

func (g *fakeGate) Status(nodeID string) (preflight.NodeStatus, bool) {
	switch nodeID {
	case nodeSudo:
		return preflight.NodeStatus{
			NodeID: nodeID, State: readiness.StateNotReady, PreviousState: readiness.StateReady,
			PrimaryReason:    readiness.CodeSudoPasswordRequired,
			LastTransitionAt: t0.Add(-time.Hour), LastCheckedAt: t0,
		}, true
	case nodeReady:
		return preflight.NodeStatus{
			NodeID: nodeID, State: readiness.StateReady, PreviousState: readiness.StateUnknown,
			LastTransitionAt: t0, LastCheckedAt: t0,
		}, true
	}
	return preflight.NodeStatus{}, false
}

func (g *fakeGate) checkedCalls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.checked...)
}

// fakeSites maps the test sites to their nodes.
type fakeSites struct{}

func (fakeSites) SiteNode(_ context.Context, siteID string) (string, error) {
	switch siteID {
	case siteOnReady:
		return nodeReady, nil
	case siteOnSudo:
		return nodeSudo, nil
	case nodeBoom:
		return "", errors.New("sites: " + secret)
	}
	return "", fmt.Errorf("site %q: %w", siteID, apihttp.ErrNotFound)
}

// testNodes is the node source of the nodes endpoints.
func testNodes() *preflight.MemoryNodes {
	return preflight.NewMemoryNodes(
		preflight.Node{ID: nodeReady, Name: "local", Host: "127.0.0.1", User: "pressluft", IsLocal: true},
		preflight.Node{ID: nodeSudo, Name: "web-2", Host: "203.0.113.10", User: "pressluft"},
		preflight.Node{ID: nodeAcquiring, Name: "web-3", Lifecycle: readiness.LifecycleAcquiring},
		preflight.Node{ID: nodeNeverProbed, Name: "web-4", Host: "203.0.113.12", User: "pressluft", Lifecycle: "unreachable"},
		preflight.Node{ID: nodeStale, Name: "web-5", Host: "203.0.113.13", User: "pressluft"},
	)
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

func newLogger() (*slog.Logger, *logBuffer) {
	var lb logBuffer
	return slog.New(slog.NewTextHandler(&lb, nil)), &lb
}

// --- contract validation ---

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(contracts.Spec())
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		// The contract's server URL is the relative "/api"; route
		// against an absolute one with the same path.
		specDoc.Servers = openapi3.Servers{{URL: "http://example.test/api"}}
		specRouter, specErr = legacy.NewRouter(specDoc)
	})
	require.NoError(t, specErr)
	return specDoc, specRouter
}

// validateResponse checks one response, status, headers and body, against
// the operation in contracts/openapi.yaml that req matches. A status the
// operation does not declare fails.
func validateResponse(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	require.NoError(t, responseError(t, req, status, header, body),
		"%s %s: %d %s does not match the contract", req.Method, req.URL.Path, status, body)
}

func responseError(t *testing.T, req *http.Request, status int, header http.Header, body []byte) error {
	t.Helper()
	_, router := loadSpec(t)
	vreq := req.Clone(context.Background())
	vreq.URL.Scheme, vreq.URL.Host = "http", "example.test"
	vreq.Host = "example.test"
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		return fmt.Errorf("no operation in openapi.yaml for %s %s: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// validateSchema checks a body against a named schema, for responses to
// requests no operation matches (404 and 405 of unknown routes).
func validateSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	doc, _ := loadSpec(t)
	var v any
	require.NoError(t, json.Unmarshal(body, &v))
	require.NoError(t, doc.Components.Schemas[name].Value.VisitJSON(v), "%s: %s", name, body)
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
