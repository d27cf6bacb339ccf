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
	"github.com/pressluft/runtime-readiness/readiness"
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
	Summaries(nodes []preflight.Node) []preflight.Summary
	Reports(nodes []preflight.Node) []readiness.Report
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

// get is GET /nodes/{id}.
func (h *nodesAPI) get(w http.ResponseWriter, r *http.Request) {
	n, err := h.nodes.nodeRow(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, preflight.ErrNodeNotFound):
		apihttp.WriteError(w, http.StatusNotFound, apihttp.CodeNotFound, "node not found")
	case err != nil:
		internalError(h.log, w, r, err)
	default:
		writeJSON(w, http.StatusOK, h.summary(n))
	}
}

// summary is one node's entry, as in the list: its record, and its
// readiness from the gate for that record, without probing or looking
// the node up again.
func (h *nodesAPI) summary(n NodeRow) contracts.NodeSummary {
	pn := []preflight.Node{n.preflight()}
	return nodeSummary(n, pn[0], h.gate.Summaries(pn)[0], h.gate.Reports(pn)[0].Reasons)
}

// nodeSummary is a node's JSON: its record (with the address, port and
// user it is dialed at), its readiness summary and, unless it is ready,
// every reason of its report.
func nodeSummary(n NodeRow, pn preflight.Node, rs preflight.Summary, reasons []readiness.Reason) contracts.NodeSummary {
	port := pn.Port
	if port == 0 {
		port = 22
	}
	s := contracts.NodeSummary{
		Id: n.ID, Name: n.Name, Lifecycle: n.Status, IsLocal: n.IsLocal,
		State:     contracts.ReadinessState(rs.State),
		Transport: contracts.NodeSummaryTransportSsh,
		Summary:   &rs.Summary, Retryable: &rs.Retryable,
		LastCheckedAt: rs.LastCheckedAt, LastTransitionAt: rs.LastTransitionAt,
		Host: &pn.Host, Port: &port, User: &pn.User,
	}
	if rs.PrimaryReason != "" {
		code := contracts.ReasonCode(rs.PrimaryReason)
		s.PrimaryReason, s.Message, s.Remediation = &code, &rs.Message, &rs.Remediation
	}
	if rs.PreviousState != "" {
		prev := contracts.ReadinessState(rs.PreviousState)
		s.PreviousState = &prev
	}
	if len(reasons) > 0 { // a ready node lists its warnings
		s.Reasons = &reasons
	}
	return s
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
