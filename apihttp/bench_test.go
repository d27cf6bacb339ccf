package apihttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// cachedGate answers every Choose with the same cached admit, as a warm
// *preflight.Gate does for one candidate (BenchmarkCheckCached measures
// that part).
type cachedGate struct{ d preflight.Decision }

func (g *cachedGate) Choose(context.Context, readiness.Operation, []string) (preflight.Decision, error) {
	return g.d, nil
}

func newCachedGate() *cachedGate {
	return &cachedGate{d: preflight.Decision{
		Operation: readiness.OperationSiteCreate, NodeID: nodeReady, Admit: true, Mode: preflight.ModeEnforce,
		Report: report(nodeReady, readiness.OperationSiteCreate), Cached: true,
	}}
}

// createSite is a host's POST /api/sites handler: decode and validate the
// body, queue the job (here: nothing), answer 202 {job_id}.
var createSite = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var req contracts.CreateSiteRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.Slug == "" {
		apihttp.WriteError(w, http.StatusBadRequest, apihttp.CodeBadRequest, "bad body")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(contracts.JobAccepted{JobId: jobID})
})

const benchBody = `{"name":"Example Blog","slug":"example-blog","node_id":"` + nodeReady + `"}`

// benchGuard is Guard as a host without a seam of its own configures it
// on its full paths: the body's node_id, the default validation.
func benchGuard(next http.Handler) http.Handler {
	return apihttp.Guard(apihttp.GuardConfig{
		Gate: newCachedGate(), Candidates: apihttp.NodeIDField(nil), Prefix: "/api",
	})(next)
}

func benchCreate(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/sites", strings.NewReader(benchBody))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkGuardedCreate is POST /api/sites through Guard with a gate
// answering from its cache; compare with BenchmarkUnguardedCreate (the
// target is at most 1.25x; scripts/bench.sh runs both).
func BenchmarkGuardedCreate(b *testing.B) {
	benchCreate(b, benchGuard(createSite))
}

// BenchmarkUnguardedCreate is the same handler without Guard.
func BenchmarkUnguardedCreate(b *testing.B) {
	benchCreate(b, createSite)
}

// BenchmarkUnguardedRoute is a request Guard passes through (GET
// /api/sites): the cost of the route match alone.
func BenchmarkUnguardedRoute(b *testing.B) {
	h := benchGuard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/api/sites", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(nil, req)
	}
}

// BenchmarkGuardOverhead is Guard alone on an admitted POST /api/sites:
// reading the body, validating it, finding node_id, the (cached)
// decision, and handing body and decision on, with a next handler that
// does nothing.
func BenchmarkGuardOverhead(b *testing.B) {
	h := benchGuard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	body := strings.NewReader(benchBody)
	req := httptest.NewRequest(http.MethodPost, "/api/sites", body)
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(benchBody)
		h.ServeHTTP(nil, req)
	}
}
