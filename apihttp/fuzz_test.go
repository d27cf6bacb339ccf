package apihttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// The fuzz targets below send arbitrary create bodies through Guard with
// a fake gate of their own (independent of the other tests' helpers) and
// check every answer against a reference decision computed with
// encoding/json, the way a host handler would read the same body.

const (
	fuzzReady    = "f0000000-0000-4000-8000-000000000001" // admitted
	fuzzNotReady = "f0000000-0000-4000-8000-000000000002" // refused
	fuzzSiteOK   = "f1000000-0000-4000-8000-000000000001" // on fuzzReady
	fuzzSiteBad  = "f1000000-0000-4000-8000-000000000002" // on fuzzNotReady
	fuzzMaxBody  = 1024
)

type fuzzGate struct{}

func (fuzzGate) report(nodeID string, op readiness.Operation) readiness.Report {
	obs := readiness.Observation{NodeID: nodeID, User: "pressluft", HasAddress: true, Probed: true,
		CheckedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	obs.Transport = &readiness.TransportFailure{Code: readiness.CodeSSHUnreachable, Detail: "connection refused"}
	if nodeID == fuzzReady {
		obs = readiness.Observation{NodeID: nodeID, Lifecycle: readiness.LifecycleActive}
	}
	return readiness.Evaluate(obs, readiness.PolicyFor(op), op)
}

func (g fuzzGate) Check(_ context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error) {
	switch nodeID {
	case fuzzReady:
		return preflight.Decision{Operation: op, NodeID: nodeID, Admit: true, Mode: preflight.ModeEnforce}, nil
	case fuzzNotReady:
		return preflight.Decision{Operation: op, NodeID: nodeID, Mode: preflight.ModeEnforce,
			WouldRefuse: true, Report: g.report(nodeID, op)}, nil
	}
	return preflight.Decision{}, fmt.Errorf("fuzz: %q: %w", nodeID, preflight.ErrNodeNotFound)
}

func (g fuzzGate) Report(_ context.Context, nodeID string) (readiness.Report, error) {
	return g.report(nodeID, readiness.OperationSiteCreate), nil
}

func (g fuzzGate) Refresh(ctx context.Context, nodeID string) (readiness.Report, error) {
	return g.Report(ctx, nodeID)
}

func (fuzzGate) Status(string) (preflight.NodeStatus, bool) { return preflight.NodeStatus{}, false }

type fuzzSites struct{}

func (fuzzSites) SiteNode(_ context.Context, siteID string) (string, error) {
	switch siteID {
	case fuzzSiteOK:
		return fuzzReady, nil
	case fuzzSiteBad:
		return fuzzNotReady, nil
	}
	return "", fmt.Errorf("fuzz: site %q: %w", siteID, apihttp.ErrNotFound)
}

// wantStatus is the reference decision for body on the given route (site
// "" is POST /api/sites), computed with encoding/json.
func wantStatus(body []byte, site string) int {
	if len(body) > fuzzMaxBody {
		return http.StatusRequestEntityTooLarge
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(body) {
		return http.StatusBadRequest
	}
	var v struct {
		NodeID json.RawMessage `json:"node_id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return http.StatusBadRequest
	}
	node := ""
	if len(v.NodeID) > 0 && string(v.NodeID) != "null" {
		if v.NodeID[0] != '"' {
			return http.StatusBadRequest
		}
		if err := json.Unmarshal(v.NodeID, &node); err != nil || node == "" {
			return http.StatusBadRequest
		}
	}
	switch {
	case site == "" && node == "":
		node = fuzzReady // DefaultNode
	case site != "":
		siteNode, err := fuzzSites{}.SiteNode(context.Background(), site)
		if err != nil {
			return http.StatusNotFound
		}
		if node == "" {
			node = siteNode
		}
	}
	switch node {
	case fuzzReady:
		return http.StatusAccepted
	case fuzzNotReady:
		return http.StatusConflict
	}
	return http.StatusNotFound
}

var fuzzErrorCodes = map[int]string{
	http.StatusBadRequest:            apihttp.CodeBadRequest,
	http.StatusNotFound:              apihttp.CodeNotFound,
	http.StatusConflict:              apihttp.CodeNodeNotReady,
	http.StatusRequestEntityTooLarge: apihttp.CodePayloadTooLarge,
}

// fuzzGuard sends body through Guard to path and checks the answer.
// chunked sends it without a Content-Length.
func fuzzGuard(t *testing.T, path, site string, body []byte, chunked bool) {
	var (
		called   bool
		gotBody  []byte
		gotLen   int64
		decision bool
	)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		gotLen = r.ContentLength
		var err error
		if gotBody, err = io.ReadAll(r.Body); err != nil {
			t.Errorf("next: reading the body: %v", err)
		}
		_, decision = apihttp.DecisionFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"job_id":"j"}`)
	})
	h := apihttp.Guard(apihttp.Config{
		Gate: fuzzGate{}, Nodes: preflight.NewMemoryNodes(), Sites: fuzzSites{},
		DefaultNode:  func(context.Context) (string, error) { return fuzzReady, nil },
		MaxBodyBytes: fuzzMaxBody,
	})(next)

	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length
	}
	req := httptest.NewRequest(http.MethodPost, path, rd)
	if chunked {
		req.ContentLength = -1
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	want := wantStatus(body, site)
	if rec.Code != want {
		t.Fatalf("body %q (chunked %v): got status %d, want %d; response %s", body, chunked, rec.Code, want, rec.Body)
	}
	if rec.Code == http.StatusAccepted {
		if !called || !decision {
			t.Fatalf("body %q: admitted without reaching next with a decision (called %v, decision %v)", body, called, decision)
		}
		if !bytes.Equal(gotBody, body) {
			t.Fatalf("next got body %q, want %q byte for byte", gotBody, body)
		}
		if wantLen := req.ContentLength; gotLen != wantLen {
			t.Fatalf("next got ContentLength %d, want %d", gotLen, wantLen)
		}
		return
	}
	if called {
		t.Fatalf("body %q: status %d, but next ran", body, rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error response Content-Type %q, want application/json", ct)
	}
	var e struct {
		Code    *string `json:"code"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == nil || e.Message == nil || *e.Message == "" {
		t.Fatalf("error response %q is not the {code, message} shape (err %v)", rec.Body, err)
	}
	if *e.Code != fuzzErrorCodes[rec.Code] {
		t.Fatalf("status %d has code %q, want %q", rec.Code, *e.Code, fuzzErrorCodes[rec.Code])
	}
}

func addFuzzSeeds(f *testing.F) {
	for _, s := range []string{
		``, `{}`, ` {} `, `[]`, `null`, `"x"`, `{`, `{}}`, `{} {}`,
		`{"name":"Blog","slug":"blog"}`,
		`{"name":"Blog","slug":"blog","node_id":"` + fuzzReady + `"}`,
		`{"name":"Shop","slug":"shop","node_id":"` + fuzzNotReady + `"}`,
		`{"node_id":"10000000-0000-4000-8000-0000000000ff"}`,
		`{"node_id":null}`, `{"node_id":""}`, `{"node_id":42}`, `{"node_id":["a"]}`,
		`{"NODE_ID":"` + fuzzNotReady + `"}`,
		`{"node_id":"` + fuzzNotReady + `","node_id":"` + fuzzReady + `"}`,
		`{"node_\u0069d":"` + fuzzNotReady + `"}`,
		`{"node_id":"\u0066` + fuzzReady[1:] + `"}`,
		`{"nodeſid":"x"}`, `{"node_id":"` + fuzzReady + `"` + "\xff}",
		`{"name":"` + strings.Repeat("a", fuzzMaxBody) + `"}`,
		`{"name":"Env","slug":"staging","type":"staging","promotion_preset":"content"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
}

// FuzzGuardCreateSite: any body of POST /api/sites gets 202 (passed to
// next byte for byte, with its decision), 400, 404, 409 or 413 as
// encoding/json reads it, never a panic, and errors in the {code, message}
// shape.
func FuzzGuardCreateSite(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		fuzzGuard(t, "/api/sites", "", body, chunked)
	})
}

// FuzzGuardCreateEnvironment: the same for POST
// /api/sites/{id}/environments, on a site whose node is ready, one whose
// node is not, and an unknown site.
func FuzzGuardCreateEnvironment(f *testing.F) {
	addFuzzSeeds(f)
	sites := []string{fuzzSiteOK, fuzzSiteBad, "f1000000-0000-4000-8000-0000000000ff"}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		for _, site := range sites {
			fuzzGuard(t, "/api/sites/"+site+"/environments", site, body, chunked)
		}
	})
}
