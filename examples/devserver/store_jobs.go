package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// Site is one row of sites.
type Site struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Slug                 string    `json:"slug"`
	Status               string    `json:"status"`
	PrimaryEnvironmentID string    `json:"primary_environment_id,omitempty"`
	NodeID               string    `json:"node_id"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// Environment is one row of environments.
type Environment struct {
	ID                  string    `json:"id"`
	SiteID              string    `json:"site_id"`
	Name                string    `json:"name"`
	Slug                string    `json:"slug"`
	EnvironmentType     string    `json:"type"`
	Status              string    `json:"status"`
	NodeID              string    `json:"node_id"`
	SourceEnvironmentID string    `json:"source_environment_id,omitempty"`
	PromotionPreset     string    `json:"promotion_preset"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// Job is one row of jobs.
type Job struct {
	ID            string          `json:"id"`
	JobType       string          `json:"job_type"`
	Status        string          `json:"status"`
	SiteID        string          `json:"site_id,omitempty"`
	EnvironmentID string          `json:"environment_id,omitempty"`
	NodeID        string          `json:"node_id,omitempty"`
	Payload       json.RawMessage `json:"payload"`
	AttemptCount  int             `json:"attempt_count"`
	MaxAttempts   int             `json:"max_attempts"`
	RunAfter      time.Time       `json:"run_after"`
	LockedAt      time.Time       `json:"locked_at,omitzero"`
	LockedBy      string          `json:"locked_by,omitempty"`
	StartedAt     time.Time       `json:"started_at,omitzero"`
	FinishedAt    time.Time       `json:"finished_at,omitzero"`
	ErrorCode     string          `json:"error_code,omitempty"`
	ErrorMessage  string          `json:"error_message,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
}

// Job types and statuses.
const (
	jobSiteCreate  = "site_create"
	jobEnvCreate   = "env_create"
	jobNodeAcquire = "node_acquire"

	jobQueued    = "queued"
	jobRunning   = "running"
	jobSucceeded = "succeeded"
	jobFailed    = "failed"
	jobCancelled = "cancelled"
)

// operation is the readiness operation a job needs its node ready for.
func operation(jobType string) readiness.Operation {
	if jobType == jobEnvCreate {
		return readiness.OperationEnvCreate
	}
	return readiness.OperationSiteCreate
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func insertJob(ctx context.Context, tx *sql.Tx, j Job, now time.Time) error {
	if len(j.Payload) == 0 {
		j.Payload = json.RawMessage(`{}`)
	}
	var started any
	if !j.StartedAt.IsZero() {
		started = ts(j.StartedAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, job_type, status, site_id, environment_id, node_id, payload_json,
		attempt_count, max_attempts, run_after, locked_by, started_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?, ?)`,
		j.ID, j.JobType, j.Status, nullable(j.SiteID), nullable(j.EnvironmentID), nullable(j.NodeID), string(j.Payload),
		ts(now), nullable(j.LockedBy), started, ts(now))
	return err
}

// querier is what the checks below need: the reader pool before the
// readiness check, the write transaction when enqueueing.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// siteCreate is a validated POST /api/sites on a chosen node.
type siteCreate struct{ Name, Slug, NodeID string }

