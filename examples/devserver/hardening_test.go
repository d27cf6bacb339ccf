package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A state-changing /api request from another origin is 403 forbidden, and
// one whose body is not declared JSON is 415 unsupported_media_type:
// nothing is created either way. JSON with parameters and a body-less
// refresh pass.
func TestAPIRefusesCrossOriginAndNonJSON(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	local := nodeNamed(t, s, "ready-1")
	site := `{"name":"Shop","slug":"shop","node_id":"` + local + `"}`
	cases := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		code                     string
	}{
		{"cross-site fetch", "POST", "/api/sites", site, []string{"Sec-Fetch-Site", "cross-site"}, 403, "forbidden"},
		{"foreign Origin", "POST", "/api/nodes", `{"name":"x"}`, []string{"Origin", "https://evil.example"}, 403, "forbidden"},
		{"cross-site refresh", "POST", "/api/nodes/" + local + "/readiness/refresh", "", []string{"Sec-Fetch-Site", "cross-site"}, 403, "forbidden"},
		{"text/plain form", "POST", "/api/sites", site, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"urlencoded", "POST", "/api/nodes", `{"name":"x"}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"json lookalike", "POST", "/api/sites", site, []string{"Content-Type", "application/jsonp"}, 415, "unsupported_media_type"},
		{"env text/plain", "POST", "/api/sites/x/environments", `{}`, []string{"Content-Type", "text/plain;charset=utf-8"}, 415, "unsupported_media_type"},
	}
	jobs := count(t, s, "jobs", "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := do(t, s, c.method, c.path, c.body, c.header...)
			var e errBody
			res.json(t, &e)
			if res.Status != c.status || e.Code != c.code {
				t.Fatalf("got %d %q, want %d %q", res.Status, e.Code, c.status, c.code)
			}
		})
	}
	require.Zero(t, count(t, s, "sites", ""), "a refused request created a site")
	require.Equal(t, jobs, count(t, s, "jobs", ""), "a refused request enqueued a job")
	require.Equal(t, len(s.Fleet()), count(t, s, "nodes", ""), "a refused request created a node")

	// No Content-Type at all, with a body: 415 (do sets JSON for bodies).
	req, err := http.NewRequest("POST", "/api/sites", strings.NewReader(site))
	require.NoError(t, err)
	rec := &bodyRecorder{header: http.Header{}}
	s.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnsupportedMediaType, rec.status, "body: %s", rec.body.String())

	ok := do(t, s, "POST", "/api/sites", site, "Content-Type", "application/json; charset=utf-8", "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusAccepted, ok.Status, "body: %s", ok.Body)
	refresh := do(t, s, "POST", "/api/nodes/"+local+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, refresh.Status, "body: %s", refresh.Body)
}

type bodyRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *bodyRecorder) Header() http.Header { return r.header }
func (r *bodyRecorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *bodyRecorder) Write(b []byte) (int, error) { r.WriteHeader(200); return r.body.Write(b) }

// Names made of control characters, bidi overrides or only invisible
// characters are 400 and create nothing.
func TestAPIRefusesUndisplayableNames(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.WorkerPaused = true })
	local := nodeNamed(t, s, "ready-1")
	siteID, _, err := s.store.createSite(context.Background(), siteCreate{Name: "Base", Slug: "base", NodeID: local})
	require.NoError(t, err)
	jobs := count(t, s, "jobs", "")
	names := map[string]string{
		"NUL":                 "Shop\x00",
		"newline":             "Shop\nAdmin",
		"escape":              "\x1b[31mShop",
		"right-to-left":       "Shop\u202Egpj.exe",
		"isolate":             "\u2066Shop\u2069",
		"zero-width only":     "\u200B\u200C\u200D",
		"BOM and spaces only": "\uFEFF \u2060",
	}
	for what, name := range names {
		t.Run(what, func(t *testing.T) {
			for _, req := range []struct{ path, body string }{
				{"/api/sites", mustJSON(t, map[string]string{"name": name, "slug": "shop", "node_id": local})},
				{"/api/sites/" + siteID + "/environments", mustJSON(t, map[string]string{
					"name": name, "slug": "staging", "type": "staging", "promotion_preset": "content-protect", "node_id": local})},
				{"/api/nodes", mustJSON(t, map[string]string{"name": name})},
			} {
				res := do(t, s, "POST", req.path, req.body)
				var e errBody
				res.json(t, &e)
				if res.Status != http.StatusBadRequest || e.Code != "bad_request" {
					t.Fatalf("POST %s with name %q: got %d %q, want 400 bad_request", req.path, name, res.Status, e.Code)
				}
			}
		})
	}
	require.Equal(t, 1, count(t, s, "sites", ""), "a refused name created a site")
	require.Equal(t, jobs, count(t, s, "jobs", ""), "a refused name enqueued a job")
	require.Equal(t, len(s.Fleet()), count(t, s, "nodes", ""), "a refused name created a node")
	for _, name := range []string{"Café Zürich", "Blog \u05D0\u05D1", "名前"} {
		res := do(t, s, "POST", "/api/nodes", mustJSON(t, map[string]string{"name": name}))
		require.Equal(t, http.StatusAccepted, res.Status, "name %q: %s", name, res.Body)
	}
}

func TestLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:0": true, "127.1.2.3:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "192.168.1.5:8080": false,
		"example.com:80": false, "127.0.0.1": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// A non-loopback -addr is refused without -allow-remote (exit 2, nothing
// listens) and warned about loudly with it.
func TestRemoteAddrNeedsAllowRemote(t *testing.T) {
	t.Parallel()
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"-addr", "0.0.0.0:0"}, &stdout, &stderr, func(string) string { return "" })
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), "-allow-remote")
	require.Contains(t, stderr.String(), "no authentication")

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "0.0.0.0:0", "-allow-remote", "-monitor-interval", "1h"}, &out, &errOut, func(string) string { return "" })
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "listening on") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not start; stderr: %s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	require.Equal(t, 0, <-done)
	require.Contains(t, errOut.String(), "WARNING")
	require.Contains(t, errOut.String(), "NO AUTHENTICATION")
}
