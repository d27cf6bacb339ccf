package apihttp

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Guard returns middleware for a host without a readiness seam in its own
// service: it runs the preflight on exactly two routes, POST /sites
// (site_create) and POST /sites/{id}/environments (env_create), below
// cfg.Prefix, and passes every other request to next untouched.
//
// Mount it where the host's authentication has already run (inside the
// API router, after its auth middleware), so that an anonymous request
// never causes a probe. On a guarded route Guard reads the body, calls
// Validate (the host's 400 for an invalid create, and no probe), asks
// Candidates for the nodes, and decides with Gate.Choose. A refusal is
// answered by Refuse before next runs, so no job is written; an admitted
// request reaches next with its body byte for byte and the Decision in
// its context (DecisionFrom). Guard panics if cfg.Gate or cfg.Candidates
// is nil, or cfg.Prefix is malformed.
func Guard(cfg GuardConfig) func(http.Handler) http.Handler {
	c := cfg.withDefaults()
	return func(next http.Handler) http.Handler {
		return &guard{cfg: c, next: next}
	}
}

type decisionKey struct{}

// DecisionFrom returns the readiness decision Guard made for the request
// whose context ctx is (in OnDecision, Refuse and the next handler), and
// false for a request Guard did not guard, did not see, or has not
// decided yet (in Validate and Candidates). Its Report is shared with the
// gate's cache: read-only.
func DecisionFrom(ctx context.Context) (preflight.Decision, bool) {
	c, ok := ctx.Value(decisionKey{}).(*decisionCtx)
	if !ok {
		return preflight.Decision{}, false
	}
	return c.d, true
}

// decisionCtx carries the Decision in one allocation with the context
// that holds it; until the gate has decided (set) it holds none.
type decisionCtx struct {
	context.Context
	d   preflight.Decision
	set bool
}

func (c *decisionCtx) Value(key any) any {
	if key == (decisionKey{}) && c.set {
		return c
	}
	return c.Context.Value(key)
}

// bodyReader hands the body on, byte for byte.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

type guard struct {
	cfg  GuardConfig
	next http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, siteID, ok := guardedRoute(r, g.cfg.Prefix)
	if !ok {
		g.next.ServeHTTP(w, r)
		return
	}
	g.serveGuarded(w, r, Request{Operation: op, SiteID: siteID})
}

// guardedRoute matches the two guarded routes below prefix the way a Go
// 1.22 ServeMux matches "POST {prefix}/sites" and
// "POST {prefix}/sites/{id}/environments": on the escaped path, segment
// by segment, each segment unescaped, so "/%73ites" is guarded exactly
// when the host's mux would route it to its create handler.
func guardedRoute(r *http.Request, prefix string) (op readiness.Operation, siteID string, ok bool) {
	if r.Method != http.MethodPost || r.URL == nil {
		return "", "", false
	}
	p := r.URL.EscapedPath()
	if strings.IndexByte(p, '%') >= 0 {
		return escapedRoute(p, prefix)
	}
	rest, found := strings.CutPrefix(p, prefix)
	if !found {
		return "", "", false
	}
	if rest == "/sites" {
		return readiness.OperationSiteCreate, "", true
	}
	rest, found = strings.CutPrefix(rest, "/sites/")
	if !found {
		return "", "", false
	}
	id, tail, found := strings.Cut(rest, "/")
	if !found || tail != "environments" {
		return "", "", false
	}
	return siteIDRoute(id)
}

// siteIDRoute is the env_create match for the escaped site id segment.
// ServeMux takes a segment that unescapes to "/" for a trailing slash, which
// no {id} wildcard matches, so neither does the guard.
func siteIDRoute(seg string) (readiness.Operation, string, bool) {
	id := unescapeSegment(seg)
	if id == "" || id == "/" {
		return "", "", false
	}
	return readiness.OperationEnvCreate, id, true
}

