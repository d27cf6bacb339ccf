package apihttp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/pressluft/runtime-readiness/readiness"
)

// A route is what a mux does with a POST: the create it runs (op and
// site id; op "" for none), or redirect when it sends the client to the
// cleaned path and runs nothing.
type route struct {
	op       readiness.Operation
	id       string
	redirect bool
}

// createMux is a ServeMux with the host's two create patterns below
// prefix; the create handlers record what they ran into *got.
func createMux(prefix string, got *route) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix+"/sites", func(http.ResponseWriter, *http.Request) {
		got.op = readiness.OperationSiteCreate
	})
	mux.HandleFunc("POST "+prefix+"/sites/{id}/environments", func(_ http.ResponseWriter, r *http.Request) {
		got.op, got.id = readiness.OperationEnvCreate, r.PathValue("id")
	})
	return mux
}

func postTo(path string) (*http.Request, bool) {
	u, err := url.Parse("http://example.test" + path)
	if err != nil || u.Path == "" || u.Path[0] != '/' {
		return nil, false
	}
	return &http.Request{Method: http.MethodPost, URL: u, Host: "example.test", Header: http.Header{}}, true
}

func serveRoute(h http.Handler, req *http.Request, got *route) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		got.redirect = true
	}
}

// guardMatch is what Guard matches for req below prefix, as a route.
func guardMatch(req *http.Request, prefix string) route {
	op, id, ok := guardedRoute(req, prefix)
	if !ok {
		return route{}
	}
	return route{op: op, id: id}
}

// checkRoute holds Guard's match of a POST to path to what the host's mux
// runs, for Guard wrapping a mux with patterns below each prefix.
func checkRoute(t *testing.T, path string) {
	t.Helper()
	for _, prefix := range routePrefixes {
		req, ok := postTo(path)
		if !ok {
			return
		}
		var want route
		serveRoute(createMux(prefix, &want), req, &want)
		if want.redirect {
			continue // the mux runs no handler; the client retries on the clean path
		}
		if got := guardMatch(req, prefix); got != want {
			t.Errorf("Prefix %q, POST %s: ServeMux runs %+v, Guard matches %+v", prefix, path, want, got)
		}
	}
}

// checkStripRoute holds Guard to the host's own arrangement: an outer
// mux mounts the API router with mux.Handle("/api/",
// http.StripPrefix("/api", api)), and api's patterns have no /api.
//
// Inside StripPrefix (Prefix ""), Guard sees what api sees and must
// match exactly what api runs. Outside it (Prefix "/api", wrapping the
// StripPrefix handler), Guard must guard every create api runs; it may
// also guard a request StripPrefix then answers 404 (an escaped prefix,
// "/%61pi/sites": ServeMux matches it to "/api/", StripPrefix refuses
// it), which costs a check but lets nothing through unguarded.
func checkStripRoute(t *testing.T, path string) {
	t.Helper()
	req, ok := postTo(path)
	if !ok {
		return
	}
	var (
		want              route
		inside            route
		reached, inApiMux bool
	)
	api := createMux("", &want)
	outer := http.NewServeMux()
	outer.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		http.StripPrefix("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inApiMux = true
			inside = guardMatch(r, "")
			api.ServeHTTP(w, r)
		})).ServeHTTP(w, r)
	}))
	serveRoute(outer, req, &want)
	if want.redirect {
		return
	}
	if inApiMux && inside != want {
		t.Errorf("inside StripPrefix, POST %s: api runs %+v, Guard matches %+v", path, want, inside)
	}
	outside := guardMatch(req, "/api")
	switch {
	case want.op != "" && outside != want:
		t.Errorf("outside StripPrefix (Prefix /api), POST %s: api runs %+v, Guard matches %+v", path, want, outside)
	case want.op == "" && outside.op != "" && !(reached && !inApiMux):
		t.Errorf("outside StripPrefix (Prefix /api), POST %s: api runs nothing, Guard matches %+v", path, outside)
	}
}

