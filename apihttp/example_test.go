package apihttp_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// cannedProber stands in for *probe.Prober: every node it reaches is
// ready, except web-3, whose SSH user needs a password for sudo.
type cannedProber struct{}

func (cannedProber) Observe(_ context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	f := readinesstest.ReadyFacts()
	if nodeID == "web-3" {
		f.Sudo = readiness.SudoPasswordRequired
	}
	return readiness.Observation{NodeID: nodeID, User: t.User, Probed: true, HasAddress: true, Facts: f}
}

// controlPlaneKey is the key the control plane offers; a real one comes
// from its secrets store (preflight.FileCredentials reads key files).
var controlPlaneKey, _ = ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))

// newExampleGate is the host's gate: web-1 and web-3 are active nodes,
// web-2 is still being acquired from the provider.
func newExampleGate() *preflight.Gate {
	nodes := preflight.NewMemoryNodes(
		preflight.Node{ID: "web-1", Host: "203.0.113.10", User: "pressluft"},
		preflight.Node{ID: "web-2", Lifecycle: readiness.LifecycleAcquiring},
		preflight.Node{ID: "web-3", Host: "203.0.113.12", User: "pressluft"},
	)
	gate, err := preflight.New(preflight.Config{
		Nodes: nodes, Credentials: preflight.NewMemoryCredentials(controlPlaneKey), Prober: cannedProber{},
	})
	if err != nil {
		panic(err)
	}
	return gate
}

// Guard inside a host's authenticated API router, which the server mounts
// under http.StripPrefix("/api", ...): authenticate, then validate and
// check (Guard), then enqueue (the host's handler).
func ExampleGuard() {
	gate := newExampleGate()
	defer gate.Close()

	// The host's API router: patterns without /api, its own handlers,
	// which run only for admitted creates and read the body as sent.
	api := http.NewServeMux()
	api.HandleFunc("POST /sites", func(w http.ResponseWriter, r *http.Request) {
		d, _ := apihttp.DecisionFrom(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("host: queue site_create on %s for %s\n", d.NodeID, body)
		w.WriteHeader(http.StatusAccepted)
	})
	guard := apihttp.Guard(apihttp.GuardConfig{
		Gate: gate,
		// A node_id in the body, else the host's choice in store order:
		// the first of web-3, web-1 that is ready.
		Candidates: apihttp.NodeIDField(func(*http.Request, apihttp.Request) ([]string, error) {
			return []string{"web-3", "web-1"}, nil
		}),
	})
	// The host's auth middleware wraps the guard, so an anonymous create
	// never reaches the gate.
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := r.Cookie("session"); err != nil {
				apihttp.WriteError(w, http.StatusUnauthorized, apihttp.CodeUnauthorized, "authentication required")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", auth(guard(api))))

	for _, tc := range []struct {
		session bool
		body    string
	}{
		{false, `{"name":"Blog","slug":"blog"}`},
		{true, `{"name":"Blog","slug":"blog"}`},
		{true, `{"name":"Shop","slug":"shop","node_id":"web-2"}`},
		{true, `{"name":"Docs","slug":"docs","node_id":"web-3"}`},
		{true, `{"name":"Oops",`},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/sites", strings.NewReader(tc.body))
		if tc.session {
			req.AddCookie(&http.Cookie{Name: "session", Value: "s"})
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
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
	// 401 unauthorized "authentication required" Retry-After=""
	// host: queue site_create on web-1 for {"name":"Blog","slug":"blog"}
	// 202
	// 409 node_not_ready "node is not ready for site_create: pending: node_acquiring" Retry-After="10"
	//   fix: Wait for provider acquisition to finish; readine...
	// 409 node_not_ready "node is not ready for site_create: not_ready: sudo_password_required" Retry-After=""
	//   fix: Allow passwordless sudo for the SSH user: echo '...
	// 400 bad_request "malformed JSON body" Retry-After=""
}

// The readiness handlers on the host's own node routes, inside its API
// router under http.StripPrefix("/api", ...). Reading a report never
// probes; a refresh probes now.
func ExampleNewReportHandler() {
	gate := newExampleGate()
	defer gate.Close()
	cfg := apihttp.HandlerConfig{Gate: gate}
	api := http.NewServeMux()
	api.Handle("GET /nodes/{id}/readiness", apihttp.NewReportHandler(cfg))
	api.Handle("POST /nodes/{id}/readiness/refresh", apihttp.NewRefreshHandler(cfg))
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))

	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/api/nodes/web-3/readiness", nil),
		httptest.NewRequest(http.MethodPost, "/api/nodes/web-3/readiness/refresh", nil),
		httptest.NewRequest(http.MethodGet, "/api/nodes/web-3/readiness", nil),
		httptest.NewRequest(http.MethodGet, "/api/nodes/web-9/readiness", nil),
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		what := strings.TrimSpace(rec.Body.String())
		if rec.Code == http.StatusOK {
			var r readiness.Report
			_ = json.Unmarshal(rec.Body.Bytes(), &r)
			what = r.Summary()
		}
		fmt.Printf("%-4s %-38s %d %s\n", req.Method, req.URL.Path, rec.Code, what)
	}
	// Output:
	// GET  /api/nodes/web-3/readiness             200 unknown: node_never_probed
	// POST /api/nodes/web-3/readiness/refresh     200 not_ready: sudo_password_required
	// GET  /api/nodes/web-3/readiness             200 not_ready: sudo_password_required
	// GET  /api/nodes/web-9/readiness             404 {"code":"not_found","message":"node not found"}
}

// The refresh handler starts a probe, so a browser request from another
// origin (a page riding the host's session cookie) is refused before it
// can; the host's own console and non-browser clients pass.
func ExampleNewRefreshHandler() {
	gate := newExampleGate()
	defer gate.Close()
	api := http.NewServeMux()
	api.Handle("POST /nodes/{id}/readiness/refresh", apihttp.NewRefreshHandler(apihttp.HandlerConfig{Gate: gate}))

	for _, fetchSite := range []string{"cross-site", "same-origin", ""} {
		req := httptest.NewRequest(http.MethodPost, "/nodes/web-1/readiness/refresh", nil)
		if fetchSite != "" {
			req.Header.Set("Sec-Fetch-Site", fetchSite)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		what := strings.TrimSpace(rec.Body.String())
		if rec.Code == http.StatusOK {
			var r readiness.Report
			_ = json.Unmarshal(rec.Body.Bytes(), &r)
			what = r.NodeID + " " + r.Summary()
		}
		fmt.Printf("Sec-Fetch-Site %q: %d %s\n", fetchSite, rec.Code, what)
	}
	// Output:
	// Sec-Fetch-Site "cross-site": 403 {"code":"forbidden","message":"cross-origin request refused"}
	// Sec-Fetch-Site "same-origin": 200 web-1 ready
	// Sec-Fetch-Site "": 200 web-1 ready
}

// siteService is a host's own create flow, the seam: it validates, picks
// the node with the gate, and only then queues the job.
type siteService struct{ gate *preflight.Gate }

var errInvalid = errors.New("invalid site")

func (s siteService) CreateSite(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", errInvalid
	}
	d, err := s.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"web-3", "web-2"})
	if err != nil {
		return "", err
	}
	if err := d.Err(); err != nil {
		return "", err // a *preflight.RefusedError
	}
	return "job on " + d.NodeID, nil
}

