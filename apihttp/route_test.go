package apihttp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/pressluft/runtime-readiness/readiness"
)

// muxRoute is what a Go ServeMux with the host's two create patterns does
// with a POST to path: the operation and id it routes to, or redirect when
// it sends the client to the cleaned path instead.
func muxRoute(t testing.TB, path string) (op readiness.Operation, id string, redirect, ok bool) {
	u, err := url.Parse("http://example.test" + path)
	if err != nil || u.Path == "" || u.Path[0] != '/' {
		return "", "", false, false
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/sites", func(http.ResponseWriter, *http.Request) { op = readiness.OperationSiteCreate })
	mux.HandleFunc("POST /api/sites/{id}/environments", func(_ http.ResponseWriter, r *http.Request) {
		op, id = readiness.OperationEnvCreate, r.PathValue("id")
	})
	req := &http.Request{Method: http.MethodPost, URL: u, Host: "example.test", Header: http.Header{}}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return "", "", true, true
	}
	return op, id, false, true
}

func checkRoute(t *testing.T, path string) {
	t.Helper()
	wantOp, wantID, redirect, ok := muxRoute(t, path)
	if !ok {
		return
	}
	u, _ := url.Parse("http://example.test" + path)
	gotOp, gotID, guarded := guardedRoute(&http.Request{Method: http.MethodPost, URL: u})
	if redirect {
		return // the mux runs no handler; the client retries on the clean path
	}
	if guarded != (wantOp != "") || gotOp != wantOp || gotID != wantID {
		t.Errorf("POST %s: ServeMux routes (%q, %q), Guard matches (%q, %q, guarded=%v)", path, wantOp, wantID, gotOp, gotID, guarded)
	}
}

var routeCases = []string{
	"/api/sites", "/api/sites/", "/api/%73ites", "/%61pi/sites", "/api%2Fsites", "/api/sites%2F",
	"/api/sites/x/environments", "/api/sites/x/%65nvironments", "/api/sites/a%2Fb/environments",
	"/api/sites/%20/environments", "/api/sites//environments", "/api/sites/./environments",
	"/api/sites/x/environments/", "/api/sites/x/environments/y", "/api/sites/x/other", "/api/sites/x",
	"/api//sites", "/API/sites", "/api/sitesx", "/sites", "/api/sites/x/y/environments",
	"/api/sites/%zz/environments", "/api/sites/x/environments?q=1",
	"/api/sites/%2F/environments", "/api/sites/%2F%2F/environments", "/%61pi/sites/%2F/environments",
}

func TestGuardedRouteMatchesServeMux(t *testing.T) {
	t.Parallel()
	for _, p := range routeCases {
		checkRoute(t, p)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, "post"} {
		u, _ := url.Parse("/api/sites")
		if _, _, ok := guardedRoute(&http.Request{Method: m, URL: u}); ok {
			t.Errorf("%s /api/sites is guarded", m)
		}
	}
}

// FuzzGuardedRoute: Guard guards a POST exactly when a ServeMux with the
// two create patterns would run one of them, with the same site id.
func FuzzGuardedRoute(f *testing.F) {
	for _, p := range routeCases {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		checkRoute(t, path)
	})
}
