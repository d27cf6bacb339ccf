package apihttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// The tests in this file run Guard and the readiness handlers inside a
// control plane shaped like the host's (docs: "How the host's server is
// shaped"): an API ServeMux whose patterns have no /api, mounted by the
// outer mux with mux.Handle("/api/", http.StripPrefix("/api", api));
// a session-cookie auth middleware inside it (401 {"code":"unauthorized"}
// for every path but /login); strict body decoding
// (DisallowUnknownFields: POST /sites takes {name, slug} and no node_id);
// the service's node choice (the first non-local node in store order
// that is ready); one flat {"code","message"} error helper, and tests
// that decode every error body into map[string]string. The gate is a
// real *preflight.Gate; every Choose and every probe is counted.

const (
	sessionCookie = "pressluft_session"
	sessionValue  = "s3ss10n"
)

// countingGate counts the calls apihttp makes of a gate.
type countingGate struct {
	g                           *preflight.Gate
	chooses, reports, refreshes atomic.Int64
}

func (c *countingGate) Choose(ctx context.Context, op readiness.Operation, candidates []string) (preflight.Decision, error) {
	c.chooses.Add(1)
	return c.g.Choose(ctx, op, candidates)
}

func (c *countingGate) Report(ctx context.Context, id string) (readiness.Report, error) {
	c.reports.Add(1)
	return c.g.Report(ctx, id)
}

func (c *countingGate) Refresh(ctx context.Context, id string) (readiness.Report, error) {
	c.refreshes.Add(1)
	return c.g.Refresh(ctx, id)
}

// hostNode is a node record of the host's store.
type hostNode struct {
	id    string
	local bool
}

// host is the control plane.
type host struct {
	nodes  []hostNode        // store order
	sites  map[string]string // site -> node
	gate   *countingGate
	prober *nodeProber

	mu   sync.Mutex
	jobs []string // "op node" per enqueued job
}

// hostWriteError is the host's one error helper.
func hostWriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}

// decodeStrict is the host's body decoding: a field it does not know is
// an error.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type createSiteInput struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type createEnvInput struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
	Type string `json:"type"`
}

// readSite and readEnv are the host handlers' own decode-and-validate
// steps; on failure they have written the host's 400.
func readSite(w http.ResponseWriter, r *http.Request) (createSiteInput, bool) {
	var in createSiteInput
	switch err := decodeStrict(r, &in); {
	case err != nil:
		hostWriteError(w, http.StatusBadRequest, "bad_request", "invalid request body")
		return in, false
	case in.Name == "" || in.Slug == "":
		hostWriteError(w, http.StatusBadRequest, "bad_request", "name and slug are required")
		return in, false
	}
	return in, true
}

func readEnv(w http.ResponseWriter, r *http.Request) (createEnvInput, bool) {
	var in createEnvInput
	switch err := decodeStrict(r, &in); {
	case err != nil:
		hostWriteError(w, http.StatusBadRequest, "bad_request", "invalid request body")
		return in, false
	case in.Name == "" || in.Slug == "" || in.Type == "":
		hostWriteError(w, http.StatusBadRequest, "bad_request", "name, slug and type are required")
		return in, false
	}
	return in, true
}

func (h *host) enqueue(w http.ResponseWriter, r *http.Request) {
	d, ok := apihttp.DecisionFrom(r.Context())
	if !ok || !d.Admit {
		hostWriteError(w, http.StatusInternalServerError, "internal_error", "create without an admitted decision")
		return
	}
	h.mu.Lock()
	h.jobs = append(h.jobs, string(d.Operation)+" "+d.NodeID)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"job_id": jobID})
}

func (h *host) enqueued() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.jobs...)
}

// apiMux is the host's API router: patterns without /api.
func (h *host) apiMux() *http.ServeMux {
	readinessCfg := apihttp.HandlerConfig{Gate: h.gate, Error: hostWriteError}
	api := http.NewServeMux()
	api.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sessionValue})
		w.WriteHeader(http.StatusNoContent)
	})
	api.HandleFunc("GET /sites", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]\n"))
	})
	api.HandleFunc("POST /sites", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := readSite(w, r); ok {
			h.enqueue(w, r)
		}
	})
	api.HandleFunc("POST /sites/{id}/environments", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.sites[r.PathValue("id")]; !ok {
			hostWriteError(w, http.StatusNotFound, "not_found", "site not found")
			return
		}
		if _, ok := readEnv(w, r); ok {
			h.enqueue(w, r)
		}
	})
	api.Handle("GET /nodes/{id}/readiness", apihttp.NewReportHandler(readinessCfg))
	api.Handle("POST /nodes/{id}/readiness/refresh", apihttp.NewRefreshHandler(readinessCfg))
	return api
}

