package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/pressluft/runtime-readiness/contracts"
)

// Every /api answer a test gets through do is checked against
// contracts/openapi.yaml: the operation's declared status, headers and
// body, or, for a request no operation matches (an unknown route, a
// method a route does not have), the Error schema.

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec() (*openapi3.T, routers.Router, error) {
	specOnce.Do(func() {
		specDoc, specErr = openapi3.NewLoader().LoadFromData(contracts.Spec())
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		// The contract's server URL is the relative "/api"; route
		// against an absolute one with the same path.
		specDoc.Servers = openapi3.Servers{{URL: "http://example.test/api"}}
		specRouter, specErr = legacy.NewRouter(specDoc)
	})
	return specDoc, specRouter, specErr
}

// contractError reports how an /api answer departs from the contract, or
// nil. It is safe to call from any goroutine.
func contractError(req *http.Request, res response) error {
	doc, router, err := loadSpec()
	if err != nil {
		return fmt.Errorf("load contract: %w", err)
	}
	vreq := req.Clone(context.Background())
	vreq.URL.Scheme, vreq.URL.Host, vreq.Host = "http", "example.test", "example.test"
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		var re *routers.RouteError
		if !errors.As(err, &re) {
			return fmt.Errorf("route: %w", err)
		}
		if req.Method == http.MethodHead {
			return nil
		}
		if res.Status != http.StatusNotFound && res.Status != http.StatusMethodNotAllowed {
			return fmt.Errorf("no operation for %s %s, yet status %d", req.Method, req.URL.Path, res.Status)
		}
		var v any
		if err := json.Unmarshal(res.Body, &v); err != nil {
			return fmt.Errorf("body is not JSON: %w", err)
		}
		return doc.Components.Schemas["Error"].Value.VisitJSON(v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

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
	if err := contractError(req, res); err != nil {
		t.Errorf("%s %s: %d %.300s does not match contracts/openapi.yaml: %v", req.Method, req.URL.Path, res.Status, res.Body, err)
	}
}
