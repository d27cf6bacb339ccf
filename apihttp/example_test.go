package apihttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// exampleGate stands in for *preflight.Gate: node "web-1" is ready, node
// "web-2" is still being acquired from the provider, and node "web-3"'s
// SSH user needs a password for sudo.
type exampleGate struct{}

func (exampleGate) Check(ctx context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error) {
	r, err := exampleGate{}.Report(ctx, nodeID)
	return preflight.Decision{Operation: op, NodeID: nodeID, Admit: r.Ready(), WouldRefuse: !r.Ready(), Report: r}, err
}

func (exampleGate) Report(_ context.Context, nodeID string) (readiness.Report, error) {
	obs := readiness.Observation{NodeID: nodeID, User: "pressluft", HasAddress: true, Probed: true, Facts: readyFacts()}
	switch nodeID {
	case "web-1":
	case "web-2":
		obs = readiness.Observation{NodeID: nodeID, Lifecycle: readiness.LifecycleAcquiring}
	case "web-3":
		obs.Facts.Sudo = readiness.SudoPasswordRequired
	default:
		return readiness.Report{}, preflight.ErrNodeNotFound
	}
	return readiness.Evaluate(obs, readiness.Baseline(), readiness.OperationSiteCreate), nil
}

func (g exampleGate) Refresh(ctx context.Context, nodeID string) (readiness.Report, error) {
	return g.Report(ctx, nodeID)
}

func (exampleGate) Status(string) (preflight.NodeStatus, bool) { return preflight.NodeStatus{}, false }

func Example() {
	// The host's own create handler: it runs only for admitted requests,
	// and reads the body as the client sent it.
	createSite := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := apihttp.DecisionFrom(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("host: queue site_create on %s for %s\n", d.NodeID, body)
		w.WriteHeader(http.StatusAccepted)
	})
	mux := http.NewServeMux()
	mux.Handle("POST /api/sites", createSite)
	handler := apihttp.Guard(apihttp.Config{
		Gate:        exampleGate{},
		DefaultNode: func(context.Context) (string, error) { return "web-1", nil },
	})(mux)

	for _, body := range []string{
		`{"name":"Blog","slug":"blog"}`,
		`{"name":"Shop","slug":"shop","node_id":"web-2"}`,
		`{"name":"Docs","slug":"docs","node_id":"web-3"}`,
		`{"name":"Wiki","slug":"wiki","node_id":"web-9"}`,
		`{"name":"Oops",`,
	} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/sites", strings.NewReader(body)))
		if rec.Code == http.StatusAccepted {
			fmt.Println(rec.Code)
			continue
		}
		var refusal contracts.NodeNotReady
		_ = json.Unmarshal(rec.Body.Bytes(), &refusal)
		fmt.Printf("%d %s %q Retry-After=%q\n", rec.Code, refusal.Code, refusal.Message, rec.Header().Get("Retry-After"))
		if refusal.Code == contracts.NodeNotReadyCodeNodeNotReady {
			fmt.Println("  fix:", refusal.Readiness.Reasons[0].Remediation[:48]+"...")
		}
	}
	// Output:
	// host: queue site_create on web-1 for {"name":"Blog","slug":"blog"}
	// 202
	// 409 node_not_ready "node is not ready for site_create: pending: node_acquiring" Retry-After="10"
	//   fix: Wait for provider acquisition to finish; readine...
	// 409 node_not_ready "node is not ready for site_create: not_ready: sudo_password_required" Retry-After=""
	//   fix: Allow passwordless sudo for the SSH user: echo '...
	// 404 not_found "node not found" Retry-After=""
	// 400 bad_request "malformed JSON body" Retry-After=""
}

func ExampleNewNodesHandler() {
	nodes := preflight.NewMemoryNodes(
		preflight.Node{ID: "web-1", Name: "local", Host: "127.0.0.1", User: "pressluft", IsLocal: true},
		preflight.Node{ID: "web-2", Name: "new", Lifecycle: readiness.LifecycleAcquiring},
		preflight.Node{ID: "web-3", Name: "web-3", Host: "203.0.113.10", User: "pressluft"},
	)
	h := apihttp.NewNodesHandler(apihttp.Config{Gate: exampleGate{}, Nodes: nodes})
	mux := http.NewServeMux()
	mux.Handle("/api/nodes", h)
	mux.Handle("/api/nodes/", h)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/nodes", nil))
	var list []contracts.NodeSummary
	_ = json.Unmarshal(rec.Body.Bytes(), &list)
	for _, n := range list {
		fmt.Printf("%s %-9s %s\n", n.Id, n.State, *n.Summary)
	}

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/nodes", strings.NewReader(`{"name":"web-4"}`)))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// web-1 ready     ready
	// web-2 pending   pending: node_acquiring
	// web-3 not_ready not_ready: sudo_password_required
	// 501 {"code":"not_implemented","message":"node acquisition is not configured on this server"}
}

func ExampleWriteError() {
	rec := httptest.NewRecorder()
	apihttp.WriteError(rec, http.StatusConflict, apihttp.CodeConflict, "slug already taken")
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), strings.TrimSpace(rec.Body.String()))
	// Output:
	// 409 application/json {"code":"conflict","message":"slug already taken"}
}
