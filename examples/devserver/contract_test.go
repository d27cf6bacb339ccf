package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pressluft/runtime-readiness/internal/contracttest"
)

// Every /api answer a test gets through do is checked against
// contracts/openapi.yaml by internal/contracttest: the operation's
// declared status, headers and body, or, for a request no operation
// matches (an unknown route, a method a route does not have), 404 or 405
// with the Error schema.

// contractGaps are answers the devserver gives that the contract does not
// declare (yet): its job list's ?status= and ?limit= filters answer 400
// for a bad value, but listJobs declares neither the parameters nor a 400.
var contractGaps = []struct {
	method, path string
	status       int
}{
	{http.MethodGet, "/api/jobs", http.StatusBadRequest},
}

// checkContract fails the test (without stopping it: do runs on many
// goroutines) when an /api answer departs from the contract.
func checkContract(t *testing.T, req *http.Request, res response) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return
	}
	for _, g := range contractGaps {
		if req.Method == g.method && req.URL.Path == g.path && res.Status == g.status {
			return
		}
	}
	body := res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			t.Errorf("%s %s: gzip body: %v", req.Method, req.URL.Path, err)
			return
		}
	}
	if err := contracttest.ValidateResponse(req, res.Status, res.Header, body); err != nil {
		t.Errorf("%s %s: %d %.300s does not match contracts/openapi.yaml: %v", req.Method, req.URL.Path, res.Status, res.Body, err)
	}
}
