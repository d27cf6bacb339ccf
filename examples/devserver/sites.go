package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/preflight"
)

// maxBody bounds the host handlers' request bodies (the Guard applies the
// same limit before them on the two guarded routes).
const maxBody = 1 << 20

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// hostAPI holds the host's own routes: the create flows (behind the
// apihttp Guard) and the read routes for sites and jobs.
type hostAPI struct {
	store *Store
	// defaultNode is the node of POST /api/sites without node_id.
	defaultNode func(r *http.Request) (string, error)
	// enqueued wakes the worker.
	enqueued func()
	log      *slog.Logger
}

func (h *hostAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/sites", h.createSite)
	mux.HandleFunc("POST /api/sites/{id}/environments", h.createEnvironment)
	mux.HandleFunc("GET /api/sites", h.listSites)
	mux.HandleFunc("GET /api/sites/{id}", h.getSite)
	mux.HandleFunc("GET /api/sites/{id}/environments", h.listEnvironments)
	mux.HandleFunc("GET /api/jobs", h.listJobs)
	mux.HandleFunc("GET /api/jobs/{id}", h.getJob)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, msg string) {
	apihttp.WriteError(w, http.StatusBadRequest, "bad_request", msg)
}

// decode reads a JSON object body of at most maxBody bytes into v,
// answering 413 or 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apihttp.WriteError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "request body exceeds "+strconv.Itoa(maxBody)+" bytes")
		} else {
			badRequest(w, "could not read the request body")
		}
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		badRequest(w, "malformed JSON body")
		return false
	}
	return true
}

// internalError logs err and answers a generic 500.
func (h *hostAPI) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("devserver: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	apihttp.WriteError(w, http.StatusInternalServerError, "internal_error", "internal error")
}

func validName(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 100 && strings.TrimSpace(s) != ""
}

type siteRequest struct {
	Name   string `json:"name"`
	Slug   string `json:"slug"`
	NodeID string `json:"node_id"`
}

// createSite persists a site with its production environment and
// enqueues site_create, in one transaction: 202 {job_id}.
func (h *hostAPI) createSite(w http.ResponseWriter, r *http.Request) {
	var in siteRequest
	if !decode(w, r, &in) {
		return
	}
	if !validName(in.Name) {
		badRequest(w, "name must be 1-100 characters")
		return
	}
	if !slugRE.MatchString(in.Slug) {
		badRequest(w, "slug must match ^[a-z0-9][a-z0-9-]{0,62}$")
		return
	}
	nodeID := in.NodeID
	if nodeID == "" {
		var err error
		nodeID, err = h.defaultNode(r)
		if errors.Is(err, errNotFound) {
			badRequest(w, "node_id is required: there is no default node")
			return
		}
		if err != nil {
			h.internalError(w, r, err)
			return
		}
	}
	if !h.nodeExists(w, r, nodeID) {
		return
	}
	_, jobID, err := h.store.createSite(r.Context(), siteCreate{Name: in.Name, Slug: in.Slug, NodeID: nodeID})
	h.created(w, r, jobID, err)
}

type envRequest struct {
	Name                string `json:"name"`
	Slug                string `json:"slug"`
	Type                string `json:"type"`
	SourceEnvironmentID string `json:"source_environment_id"`
	PromotionPreset     string `json:"promotion_preset"`
	NodeID              string `json:"node_id"`
}

