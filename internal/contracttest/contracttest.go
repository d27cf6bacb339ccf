package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/pressluft/runtime-readiness/contracts"
)

// host is the absolute server the relative "/api" is routed against.
const host = "example.test"

type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var load = sync.OnceValues(func() (*contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(contracts.Spec())
	if err != nil {
		return nil, fmt.Errorf("contracttest: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contracttest: openapi.yaml: %w", err)
	}
	// The contract's server URL is the relative "/api"; route against
	// an absolute one with the same path.
	doc.Servers = openapi3.Servers{{URL: "http://" + host + "/api"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contracttest: route openapi.yaml: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// ValidateResponse reports how an answer (status, header, body) to req
// departs from the contract, or returns nil. req is the request as the
// client sent it, with its /api path; it is not modified. The package
// doc says how HEAD and requests no operation matches are checked.
func ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	c, err := load()
	if err != nil {
		return err
	}
	head := req.Method == http.MethodHead
	vreq := req.Clone(context.Background())
	vreq.URL.Scheme, vreq.URL.Host, vreq.Host = "http", host, host
	if head {
		vreq.Method = http.MethodGet
	}
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		if _, ok := errors.AsType[*routers.RouteError](err); !ok {
			return fmt.Errorf("contracttest: route %s %s: %w", req.Method, req.URL.Path, err)
		}
		return c.unrouted(req, vreq, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			ExcludeResponseBody:   head && len(body) == 0,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("contracttest: %s: %w", route.Operation.OperationID, err)
	}
	return nil
}

// unrouted checks the answer to a request no operation matches: 404 for
// a path the contract lacks, 405 with Allow for a method it lacks, and
// an Error body. vreq is req as routed.
func (c *contract) unrouted(req, vreq *http.Request, status int, header http.Header, body []byte) error {
	want := http.StatusNotFound
	if c.hasPath(vreq) {
		want = http.StatusMethodNotAllowed
	}
	if status != want {
		return fmt.Errorf("contracttest: no operation for %s %s, yet status %d, want %d", req.Method, req.URL.Path, status, want)
	}
	if status == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
		return fmt.Errorf("contracttest: %s %s: 405 without an Allow header", req.Method, req.URL.Path)
	}
	if req.Method == http.MethodHead && len(body) == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fmt.Errorf("contracttest: %s %s: %d with Content-Type %q, want application/json", req.Method, req.URL.Path, status, header.Get("Content-Type"))
	}
	return c.validateBody("Error", body)
}

// hasPath reports whether some operation of the contract has vreq's
// path. The router says "method not allowed" only for paths without
// parameters, so every method is tried.
func (c *contract) hasPath(vreq *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect} {
		r := vreq.Clone(context.Background())
		r.Method = m
		if _, _, err := c.router.FindRoute(r); err == nil {
			return true
		}
	}
	return false
}

// ValidateBody reports how body departs from the contract's schema of
// that name (a key of components/schemas, such as "Error"), validated as
// a response body, or returns nil. A name the contract does not have is
// an error.
func ValidateBody(schema string, body []byte) error {
	c, err := load()
	if err != nil {
		return err
	}
	return c.validateBody(schema, body)
}

func (c *contract) validateBody(schema string, body []byte) error {
	ref := c.doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("contracttest: no schema %q in openapi.yaml", schema)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("contracttest: %s: body is not JSON: %w", schema, err)
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return fmt.Errorf("contracttest: %s: %w", schema, err)
	}
	return nil
}