// checkSlug fails with errConflict when a site has the slug.
func checkSlug(ctx context.Context, q querier, slug string) error {
	var taken int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sites WHERE slug = ?`, slug).Scan(&taken); err != nil {
		return fmt.Errorf("devserver: check slug: %w", err)
	}
	if taken > 0 {
		return fmt.Errorf("%w: slug %q is taken", errConflict, slug)
	}
	return nil
}

// checkSiteSlug is checkSlug before the readiness check: a create that
// would conflict is answered without probing.
func (s *Store) checkSiteSlug(ctx context.Context, slug string) error {
	return checkSlug(ctx, s.r, slug)
}

// createSite persists the site and its production environment and
// enqueues site_create, in one transaction. A taken slug is errConflict.
func (s *Store) createSite(ctx context.Context, in siteCreate) (siteID, jobID string, err error) {
	now := s.now()
	siteID, envID, jobID := newID(), newID(), newID()
	payload, _ := json.Marshal(map[string]string{"name": in.Name, "slug": in.Slug})
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkSlug(ctx, tx, in.Slug); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sites (id, name, slug, status, primary_environment_id, node_id, created_at, updated_at)
			VALUES (?, ?, ?, 'creating', ?, ?, ?, ?)`, siteID, in.Name, in.Slug, envID, in.NodeID, ts(now), ts(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO environments (id, site_id, name, slug, environment_type, status, node_id, promotion_preset, created_at, updated_at)
			VALUES (?, ?, 'Production', 'production', 'production', 'creating', ?, 'content-protect', ?, ?)`,
			envID, siteID, in.NodeID, ts(now), ts(now)); err != nil {
			return err
		}
		return insertJob(ctx, tx, Job{ID: jobID, JobType: jobSiteCreate, Status: jobQueued, SiteID: siteID,
			EnvironmentID: envID, NodeID: in.NodeID, Payload: payload}, now)
	})
	if isUnique(err) {
		err = fmt.Errorf("%w: slug %q is taken", errConflict, in.Slug)
	}
	return siteID, jobID, err
}

// envCreate is a validated POST /api/sites/{id}/environments; NodeID ""
// means the site's node.
type envCreate struct {
	SiteID, Name, Slug, Type, SourceEnvironmentID, PromotionPreset, NodeID string
}

// checkEnv checks an environment create against the site: the site and
// the source environment exist (else errNotFound), and neither the slug
// nor, for a production environment, production is taken (else
// errConflict). It returns the site's node.
func checkEnv(ctx context.Context, q querier, in envCreate) (siteNode string, err error) {
	err = q.QueryRowContext(ctx, `SELECT node_id FROM sites WHERE id = ?`, in.SiteID).Scan(&siteNode)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("site", in.SiteID)
	}
	if err != nil {
		return "", fmt.Errorf("devserver: check environment: %w", err)
	}
	if in.SourceEnvironmentID != "" {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM environments WHERE id = ? AND site_id = ?`,
			in.SourceEnvironmentID, in.SiteID).Scan(&n); err != nil {
			return "", fmt.Errorf("devserver: check environment: %w", err)
		}
		if n == 0 {
			return "", notFound("source environment", in.SourceEnvironmentID)
		}
	}
	var clash int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM environments WHERE site_id = ? AND (slug = ? OR (? = 'production' AND environment_type = 'production'))`,
		in.SiteID, in.Slug, in.Type).Scan(&clash); err != nil {
		return "", fmt.Errorf("devserver: check environment: %w", err)
	}
	if clash > 0 {
		return "", fmt.Errorf("%w: the site already has environment %q or a production environment", errConflict, in.Slug)
	}
	return siteNode, nil
}

// checkEnvironment is checkEnv before the readiness check.
func (s *Store) checkEnvironment(ctx context.Context, in envCreate) (siteNode string, err error) {
	return checkEnv(ctx, s.r, in)
}

// createEnvironment persists the environment and enqueues env_create in
// one transaction, after checkEnv again. Unknown site or source
// environment: errNotFound; a taken slug or a second production
// environment: errConflict.
func (s *Store) createEnvironment(ctx context.Context, in envCreate) (jobID string, err error) {
	now := s.now()
	envID, jobID := newID(), newID()
	payload, _ := json.Marshal(map[string]string{"name": in.Name, "slug": in.Slug, "type": in.Type})
	err = s.tx(ctx, func(tx *sql.Tx) error {
		siteNode, err := checkEnv(ctx, tx, in)
		if err != nil {
			return err
		}
		if in.NodeID == "" {
			in.NodeID = siteNode
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO environments (id, site_id, name, slug, environment_type, status, node_id, source_environment_id, promotion_preset, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'creating', ?, ?, ?, ?, ?)`, envID, in.SiteID, in.Name, in.Slug, in.Type, in.NodeID,
			nullable(in.SourceEnvironmentID), in.PromotionPreset, ts(now), ts(now)); err != nil {
			return err
		}
		return insertJob(ctx, tx, Job{ID: jobID, JobType: jobEnvCreate, Status: jobQueued, SiteID: in.SiteID,
			EnvironmentID: envID, NodeID: in.NodeID, Payload: payload}, now)
	})
	if isUnique(err) {
		err = fmt.Errorf("%w: slug %q is taken", errConflict, in.Slug)
	}
	return jobID, err
}

