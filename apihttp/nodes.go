package apihttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// MaxNodeNameLen is the longest node name POST /api/nodes accepts, in
// characters.
const MaxNodeNameLen = 100

// NewNodesHandler returns the handler of the node endpoints, matched on
// their full paths:
//
//	GET  /api/nodes                          every node with its readiness summary
//	POST /api/nodes                          start provider acquisition: 202 {node_id, job_id}
//	GET  /api/nodes/{id}                     one node's summary
//	GET  /api/nodes/{id}/readiness           the node's last report (never probes)
//	POST /api/nodes/{id}/readiness/refresh   probe now, return the new report
//
// Mount it on both "/api/nodes" and "/api/nodes/". Any other path or
// method under it is answered 404 not_found or 405 method_not_allowed in
// the error shape. It panics if cfg.Gate or cfg.Nodes is nil.
func NewNodesHandler(cfg Config) http.Handler {
	c := cfg.withDefaults("NewNodesHandler")
	if c.Nodes == nil {
		panic("apihttp: NewNodesHandler: Config.Nodes is required")
	}
	h := &nodesHandler{cfg: c, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/nodes", h.list)
	h.mux.HandleFunc("POST /api/nodes", h.create)
	h.mux.HandleFunc("GET /api/nodes/{id}", h.get)
	h.mux.HandleFunc("GET /api/nodes/{id}/readiness", h.readiness)
	h.mux.HandleFunc("POST /api/nodes/{id}/readiness/refresh", h.refresh)
	return h
}

type nodesHandler struct {
	cfg Config
	mux *http.ServeMux
}

func (h *nodesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fallback, pattern := h.mux.Handler(r)
	if pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// No route: let the mux say whether it is a 405 (and which methods
	// are allowed), then answer in the error shape.
	rec := &headerRecorder{header: http.Header{}}
	fallback.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed")
	default:
		WriteError(w, http.StatusNotFound, CodeNotFound, "not found")
	}
}

// headerRecorder keeps a status and headers and drops the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) WriteHeader(s int) {
	if h.status == 0 {
		h.status = s
	}
}
func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (h *nodesHandler) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	nodes, err := h.cfg.Nodes.Nodes(ctx)
	if err != nil {
		h.internal(w, r, "list nodes", err)
		return
	}
	out := make([]contracts.NodeSummary, 0, len(nodes))
	for _, n := range nodes {
		s, err := h.summary(ctx, n)
		if errors.Is(err, preflight.ErrNodeNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			h.internal(w, r, "node report", err, "node", n.ID)
			return
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *nodesHandler) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, err := h.cfg.Nodes.Node(r.Context(), id)
	if err == nil {
		n.ID = id
		var s contracts.NodeSummary
		if s, err = h.summary(r.Context(), n); err == nil {
			writeJSON(w, http.StatusOK, s)
			return
		}
	}
	h.nodeError(w, r, "node", err, id)
}

func (h *nodesHandler) readiness(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.cfg.Gate.Report(r.Context(), id)
	if err != nil {
		h.nodeError(w, r, "node report", err, id)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *nodesHandler) refresh(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.cfg.Gate.Refresh(r.Context(), id)
	if err != nil {
		h.nodeError(w, r, "refresh node", err, id)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *nodesHandler) create(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Creator == nil {
		WriteError(w, http.StatusNotImplemented, CodeNotImplemented, "node acquisition is not configured on this server")
		return
	}
	body, err := readBody(r, h.cfg.MaxBodyBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			WriteError(w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, tooLargeMessage(h.cfg.MaxBodyBytes))
		} else {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "could not read the request body")
		}
		return
	}
	name, provider, msg := parseCreateNode(body)
	if msg != "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, msg)
		return
	}
	nodeID, jobID, err := h.cfg.Creator.CreateNode(r.Context(), name, provider)
	if errors.Is(err, ErrInvalid) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if err != nil {
		h.internal(w, r, "create node", err)
		return
	}
	w.Header().Set("Location", "/api/nodes/"+url.PathEscape(nodeID))
	writeJSON(w, http.StatusAccepted, contracts.NodeAccepted{NodeId: nodeID, JobId: jobID})
}

// parseCreateNode validates a POST /api/nodes body; msg is a client-safe
// reason when it is not acceptable. The name is trimmed.
func parseCreateNode(body []byte) (name, provider, msg string) {
	if !isObject(body) {
		return "", "", "request body must be a JSON object"
	}
	var req struct {
		Name     json.RawMessage `json:"name"`
		Provider json.RawMessage `json:"provider"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", "", "malformed JSON body"
	}
	name, ok := jsonString(req.Name)
	if !ok {
		return "", "", "name must be a string"
	}
	if provider, ok = jsonString(req.Provider); !ok {
		return "", "", "provider must be a string"
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", "", "name is required"
	case utf8.RuneCountInString(name) > MaxNodeNameLen:
		return "", "", "name must be at most 100 characters"
	}
	return name, provider, ""
}

// jsonString decodes an optional JSON string: absent or null is "".
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	if raw[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// summary is a node's row in the nodes list: its record and its last
// known readiness, without probing.
func (h *nodesHandler) summary(ctx context.Context, n preflight.Node) (contracts.NodeSummary, error) {
	rep, err := h.cfg.Gate.Report(ctx, n.ID)
	if err != nil {
		return contracts.NodeSummary{}, err
	}
	lifecycle := string(n.Lifecycle)
	if lifecycle == "" {
		lifecycle = string(readiness.LifecycleActive)
	}
	s := contracts.NodeSummary{
		Id:        n.ID,
		Name:      n.Name,
		Lifecycle: lifecycle,
		IsLocal:   n.IsLocal,
		State:     contracts.ReadinessState(rep.State),
		Transport: contracts.NodeSummaryTransportSsh,
	}
	summary, retryable := rep.Summary(), rep.Retryable()
	s.Summary, s.Retryable = &summary, &retryable
	if rep.PrimaryReason != "" {
		code := contracts.ReasonCode(rep.PrimaryReason)
		s.PrimaryReason = &code
		for i := range rep.Reasons {
			if rep.Reasons[i].Code == rep.PrimaryReason {
				s.Message, s.Remediation = &rep.Reasons[i].Message, &rep.Reasons[i].Remediation
				break
			}
		}
	}
	if st, ok := h.cfg.Gate.Status(n.ID); ok {
		s.LastCheckedAt = timePtr(st.LastCheckedAt)
		s.LastTransitionAt = timePtr(st.LastTransitionAt)
		if st.PreviousState != "" && !st.LastTransitionAt.IsZero() {
			prev := contracts.ReadinessState(st.PreviousState)
			s.PreviousState = &prev
		}
	} else {
		s.LastCheckedAt = timePtr(rep.CheckedAt)
	}
	return s, nil
}

func (h *nodesHandler) nodeError(w http.ResponseWriter, r *http.Request, what string, err error, id string) {
	if errors.Is(err, preflight.ErrNodeNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "node not found")
		return
	}
	h.internal(w, r, what, err, "node", id)
}

func (h *nodesHandler) internal(w http.ResponseWriter, r *http.Request, what string, err error, attrs ...any) {
	h.cfg.Logger.ErrorContext(r.Context(), "apihttp: "+what, append(attrs, "error", err)...)
	WriteError(w, http.StatusInternalServerError, CodeInternalError, "internal error")
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
