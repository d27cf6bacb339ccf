package main

import (
	"mime"
	"net/http"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/contracts"
)

// codeUnsupportedMediaType is the 415 answer's code.
const codeUnsupportedMediaType = string(contracts.ApiErrorCodeUnsupportedMediaType)

// apiRouter is the control plane's API router, shaped like the host's: a
// ServeMux whose patterns have no /api prefix (the server mounts it with
// http.StripPrefix("/api", ...)), and every answer of its own, 404 and 405
// included, in the {code, message} error shape. Before any route runs, a
// state-changing request (any method but GET, HEAD and OPTIONS) is
// refused 403 forbidden when a browser sent it from another origin
// (http.CrossOriginProtection), and 415 unsupported_media_type when it
// has a body that is not declared application/json: a page on another
// site can neither post a form nor a no-cors fetch into the API.
type apiRouter struct {
	mux *http.ServeMux
	cop *http.CrossOriginProtection
}

func newAPIRouter() *apiRouter {
	return &apiRouter{mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
}

func (a *apiRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fallback, pattern := a.mux.Handler(r)
	if pattern != "" {
		if err := a.cop.Check(r); err != nil {
			apihttp.WriteError(w, http.StatusForbidden, apihttp.CodeForbidden, "cross-origin request refused")
			return
		}
		if !jsonOrEmpty(r) {
			apihttp.WriteError(w, http.StatusUnsupportedMediaType, codeUnsupportedMediaType, "request body must be application/json")
			return
		}
		a.mux.ServeHTTP(w, r)
		return
	}
	// No route: let the mux say whether it is a 405 (and which methods
	// are allowed), then answer in the error shape.
	rec := &headerRecorder{header: http.Header{}}
	fallback.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		apihttp.WriteError(w, http.StatusMethodNotAllowed, apihttp.CodeMethodNotAllowed, "method not allowed")
		return
	}
	apihttp.WriteError(w, http.StatusNotFound, apihttp.CodeNotFound, "not found")
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

// jsonOrEmpty reports whether a request may go on to its handler as far
// as its body's media type goes: safe methods always; others when the
// Content-Type is application/json (with any parameters), or when there
// is no Content-Type and no body at all (a refresh).
func jsonOrEmpty(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}
