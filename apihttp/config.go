package apihttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Gate is what the HTTP layer needs from the readiness gate;
// *preflight.Gate satisfies it.
type Gate interface {
	Check(ctx context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error)
	Report(ctx context.Context, nodeID string) (readiness.Report, error)
	Refresh(ctx context.Context, nodeID string) (readiness.Report, error)
	Status(nodeID string) (preflight.NodeStatus, bool)
}

// Sites resolves the node of an existing site, for
// POST /api/sites/{id}/environments. For an unknown site it returns an
// error wrapping ErrNotFound.
type Sites interface {
	SiteNode(ctx context.Context, siteID string) (nodeID string, err error)
}

// NodeCreator starts provider acquisition of a new node for
// POST /api/nodes. It must return quickly: acquisition runs in the
// background as the job it returns. An error wrapping ErrInvalid is the
// client's fault (an unknown provider, say) and is answered 400 with the
// error's text; any other error is answered 500 with a generic message.
type NodeCreator interface {
	CreateNode(ctx context.Context, name, provider string) (nodeID, jobID string, err error)
}

// ErrNotFound is wrapped by a Sites error for an unknown site.
var ErrNotFound = errors.New("apihttp: not found")

// ErrInvalid is wrapped by a NodeCreator error for input it rejects. The
// full error text is shown to the client, so it must be operator-safe.
var ErrInvalid = errors.New("apihttp: invalid input")

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes
// is zero.
const DefaultMaxBodyBytes int64 = 1 << 20

// RetryAfterSeconds is the Retry-After a refusal carries when every
// blocking reason may clear by itself.
const RetryAfterSeconds = "10"

// Config configures Guard and NewNodesHandler. Both copy it; changing it
// afterwards has no effect.
type Config struct {
	// Gate decides and reports readiness. Required: Guard and
	// NewNodesHandler panic without it.
	Gate Gate
	// Nodes lists and looks up node records. GET /api/nodes lists
	// Nodes(ctx); an unknown id (preflight.ErrNodeNotFound) is 404.
	// Required by NewNodesHandler, which panics without it; Guard does
	// not use it.
	Nodes preflight.NodeSource
	// Sites resolves a site's node for the environments route. nil means
	// that route needs a node_id in its body (else 500, logged).
	Sites Sites
	// DefaultNode picks the node of a POST /api/sites without node_id
	// (for a single-node install, the local node). nil means node_id is
	// required: 400 bad_request "node_id is required".
	DefaultNode func(ctx context.Context) (string, error)
	// Creator starts node acquisition for POST /api/nodes. nil means that
	// route answers 501 not_implemented.
	Creator NodeCreator
	// MaxBodyBytes limits the bodies Guard and POST /api/nodes read.
	// 0 means DefaultMaxBodyBytes (1 MiB); a larger body is 413
	// payload_too_large.
	MaxBodyBytes int64
	// OnDecision is called once for every guarded decision (refused,
	// admitted in warn mode, admitted), before the response is written
	// or the next handler runs, for audit rows and metrics. It runs on
	// the request's goroutine and delays it by what it costs. nil means
	// none.
	OnDecision func(r *http.Request, d preflight.Decision)
	// Logger receives internal failures (the error text of a failed
	// look-up, never a report's observed data). nil means no logging.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with its zero fields defaulted.
func (c Config) withDefaults(who string) Config {
	if c.Gate == nil {
		panic("apihttp: " + who + ": Config.Gate is required")
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