// guardConfig is the host's Guard: its own validation first, its node
// choice, its error shapes.
func (h *host) guardConfig() apihttp.GuardConfig {
	return apihttp.GuardConfig{
		Gate: h.gate,
		Validate: func(w http.ResponseWriter, r *http.Request, req apihttp.Request) bool {
			if req.Operation == readiness.OperationEnvCreate {
				if _, ok := h.sites[req.SiteID]; !ok {
					hostWriteError(w, http.StatusNotFound, "not_found", "site not found")
					return false
				}
				_, ok := readEnv(w, r)
				return ok
			}
			_, ok := readSite(w, r)
			return ok
		},
		Candidates: func(_ *http.Request, req apihttp.Request) ([]string, error) {
			if req.Operation == readiness.OperationEnvCreate {
				return []string{h.sites[req.SiteID]}, nil
			}
			var ids []string
			for _, n := range h.nodes {
				if !n.local {
					ids = append(ids, n.id)
				}
			}
			return ids, nil
		},
		Refuse: flatRefusal,
		Error:  hostWriteError,
	}
}

// requireSession is the host's auth middleware: every path but login
// needs the session cookie.
func requireSession(loginPath string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != loginPath {
			if c, err := r.Cookie(sessionCookie); err != nil || c.Value != sessionValue {
				hostWriteError(w, http.StatusUnauthorized, "unauthorized", "authentication required")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostMounts are the two places Guard can sit in the host's server.
var hostMounts = []struct {
	name  string
	build func(h *host) http.Handler
}{
	{"Guard inside StripPrefix, after auth", func(h *host) http.Handler {
		outer := http.NewServeMux()
		outer.Handle("/api/", http.StripPrefix("/api", requireSession("/login", apihttp.Guard(h.guardConfig())(h.apiMux()))))
		return outer
	}},
	{"Guard outside StripPrefix with Prefix /api, after auth", func(h *host) http.Handler {
		cfg := h.guardConfig()
		cfg.Prefix = "/api"
		outer := http.NewServeMux()
		outer.Handle("/api/", requireSession("/api/login", apihttp.Guard(cfg)(http.StripPrefix("/api", h.apiMux()))))
		return outer
	}},
}

func newHost(t *testing.T, nodes ...hostNode) *host {
	t.Helper()
	g, pr := newRealGate(t, preflight.ModeEnforce)
	return &host{
		nodes:  nodes,
		sites:  map[string]string{siteOnReady: nodeReady, siteOnSudo: nodeSudo},
		gate:   &countingGate{g: g},
		prober: pr,
	}
}

func withSession(req *http.Request) *http.Request {
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sessionValue})
	return req
}

// flatBody decodes an error body as the host's tests do.
func flatBody(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(body, &m), "the host's tests cannot decode %s", body)
	return m
}

func TestHostRouterAnonymousRequestsNeverProbe(t *testing.T) {
	t.Parallel()
	for _, mount := range hostMounts {
		t.Run(mount.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, hostNode{id: nodeSudo})
			srv := mount.build(h)
			for _, req := range []*http.Request{
				newRequest("POST", "/api/sites", `{"name":"Blog","slug":"blog"}`),
				newRequest("POST", "/api/sites/"+siteOnSudo+"/environments", `{"name":"Staging","slug":"staging","type":"staging"}`),
				newRequest("POST", refreshPath(nodeSudo), ""),
				newRequest("GET", readinessPath(nodeSudo), ""),
				newRequest("GET", "/api/sites", ""),
			} {
				for _, cookie := range []string{"", "forged"} {
					if cookie != "" {
						req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
					}
					rec := serve(srv, req)
					require.Equal(t, http.StatusUnauthorized, rec.Code, "%s %s: %s", req.Method, req.URL, rec.Body)
					require.Equal(t, map[string]string{"code": "unauthorized", "message": "authentication required"}, flatBody(t, rec.Body.Bytes()))
				}
			}
			require.Zero(t, h.gate.chooses.Load(), "an anonymous create reached the gate")
			require.Zero(t, h.gate.reports.Load()+h.gate.refreshes.Load(), "an anonymous request reached the gate")
			require.Zero(t, h.prober.total(), "an anonymous request caused a probe")
			require.Empty(t, h.enqueued())

			// The same create with the session is checked (and refused).
			rec := serve(srv, withSession(newRequest("POST", "/api/sites", `{"name":"Blog","slug":"blog"}`)))
			require.Equal(t, http.StatusConflict, rec.Code, "body %s", rec.Body)
			require.Equal(t, int64(1), h.gate.chooses.Load())
		})
	}
}

