package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
)

// maxNodeNameLen is the longest node name POST /nodes accepts, in
// characters.
const maxNodeNameLen = 100

// nodeRecords is what the node routes read of the store.
type nodeRecords interface {
	nodeRows(ctx context.Context) ([]NodeRow, error)
	nodeRow(ctx context.Context, id string) (NodeRow, error)
}

// nodeGate is what the node routes need of *preflight.Gate.
type nodeGate interface {
	apihttp.Reporter
	Summary(ctx context.Context, nodeID string) (preflight.Summary, error)
}

// nodeCreator starts a provider acquisition; *provider implements it.
type nodeCreator interface {
	CreateNode(ctx context.Context, name, provider string) (nodeID, jobID string, err error)
}

// errBadNodeRequest is matched by a nodeCreator's error for a request it
// does not accept (an unknown provider): 400 with the error's text, which
// must therefore be operator-safe.
var errBadNodeRequest = errors.New("devserver: bad node request")

// nodesAPI is the host's node routes: the node list and one node, built
// from the node records and the gate's readiness summary; provider
// acquisition; and the SDK's readiness report and refresh handlers.
type nodesAPI struct {
	nodes nodeRecords
	gate  nodeGate
	// creator nil answers POST /nodes 501 not_implemented.
	creator nodeCreator
	log     *slog.Logger
}

func (h *nodesAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /nodes", h.list)
	mux.HandleFunc("POST /nodes", h.create)
	mux.HandleFunc("GET /nodes/{id}", h.get)
	cfg := apihttp.HandlerConfig{Gate: h.gate, Logger: h.log}
	mux.Handle("GET /nodes/{id}/readiness", apihttp.NewReportHandler(cfg))
	mux.Handle("POST /nodes/{id}/readiness/refresh", apihttp.NewRefreshHandler(cfg))
}

// list is GET /nodes: every node in store order with its last known
// readiness. It never probes.
func (h *nodesAPI) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rows, err := h.nodes.nodeRows(ctx)
	if err != nil {
		internalError(h.log, w, r, err)
		return
	}
	out := make([]contracts.NodeSummary, 0, len(rows))
	for _, n := range rows {
		s, err := h.summary(ctx, n)
		if errors.Is(err, preflight.ErrNodeNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			internalError(h.log, w, r, err)
			return
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, out)
}

// get is GET /nodes/{id}.
func (h *nodesAPI) get(w http.ResponseWriter, r *http.Request) {
	n, err := h.nodes.nodeRow(r.Context(), r.PathValue("id"))
	var s contracts.NodeSummary
	if err == nil {
		s, err = h.summary(r.Context(), n)
	}
	switch {
	case errors.Is(err, preflight.ErrNodeNotFound):
		apihttp.WriteError(w, http.StatusNotFound, apihttp.CodeNotFound, "node not found")
	case err != nil:
		internalError(h.log, w, r, err)
	default:
		writeJSON(w, http.StatusOK, s)
	}
}

// summary is a node's entry in the node list: its record, and its
// readiness from the gate without probing.
func (h *nodesAPI) summary(ctx context.Context, n NodeRow) (contracts.NodeSummary, error) {
	rs, err := h.gate.Summary(ctx, n.ID)
	if err != nil {
		return contracts.NodeSummary{}, err
	}
	s := contracts.NodeSummary{
		Id: n.ID, Name: n.Name, Lifecycle: n.Status, IsLocal: n.IsLocal,
		State:     contracts.ReadinessState(rs.State),
		Transport: contracts.NodeSummaryTransportSsh,
		Summary:   &rs.Summary, Retryable: &rs.Retryable,
		LastCheckedAt: rs.LastCheckedAt, LastTransitionAt: rs.LastTransitionAt,
	}
	if rs.PrimaryReason != "" {
		code := contracts.ReasonCode(rs.PrimaryReason)
		s.PrimaryReason, s.Message, s.Remediation = &code, &rs.Message, &rs.Remediation
	}
	if rs.PreviousState != "" {
		prev := contracts.ReadinessState(rs.PreviousState)
		s.PreviousState = &prev
	}
	return s, nil
}

type createNodeRequest struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
}

// create is POST /nodes: it starts a provider acquisition and answers
// 202 {node_id, job_id} at once. The node is recorded as acquiring, so its
// readiness is pending until the provider hands it over and a probe
// passes.
func (h *nodesAPI) create(w http.ResponseWriter, r *http.Request) {
	if h.creator == nil {
		apihttp.WriteError(w, http.StatusNotImplemented, apihttp.CodeNotImplemented, "node acquisition is not configured on this server")
		return
	}
	var in createNodeRequest
	if !decode(w, r, &in) {
		return
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		badRequest(w, "name is required")
		return
	case !displayable(name):
		badRequest(w, "name must be visible, without control or bidi override characters")
		return
	case utf8.RuneCountInString(name) > maxNodeNameLen:
		badRequest(w, "name must be at most 100 characters")
		return
	}
	nodeID, jobID, err := h.creator.CreateNode(r.Context(), name, in.Provider)
	switch {
	case errors.Is(err, errBadNodeRequest):
		badRequest(w, err.Error())
	case err != nil:
		internalError(h.log, w, r, err)
	default:
		w.Header().Set("Location", "/api/nodes/"+url.PathEscape(nodeID))
		writeJSON(w, http.StatusAccepted, contracts.NodeAccepted{NodeId: nodeID, JobId: jobID})
	}
}