// A host whose service has its own seam calls the gate after its own
// validation and answers a refusal with WriteRefusal (or, in a flat error
// shape of its own, with RefusalMessage).
func ExampleWriteRefusal() {
	gate := newExampleGate()
	defer gate.Close()
	svc := siteService{gate: gate}

	createSite := func(w http.ResponseWriter, r *http.Request) {
		job, err := svc.CreateSite(r.Context(), r.FormValue("name"))
		var refused *preflight.RefusedError
		switch {
		case errors.Is(err, errInvalid):
			apihttp.WriteError(w, http.StatusBadRequest, apihttp.CodeBadRequest, "name is required")
		case errors.As(err, &refused):
			apihttp.WriteRefusal(w, refused.Decision)
		case err != nil:
			apihttp.WriteError(w, http.StatusInternalServerError, apihttp.CodeInternalError, "internal error")
		default:
			fmt.Fprintln(w, job)
		}
	}
	for _, name := range []string{"", "blog"} {
		rec := httptest.NewRecorder()
		createSite(rec, httptest.NewRequest(http.MethodPost, "/sites?name="+name, nil))
		var refusal contracts.NodeNotReady
		_ = json.Unmarshal(rec.Body.Bytes(), &refusal)
		fmt.Printf("%d %q Retry-After=%q\n", rec.Code, refusal.Message, rec.Header().Get("Retry-After"))
		if refusal.Candidates != nil {
			for _, c := range *refusal.Candidates {
				fmt.Printf("  %s: %s\n", c.NodeId, c.Readiness.Summary())
			}
		}
	}
	// Output:
	// 400 "name is required" Retry-After=""
	// 409 "no node is ready for site_create: first candidate not_ready: sudo_password_required (2 candidates)" Retry-After="10"
	//   web-3: not_ready: sudo_password_required
	//   web-2: pending: node_acquiring
}

func ExampleWriteError() {
	rec := httptest.NewRecorder()
	apihttp.WriteError(rec, http.StatusConflict, apihttp.CodeConflict, "slug already taken")
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), strings.TrimSpace(rec.Body.String()))
	// Output:
	// 409 application/json {"code":"conflict","message":"slug already taken"}
}
