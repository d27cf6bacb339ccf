package preflight

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// MemoryStore keeps what the gate remembers of each node across restarts
// of the control plane (Config.Memory): in pressluft, a SQLite table
// keyed by node id with the Memory as JSON. Implementations must be safe
// for concurrent use. The gate calls Load once per node, the first time
// it needs the node, and Save after every probe it records; an error of
// either is logged and never fails a decision.
type MemoryStore interface {
	// Load returns the node's saved Memory, and false if there is none.
	Load(ctx context.Context, nodeID string) (Memory, bool, error)
	// Save replaces the node's Memory.
	Save(ctx context.Context, nodeID string, m Memory) error
}

// Memory is the gate's memory of one node: its last observation, what it
// was taken of, when, and the node's auth-failure history, which together
// decide the cache, the auth-failure backoff and the ban suspicion. It
// round-trips through encoding/json. It holds no secret and no raw remote
// output: the observation is the probe's parsed facts (OS, versions,
// units, disks) or a transport failure's code and operator-safe detail,
// as served by the readiness API; the target names the node's address
// and SSH user, never its keys.
type Memory struct {
	// Host, Port and User are the SSH target the observation was taken
	// of (Port 22 when the record says 0). A memory of another target
	// than the node's current one is not used.
	Host string `json:"host"`
	Port int    `json:"port"`
	User string `json:"user"`
	// Observation is the node's last observation.
	Observation readiness.Observation `json:"observation"`
	// RecordedAt is when the gate recorded it (Config.Now).
	RecordedAt time.Time `json:"recorded_at"`
	// AuthFails counts the consecutive probes that ended in
	// ssh_auth_failed.
	AuthFails int `json:"auth_fails"`
	// ContactAt is when a probe last reached the node's sshd; zero if
	// none did.
	ContactAt time.Time `json:"contact_at"`
}

// NewMemoryStore returns an in-memory MemoryStore for tests and
// examples: it outlives the gates that use it, as a database table
// would, and keeps each Memory as JSON, so what it hands back has been
// through the same round trip as a stored row.
func NewMemoryStore() MemoryStore {
	return &memoryStore{rows: map[string][]byte{}}
}

type memoryStore struct {
	mu   sync.Mutex
	rows map[string][]byte
}

func (s *memoryStore) Load(_ context.Context, nodeID string) (Memory, bool, error) {
	s.mu.Lock()
	b, ok := s.rows[nodeID]
	s.mu.Unlock()
	var m Memory
	if !ok {
		return m, false, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Memory{}, false, fmt.Errorf("preflight: memory store: %w", err)
	}
	return m, true, nil
}

func (s *memoryStore) Save(_ context.Context, nodeID string, m Memory) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("preflight: memory store: %w", err)
	}
	s.mu.Lock()
	s.rows[nodeID] = b
	s.mu.Unlock()
	return nil
}

