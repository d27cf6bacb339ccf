package main

import (
	"net/http"

	"github.com/pressluft/runtime-readiness/apihttp"
)

// apiRouter is the control plane's API router, shaped like the host's: a
// ServeMux whose patterns have no /api prefix (the server mounts it with
// http.StripPrefix("/api", ...)), and every answer of its own, 404 and 405
// included, in the {code, message} error shape.
type apiRouter struct {
	mux *http.ServeMux
}

func newAPIRouter() *apiRouter { return &apiRouter{mux: http.NewServeMux()} }

func (a *apiRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fallback, pattern := a.mux.Handler(r)
	if pattern != "" {
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
