package host

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ReadinessReport is the host's own readiness result.
type ReadinessReport struct {
	Ready       bool
	Code        string // the primary reason's code; "" when ready
	Message     string
	Remediation string
}

// ReadinessChecker is the seam the host's services call; they receive it
// at construction. The glue implements it with the SDK's gate.
type ReadinessChecker interface {
	Evaluate(ctx context.Context, n Node) (ReadinessReport, error)
}

// ErrInvalid wraps a validation failure; its text is client-safe.
var ErrInvalid = errors.New("invalid")

// NotReadyError is the services' refusal: no job was queued. It holds
// every candidate node's reasons, in store order; none when there was no
// candidate at all.
type NotReadyError struct {
	Refusals []Refusal
}

// Refusal is one candidate node's readiness failure.
type Refusal struct {
	NodeID string
	Report ReadinessReport
}

func (e *NotReadyError) Error() string {
	if len(e.Refusals) == 0 {
		return "no provider node is registered"
	}
	parts := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		parts[i] = fmt.Sprintf("node %s is not ready: %s (%s)", r.NodeID, r.Report.Code, r.Report.Remediation)
	}
	return strings.Join(parts, "; ")
}

var slugRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validate(name, slug string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: name is required", ErrInvalid)
	case !slugRE.MatchString(slug):
		return fmt.Errorf("%w: slug must be lower-case letters, digits and dashes", ErrInvalid)
	}
	return nil
}

// SiteService creates sites.
type SiteService struct {
	Store     *Store
	Readiness ReadinessChecker
}

// Create validates, picks the first provider-backed node in store order
// whose readiness check passes, and enqueues site_create there. With none
// ready it refuses with every candidate's reasons; with no candidate it
// refuses as not ready.
func (s *SiteService) Create(ctx context.Context, name, slug string) (Job, error) {
	if err := validate(name, slug); err != nil {
		return Job{}, err
	}
	nodes, err := s.Store.Nodes(ctx)
	if err != nil {
		return Job{}, err
	}
	refused := &NotReadyError{}
	for _, n := range nodes {
		if n.IsLocal || n.ProviderID == "" {
			continue
		}
		rep, err := s.Readiness.Evaluate(ctx, n)
		if err != nil {
			return Job{}, err
		}
		if rep.Ready {
			site := s.Store.addSite(Site{Name: name, Slug: slug, NodeID: n.ID})
			return s.Store.enqueue(Job{JobType: "site_create", SiteID: site.ID, NodeID: n.ID}), nil
		}
		refused.Refusals = append(refused.Refusals, Refusal{NodeID: n.ID, Report: rep})
	}
	return Job{}, refused
}

// EnvironmentService creates environments on their site's node.
type EnvironmentService struct {
	Store     *Store
	Readiness ReadinessChecker
}

// Create validates, checks the site's node and enqueues env_create.
func (s *EnvironmentService) Create(ctx context.Context, siteID, name, slug, envType string) (Job, error) {
	if err := validate(name, slug); err != nil {
		return Job{}, err
	}
	switch envType {
	case "production", "staging", "clone":
	default:
		return Job{}, fmt.Errorf("%w: type must be production, staging or clone", ErrInvalid)
	}
	site, err := s.Store.Site(ctx, siteID)
	if err != nil {
		return Job{}, err
	}
	n, err := s.Store.Node(ctx, site.NodeID)
	if err != nil {
		return Job{}, err
	}
	rep, err := s.Readiness.Evaluate(ctx, n)
	if err != nil {
		return Job{}, err
	}
	if !rep.Ready {
		return Job{}, &NotReadyError{Refusals: []Refusal{{NodeID: n.ID, Report: rep}}}
	}
	return s.Store.enqueue(Job{JobType: "env_create", SiteID: site.ID, NodeID: n.ID}), nil
}

// Worker runs queued jobs. Before each it re-checks the job's node
// (Prechecks, by job type): a node that stopped being ready fails the job
// with JobErrorCode and the reason; it never succeeds.
type Worker struct {
	Store        *Store
	Prechecks    map[string]ReadinessChecker
	JobErrorCode string
	// Run does the job's work (Ansible, in pressluft).
	Run func(ctx context.Context, j Job) error
}

// RunNext runs the oldest queued job and reports whether there was one.
func (w *Worker) RunNext(ctx context.Context) bool {
	j, ok := w.Store.next()
	if !ok {
		return false
	}
	j.Status = "succeeded"
	if err := w.run(ctx, j); err != nil {
		j.Status, j.ErrorCode, j.ErrorMessage = "failed", "JOB_FAILED", err.Error()
		var nr *NotReadyError
		if errors.As(err, &nr) {
			j.ErrorCode = w.JobErrorCode
		}
	}
	w.Store.finish(j)
	return true
}

func (w *Worker) run(ctx context.Context, j Job) error {
	if c := w.Prechecks[j.JobType]; c != nil {
		n, err := w.Store.Node(ctx, j.NodeID)
		if err != nil {
			return err
		}
		rep, err := c.Evaluate(ctx, n)
		if err != nil {
			return err
		}
		if !rep.Ready {
			return &NotReadyError{Refusals: []Refusal{{NodeID: n.ID, Report: rep}}}
		}
	}
	if w.Run != nil {
		return w.Run(ctx, j)
	}
	return nil
}
