package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver; only the example imports it

	"github.com/pressluft/runtime-readiness/preflight"
)

// Store is the control plane's SQLite database: nodes, sites,
// environments, the job queue and the audit log, in one file, the way
// the pressluft server keeps them.
//
// Writes go through one connection (SQLite has one writer at a time
// anyway), so concurrent requests queue in database/sql instead of
// failing with SQLITE_BUSY; reads use a small pool that WAL lets run
// beside the writer. busy_timeout covers the rest (checkpoints, another
// process on the same file).
type Store struct {
	w   *sql.DB  // the single writer connection
	r   readPool // readers
	now func() time.Time
}

// readPool is the readers' *sql.DB, counting the queries it runs so that
// tests can prove a request's work does not grow with the fleet.
type readPool struct {
	*sql.DB
	queries *atomic.Int64
}

func (p readPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	p.queries.Add(1)
	return p.DB.QueryContext(ctx, q, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	p.queries.Add(1)
	return p.DB.QueryRowContext(ctx, q, args...)
}

// readQueries is how many queries the readers have run so far.
func (s *Store) readQueries() int64 { return s.r.queries.Load() }

var (
	errNotFound = errors.New("devserver: not found")
	errConflict = errors.New("devserver: conflict")
)

const schema = `
CREATE TABLE IF NOT EXISTS nodes (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	hostname     TEXT NOT NULL DEFAULT '',
	public_ip    TEXT NOT NULL DEFAULT '',
	ssh_port     INTEGER NOT NULL DEFAULT 22,
	ssh_user     TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL CHECK (status IN ('acquiring','provisioning','active','unreachable','decommissioned')),
	is_local     INTEGER NOT NULL DEFAULT 0,
	ssh_private_key_path TEXT NOT NULL DEFAULT '',
	last_seen_at TEXT,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_list_order ON nodes (created_at, name);
CREATE TABLE IF NOT EXISTS sites (
	id                     TEXT PRIMARY KEY,
	name                   TEXT NOT NULL,
	slug                   TEXT NOT NULL UNIQUE,
	status                 TEXT NOT NULL,
	primary_environment_id TEXT,
	node_id                TEXT NOT NULL REFERENCES nodes(id),
	created_at             TEXT NOT NULL,
	updated_at             TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
	id                    TEXT PRIMARY KEY,
	site_id               TEXT NOT NULL REFERENCES sites(id),
	name                  TEXT NOT NULL,
	slug                  TEXT NOT NULL,
	environment_type      TEXT NOT NULL CHECK (environment_type IN ('production','staging','clone')),
	status                TEXT NOT NULL,
	node_id               TEXT NOT NULL REFERENCES nodes(id),
	source_environment_id TEXT REFERENCES environments(id),
	promotion_preset      TEXT NOT NULL CHECK (promotion_preset IN ('content-protect','commerce-protect')),
	created_at            TEXT NOT NULL,
	updated_at            TEXT NOT NULL,
	UNIQUE (site_id, slug)
);
CREATE TABLE IF NOT EXISTS jobs (
	id             TEXT PRIMARY KEY,
	job_type       TEXT NOT NULL CHECK (job_type IN ('site_create','env_create','node_acquire')),
	status         TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
	site_id        TEXT REFERENCES sites(id),
	environment_id TEXT REFERENCES environments(id),
	node_id        TEXT REFERENCES nodes(id),
	payload_json   TEXT NOT NULL DEFAULT '{}',
	attempt_count  INTEGER NOT NULL DEFAULT 0,
	max_attempts   INTEGER NOT NULL DEFAULT 1,
	run_after      TEXT NOT NULL,
	locked_at      TEXT,
	locked_by      TEXT,
	started_at     TEXT,
	finished_at    TEXT,
	error_code     TEXT,
	error_message  TEXT,
	created_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, run_after);
CREATE TABLE IF NOT EXISTS audit_logs (
	id            TEXT PRIMARY KEY,
	user_id       TEXT,
	action        TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id   TEXT NOT NULL,
	result        TEXT NOT NULL,
	details_json  TEXT NOT NULL DEFAULT '{}',
	created_at    TEXT NOT NULL
);
`

// openStore opens (creating if needed) the database at path.
func openStore(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("devserver: database path %q: must be non-empty without '?' or '#'", path)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("devserver: open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("devserver: create schema: %w", err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("devserver: open database: %w", err)
	}
	r.SetMaxOpenConns(8)
	return &Store{w: w, r: readPool{r, new(atomic.Int64)}, now: func() time.Time { return time.Now().UTC() }}, nil
}

// migrate adds the columns a database made by an older devserver lacks.
func migrate(ctx context.Context, w *sql.DB) error {
	var n int
	err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('nodes') WHERE name = 'ssh_private_key_path'`).Scan(&n)
	if err == nil && n == 0 {
		_, err = w.ExecContext(ctx, `ALTER TABLE nodes ADD COLUMN ssh_private_key_path TEXT NOT NULL DEFAULT ''`)
	}
	if err != nil {
		return fmt.Errorf("devserver: migrate schema: %w", err)
	}
	return nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// tx runs f in one write transaction (BEGIN IMMEDIATE) on the writer.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("devserver: begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("devserver: commit: %w", err)
	}
	return nil
}

// newID returns a random (version 4) UUID from crypto/rand.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseTS reads a stored timestamp; NULL or garbage is the zero time.
func parseTS(ns sql.NullString) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, ns.String)
	return t
}

// NodeRow is one row of nodes.
type NodeRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	PublicIP string `json:"public_ip"`
	SSHPort  int    `json:"ssh_port"`
	SSHUser  string `json:"ssh_user"`
	Status   string `json:"status"`
	IsLocal  bool   `json:"is_local"`
	// SSHPrivateKeyPath is the node's key file (pressluft's
	// ssh_private_key_path); "" for the fake fleet, whose keys are in
	// memory. Never served.
	SSHPrivateKeyPath string    `json:"-"`
	LastSeenAt        time.Time `json:"last_seen_at,omitzero"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Node status values (the host's node_status plus acquiring).
const (
	nodeAcquiring      = "acquiring"
	nodeProvisioning   = "provisioning"
	nodeActive         = "active"
	nodeUnreachable    = "unreachable"
	nodeDecommissioned = "decommissioned"
)

// upsertNode inserts n, or, when a node of the same name exists, updates
// its address, SSH settings, key file, status and is_local and keeps its id (so a
// restart with -db keeps the sites' node ids). It returns the id.
func (s *Store) upsertNode(ctx context.Context, n NodeRow) (string, error) {
	now := ts(s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM nodes WHERE name = ? ORDER BY created_at LIMIT 1`, n.Name).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if n.ID == "" {
				n.ID = newID()
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO nodes (id, name, hostname, public_ip, ssh_port, ssh_user, status, is_local, ssh_private_key_path, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				n.ID, n.Name, n.Hostname, n.PublicIP, n.SSHPort, n.SSHUser, n.Status, n.IsLocal, n.SSHPrivateKeyPath, now, now)
		case err == nil:
			n.ID = id
			_, err = tx.ExecContext(ctx, `UPDATE nodes SET hostname = ?, public_ip = ?, ssh_port = ?, ssh_user = ?, status = ?, is_local = ?,
				ssh_private_key_path = ?, updated_at = ? WHERE id = ?`,
				n.Hostname, n.PublicIP, n.SSHPort, n.SSHUser, n.Status, n.IsLocal, n.SSHPrivateKeyPath, now, id)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("devserver: save node %q: %w", n.Name, err)
	}
	return n.ID, nil
}

// insertNodes inserts rows (new ids when empty) in one transaction, for
// a large fake fleet.
func (s *Store) insertNodes(ctx context.Context, rows []NodeRow) error {
	now := ts(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO nodes (id, name, hostname, public_ip, ssh_port, ssh_user, status, is_local, ssh_private_key_path, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', ?, ?)`)
		if err != nil {
			return fmt.Errorf("devserver: insert nodes: %w", err)
		}
		defer st.Close()
		for _, n := range rows {
			if n.ID == "" {
				n.ID = newID()
			}
			if _, err := st.ExecContext(ctx, n.ID, n.Name, n.Hostname, n.PublicIP, n.SSHPort, n.SSHUser, n.Status, now, now); err != nil {
				return fmt.Errorf("devserver: insert node %q: %w", n.Name, err)
			}
		}
		return nil
	})
}

// setNodeState moves a node to status; a non-empty ip also sets
// public_ip, port and user (the provider handing the machine over).
func (s *Store) setNodeState(ctx context.Context, id, status, ip string, port int, user string) error {
	var err error
	if ip != "" {
		_, err = s.w.ExecContext(ctx, `UPDATE nodes SET status = ?, public_ip = ?, ssh_port = ?, ssh_user = ?, updated_at = ? WHERE id = ?`,
			status, ip, port, user, ts(s.now()), id)
	} else {
		_, err = s.w.ExecContext(ctx, `UPDATE nodes SET status = ?, updated_at = ? WHERE id = ?`, status, ts(s.now()), id)
	}
	if err != nil {
		return fmt.Errorf("devserver: set node %s %s: %w", id, status, err)
	}
	return nil
}

// touchNode records that a job reached the node over SSH.
func (s *Store) touchNode(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE nodes SET last_seen_at = ? WHERE id = ?`, ts(s.now()), id)
	return err
}

const nodeCols = `id, name, hostname, public_ip, ssh_port, ssh_user, status, is_local, ssh_private_key_path, last_seen_at, created_at, updated_at`

func scanNode(sc interface{ Scan(...any) error }) (NodeRow, error) {
	var (
		n                  NodeRow
		seen, created, upd sql.NullString
	)
	err := sc.Scan(&n.ID, &n.Name, &n.Hostname, &n.PublicIP, &n.SSHPort, &n.SSHUser, &n.Status, &n.IsLocal, &n.SSHPrivateKeyPath,
		&seen, &created, &upd)
	n.LastSeenAt, n.CreatedAt, n.UpdatedAt = parseTS(seen), parseTS(created), parseTS(upd)
	return n, err
}

func (s *Store) nodeRow(ctx context.Context, id string) (NodeRow, error) {
	n, err := scanNode(s.r.QueryRowContext(ctx, `SELECT `+nodeCols+` FROM nodes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return NodeRow{}, notFound("node", id)
	}
	if err != nil {
		return NodeRow{}, fmt.Errorf("devserver: node %q: %w", id, err)
	}
	return n, nil
}