func TestHostRouterInvalidCreateNeverProbes(t *testing.T) {
	t.Parallel()
	env := "/api/sites/" + siteOnSudo + "/environments"
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"empty name", "/api/sites", `{"name":"","slug":"x"}`, 400, "name and slug are required"},
		{"missing slug", "/api/sites", `{"name":"Blog"}`, 400, "name and slug are required"},
		{"unknown field node_id", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"` + nodeReady + `"}`, 400, "invalid request body"},
		{"unknown field", "/api/sites", `{"name":"Blog","slug":"blog","region":"eu"}`, 400, "invalid request body"},
		{"not JSON", "/api/sites", `name=Blog`, 400, "invalid request body"},
		{"wrong type", "/api/sites", `{"name":7,"slug":"blog"}`, 400, "invalid request body"},
		{"empty body", "/api/sites", ``, 400, "invalid request body"},
		{"environment without type", env, `{"name":"Staging","slug":"staging"}`, 400, "name, slug and type are required"},
		{"environment with an unknown field", env, `{"name":"S","slug":"s","type":"staging","node_id":"x"}`, 400, "invalid request body"},
		{"environment of an unknown site", "/api/sites/" + siteMissing + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging"}`, 404, "site not found"},
	}
	for _, mount := range hostMounts {
		for _, tt := range tests {
			t.Run(mount.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				h := newHost(t, hostNode{id: nodeSudo}) // the only candidate is not ready
				rec := serve(mount.build(h), withSession(newRequest("POST", tt.path, tt.body)))
				require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
				want := map[int]string{400: "bad_request", 404: "not_found"}[tt.wantStatus]
				require.Equal(t, map[string]string{"code": want, "message": tt.wantMsg}, flatBody(t, rec.Body.Bytes()))
				require.Zero(t, h.gate.chooses.Load(), "an invalid create reached the gate")
				require.Zero(t, h.prober.total(), "an invalid create caused a probe")
				require.Empty(t, h.enqueued())
			})
		}
	}
}

func TestHostRouterCreates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		nodes      []hostNode
		path       string
		body       string
		wantStatus int
		wantJob    string // 202
		wantMsg    string // 409
		wantRetry  string
		wantProbes int
	}{
		{"not ready: refused, nothing queued", []hostNode{{id: nodeSudo}}, "/api/sites", `{"name":"Blog","slug":"blog"}`,
			409, "", "node is not ready for site_create: not_ready: sudo_password_required", "", 1},
		{"ready: queued on it", []hostNode{{id: nodeReady}}, "/api/sites", `{"name":"Blog","slug":"blog"}`,
			202, "site_create " + nodeReady, "", "", 1},
		{"the first ready non-local node in store order", []hostNode{{id: nodeReady2, local: true}, {id: nodeSudo}, {id: nodeReady}},
			"/api/sites", `{"name":"Blog","slug":"blog"}`, 202, "site_create " + nodeReady, "", "", 2},
		{"none ready: every candidate's refusal", []hostNode{{id: nodeSudo}, {id: nodeAcquiring}},
			"/api/sites", `{"name":"Blog","slug":"blog"}`,
			409, "", "no node is ready for site_create: first candidate not_ready: sudo_password_required (2 candidates)", "10", 1},
		{"only a local node: no candidate", []hostNode{{id: nodeReady, local: true}}, "/api/sites", `{"name":"Blog","slug":"blog"}`,
			409, "", "no node is available for site_create", "", 0},
		{"environment on the site's ready node", nil, "/api/sites/" + siteOnReady + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging"}`, 202, "env_create " + nodeReady, "", "", 1},
		{"environment on the site's node that is not ready", nil, "/api/sites/" + siteOnSudo + "/environments",
			`{"name":"Staging","slug":"staging","type":"staging"}`,
			409, "", "node is not ready for env_create: not_ready: sudo_password_required", "", 1},
	}
	for _, mount := range hostMounts {
		for _, tt := range tests {
			t.Run(mount.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				h := newHost(t, tt.nodes...)
				rec := serve(mount.build(h), withSession(newRequest("POST", tt.path, tt.body)))
				require.Equal(t, tt.wantStatus, rec.Code, "body %s", rec.Body)
				require.Equal(t, int64(1), h.gate.chooses.Load())
				require.Equal(t, tt.wantProbes, h.prober.total(), "probes")
				if tt.wantStatus == http.StatusAccepted {
					// The host's handler decoded the body strictly again:
					// it got the bytes the client sent.
					require.Equal(t, []string{tt.wantJob}, h.enqueued())
					require.Equal(t, map[string]string{"job_id": jobID}, flatBody(t, rec.Body.Bytes()))
					return
				}
				require.Empty(t, h.enqueued(), "a refused create was queued")
				require.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
				require.Equal(t, map[string]string{"code": "node_not_ready", "message": tt.wantMsg}, flatBody(t, rec.Body.Bytes()))
			})
		}
	}
}

