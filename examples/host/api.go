package host

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/pressluft/runtime-readiness/preflight" // readiness glue
)

// Config configures a Server.
type Config struct {
	// Password is what POST /api/login takes for a session.
	Password string
	// KnownHostsFile keeps node host keys across restarts (learned on
	// first contact). Required.
	KnownHostsFile string
	// Run does a job's work; nil succeeds at once.
	Run    func(ctx context.Context, j Job) error
	Logger *slog.Logger
	// EditGate adjusts the readiness gate's config; the host's tests
	// plug in preflighttest's prober and credentials there.
	EditGate func(*preflight.Config) // readiness glue
}

// Server is the host's HTTP server and services.
type Server struct {
	Store  *Store
	Sites  *SiteService
	Envs   *EnvironmentService
	Worker *Worker

	cfg       Config
	readiness *readinessGlue
	handler   http.Handler
}

const sessionCookie = "pressluft_session"
const sessionValue = "s3ss10n" // one session; a real host keeps a table

// New builds the server over store. The caller must call Close.
func New(store *Store, cfg Config) (*Server, error) {
	rg, err := newReadiness(store, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{Store: store, cfg: cfg, readiness: rg}
	s.Sites = &SiteService{Store: store, Readiness: rg.checker("site_create")}
	s.Envs = &EnvironmentService{Store: store, Readiness: rg.checker("env_create")}
	s.Worker = &Worker{Store: store, Run: cfg.Run, JobErrorCode: jobErrorNodeNotReady,
		Prechecks: map[string]ReadinessChecker{"site_create": s.Sites.Readiness, "env_create": s.Envs.Readiness}}

	api := http.NewServeMux()
	api.HandleFunc("POST /login", s.login)
	api.HandleFunc("GET /nodes", s.listNodes)
	api.HandleFunc("POST /nodes", s.createNode)
	api.HandleFunc("POST /sites", s.createSite)
	api.HandleFunc("POST /sites/{id}/environments", s.createEnvironment)
	api.HandleFunc("GET /jobs", s.listJobs)
	rg.mount(api)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", s.auth(api)))
	s.handler = mux
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close releases the server's resources.
func (s *Server) Close() error { return s.readiness.close() }

// auth lets only /login through without a session cookie.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			c, err := r.Cookie(sessionCookie)
			if err != nil || c.Value != sessionValue {
				writeError(w, http.StatusUnauthorized, "unauthorized", "authentication required")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// writeError is the host's one error helper: {"code","message"}.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: an unknown field is 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "invalid request body")
		return false
	}
	return true
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	if s.cfg.Password == "" || req.Password != s.cfg.Password {
		writeError(w, http.StatusUnauthorized, "unauthorized", "wrong password")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sessionValue, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	nodes, err := s.Store.Nodes(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", "internal error")
		return
	}
	writeJSON(w, http.StatusOK, nodes)
}

func (s *Server) createNode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string `json:"name"`
		ProviderID string `json:"provider_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || req.ProviderID == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "name and provider_id are required")
		return
	}
	// Acquisition: stored active with the placeholder host until the
	// provider hands the server over.
	n := s.Store.AddNode(Node{Name: req.Name, ProviderID: req.ProviderID, Hostname: "pending.provider", Status: "active", SSHPort: 22, SSHUser: "pressluft"})
	writeJSON(w, http.StatusAccepted, map[string]string{"node_id": n.ID})
}

func (s *Server) createSite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		Slug string `json:"slug"`
	}
	if !decode(w, r, &req) {
		return
	}
	j, err := s.Sites.Create(r.Context(), req.Name, req.Slug)
	s.created(w, j, err)
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name                string `json:"name"`
		Slug                string `json:"slug"`
		Type                string `json:"type"`
		SourceEnvironmentID string `json:"source_environment_id"`
		PromotionPreset     string `json:"promotion_preset"`
	}
	if !decode(w, r, &req) {
		return
	}
	j, err := s.Envs.Create(r.Context(), r.PathValue("id"), req.Name, req.Slug, req.Type)
	s.created(w, j, err)
}

// created answers a create: 202 with the job, or the service's error.
func (s *Server) created(w http.ResponseWriter, j Job, err error) {
	var nr *NotReadyError
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.ID})
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "not found")
	case errors.As(err, &nr):
		writeError(w, http.StatusConflict, "node_not_ready", nr.Error())
	default:
		if s.cfg.Logger != nil {
			s.cfg.Logger.Error("host: create", "error", err)
		}
		writeError(w, http.StatusInternalServerError, "internal_error", "internal error")
	}
}

func (s *Server) listJobs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Store.Jobs())
}