func (s *Store) nodeRows(ctx context.Context) ([]NodeRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+nodeCols+` FROM nodes ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("devserver: list nodes: %w", err)
	}
	defer rows.Close()
	var out []NodeRow
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, fmt.Errorf("devserver: list nodes: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// candidateNodes are the nodes a site created without node_id may go to,
// in the control plane's order of preference: the is_local node (the
// control plane's own host) first, then every other node that is not
// decommissioned, oldest first. The create flow takes the first one the
// gate admits (preflight.Gate.Choose); none at all is a no_candidate_node
// refusal.
func (s *Store) candidateNodes(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM nodes WHERE status != 'decommissioned'
		ORDER BY is_local DESC, created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("devserver: candidate nodes: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("devserver: candidate nodes: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// preflight is the gate's view of the record. The status maps with
// preflight.HostLifecycle: acquiring, provisioning and decommissioned
// are decided from the record; active and unreachable are probed (the
// probe decides).
func (n NodeRow) preflight() preflight.Node {
	host := n.PublicIP
	if host == "" {
		host = n.Hostname
	}
	return preflight.Node{
		ID: n.ID, Name: n.Name, Lifecycle: preflight.HostLifecycle(n.Status, host),
		Host: host, Port: n.SSHPort, User: n.SSHUser, KeyFile: n.SSHPrivateKeyPath, IsLocal: n.IsLocal,
	}
}

// storeNodes is the preflight.NodeSource over the nodes table.
type storeNodes struct{ s *Store }

// Node implements preflight.NodeSource.
func (sn storeNodes) Node(ctx context.Context, id string) (preflight.Node, error) {
	n, err := sn.s.nodeRow(ctx, id)
	if err != nil {
		return preflight.Node{}, err
	}
	return n.preflight(), nil
}

// Nodes implements preflight.NodeSource.
func (sn storeNodes) Nodes(ctx context.Context) ([]preflight.Node, error) {
	rows, err := sn.s.nodeRows(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]preflight.Node, len(rows))
	for i, n := range rows {
		out[i] = n.preflight()
	}
	return out, nil
}

// AuditLog is one row of audit_logs.
type AuditLog struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id,omitempty"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	Result       string    `json:"result"`
	DetailsJSON  string    `json:"details_json"`
	CreatedAt    time.Time `json:"created_at"`
}

func (s *Store) insertAudit(ctx context.Context, a AuditLog) error {
	if a.ID == "" {
		a.ID = newID()
	}
	var user any
	if a.UserID != "" {
		user = a.UserID
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit_logs (id, user_id, action, resource_type, resource_id, result, details_json, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, user, a.Action, a.ResourceType, a.ResourceID, a.Result, a.DetailsJSON, ts(s.now()))
	if err != nil {
		return fmt.Errorf("devserver: audit: %w", err)
	}
	return nil
}

func (s *Store) auditLogs(ctx context.Context) ([]AuditLog, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, COALESCE(user_id, ''), action, resource_type, resource_id, result, details_json, created_at
		FROM audit_logs ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("devserver: audit logs: %w", err)
	}
	defer rows.Close()
	var out []AuditLog
	for rows.Next() {
		var (
			a  AuditLog
			at sql.NullString
		)
		if err := rows.Scan(&a.ID, &a.UserID, &a.Action, &a.ResourceType, &a.ResourceID, &a.Result, &a.DetailsJSON, &at); err != nil {
			return nil, err
		}
		a.CreatedAt = parseTS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// count returns SELECT COUNT(*) FROM table [WHERE where]; for tests and
// the start-up banner. table and where are constants of the caller.
func (s *Store) count(ctx context.Context, table, where string, args ...any) (int, error) {
	q := `SELECT COUNT(*) FROM ` + table
	if where != "" {
		q += ` WHERE ` + where
	}
	var n int
	err := s.r.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}