// routePrefixes are the prefixes every route case is checked under.
var routePrefixes = []string{"", "/api", "/api/v1", "/é", "/a b"}

var routeCases = []string{
	"/api/sites", "/api/sites/", "/api/%73ites", "/%61pi/sites", "/api%2Fsites", "/api/sites%2F",
	"/api/sites/x/environments", "/api/sites/x/%65nvironments", "/api/sites/a%2Fb/environments",
	"/api/sites/%20/environments", "/api/sites//environments", "/api/sites/./environments",
	"/api/sites/x/environments/", "/api/sites/x/environments/y", "/api/sites/x/other", "/api/sites/x",
	"/api//sites", "/API/sites", "/api/sitesx", "/sites", "/api/sites/x/y/environments",
	"/api/sites/%zz/environments", "/api/sites/x/environments?q=1",
	"/api/sites/%2F/environments", "/api/sites/%2F%2F/environments", "/%61pi/sites/%2F/environments",
	"/sites/x/environments", "/%73ites", "/sites/", "//sites", "/./sites", "/api/./sites", "/api/../api/sites",
	"/api/v1/sites", "/api/v1/sites/x/environments", "/api/v1%2Fsites", "/api/%76%31/sites", "/apiv1/sites",
	"/é/sites", "/%C3%A9/sites", "/%c3%a9/sites/x/environments", "/a b/sites", "/a%20b/sites", "/a+b/sites",
	"/api", "/api/", "/api/sites/é/environments", "/api/sites/x%2Fenvironments",
}

func TestGuardedRouteMatchesServeMux(t *testing.T) {
	t.Parallel()
	for _, p := range routeCases {
		checkRoute(t, p)
		checkStripRoute(t, p)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, "post"} {
		for _, prefix := range routePrefixes {
			u, _ := url.Parse(prefix + "/sites")
			if _, _, ok := guardedRoute(&http.Request{Method: m, URL: u}, prefix); ok {
				t.Errorf("Prefix %q: %s %s is guarded", prefix, m, u)
			}
		}
	}
}

// The cases that matter most, spelled out: a wrong answer here is either
// an unguarded create or a guarded read.
func TestGuardedRouteExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, path string
		want         route
	}{
		{"", "/sites", route{op: readiness.OperationSiteCreate}},
		{"", "/sites/s1/environments", route{op: readiness.OperationEnvCreate, id: "s1"}},
		{"", "/%73ites", route{op: readiness.OperationSiteCreate}},
		{"", "/sites/a%2Fb/environments", route{op: readiness.OperationEnvCreate, id: "a/b"}},
		{"", "/api/sites", route{}},
		{"/api", "/api/sites", route{op: readiness.OperationSiteCreate}},
		{"/api", "/api/sites/s1/environments", route{op: readiness.OperationEnvCreate, id: "s1"}},
		{"/api", "/%61pi/sites", route{op: readiness.OperationSiteCreate}},
		{"/api", "/sites", route{}},
		{"/api", "/apisites", route{}},
		{"/api/v1", "/api/v1/sites", route{op: readiness.OperationSiteCreate}},
		{"/api/v1", "/api/sites", route{}},
	}
	for _, tt := range tests {
		req, ok := postTo(tt.path)
		if !ok {
			t.Fatalf("bad path %q", tt.path)
		}
		if got := guardMatch(req, tt.prefix); got != tt.want {
			t.Errorf("Prefix %q, POST %s: got %+v, want %+v", tt.prefix, tt.path, got, tt.want)
		}
	}
}

// FuzzGuardedRoute: Guard guards a POST exactly when a ServeMux with the
// two create patterns below each prefix would run one of them, with the
// same site id; and in the host's StripPrefix arrangement, inside it
// exactly and outside it at least.
func FuzzGuardedRoute(f *testing.F) {
	for _, p := range routeCases {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		checkRoute(t, path)
		checkStripRoute(t, path)
	})
}
