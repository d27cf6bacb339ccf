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
// encoding/json, the way a host handler would read the same body. Each
// body goes through two configurations: the default validation (a JSON
// object), and a host Validate that decodes strictly
// (DisallowUnknownFields); in both, the gate is never asked about a
// request answered 400, 404 or 413.

const (
	fuzzReady    = "f0000000-0000-4000-8000-000000000001" // admitted
	fuzzNotReady = "f0000000-0000-4000-8000-000000000002" // refused
	fuzzSiteOK   = "f1000000-0000-4000-8000-000000000001" // on fuzzReady
	fuzzSiteBad  = "f1000000-0000-4000-8000-000000000002" // on fuzzNotReady
	fuzzMaxBody  = 1024
)

// fuzzGate admits fuzzReady, refuses fuzzNotReady and passes over any
// other node, as preflight.Gate.Choose passes over unknown ones.
type fuzzGate struct{ chooses int }

func (fuzzGate) report(nodeID string, op readiness.Operation) readiness.Report {
	obs := readiness.Observation{NodeID: nodeID, User: "pressluft", HasAddress: true, Probed: true,
		CheckedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	obs.Transport = &readiness.TransportFailure{Code: readiness.CodeSSHUnreachable, Detail: "connection refused"}
	return readiness.Evaluate(obs, readiness.PolicyFor(op), op)
}

func (g *fuzzGate) Choose(_ context.Context, op readiness.Operation, candidates []string) (preflight.Decision, error) {
	g.chooses++
	var refused []preflight.Decision
	for _, id := range candidates {
		switch id {
		case fuzzReady:
			return preflight.Decision{Operation: op, NodeID: id, Admit: true, Mode: preflight.ModeEnforce}, nil
		case fuzzNotReady:
			refused = append(refused, preflight.Decision{Operation: op, NodeID: id, Mode: preflight.ModeEnforce,
				WouldRefuse: true, Report: g.report(id, op)})
		}
	}
	if len(refused) == 0 {
		return preflight.Decision{Operation: op, Mode: preflight.ModeEnforce, WouldRefuse: true,
			Report: readiness.NoCandidate(op, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}, nil
	}
	d := refused[0]
	d.Candidates = refused
	return d, nil
}

func fuzzSiteNode(siteID string) (string, bool) {
	switch siteID {
	case fuzzSiteOK:
		return fuzzReady, true
	case fuzzSiteBad:
		return fuzzNotReady, true
	}
	return "", false
}

// fuzzCandidates: the body's node_id, else fuzzReady for a site and the
// site's node for an environment; an unknown site is 404 either way.
func fuzzCandidates(r *http.Request, req apihttp.Request) ([]string, error) {
	ids, err := apihttp.NodeIDField(func(*http.Request, apihttp.Request) ([]string, error) {
		if req.SiteID == "" {
			return []string{fuzzReady}, nil
		}
		n, _ := fuzzSiteNode(req.SiteID)
		return []string{n}, nil
	})(r, req)
	if err != nil {
		return nil, err
	}
	if _, ok := fuzzSiteNode(req.SiteID); req.SiteID != "" && !ok {
		return nil, fmt.Errorf("fuzz: site %q: %w", req.SiteID, apihttp.ErrNotFound)
	}
	return ids, nil
}

// fuzzHostInput is what the strict host accepts.
type fuzzHostInput struct {
	Name   string          `json:"name"`
	Slug   string          `json:"slug"`
	Type   string          `json:"type"`
	NodeID json.RawMessage `json:"node_id"`
}

func strictOK(r io.Reader) bool {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var in fuzzHostInput
	return dec.Decode(&in) == nil
}

// strictValidate is the strict host's Validate; it decodes r.Body, as
// the host's handler would.
func strictValidate(w http.ResponseWriter, r *http.Request, _ apihttp.Request) bool {
	if !strictOK(r.Body) {
		apihttp.WriteError(w, http.StatusBadRequest, apihttp.CodeBadRequest, "invalid request body")
		return false
	}
	return true
}

// wantStatus is the reference decision for body on the given route (site
// "" is POST /sites), computed with encoding/json.
func wantStatus(body []byte, site string, strict bool) int {
	if len(body) > fuzzMaxBody {
		return http.StatusRequestEntityTooLarge
	}
	if strict && !strictOK(bytes.NewReader(body)) {
		return http.StatusBadRequest
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
	if site != "" {
		siteNode, ok := fuzzSiteNode(site)
		if !ok {
			return http.StatusNotFound
		}
		if node == "" {
			node = siteNode
		}
	} else if node == "" {
		node = fuzzReady
	}
	if node == fuzzReady {
		return http.StatusAccepted
	}
	return http.StatusConflict // not ready, or no known candidate
}

var fuzzErrorCodes = map[int]string{
	http.StatusBadRequest:            apihttp.CodeBadRequest,
	http.StatusNotFound:              apihttp.CodeNotFound,
	http.StatusConflict:              apihttp.CodeNodeNotReady,
	http.StatusRequestEntityTooLarge: apihttp.CodePayloadTooLarge,
}

// fuzzGuard sends body through Guard to path (below Prefix "") and
// checks the answer. chunked sends it without a Content-Length; strict
// validates it with strictValidate.
func fuzzGuard(t *testing.T, path, site string, body []byte, chunked, strict bool) {
	var (
		called    bool
		gotBody   []byte
		gotLen    int64
		decision  bool
		decisions int
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
	gate := &fuzzGate{}
	cfg := apihttp.GuardConfig{
		Gate: gate, Candidates: fuzzCandidates, MaxBodyBytes: fuzzMaxBody,
		OnDecision: func(*http.Request, preflight.Decision) { decisions++ },
	}
	if strict {
		cfg.Validate = strictValidate
	}
	h := apihttp.Guard(cfg)(next)

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

	want := wantStatus(body, site, strict)
	if rec.Code != want {
		t.Fatalf("body %q (chunked %v, strict %v): got status %d, want %d; response %s", body, chunked, strict, rec.Code, want, rec.Body)
	}
	switch {
	case rec.Code == http.StatusAccepted || rec.Code == http.StatusConflict:
		if gate.chooses != 1 || decisions != 1 {
			t.Fatalf("body %q: status %d after %d Choose and %d OnDecision calls, want 1 and 1", body, rec.Code, gate.chooses, decisions)
		}
	case gate.chooses != 0 || decisions != 0:
		t.Fatalf("body %q: status %d, yet the gate was asked %d times", body, rec.Code, gate.chooses)
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
		`{"name":"Shop","slug":"shop","region":"eu"}`,
		`{"node_id":"10000000-0000-4000-8000-0000000000ff"}`,
		`{"node_id":null}`, `{"node_id":""}`, `{"node_id":42}`, `{"node_id":["a"]}`,
		`{"NODE_ID":"` + fuzzNotReady + `"}`,
		`{"node_id":"` + fuzzNotReady + `","node_id":"` + fuzzReady + `"}`,
		`{"node_\u0069d":"` + fuzzNotReady + `"}`,
		`{"node_id":"\u0066` + fuzzReady[1:] + `"}`,
		`{"nodeſid":"x"}`, `{"node_id":"` + fuzzReady + `"` + "\xff}",
		`{"name":"` + strings.Repeat("a", fuzzMaxBody) + `"}`,
		`{"name":"Env","slug":"staging","type":"staging","promotion_preset":"content"}`,
		`{"name":"Env","slug":"staging","type":"staging"} trailing`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
}

// FuzzGuardCreateSite: any body of POST /sites gets 202 (passed to next
// byte for byte, with its decision), 400, 404, 409 or 413 as
// encoding/json reads it, never a panic, the gate asked exactly for 202
// and 409, and errors in the {code, message} shape.
func FuzzGuardCreateSite(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		for _, strict := range []bool{false, true} {
			fuzzGuard(t, "/sites", "", body, chunked, strict)
		}
	})
}

// FuzzGuardCreateEnvironment: the same for POST /sites/{id}/environments,
// on a site whose node is ready, one whose node is not, and an unknown
// site.
func FuzzGuardCreateEnvironment(f *testing.F) {
	addFuzzSeeds(f)
	sites := []string{fuzzSiteOK, fuzzSiteBad, "f1000000-0000-4000-8000-0000000000ff"}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		for _, site := range sites {
			for _, strict := range []bool{false, true} {
				fuzzGuard(t, "/sites/"+site+"/environments", site, body, chunked, strict)
			}
		}
	})
}
