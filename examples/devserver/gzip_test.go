package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/contracts"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

func TestCompressGzip(t *testing.T) {
	t.Parallel()
	big := strings.Repeat(`{"name":"web-1","state":"ready"},`, 100)
	tests := []struct {
		name, method, accept, ctype, encoding, body string
		status                                      int
		wantGzip, wantVary                          bool
	}{
		{name: "big JSON, gzip accepted", accept: "gzip, deflate, br", ctype: "application/json", body: big, wantGzip: true, wantVary: true},
		{name: "big HTML, gzip accepted", accept: "br;q=1.0, gzip;q=0.8", ctype: "text/html; charset=utf-8", body: big, wantGzip: true, wantVary: true},
		{name: "big error page, gzip accepted", accept: "gzip", ctype: "text/html; charset=utf-8", body: big, status: 404, wantGzip: true, wantVary: true},
		{name: "gzip not accepted", accept: "", ctype: "application/json", body: big, wantVary: true},
		{name: "gzip refused with q=0", accept: "gzip;q=0, *", ctype: "application/json", body: big, wantVary: true},
		{name: "any encoding accepted", accept: "*", ctype: "application/json", body: big, wantGzip: true, wantVary: true},
		{name: "small body", accept: "gzip", ctype: "application/json", body: `{"ok":true}`, wantVary: true},
		{name: "not compressible", accept: "gzip", ctype: "image/png", body: big},
		{name: "already encoded", accept: "gzip", ctype: "text/plain", encoding: "gzip", body: big},
		{name: "partial content", accept: "gzip", ctype: "text/css", body: big, status: 206},
		{name: "HEAD", method: "HEAD", accept: "gzip", ctype: "application/json", body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := compressGzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				if tt.encoding != "" {
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				for b := []byte(tt.body); len(b) > 0; { // many small writes
					n := min(100, len(b))
					_, _ = w.Write(b[:n])
					b = b[n:]
				}
			}))
			method := tt.method
			if method == "" {
				method = "GET"
			}
			req := httptest.NewRequest(method, "/", nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			want := http.StatusOK
			if tt.status != 0 {
				want = tt.status
			}
			require.Equal(t, want, rec.Code)
			gotGzip := rec.Header().Get("Content-Encoding") == "gzip" && tt.encoding == ""
			require.Equal(t, tt.wantGzip, gotGzip, "Content-Encoding %q", rec.Header().Get("Content-Encoding"))
			require.Equal(t, tt.wantVary, rec.Header().Get("Vary") == "Accept-Encoding", "Vary %q", rec.Header().Get("Vary"))
			body := rec.Body.Bytes()
			if gotGzip {
				require.Less(t, len(body), len(tt.body)/2, "compressed")
				body = gunzip(t, body)
			}
			if method == "GET" && tt.body != "" {
				require.Equal(t, tt.body, string(body))
			}
		})
	}
}

// TestServerCompresses checks the server's pages and API answers come
// gzipped to a client that asks, and decompress to the plain answer.
func TestServerCompresses(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, func(c *Config) { c.bulkNodes = 20 })
	for _, path := range []string{"/api/nodes", "/nodes", "/static/dashboard.css"} {
		plain := do(t, s, "GET", path, "")
		zipped := do(t, s, "GET", path, "", "Accept-Encoding", "gzip")
		require.Equal(t, http.StatusOK, zipped.Status, path)
		require.Equal(t, "gzip", zipped.Header.Get("Content-Encoding"), path)
		require.Equal(t, "Accept-Encoding", zipped.Header.Get("Vary"), path)
		require.Empty(t, plain.Header.Get("Content-Encoding"), path)
		unzipped := gunzip(t, zipped.Body)
		switch path {
		case "/static/dashboard.css":
			require.True(t, bytes.Equal(plain.Body, unzipped), "%s: decompressed differs", path)
		case "/api/nodes": // check times of unprobed nodes are "now": compare the nodes
			var a, b []contracts.NodeSummary
			require.NoError(t, json.Unmarshal(plain.Body, &a))
			require.NoError(t, json.Unmarshal(unzipped, &b))
			require.Len(t, b, len(a))
		default:
			require.Contains(t, string(unzipped), "</html>", path)
		}
		t.Logf("%s: %d bytes, %d gzipped", path, len(plain.Body), len(zipped.Body))
	}
}
