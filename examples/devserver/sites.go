package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
)

// maxBody bounds the API's request bodies.
const maxBody = 1 << 20

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// hostAPI holds the host's site, environment and job routes. The create
// handlers decode and validate; createService checks readiness and
// enqueues.
type hostAPI struct {
	store   *Store
	creates *createService
	log     *slog.Logger
}

func (h *hostAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sites", h.createSite)
	mux.HandleFunc("POST /sites/{id}/environments", h.createEnvironment)
	mux.HandleFunc("GET /sites", h.listSites)
	mux.HandleFunc("GET /sites/{id}", h.getSite)
	mux.HandleFunc("GET /sites/{id}/environments", h.listEnvironments)
	mux.HandleFunc("GET /jobs", h.listJobs)
	mux.HandleFunc("GET /jobs/{id}", h.getJob)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, msg string) {
	apihttp.WriteError(w, http.StatusBadRequest, apihttp.CodeBadRequest, msg)
}

// decode reads a JSON object body of at most maxBody bytes into v,
// strictly: a field v does not have, a value of the wrong type or
// anything after the object is 400. It answers 413 or 400 itself when it
// cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apihttp.WriteError(w, http.StatusRequestEntityTooLarge, apihttp.CodePayloadTooLarge, "request body exceeds "+strconv.Itoa(maxBody)+" bytes")
		} else {
			badRequest(w, "could not read the request body")
		}
		return false
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		badRequest(w, "request body must be a JSON object")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		badRequest(w, decodeMessage(err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		badRequest(w, "malformed JSON body: data after the object")
		return false
	}
	return true
}

// decodeMessage is a client-safe message for a decoding error: it names
// the field at fault, never echoes a value.
func decodeMessage(err error) string {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return typeErr.Field + " must be a " + typeErr.Type.String()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON body"
}

// internalError logs err and answers a generic 500.
func (h *hostAPI) internalError(w http.ResponseWriter, r *http.Request, err error) {
	internalError(h.log, w, r, err)
}

func internalError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	log.Error("devserver: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	apihttp.WriteError(w, http.StatusInternalServerError, apihttp.CodeInternalError, "internal error")
}

func validName(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 100 && displayable(s)
}

// displayable reports whether a name can be shown to an operator as what
// it is: valid UTF-8 without control characters (NUL, newlines, ...) or
// bidirectional overrides and isolates (U+202A-202E, U+2066-2069), which
// reorder the text around them, and with at least one visible character,
// not only spaces and zero-width ones (U+200B-200D, U+2060, U+FEFF, soft
// hyphen, ...). Slugs need no such check: slugRE admits only [a-z0-9-].
func displayable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	visible := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return false
		case unicode.IsSpace(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Mn, r) && !visible:
			// spaces, format characters (zero-width, bidi marks, BOM,
			// soft hyphen) and a leading combining mark show nothing
		default:
			visible = true
		}
	}
	return visible
}

// validNodeID checks an optional node_id: absent or null is nil, a
// given one must not be empty.
func validNodeID(w http.ResponseWriter, id *string) (string, bool) {
	switch {
	case id == nil:
		return "", true
	case *id == "":
		badRequest(w, "node_id must not be empty")
		return "", false
	}
	return *id, true
}

type siteRequest struct {
	Name   string  `json:"name"`
	Slug   string  `json:"slug"`
	NodeID *string `json:"node_id"`
}

// createSite validates a POST /sites and hands it to the create
// service: 202 {job_id}, or 409 node_not_ready when the node (or, without
// node_id, every candidate node) is not ready.
func (h *hostAPI) createSite(w http.ResponseWriter, r *http.Request) {
	var in siteRequest
	if !decode(w, r, &in) {
		return
	}
	if !validName(in.Name) {
		badRequest(w, "name must be 1-100 characters, visible, without control or bidi override characters")
		return
	}
	if !slugRE.MatchString(in.Slug) {
		badRequest(w, "slug must match ^[a-z0-9][a-z0-9-]{0,62}$")
		return
	}
	nodeID, ok := validNodeID(w, in.NodeID)
	if !ok {
		return
	}
	jobID, err := h.creates.createSite(r.Context(), siteCreate{Name: in.Name, Slug: in.Slug, NodeID: nodeID})
	h.created(w, r, jobID, err)
}

type envRequest struct {
	Name                string  `json:"name"`
	Slug                string  `json:"slug"`
	Type                string  `json:"type"`
	SourceEnvironmentID *string `json:"source_environment_id"`
	PromotionPreset     string  `json:"promotion_preset"`
	NodeID              *string `json:"node_id"`
}

// createEnvironment validates a POST /sites/{id}/environments and hands
// it to the create service: 202 {job_id}, or 409 node_not_ready.
func (h *hostAPI) createEnvironment(w http.ResponseWriter, r *http.Request) {
	var in envRequest
	if !decode(w, r, &in) {
		return
	}
	var source string
	if in.SourceEnvironmentID != nil {
		source = *in.SourceEnvironmentID
	}
	switch {
	case !validName(in.Name):
		badRequest(w, "name must be 1-100 characters, visible, without control or bidi override characters")
		return
	case !slugRE.MatchString(in.Slug):
		badRequest(w, "slug must match ^[a-z0-9][a-z0-9-]{0,62}$")
		return
	case in.Type != "production" && in.Type != "staging" && in.Type != "clone":
		badRequest(w, "type must be production, staging or clone")
		return
	case in.Type == "clone" && source == "":
		badRequest(w, "a clone needs source_environment_id")
		return
	case in.PromotionPreset != "content-protect" && in.PromotionPreset != "commerce-protect":
		badRequest(w, "promotion_preset must be content-protect or commerce-protect")
		return
	}
	nodeID, ok := validNodeID(w, in.NodeID)
	if !ok {
		return
	}
	jobID, err := h.creates.createEnvironment(r.Context(), envCreate{
		SiteID: r.PathValue("id"), Name: in.Name, Slug: in.Slug, Type: in.Type,
		SourceEnvironmentID: source, PromotionPreset: in.PromotionPreset, NodeID: nodeID,
	})
	h.created(w, r, jobID, err)
}

// created answers a create: 202 {job_id}, the refusal (409
// node_not_ready, apihttp.WriteRefusal), or the error's status.
func (h *hostAPI) created(w http.ResponseWriter, r *http.Request, jobID string, err error) {
	var refused *preflight.RefusedError
	switch {
	case errors.As(err, &refused):
		apihttp.WriteRefusal(w, refused.Decision)
	case errors.Is(err, preflight.ErrNodeNotFound):
		apihttp.WriteError(w, http.StatusNotFound, apihttp.CodeNotFound, "node not found")
	case errors.Is(err, errNotFound) && notFoundWhat(err) != "":
		apihttp.WriteError(w, http.StatusNotFound, apihttp.CodeNotFound, notFoundWhat(err)+" not found")
	case errors.Is(err, errConflict):
		apihttp.WriteError(w, http.StatusConflict, apihttp.CodeConflict, conflictMessage(err))
	case err != nil:
		h.internalError(w, r, err)
	default:
		writeJSON(w, http.StatusAccepted, contracts.JobAccepted{JobId: jobID})
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
		apihttp.WriteError(w, http.StatusNotFound, apihttp.CodeNotFound, what+" not found")
		return true
	case err != nil:
		h.internalError(w, r, err)
		return true
	}
	return false
}
