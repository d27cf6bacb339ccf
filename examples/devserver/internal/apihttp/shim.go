// Package apihttp is a TEMPORARY stand-in for the SDK package
// github.com/pressluft/runtime-readiness/apihttp, written against the
// Issue 3 contract in docs/dev/brief-common.md so the devserver compiles
// and its tests run until the real package lands. Delete it then and
// switch the imports.
package apihttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Gate is what the HTTP layer needs from the gate.
type Gate interface {
	Check(ctx context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error)
	Report(ctx context.Context, nodeID string) (readiness.Report, error)
	Refresh(ctx context.Context, nodeID string) (readiness.Report, error)
	Status(nodeID string) (preflight.NodeStatus, bool)
}

// Sites resolves the node of an existing site.
type Sites interface {
	SiteNode(ctx context.Context, siteID string) (nodeID string, err error)
}

// NodeCreator starts provider acquisition.
type NodeCreator interface {
	CreateNode(ctx context.Context, name, provider string) (nodeID, jobID string, err error)
}

// ErrNotFound marks an unknown site.
var ErrNotFound = errors.New("apihttp: not found")

// ErrInvalid marks a NodeCreator error that is the client's fault (400).
var ErrInvalid = errors.New("apihttp: invalid input")

// Config configures Guard and NewNodesHandler.
type Config struct {
	Gate         Gate
	Nodes        preflight.NodeSource
	Sites        Sites
	DefaultNode  func(ctx context.Context) (string, error)
	Creator      NodeCreator
	MaxBodyBytes int64
	OnDecision   func(r *http.Request, d preflight.Decision)
	Logger       *slog.Logger
}

type decisionKey struct{}

// DecisionFrom returns the decision Guard put in the request context.
func DecisionFrom(ctx context.Context) (preflight.Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(preflight.Decision)
	return d, ok
}

// WriteError writes {code, message}.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (c Config) limit() int64 {
	if c.MaxBodyBytes <= 0 {
		return 1 << 20
	}
	return c.MaxBodyBytes
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "request body too large")
		} else {
			WriteError(w, http.StatusBadRequest, "bad_request", "could not read body")
		}
		return nil, false
	}
	return body, true
}

// Guard guards POST /api/sites and POST /api/sites/{id}/environments.
func Guard(cfg Config) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			op, siteID, ok := guarded(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			body, ok := readBody(w, r, cfg.limit())
			if !ok {
				return
			}
			var in struct {
				NodeID string `json:"node_id"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				WriteError(w, http.StatusBadRequest, "bad_request", "malformed JSON body")
				return
			}
			ctx := r.Context()
			nodeID := in.NodeID
			var err error
			switch {
			case nodeID != "":
			case siteID != "":
				nodeID, err = cfg.Sites.SiteNode(ctx, siteID)
				if errors.Is(err, ErrNotFound) {
					WriteError(w, http.StatusNotFound, "not_found", "site not found")
					return
				}
			case cfg.DefaultNode == nil:
				WriteError(w, http.StatusBadRequest, "bad_request", "node_id is required")
				return
			default:
				nodeID, err = cfg.DefaultNode(ctx)
			}
			if err != nil {
				WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
				return
			}
			d, err := cfg.Gate.Check(ctx, op, nodeID)
			if errors.Is(err, preflight.ErrNodeNotFound) {
				WriteError(w, http.StatusNotFound, "not_found", "node not found")
				return
			}
			if err != nil {
				WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
				return
			}
			if cfg.OnDecision != nil {
				cfg.OnDecision(r, d)
			}
			if !d.Admit {
				if d.Report.Retryable() {
					w.Header().Set("Retry-After", "10")
				}
				writeJSON(w, http.StatusConflict, map[string]any{
					"code": "node_not_ready", "message": d.Report.Summary(), "node_id": nodeID, "readiness": d.Report,
				})
				return
			}
			r = r.WithContext(context.WithValue(ctx, decisionKey{}, d))
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

func guarded(r *http.Request) (readiness.Operation, string, bool) {
	if r.Method != http.MethodPost {
		return "", "", false
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	if p == "/api/sites" {
		return readiness.OperationSiteCreate, "", true
	}
	rest, ok := strings.CutPrefix(p, "/api/sites/")
	if !ok {
		return "", "", false
	}
	id, tail, _ := strings.Cut(rest, "/")
	if tail == "environments" && id != "" {
		return readiness.OperationEnvCreate, id, true
	}
	return "", "", false
}

// NewNodesHandler serves the node readiness routes.
func NewNodesHandler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	node := func(w http.ResponseWriter, r *http.Request, f func(preflight.Node)) {
		n, err := cfg.Nodes.Node(r.Context(), r.PathValue("id"))
		if errors.Is(err, preflight.ErrNodeNotFound) {
			WriteError(w, http.StatusNotFound, "not_found", "node not found")
			return
		}
		if err != nil {
			WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
			return
		}
		f(n)
	}
	summary := func(ctx context.Context, n preflight.Node) map[string]any {
		rep, _ := cfg.Gate.Report(ctx, n.ID)
		return map[string]any{"id": n.ID, "name": n.Name, "state": rep.State, "primary_reason": rep.PrimaryReason}
	}
	mux.HandleFunc("GET /api/nodes", func(w http.ResponseWriter, r *http.Request) {
		ns, err := cfg.Nodes.Nodes(r.Context())
		if err != nil {
			WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
			return
		}
		out := []map[string]any{}
		for _, n := range ns {
			out = append(out, summary(r.Context(), n))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/nodes/{id}", func(w http.ResponseWriter, r *http.Request) {
		node(w, r, func(n preflight.Node) { writeJSON(w, http.StatusOK, summary(r.Context(), n)) })
	})
	mux.HandleFunc("GET /api/nodes/{id}/readiness", func(w http.ResponseWriter, r *http.Request) {
		node(w, r, func(n preflight.Node) {
			rep, _ := cfg.Gate.Report(r.Context(), n.ID)
			writeJSON(w, http.StatusOK, rep)
		})
	})
	mux.HandleFunc("POST /api/nodes/{id}/readiness/refresh", func(w http.ResponseWriter, r *http.Request) {
		node(w, r, func(n preflight.Node) {
			rep, err := cfg.Gate.Refresh(r.Context(), n.ID)
			if err != nil {
				WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
				return
			}
			writeJSON(w, http.StatusOK, rep)
		})
	})
	mux.HandleFunc("POST /api/nodes", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Creator == nil {
			WriteError(w, http.StatusNotImplemented, "not_implemented", "no provider")
			return
		}
		body, ok := readBody(w, r, cfg.limit())
		if !ok {
			return
		}
		var in struct{ Name, Provider string }
		if err := json.Unmarshal(body, &in); err != nil || in.Name == "" {
			WriteError(w, http.StatusBadRequest, "bad_request", "malformed JSON body")
			return
		}
		nid, jid, err := cfg.Creator.CreateNode(r.Context(), in.Name, in.Provider)
		if errors.Is(err, ErrInvalid) {
			WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		if err != nil {
			WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"node_id": nid, "job_id": jid})
	})
	return mux
}
