package apihttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Chooser is what Guard needs of the readiness gate; *preflight.Gate
// satisfies it.
type Chooser interface {
	Choose(ctx context.Context, op readiness.Operation, candidates []string) (preflight.Decision, error)
}

// Reporter is what the readiness handlers need of the gate;
// *preflight.Gate satisfies it.
type Reporter interface {
	Report(ctx context.Context, nodeID string) (readiness.Report, error)
	Refresh(ctx context.Context, nodeID string) (readiness.Report, error)
}

// Request is what Guard knows of a guarded create when it asks the host
// hooks: the operation, the site id of an environments create ("" for a
// site create), and the body it read. The hooks' *http.Request reads the
// same bytes from its Body, rewound for each hook, so a hook may decode
// either; the host's handler reads them once more afterwards. Body is
// the buffer next reads from: a hook must not modify it.
type Request struct {
	Operation readiness.Operation
	SiteID    string
	Body      []byte
}

// ValidateFunc validates a guarded create the way the host's own handler
// will, before any readiness check. When the request is invalid (a bad
// body, a field the host's strict decoder rejects, an unknown site) it
// writes the host's own error response and returns false: the request
// then causes no probe and the host's handler does not run.
type ValidateFunc func(w http.ResponseWriter, r *http.Request, req Request) bool

// CandidatesFunc names the nodes a valid guarded create may run on, in
// the host's order of preference; Guard admits it on the first one the
// gate admits (preflight.Gate.Choose). No candidate is a refusal
// (no_candidate_node). An error wrapping ErrNotFound is 404 not_found,
// one wrapping ErrInvalid is 400 bad_request with the error's text (so it
// must be operator-safe); any other error is 500, logged.
type CandidatesFunc func(r *http.Request, req Request) ([]string, error)

// RefuseFunc writes the refusal of a create, in the host's error shape.
type RefuseFunc func(w http.ResponseWriter, r *http.Request, d preflight.Decision)

// ErrorFunc writes an error response in the host's error shape.
type ErrorFunc func(w http.ResponseWriter, status int, code, message string)

// ErrNotFound is wrapped by a CandidatesFunc error for an unknown site or
// node: 404 not_found.
var ErrNotFound = errors.New("apihttp: not found")

// ErrInvalid is wrapped by a CandidatesFunc error for a request it
// rejects: 400 bad_request, with the error's text as the message.
var ErrInvalid = errors.New("apihttp: invalid request")

// DefaultMaxBodyBytes is the request body limit when
// GuardConfig.MaxBodyBytes is zero.
const DefaultMaxBodyBytes int64 = 1 << 20

// RetryAfterSeconds is the Retry-After a refusal carries when every
// blocking reason may clear by itself.
const RetryAfterSeconds = "10"

// GuardConfig configures Guard. Guard copies it; changing it afterwards
// has no effect.
type GuardConfig struct {
	// Gate decides. Required: Guard panics without it.
	Gate Chooser
	// Candidates names the nodes of a request. Required: Guard panics
	// without it. NodeIDField reads a node_id member of the body.
	Candidates CandidatesFunc
	// Validate runs first on every guarded create; nil means the body
	// must only be a JSON object (else 400 bad_request). A host with a
	// strict decoder passes its own, so that an invalid create gets the
	// host's 400, never a 409, and causes no probe.
	Validate ValidateFunc
	// Prefix is the part of the path in front of the two routes as the
	// guard sees it: "" (the default) where the guard wraps the host's
	// API router inside http.StripPrefix("/api", ...), so that it sees
	// /sites; "/api" where it wraps a handler that sees the full path.
	// It is a literal, unescaped, clean path that starts with "/" and
	// does not end with one; Guard panics on anything else (a "%" escape,
	// a "{wildcard}", "." or ".." or empty segments), since a prefix
	// that the host's mux reads differently would leave creates
	// unguarded.
	Prefix string
	// Refuse writes a refusal; nil means WriteRefusal (409
	// node_not_ready with the report). A host whose clients decode error
	// bodies as flat string maps passes one that writes its own shape.
	Refuse RefuseFunc
	// Error writes the guard's other errors (400, 404, 413, 500); nil
	// means WriteError, the {"code","message"} shape.
	Error ErrorFunc
	// MaxBodyBytes limits the body Guard reads; 0 means
	// DefaultMaxBodyBytes (1 MiB). A larger body is 413
	// payload_too_large.
	MaxBodyBytes int64
	// OnDecision is called once for every guarded decision (refused,
	// admitted in warn mode, admitted), before the response is written
	// or the next handler runs, for audit rows and metrics. It runs on
	// the request's goroutine. nil means none.
	OnDecision func(r *http.Request, d preflight.Decision)
	// Logger receives internal failures (an error's text, never a
	// report's observed data). nil means no logging.
	Logger *slog.Logger
}

func (c GuardConfig) withDefaults() GuardConfig {
	switch {
	case c.Gate == nil:
		panic("apihttp: Guard: GuardConfig.Gate is required")
	case c.Candidates == nil:
		panic("apihttp: Guard: GuardConfig.Candidates is required")
	case c.Prefix != "" && (!strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/")):
		panic("apihttp: Guard: GuardConfig.Prefix must start with / and not end with one, got " + c.Prefix)
	case path.Clean(c.Prefix) != c.Prefix && c.Prefix != "":
		panic("apihttp: Guard: GuardConfig.Prefix must be a clean path, got " + c.Prefix)
	case strings.ContainsAny(c.Prefix, "%{}"):
		panic("apihttp: Guard: GuardConfig.Prefix must be a literal, unescaped path, got " + c.Prefix)
	}
	if c.Refuse == nil {
		c.Refuse = func(w http.ResponseWriter, _ *http.Request, d preflight.Decision) { WriteRefusal(w, d) }
	}
	if c.Error == nil {
		c.Error = WriteError
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