// createAcquiringNode inserts a node in status acquiring and its running
// node_acquire job (owned by the provider simulation) in one transaction.
func (s *Store) createAcquiringNode(ctx context.Context, name, user string, payload json.RawMessage) (nodeID, jobID string, err error) {
	now := s.now()
	nodeID, jobID = newID(), newID()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, name, ssh_port, ssh_user, status, created_at, updated_at)
			VALUES (?, ?, 22, ?, 'acquiring', ?, ?)`, nodeID, name, user, ts(now), ts(now)); err != nil {
			return err
		}
		return insertJob(ctx, tx, Job{ID: jobID, JobType: jobNodeAcquire, Status: jobRunning, NodeID: nodeID,
			Payload: payload, LockedBy: "provider", StartedAt: now}, now)
	})
	if err != nil {
		return "", "", fmt.Errorf("devserver: create node %q: %w", name, err)
	}
	return nodeID, jobID, nil
}

// createAcquireJob records the running node_acquire job of a node that
// is already in status acquiring.
func (s *Store) createAcquireJob(ctx context.Context, nodeID string, payload json.RawMessage) (string, error) {
	now := s.now()
	jobID := newID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return insertJob(ctx, tx, Job{ID: jobID, JobType: jobNodeAcquire, Status: jobRunning, NodeID: nodeID,
			Payload: payload, LockedBy: "provider", StartedAt: now}, now)
	})
	if err != nil {
		return "", fmt.Errorf("devserver: node_acquire job: %w", err)
	}
	return jobID, nil
}

const siteCols = `id, name, slug, status, COALESCE(primary_environment_id, ''), node_id, created_at, updated_at`

func scanSite(sc interface{ Scan(...any) error }) (Site, error) {
	var (
		x        Site
		cre, upd sql.NullString
	)
	err := sc.Scan(&x.ID, &x.Name, &x.Slug, &x.Status, &x.PrimaryEnvironmentID, &x.NodeID, &cre, &upd)
	x.CreatedAt, x.UpdatedAt = parseTS(cre), parseTS(upd)
	return x, err
}

// site returns one site; an unknown id wraps errNotFound (see notFound).
func (s *Store) site(ctx context.Context, id string) (Site, error) {
	x, err := scanSite(s.r.QueryRowContext(ctx, `SELECT `+siteCols+` FROM sites WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Site{}, notFound("site", id)
	}
	if err != nil {
		return Site{}, fmt.Errorf("devserver: site %q: %w", id, err)
	}
	return x, nil
}

func (s *Store) sites(ctx context.Context) ([]Site, error) {
	return queryAll(ctx, s.r, scanSite, `SELECT `+siteCols+` FROM sites ORDER BY created_at, rowid`)
}

const envCols = `id, site_id, name, slug, environment_type, status, node_id, COALESCE(source_environment_id, ''), promotion_preset, created_at, updated_at`

func scanEnv(sc interface{ Scan(...any) error }) (Environment, error) {
	var (
		e        Environment
		cre, upd sql.NullString
	)
	err := sc.Scan(&e.ID, &e.SiteID, &e.Name, &e.Slug, &e.EnvironmentType, &e.Status, &e.NodeID,
		&e.SourceEnvironmentID, &e.PromotionPreset, &cre, &upd)
	e.CreatedAt, e.UpdatedAt = parseTS(cre), parseTS(upd)
	return e, err
}

func (s *Store) environments(ctx context.Context, siteID string) ([]Environment, error) {
	return queryAll(ctx, s.r, scanEnv, `SELECT `+envCols+` FROM environments WHERE site_id = ? ORDER BY created_at, rowid`, siteID)
}

const jobCols = `id, job_type, status, COALESCE(site_id, ''), COALESCE(environment_id, ''), COALESCE(node_id, ''), payload_json,
	attempt_count, max_attempts, run_after, locked_at, COALESCE(locked_by, ''), started_at, finished_at,
	COALESCE(error_code, ''), COALESCE(error_message, ''), created_at`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var (
		j                                  Job
		payload                            string
		runAfter, locked, started, fin, at sql.NullString
	)
	err := sc.Scan(&j.ID, &j.JobType, &j.Status, &j.SiteID, &j.EnvironmentID, &j.NodeID, &payload,
		&j.AttemptCount, &j.MaxAttempts, &runAfter, &locked, &j.LockedBy, &started, &fin,
		&j.ErrorCode, &j.ErrorMessage, &at)
	j.Payload = json.RawMessage(payload)
	j.RunAfter, j.LockedAt, j.StartedAt, j.FinishedAt, j.CreatedAt =
		parseTS(runAfter), parseTS(locked), parseTS(started), parseTS(fin), parseTS(at)
	return j, err
}

