package apihttp

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Guard returns middleware that runs the readiness preflight on exactly two
// routes, POST /api/sites (site_create) and
// POST /api/sites/{id}/environments (env_create), and passes every other
// request to next untouched. A refused create is answered 409
// node_not_ready before next runs; an admitted one reaches next with its
// body byte for byte and the Decision in its context (DecisionFrom). See
// the package doc for the full behaviour. Guard panics if cfg.Gate is nil.
func Guard(cfg Config) func(http.Handler) http.Handler {
	c := cfg.withDefaults("Guard")
	return func(next http.Handler) http.Handler {
		return &guard{cfg: c, next: next}
	}
}

type decisionKey struct{}

// DecisionFrom returns the readiness decision Guard made for the request
// whose context ctx is, and false for a request Guard did not guard (or
// did not see). Its Report is shared with the gate's cache: read-only.
func DecisionFrom(ctx context.Context) (preflight.Decision, bool) {
	c, ok := ctx.Value(decisionKey{}).(*decisionCtx)
	if !ok {
		return preflight.Decision{}, false
	}
	return c.d, true
}

// decisionCtx carries the Decision in one allocation with the context
// that holds it.
type decisionCtx struct {
	context.Context
	d preflight.Decision
}

func (c *decisionCtx) Value(key any) any {
	if key == (decisionKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// bodyReader hands the body on, byte for byte.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

type guard struct {
	cfg  Config
	next http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, siteID, ok := guardedRoute(r)
	if !ok {
		g.next.ServeHTTP(w, r)
		return
	}
	g.serveGuarded(w, r, op, siteID)
}

// guardedRoute matches the two guarded routes the way a Go 1.22 ServeMux
// matches "POST /api/sites" and "POST /api/sites/{id}/environments": on
// the escaped path, segment by segment, each segment unescaped, so
// "/api/%73ites" is guarded exactly when the host's mux would route it to
// its create handler.
func guardedRoute(r *http.Request) (op readiness.Operation, siteID string, ok bool) {
	if r.Method != http.MethodPost || r.URL == nil {
		return "", "", false
	}
	p := r.URL.EscapedPath()
	if p == "/api/sites" {
		return readiness.OperationSiteCreate, "", true
	}
	rest, found := strings.CutPrefix(p, "/api/sites/")
	if !found {
		if strings.IndexByte(p, '%') >= 0 {
			return escapedRoute(p)
		}
		return "", "", false
	}
	id, tail, found := strings.Cut(rest, "/")
	if !found || unescapeSegment(tail) != "environments" {
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

// escapedRoute matches a path whose first segments carry escapes.
func escapedRoute(p string) (readiness.Operation, string, bool) {
	segs := strings.Split(p, "/")
	if len(segs) < 3 || segs[0] != "" || unescapeSegment(segs[1]) != "api" || unescapeSegment(segs[2]) != "sites" {
		return "", "", false
	}
	switch {
	case len(segs) == 3:
		return readiness.OperationSiteCreate, "", true
	case len(segs) == 5 && unescapeSegment(segs[4]) == "environments":
		return siteIDRoute(segs[3])
	}
	return "", "", false
}

func (g *guard) serveGuarded(w http.ResponseWriter, r *http.Request, op readiness.Operation, siteID string) {
	ctx := r.Context()
	body, err := readBody(r, g.cfg.MaxBodyBytes)
	if err != nil {
		g.bodyError(w, err)
		return
	}
	nodeID, given, msg := bodyNodeID(body)
	if msg != "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, msg)
		return
	}
	if !given || op == readiness.OperationEnvCreate {
		var status int
		nodeID, status, msg = g.implicitNode(ctx, op, siteID, nodeID, given)
		if status != 0 {
			WriteError(w, status, codeFor(status), msg)
			return
		}
	}
	d, err := g.cfg.Gate.Check(ctx, op, nodeID)
	if err != nil {
		if errors.Is(err, preflight.ErrNodeNotFound) {
			WriteError(w, http.StatusNotFound, CodeNotFound, "node not found")
			return
		}
		g.internal(w, "readiness check failed", err, "operation", string(op), "node", nodeID)
		return
	}
	if g.cfg.OnDecision != nil {
		g.cfg.OnDecision(r, d)
	}
	if !d.Admit {
		refuse(w, d)
		return
	}
	r = r.WithContext(&decisionCtx{Context: ctx, d: d})
	br := &bodyReader{}
	br.Reset(body)
	r.Body = br
	g.next.ServeHTTP(w, r)
}

// implicitNode finds the node a create targets when the body does not
// name it (site_create: DefaultNode), and checks the site of an
// env_create (its node unless the body named one). It returns the node id,
// or a non-zero status with a client-safe message.
func (g *guard) implicitNode(ctx context.Context, op readiness.Operation, siteID, bodyNode string, given bool) (string, int, string) {
	if op == readiness.OperationSiteCreate {
		if g.cfg.DefaultNode == nil {
			return "", http.StatusBadRequest, "node_id is required"
		}
		id, err := g.cfg.DefaultNode(ctx)
		switch {
		case errors.Is(err, ErrNotFound) || errors.Is(err, preflight.ErrNodeNotFound):
			return "", http.StatusBadRequest, "node_id is required: there is no default node"
		case err != nil:
			g.cfg.Logger.ErrorContext(ctx, "apihttp: default node", "error", err)
			return "", http.StatusInternalServerError, "internal error"
		}
		return id, 0, ""
	}
	if g.cfg.Sites == nil {
		if given {
			return bodyNode, 0, ""
		}
		g.cfg.Logger.ErrorContext(ctx, "apihttp: Config.Sites is nil; environments create needs node_id in its body", "site", siteID)
		return "", http.StatusInternalServerError, "internal error"
	}
	id, err := g.cfg.Sites.SiteNode(ctx, siteID)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", http.StatusNotFound, "site not found"
	case err != nil:
		g.cfg.Logger.ErrorContext(ctx, "apihttp: site node", "site", siteID, "error", err)
		return "", http.StatusInternalServerError, "internal error"
	}
	if given {
		return bodyNode, 0, ""
	}
	return id, 0, ""
}

// refuse answers a refused create: 409 with the report, and Retry-After
// when every blocking reason may clear by itself.
func refuse(w http.ResponseWriter, d preflight.Decision) {
	if d.Report.Retryable() {
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	writeJSON(w, http.StatusConflict, contracts.NodeNotReady{
		Code:      contracts.NodeNotReadyCodeNodeNotReady,
		Message:   "node is not ready for " + string(d.Operation) + ": " + d.Report.Summary(),
		NodeId:    d.NodeID,
		Readiness: d.Report,
	})
}

func (g *guard) bodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		WriteError(w, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, tooLargeMessage(g.cfg.MaxBodyBytes))
		return
	}
	WriteError(w, http.StatusBadRequest, CodeBadRequest, "could not read the request body")
}

func (g *guard) internal(w http.ResponseWriter, what string, err error, attrs ...any) {
	g.cfg.Logger.Error("apihttp: "+what, append(attrs, "error", err)...)
	WriteError(w, http.StatusInternalServerError, CodeInternalError, "internal error")
}

// isObject reports whether body's first non-space byte opens an object;
// json.Unmarshal checks the rest.
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