// createEnvironment persists an environment of an existing site and
// enqueues env_create, in one transaction: 202 {job_id}.
func (h *hostAPI) createEnvironment(w http.ResponseWriter, r *http.Request) {
	var in envRequest
	if !decode(w, r, &in) {
		return
	}
	switch {
	case !validName(in.Name):
		badRequest(w, "name must be 1-100 characters")
		return
	case !slugRE.MatchString(in.Slug):
		badRequest(w, "slug must match ^[a-z0-9][a-z0-9-]{0,62}$")
		return
	case in.Type != "production" && in.Type != "staging" && in.Type != "clone":
		badRequest(w, "type must be production, staging or clone")
		return
	case in.Type == "clone" && in.SourceEnvironmentID == "":
		badRequest(w, "a clone needs source_environment_id")
		return
	case in.PromotionPreset != "content-protect" && in.PromotionPreset != "commerce-protect":
		badRequest(w, "promotion_preset must be content-protect or commerce-protect")
		return
	}
	if in.NodeID != "" && !h.nodeExists(w, r, in.NodeID) {
		return
	}
	jobID, err := h.store.createEnvironment(r.Context(), envCreate{
		SiteID: r.PathValue("id"), Name: in.Name, Slug: in.Slug, Type: in.Type,
		SourceEnvironmentID: in.SourceEnvironmentID, PromotionPreset: in.PromotionPreset, NodeID: in.NodeID,
	})
	h.created(w, r, jobID, err)
}

func (h *hostAPI) nodeExists(w http.ResponseWriter, r *http.Request, id string) bool {
	_, err := h.store.nodeRow(r.Context(), id)
	switch {
	case errors.Is(err, preflight.ErrNodeNotFound):
		apihttp.WriteError(w, http.StatusNotFound, "not_found", "node not found")
		return false
	case err != nil:
		h.internalError(w, r, err)
		return false
	}
	return true
}

// created answers a create: 202 {job_id}, or the error's status.
func (h *hostAPI) created(w http.ResponseWriter, r *http.Request, jobID string, err error) {
	switch {
	case errors.Is(err, errConflict):
		apihttp.WriteError(w, http.StatusConflict, "conflict", conflictMessage(err))
	case errors.Is(err, errNotFound):
		apihttp.WriteError(w, http.StatusNotFound, "not_found", "site or source environment not found")
	case err != nil:
		h.internalError(w, r, err)
	default:
		h.enqueued()
		writeJSON(w, http.StatusAccepted, map[string]string{"job_id": jobID})
	}
}

// conflictMessage is the store's conflict text without its package prefix
// (it names only the caller's own slug).
func conflictMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "conflict: "); i >= 0 {
		return msg[i+len("conflict: "):]
	}
	return "conflict"
}

func (h *hostAPI) listSites(w http.ResponseWriter, r *http.Request) {
	sites, err := h.store.sites(r.Context())
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sites)
}

func (h *hostAPI) getSite(w http.ResponseWriter, r *http.Request) {
	site, err := h.store.site(r.Context(), r.PathValue("id"))
	if h.lookupFailed(w, r, "site", err) {
		return
	}
	writeJSON(w, http.StatusOK, site)
}

func (h *hostAPI) listEnvironments(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_, err := h.store.site(r.Context(), id)
	if h.lookupFailed(w, r, "site", err) {
		return
	}
	envs, err := h.store.environments(r.Context(), id)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, envs)
}

// listJobs lists jobs newest first; ?status= filters, ?limit= (1-1000,
// default 100) bounds.
func (h *hostAPI) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			badRequest(w, "limit must be 1-1000")
			return
		}
		limit = n
	}
	status := q.Get("status")
	switch status {
	case "", jobQueued, jobRunning, jobSucceeded, jobFailed, jobCancelled:
	default:
		badRequest(w, "status must be queued, running, succeeded, failed or cancelled")
		return
	}
	jobs, err := h.store.jobs(r.Context(), status, limit)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobs)
}

func (h *hostAPI) getJob(w http.ResponseWriter, r *http.Request) {
	j, err := h.store.job(r.Context(), r.PathValue("id"))
	if h.lookupFailed(w, r, "job", err) {
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (h *hostAPI) lookupFailed(w http.ResponseWriter, r *http.Request, what string, err error) bool {
	switch {
	case errors.Is(err, errNotFound):
		apihttp.WriteError(w, http.StatusNotFound, "not_found", what+" not found")
		return true
	case err != nil:
		h.internalError(w, r, err)
		return true
	}
	return false
}
