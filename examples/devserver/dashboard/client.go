package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/pressluft/runtime-readiness/contracts"
)

// maxAPIResponse bounds what the dashboard reads from one API answer.
const maxAPIResponse = 8 << 20

// apiClient calls the control plane's JSON API in process: it builds a
// request, serves it with the API handler into a buffer and decodes the
// contract's JSON. No socket, no second listener.
type apiClient struct {
	api http.Handler
}

// apiResponse is one API answer.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// APIError is an API answer the dashboard did not expect: its status and
// the contract's error body (code and message) when it had one.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("dashboard: api answered %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("dashboard: api answered %d", e.Status)
}

// recorder is a minimal http.ResponseWriter into memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(p) > maxAPIResponse {
		return 0, fmt.Errorf("dashboard: api response exceeds %d bytes", maxAPIResponse)
	}
	return r.body.Write(p)
}

// forwarded are the headers of the operator's request the API sees too,
// so a control plane that authenticates its API keeps doing so.
var forwarded = []string{"Authorization", "Cookie", "X-Request-Id"}

// do serves one API request. from is the operator's request (its context
// and forwarded headers); body, when not nil, is sent as JSON.
func (c *apiClient) do(from *http.Request, method, path string, body any) (apiResponse, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiResponse{}, fmt.Errorf("dashboard: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx := context.Background()
	if from != nil {
		ctx = from.Context()
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return apiResponse{}, fmt.Errorf("dashboard: build request: %w", err)
	}
	req.RequestURI = path
	req.RemoteAddr = "127.0.0.1:0"
	req.Host = "dashboard.internal"
	if from != nil {
		req.RemoteAddr, req.Host = from.RemoteAddr, from.Host
		for _, h := range forwarded {
			if v := from.Header.Values(h); len(v) > 0 {
				req.Header[h] = v
			}
		}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return apiResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
}

// get decodes a 200 answer into v; anything else is an *APIError.
func (c *apiClient) get(from *http.Request, path string, v any) error {
	res, err := c.do(from, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK {
		return res.apiError()
	}
	return res.decode(v)
}

func (r apiResponse) decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("dashboard: decode api answer (%d): %w", r.Status, err)
	}
	return nil
}

// apiError turns an unexpected answer into an *APIError.
func (r apiResponse) apiError() *APIError {
	e := &APIError{Status: r.Status}
	var body contracts.Error
	if json.Unmarshal(r.Body, &body) == nil {
		e.Code, e.Message = string(body.Code), body.Message
	}
	return e
}

// nodeNotReady decodes a 409 node_not_ready refusal; ok is false for any
// other answer (a 409 conflict, for one).
func (r apiResponse) nodeNotReady() (contracts.NodeNotReady, bool) {
	var nr contracts.NodeNotReady
	if r.Status != http.StatusConflict || json.Unmarshal(r.Body, &nr) != nil {
		return nr, false
	}
	return nr, nr.Code == contracts.NodeNotReadyCodeNodeNotReady
}