func TestHostRouterReadiness(t *testing.T) {
	t.Parallel()
	for _, mount := range hostMounts {
		t.Run(mount.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, hostNode{id: nodeSudo})
			srv := mount.build(h)
			get := func() readiness.Report {
				t.Helper()
				req := withSession(newRequest("GET", readinessPath(nodeSudo), ""))
				rec := serve(srv, req)
				require.Equal(t, http.StatusOK, rec.Code, "body %s", rec.Body)
				validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
				var r readiness.Report
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
				return r
			}
			require.Equal(t, readiness.CodeNodeNeverProbed, get().PrimaryReason)
			require.Zero(t, h.prober.total(), "reading a report probed")

			// A cross-site page riding the session cookie cannot start a probe.
			forged := withSession(newRequest("POST", refreshPath(nodeSudo), ""))
			forged.Header.Set("Sec-Fetch-Site", "cross-site")
			forged.Header.Set("Origin", "https://evil.example")
			rec := serve(srv, forged)
			require.Equal(t, http.StatusForbidden, rec.Code, "body %s", rec.Body)
			require.Equal(t, "forbidden", flatBody(t, rec.Body.Bytes())["code"])
			require.Zero(t, h.prober.total(), "a cross-site request probed")

			// The console's own refresh probes once.
			req := withSession(newRequest("POST", refreshPath(nodeSudo), ""))
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			rec = serve(srv, req)
			require.Equal(t, http.StatusOK, rec.Code, "body %s", rec.Body)
			validateResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			require.Equal(t, 1, h.prober.total())
			require.Equal(t, readiness.CodeSudoPasswordRequired, get().PrimaryReason, "the report does not show the refresh")
			require.Equal(t, 1, h.prober.total())

			for _, req := range []*http.Request{
				newRequest("GET", readinessPath(nodeMissing), ""),
				newRequest("POST", refreshPath(nodeMissing), ""),
			} {
				rec := serve(srv, withSession(req))
				require.Equal(t, http.StatusNotFound, rec.Code, "%s %s", req.Method, req.URL)
				require.Equal(t, "not_found", flatBody(t, rec.Body.Bytes())["code"])
			}
		})
	}
}

// TestHostRouterOtherRoutes: the host's other routes are untouched.
func TestHostRouterOtherRoutes(t *testing.T) {
	t.Parallel()
	for _, mount := range hostMounts {
		h := newHost(t, hostNode{id: nodeSudo})
		srv := mount.build(h)
		rec := serve(srv, newRequest("POST", "/api/login", ""))
		require.Equal(t, http.StatusNoContent, rec.Code, "%s: login", mount.name)
		rec = serve(srv, withSession(newRequest("GET", "/api/sites", "")))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "[]\n", rec.Body.String())
		rec = serve(srv, withSession(newRequest("POST", "/api/sites/", `{"name":"Blog","slug":"blog"}`)))
		require.Equal(t, http.StatusNotFound, rec.Code, "%s: POST /api/sites/", mount.name)
		require.Zero(t, h.gate.chooses.Load(), "%s: an unguarded route reached the gate", mount.name)
	}
}
