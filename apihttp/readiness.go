package apihttp

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/pressluft/runtime-readiness/preflight"
)

// HandlerConfig configures the readiness handlers. They copy it; changing
// it afterwards has no effect.
type HandlerConfig struct {
	// Gate reports and refreshes readiness. Required: the constructors
	// panic without it.
	Gate Reporter
	// NodeID returns the node id of a request; nil means
	// r.PathValue("id"), for a host that mounts the handlers on patterns
	// such as "GET /nodes/{id}/readiness". An empty id is 404.
	NodeID func(r *http.Request) string
	// CrossOrigin protects the refresh handler, which changes state (it
	// starts a probe), from cross-origin browser requests: a host whose
	// session is a cookie would otherwise let any page trigger probes.
	// nil means http.NewCrossOriginProtection() (Sec-Fetch-Site and
	// Origin checks, no trusted origins); refused requests are 403
	// forbidden in the error shape. Requests without browser headers
	// (curl, Go clients) pass.
	CrossOrigin *http.CrossOriginProtection
	// Error writes errors (404, 403, 405, 500); nil means WriteError.
	Error ErrorFunc
	// Logger receives internal failures; nil means no logging.
	Logger *slog.Logger
}

func (c HandlerConfig) withDefaults(who string) HandlerConfig {
	if c.Gate == nil {
		panic("apihttp: " + who + ": HandlerConfig.Gate is required")
	}
	if c.NodeID == nil {
		c.NodeID = func(r *http.Request) string { return r.PathValue("id") }
	}
	if c.CrossOrigin == nil {
		c.CrossOrigin = http.NewCrossOriginProtection()
	}
	if c.Error == nil {
		c.Error = WriteError
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// NewReportHandler returns the handler of a node's readiness report: GET
// (and HEAD) answer 200 with the node's last readiness.Report, never
// probing (Gate.Report: unknown node_never_probed if it was never
// checked, readiness_stale once old, pending while acquiring); an unknown
// node is 404 not_found; other methods are 405 with Allow. Mount it
// where the host wants it, inside its auth, e.g.
// api.Handle("GET /nodes/{id}/readiness", h).
func NewReportHandler(cfg HandlerConfig) http.Handler {
	c := cfg.withDefaults("NewReportHandler")
	return &reportHandler{cfg: c}
}

type reportHandler struct{ cfg HandlerConfig }

func (h *reportHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, h.cfg.Error, "GET, HEAD")
		return
	}
	id := h.cfg.NodeID(r)
	if id == "" {
		h.cfg.Error(w, http.StatusNotFound, CodeNotFound, "node not found")
		return
	}
	rep, err := h.cfg.Gate.Report(r.Context(), id)
	if err != nil {
		nodeError(w, r, &h.cfg, "node report", err, id)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// NewRefreshHandler returns the handler that probes a node now: POST
// answers 200 with the new readiness.Report (Gate.Refresh: one SSH round
// trip bounded by the gate's probe deadline, shared with concurrent
// refreshes; the request's context bounds the wait too). An unknown node
// is 404, a cross-origin browser request 403 forbidden (see
// HandlerConfig.CrossOrigin), other methods 405 with Allow. Mount it
// inside the host's auth, e.g.
// api.Handle("POST /nodes/{id}/readiness/refresh", h).
func NewRefreshHandler(cfg HandlerConfig) http.Handler {
	c := cfg.withDefaults("NewRefreshHandler")
	return &refreshHandler{cfg: c}
}

type refreshHandler struct{ cfg HandlerConfig }

func (h *refreshHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, h.cfg.Error, "POST")
		return
	}
	if err := h.cfg.CrossOrigin.Check(r); err != nil {
		h.cfg.Error(w, http.StatusForbidden, CodeForbidden, "cross-origin request refused")
		return
	}
	id := h.cfg.NodeID(r)
	if id == "" {
		h.cfg.Error(w, http.StatusNotFound, CodeNotFound, "node not found")
		return
	}
	rep, err := h.cfg.Gate.Refresh(r.Context(), id)
	if err != nil {
		nodeError(w, r, &h.cfg, "refresh node", err, id)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func methodNotAllowed(w http.ResponseWriter, write ErrorFunc, allow string) {
	w.Header().Set("Allow", allow)
	write(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed")
}

func nodeError(w http.ResponseWriter, r *http.Request, c *HandlerConfig, what string, err error, id string) {
	if errors.Is(err, preflight.ErrNodeNotFound) {
		c.Error(w, http.StatusNotFound, CodeNotFound, "node not found")
		return
	}
	c.Logger.ErrorContext(r.Context(), "apihttp: "+what, "node", id, "error", err)
	c.Error(w, http.StatusInternalServerError, CodeInternalError, "internal error")
}