// loaded returns n's entry, loading its memory from Config.Memory the
// first time the entry is needed. Concurrent callers wait for that one
// Load under the entry's lock.
func (g *Gate) loaded(n Node) *entry {
	e := g.entry(n.ID)
	if g.cfg.Memory == nil || e.loaded.Load() {
		return e
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded.Load() {
		g.loadLocked(e, n)
		e.loaded.Store(true)
	}
	return e
}

// loadLocked applies n's stored memory to a fresh entry. A failed Load
// or an unusable memory is logged and leaves the entry empty. e.mu must
// be held.
func (g *Gate) loadLocked(e *entry, n Node) {
	ctx, cancel := context.WithTimeout(g.base, g.cfg.ProbeTimeout)
	defer cancel()
	m, ok, err := g.loadMemory(ctx, n.ID)
	if err != nil {
		g.cfg.Logger.Error("preflight: loading the node's memory failed", "node", n.ID, "error", err)
		return
	}
	if !ok || m.targetKey() != n.target() {
		return // none, or of another address or user: as if after a change
	}
	r, problem := g.checkMemory(n.ID, m)
	if problem != "" {
		g.cfg.Logger.Warn("preflight: stored memory of the node is unusable, ignored", "node", n.ID, "problem", problem)
		return
	}
	e.gen++
	e.hasObs, e.target, e.obs, e.at = true, n.target(), m.Observation, m.RecordedAt
	e.reports = map[readiness.Operation]readiness.Report{g.cfg.DefaultOperation: r}
	e.authFails, e.contactAt = m.AuthFails, m.ContactAt
	e.recordLocked(r, m.RecordedAt)
}

func (m Memory) targetKey() targetKey {
	return targetKey{host: strings.TrimSpace(m.Host), port: m.Port, user: m.User}
}

// checkMemory returns the report of a stored memory under the
// DefaultOperation's policy, or what makes it unusable: it must be an
// observation of a probe of this node the gate could have recorded, from
// no later than now.
func (g *Gate) checkMemory(nodeID string, m Memory) (r readiness.Report, problem string) {
	o := m.Observation
	switch {
	case o.NodeID != nodeID:
		return r, "observation of another node"
	case !o.Probed || !o.HasAddress || !(Node{Lifecycle: o.Lifecycle, Host: "h", User: "u"}).probed():
		return r, "not an observation of a probe"
	case (o.Transport == nil) == (o.Facts == nil):
		return r, "observation with neither or both of facts and a transport failure"
	case m.RecordedAt.IsZero() || m.RecordedAt.After(g.cfg.Now()):
		return r, "recorded at no time, or in the future"
	case m.AuthFails < 0:
		return r, "negative auth failure count"
	}
	if o.Transport != nil {
		if _, ok := readiness.Lookup(o.Transport.Code); !ok {
			return r, "unknown transport code"
		}
	}
	defer func() {
		if v := recover(); v != nil {
			problem = "observation failed to evaluate: " + truncate(fmt.Sprint(v), 200)
		}
	}()
	r = readiness.Evaluate(o, g.cfg.Policy(g.cfg.DefaultOperation), g.cfg.DefaultOperation)
	if _, ok := readiness.Lookup(r.PrimaryReason); r.PrimaryReason != "" && !ok {
		return r, "observation evaluates to an unknown reason"
	}
	return r, ""
}

// save writes e's memory to Config.Memory. Saves of one node are
// serialised and each writes the entry's state when it runs, so the
// store never ends up with an older observation than the gate's.
func (g *Gate) save(e *entry, nodeID string) {
	if g.cfg.Memory == nil {
		return
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	if !e.hasObs {
		e.mu.Unlock()
		return
	}
	m := Memory{
		Host: e.target.host, Port: e.target.port, User: e.target.user,
		Observation: e.obs, RecordedAt: e.at, AuthFails: e.authFails, ContactAt: e.contactAt,
	}
	e.mu.Unlock()
	// Not cancelled by Close, which waits for it: a probe recorded just
	// before a deploy's shutdown is still saved.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(g.base), g.cfg.ProbeTimeout)
	defer cancel()
	if err := g.saveMemory(ctx, nodeID, m); err != nil {
		g.cfg.Logger.Error("preflight: saving the node's memory failed", "node", nodeID, "error", err)
	}
}

// loadMemory calls Config.Memory.Load, turning a panic into an error.
func (g *Gate) loadMemory(ctx context.Context, nodeID string) (m Memory, ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			m, ok, err = Memory{}, false, fmt.Errorf("preflight: memory store panicked: %s", truncate(fmt.Sprint(v), 200))
		}
	}()
	return g.cfg.Memory.Load(ctx, nodeID)
}

// saveMemory calls Config.Memory.Save, turning a panic into an error.
func (g *Gate) saveMemory(ctx context.Context, nodeID string, m Memory) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("preflight: memory store panicked: %s", truncate(fmt.Sprint(v), 200))
		}
	}()
	return g.cfg.Memory.Save(ctx, nodeID, m)
}