func (s *Store) job(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, notFound("job", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("devserver: job %q: %w", id, err)
	}
	return j, nil
}

// jobs lists jobs newest first, optionally of one status, at most limit.
func (s *Store) jobs(ctx context.Context, status string, limit int) ([]Job, error) {
	return queryAll(ctx, s.r, scanJob, `SELECT `+jobCols+` FROM jobs WHERE (? = '' OR status = ?)
		ORDER BY created_at DESC, rowid DESC LIMIT ?`, status, status, limit)
}

// claimJob locks the oldest queued site_create or env_create job for
// worker and marks it running; nil when there is none.
func (s *Store) claimJob(ctx context.Context, worker string) (*Job, error) {
	now := ts(s.now())
	j, err := scanJob(s.w.QueryRowContext(ctx, `UPDATE jobs SET status = 'running', locked_at = ?, locked_by = ?, started_at = ?,
		attempt_count = attempt_count + 1
		WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND job_type IN ('site_create', 'env_create') AND run_after <= ?
			ORDER BY created_at, rowid LIMIT 1)
		RETURNING `+jobCols, now, worker, now, now))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("devserver: claim job: %w", err)
	}
	return &j, nil
}

// finishJob records a job's outcome and moves its site or environment to
// active (succeeded) or failed.
func (s *Store) finishJob(ctx context.Context, j *Job, status, code, msg string) error {
	now := ts(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, finished_at = ?, error_code = ?, error_message = ?,
			locked_at = NULL, locked_by = NULL WHERE id = ?`, status, now, nullable(code), nullable(msg), j.ID); err != nil {
			return err
		}
		state := "active"
		if status != jobSucceeded {
			state = "failed"
		}
		switch j.JobType {
		case jobSiteCreate:
			if _, err := tx.ExecContext(ctx, `UPDATE sites SET status = ?, updated_at = ? WHERE id = ?`, state, now, j.SiteID); err != nil {
				return err
			}
		case jobNodeAcquire:
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE environments SET status = ?, updated_at = ? WHERE id = ?`, state, now, j.EnvironmentID)
		return err
	})
}

// requeueJob hands a claimed job back to the queue (the worker stopped
// before it could decide).
func (s *Store) requeueJob(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE jobs SET status = 'queued', locked_at = NULL, locked_by = NULL,
		attempt_count = MAX(attempt_count - 1, 0) WHERE id = ? AND status = 'running'`, id)
	return err
}

// recoverJobs runs at start-up: jobs a previous process left running go
// back to the queue, and node acquisitions it was simulating are
// cancelled (their nodes decommissioned: the simulated machine is gone).
func (s *Store) recoverJobs(ctx context.Context) error {
	now := ts(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'queued', locked_at = NULL, locked_by = NULL
			WHERE status = 'running' AND job_type != 'node_acquire'`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nodes SET status = 'decommissioned', updated_at = ? WHERE id IN
			(SELECT node_id FROM jobs WHERE status = 'running' AND job_type = 'node_acquire')`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'cancelled', finished_at = ?, error_code = 'CANCELLED',
			error_message = 'the control plane restarted during acquisition' WHERE status = 'running' AND job_type = 'node_acquire'`, now)
		return err
	})
}

func queryAll[T any](ctx context.Context, db readPool, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("devserver: query: %w", err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("devserver: scan: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// notFoundError is the store's error for an unknown row; it matches
// errNotFound, and preflight.ErrNodeNotFound for a node.
type notFoundError struct{ what, id string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("devserver: not found: %s %q", e.what, e.id)
}

func (e *notFoundError) Is(target error) bool {
	return target == errNotFound || (e.what == "node" && target == preflight.ErrNodeNotFound)
}

// notFound is the error of an unknown what (site, source environment,
// job, node) with id.
func notFound(what, id string) error { return &notFoundError{what: what, id: id} }

// notFoundWhat names what was not found, for the client ("site"), or ""
// when err is not a notFoundError.
func notFoundWhat(err error) string {
	var nf *notFoundError
	if errors.As(err, &nf) {
		return nf.what
	}
	return ""
}