// escapedRoute matches a path that carries escapes, segment by segment.
func escapedRoute(p, prefix string) (readiness.Operation, string, bool) {
	segs := strings.Split(p, "/")
	var pre []string
	if prefix != "" {
		pre = strings.Split(prefix, "/")[1:]
	}
	if len(segs) < 2+len(pre) || segs[0] != "" {
		return "", "", false
	}
	for i, want := range pre {
		if unescapeSegment(segs[1+i]) != want {
			return "", "", false
		}
	}
	segs = segs[1+len(pre):] // "sites", ...
	if unescapeSegment(segs[0]) != "sites" {
		return "", "", false
	}
	switch {
	case len(segs) == 1:
		return readiness.OperationSiteCreate, "", true
	case len(segs) == 3 && unescapeSegment(segs[2]) == "environments":
		return siteIDRoute(segs[1])
	}
	return "", "", false
}

func (g *guard) serveGuarded(w http.ResponseWriter, r *http.Request, req Request) {
	body, err := readBody(r, g.cfg.MaxBodyBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			g.cfg.Error(w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, tooLargeMessage(g.cfg.MaxBodyBytes))
		} else {
			g.cfg.Error(w, http.StatusBadRequest, CodeBadRequest, "could not read the request body")
		}
		return
	}
	req.Body = body
	// One shallow copy of the request serves the hooks and next: its
	// Body reads the bytes read above (rewound before every reader, so a
	// Validate that decodes r.Body as the host's handler does sees the
	// whole body), and its context gets the decision once there is one.
	dc := &decisionCtx{Context: r.Context()}
	r = r.WithContext(dc)
	br := &bodyReader{}
	rewind := func() {
		br.Reset(body)
		r.Body = br
	}
	// The host's own view of the request goes first: an invalid create
	// is the host's 400 and never causes a probe.
	if g.cfg.Validate != nil {
		rewind()
		if !g.cfg.Validate(w, r, req) {
			return
		}
	} else if msg := objectProblem(body); msg != "" {
		g.cfg.Error(w, http.StatusBadRequest, CodeBadRequest, msg)
		return
	}
	rewind()
	candidates, err := g.cfg.Candidates(r, req)
	switch {
	case errors.Is(err, ErrNotFound):
		g.cfg.Error(w, http.StatusNotFound, CodeNotFound, "not found")
		return
	case errors.Is(err, ErrInvalid):
		g.cfg.Error(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	case err != nil:
		g.internal(w, r, "candidates", err, "operation", string(req.Operation))
		return
	}
	d, err := g.cfg.Gate.Choose(dc.Context, req.Operation, candidates)
	if err != nil {
		g.internal(w, r, "readiness check failed", err, "operation", string(req.Operation))
		return
	}
	dc.d, dc.set = d, true
	if g.cfg.OnDecision != nil {
		rewind()
		g.cfg.OnDecision(r, d)
	}
	if !d.Admit {
		rewind()
		g.cfg.Refuse(w, r, d)
		return
	}
	rewind()
	g.next.ServeHTTP(w, r)
}

func (g *guard) internal(w http.ResponseWriter, r *http.Request, what string, err error, attrs ...any) {
	g.cfg.Logger.ErrorContext(r.Context(), "apihttp: "+what, append(attrs, "error", err)...)
	g.cfg.Error(w, http.StatusInternalServerError, CodeInternalError, "internal error")
}

// NodeIDField returns a CandidatesFunc that reads the body's node_id
// member as encoding/json would: a non-empty string names the one
// candidate; absent or null asks fallback (nil fallback: no candidate,
// a no_candidate_node refusal); anything else is 400 bad_request.
func NodeIDField(fallback CandidatesFunc) CandidatesFunc {
	return func(r *http.Request, req Request) ([]string, error) {
		id, given, msg := bodyNodeID(req.Body)
		switch {
		case msg != "":
			return nil, invalid(msg)
		case given:
			return []string{id}, nil
		case fallback != nil:
			return fallback(r, req)
		}
		return nil, nil
	}
}

type invalidError string

func (e invalidError) Error() string      { return string(e) }
func (invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(msg string) error { return invalidError(msg) }

// objectProblem is the default validation: "" for a JSON object, else
// the client-safe message NodeIDField gives for the same body.
func objectProblem(body []byte) string {
	switch {
	case !isObject(body):
		return "request body must be a JSON object"
	case !validJSON(body):
		return "malformed JSON body"
	}
	return ""
}

// isObject reports whether body's first non-space byte opens an object.
func isObject(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}
