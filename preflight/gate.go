package preflight

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// ErrClosed is returned by a Gate's methods once Close has been called,
// whenever they would have had to start a probe.
var ErrClosed = errors.New("preflight: gate closed")

// Decision is the gate's answer for one operation on one node.
type Decision struct {
	Operation readiness.Operation
	NodeID    string
	// Admit is true when the operation may go ahead.
	Admit bool
	// Mode is the mode that decided: ModeEnforce for a refusal, ModeWarn
	// for a node admitted although not ready, and Config.Mode for a ready
	// node.
	Mode Mode
	// WouldRefuse is true when the node is not ready, that is when
	// enforcement would have refused: always with Admit false, and with
	// Admit true in warn mode, so a warn-mode admission is recorded
	// exactly as a refusal would be.
	WouldRefuse bool
	// Waived lists the blocking reason codes admitted in warn mode, in
	// report order; empty unless Admit and WouldRefuse are both true.
	Waived []readiness.Code
	// Report is the readiness report the decision rests on, evaluated
	// under the operation's policy. It is shared with other callers:
	// treat it as read-only.
	Report readiness.Report
	// Cached is true when the report came from a cached observation
	// rather than a probe this check started or joined.
	Cached bool
	// Duration is how long Check took, probe included.
	Duration time.Duration
	// Candidates is set on a refusal by Choose: the decision for every
	// candidate it checked, in the host's order, so the refusal carries
	// each candidate's reasons. The Decision itself is then the first
	// candidate's refusal (or, with no candidate at all, a
	// no_candidate_node refusal with NodeID ""). nil for Check.
	Candidates []Decision
}

// Err returns nil when d admits the operation, and a *RefusedError
// holding d otherwise: the error a host's service returns from its create
// flow so that its handler can answer 409 (apihttp.WriteRefusal) and its
// worker can fail the job with JobErrorNodeNotReady.
func (d Decision) Err() error {
	if d.Admit {
		return nil
	}
	return &RefusedError{Decision: d}
}

// JobErrorNodeNotReady is the job error code (pressluft's UPPER_SNAKE job
// codes) of a job that was admitted but whose node was not ready when the
// worker re-checked it just before running: the job fails with it and the
// refusal's summary; it never succeeds.
const JobErrorNodeNotReady = "NODE_NOT_READY"

// RefusedError is the error of a refused Decision (Decision.Err). Its
// text is operator-safe: the operation, the node and the report's
// summary (state and primary reason), never remote output.
type RefusedError struct {
	Decision Decision
}

func (e *RefusedError) Error() string {
	d := e.Decision
	if d.NodeID == "" {
		return "preflight: no node for " + string(d.Operation) + ": " + d.Report.Summary()
	}
	return "preflight: node " + d.NodeID + " is not ready for " + string(d.Operation) + ": " + d.Report.Summary()
}

// Gate decides whether a node may take an operation. It caches
// observations per node, coalesces concurrent probes of one node, and
// bounds probes across the fleet. Create it with New; it is safe for
// concurrent use; call Close when done.
type Gate struct {
	cfg Config
	sem chan struct{} // fleet-wide probe slots

	base   context.Context // parent of every probe; cancelled by Close
	cancel context.CancelFunc

	lifeMu sync.Mutex
	closed bool
	wg     sync.WaitGroup // probe goroutines

	mu      sync.RWMutex
	entries map[string]*entry

	sharedMu      sync.Mutex
	sharedReports map[sharedKey]readiness.Report // see shared

	// testHookFollow, if set, is called (under the entry's lock) when a
	// forced caller waits for a probe that started before it asked.
	testHookFollow func()
}

// New validates cfg and returns a Gate. Errors wrap ErrInvalidConfig.
func New(cfg Config) (*Gate, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	return &Gate{
		cfg:     c,
		sem:     make(chan struct{}, c.MaxConcurrentProbes),
		base:    base,
		cancel:  cancel,
		entries: map[string]*entry{},
	}, nil
}

// Close stops new probes, interrupts running ones (their context is
// cancelled) and waits for every probe goroutine to return. Checks
// answered from the cache still work afterwards; anything that needs a
// probe fails with ErrClosed. Close is idempotent and returns nil.
func (g *Gate) Close() error {
	g.lifeMu.Lock()
	g.closed = true
	g.lifeMu.Unlock()
	g.cancel()
	g.wg.Wait()
	return nil
}

func (g *Gate) isClosed() bool {
	g.lifeMu.Lock()
	defer g.lifeMu.Unlock()
	return g.closed
}

// Check decides whether op may run on the node. Acquiring, provisioning
// and decommissioned nodes, and nodes without an address, are decided
// from their record without probing. Other nodes are decided from a
// cached observation while it is fresh (ReadyTTL when it makes the node
// ready for op, FailTTL otherwise), else from a probe shared with every
// concurrent caller.
//
// A not-ready node is a Decision, not an error. The error is non-nil only
// for an unknown node (wrapping ErrNodeNotFound), another NodeSource or
// Credentials failure, ctx ending before the probe finished (wrapping
// ctx.Err(); the probe goes on for other callers), an empty op, or
// ErrClosed.
func (g *Gate) Check(ctx context.Context, op readiness.Operation, nodeID string) (Decision, error) {
	start := g.cfg.Now()
	if op == "" {
		return Decision{}, errors.New("preflight: check: empty operation")
	}
	n, err := g.node(ctx, nodeID)
	if err != nil {
		return Decision{}, err
	}
	var (
		r      readiness.Report
		cached bool
	)
	if n.probed() {
		r, cached, err = g.evaluate(ctx, n, op, false)
		if err != nil {
			return Decision{}, err
		}
	} else {
		r = g.unprobed(n, op, start, true)
	}
	d := g.decide(op, nodeID, r, cached)
	d.Duration = g.cfg.Now().Sub(start)
	g.notify(d)
	return d, nil
}

// Refresh probes the node now, whatever the cache holds, and returns its
// report under the DefaultOperation's policy. A probe already running
// when Refresh is called is waited for and then followed by a new one;
// concurrent refreshes share that new probe. Nodes that are not probed
// get their record-based report. Errors are as for Check.
func (g *Gate) Refresh(ctx context.Context, nodeID string) (readiness.Report, error) {
	n, err := g.node(ctx, nodeID)
	if err != nil {
		return readiness.Report{}, err
	}
	op := g.cfg.DefaultOperation
	if !n.probed() {
		return g.unprobed(n, op, g.cfg.Now(), true), nil
	}
	r, _, err := g.evaluate(ctx, n, op, true)
	return r, err
}

// Report returns the node's last known report under the
// DefaultOperation's policy, without probing: readiness unknown
// (node_never_probed) if it was never probed, marked stale
// (readiness_stale) once older than StaleAfter, and the record-based
// report (pending, decommissioned, address missing) for nodes that are
// not probed. The error wraps ErrNodeNotFound or the NodeSource's error.
func (g *Gate) Report(ctx context.Context, nodeID string) (readiness.Report, error) {
	n, err := g.node(ctx, nodeID)
	if err != nil {
		return readiness.Report{}, err
	}
	return g.lastReport(n, g.cfg.Now()), nil
}

// lastReport is Report for a node record already looked up.
func (g *Gate) lastReport(n Node, now time.Time) readiness.Report {
	op := g.cfg.DefaultOperation
	if !n.probed() {
		return g.shared(n, op, now)
	}
	e := g.lookup(n.ID)
	if g.cfg.Memory != nil {
		e = g.loaded(n)
	}
	if e != nil {
		e.mu.Lock()
		if e.hasObs && e.target == n.target() {
			r := e.reportLocked(&g.cfg, op)
			at := e.at
			e.mu.Unlock()
			if now.Sub(at) > g.cfg.StaleAfter {
				r = r.Stale()
			}
			return r
		}
		e.mu.Unlock()
	}
	return g.shared(n, op, time.Time{})
}

// sharedKey is what the report of a node decided without an observation
// depends on besides its id and check time.
type sharedKey struct {
	lifecycle  readiness.Lifecycle
	user       string
	probed     bool // never probed yet, rather than not probed at all
	hasAddress bool
	problem    string
}

// maxSharedKeys bounds the shared reports the gate keeps.
const maxSharedKeys = 64

// shared is the report, without recording it, of a node decided without
// an observation: one that is not probed at all (pending, decommissioned,
// no address, bad SSH settings; checked now), or one probed but not yet
// (node_never_probed; check time zero). It is the same for every node of
// one kind but for the id and the check time, so the gate evaluates it
// once per kind and copies it: a list of thousands of such nodes costs a
// map look-up per node, not an evaluation. The reasons and checks are
// shared, as every report the gate hands out is: read-only.
func (g *Gate) shared(n Node, op readiness.Operation, now time.Time) readiness.Report {
	k := sharedKey{lifecycle: n.Lifecycle, user: n.User, probed: n.probed()}
	if !k.probed {
		k.hasAddress, k.problem = n.hasAddress(), n.configProblem()
	}
	g.sharedMu.Lock()
	r, ok := g.sharedReports[k]
	g.sharedMu.Unlock()
	if !ok {
		if k.probed {
			obs := readiness.Observation{NodeID: n.ID, Lifecycle: n.Lifecycle, User: n.User, HasAddress: true}
			r = readiness.Evaluate(obs, g.cfg.Policy(op), op)
		} else {
			r = g.unprobed(n, op, now, false)
		}
		g.sharedMu.Lock()
		if g.sharedReports == nil {
			g.sharedReports = map[sharedKey]readiness.Report{}
		}
		if len(g.sharedReports) < maxSharedKeys {
			g.sharedReports[k] = r
		}
		g.sharedMu.Unlock()
	}
	r.NodeID = n.ID
	if !k.probed {
		r.CheckedAt = now.UTC()
	}
	return r
}

func (g *Gate) node(ctx context.Context, id string) (Node, error) {
	if err := ctx.Err(); err != nil {
		return Node{}, fmt.Errorf("preflight: node %q: %w", id, err)
	}
	n, err := g.cfg.Nodes.Node(ctx, id)
	if err != nil {
		return Node{}, fmt.Errorf("preflight: node %q: %w", id, err)
	}
	n.ID = id
	return n, nil
}

// unprobed evaluates a node that is not probed from its record alone. A
// node that leaves the active lifecycle loses its cached observation: it
// is probed afresh when it comes back.
func (g *Gate) unprobed(n Node, op readiness.Operation, now time.Time, record bool) readiness.Report {
	obs := readiness.Observation{
		NodeID: n.ID, Lifecycle: n.Lifecycle, User: n.User,
		HasAddress: n.hasAddress(), CheckedAt: now,
	}
	if p := n.configProblem(); p != "" {
		obs.Transport = &readiness.TransportFailure{Code: readiness.CodeNodeConfigInvalid, Detail: p}
	}
	r := readiness.Evaluate(obs, g.cfg.Policy(op), op)
	if record {
		e := g.loaded(n)
		e.mu.Lock()
		e.forgetLocked()
		e.recordLocked(r, now)
		e.mu.Unlock()
	}
	return r
}

// decide applies the modes to a report.
func (g *Gate) decide(op readiness.Operation, nodeID string, r readiness.Report, cached bool) Decision {
	d := Decision{Operation: op, NodeID: nodeID, Admit: true, Mode: g.cfg.Mode, Report: r, Cached: cached}
	if r.Ready() {
		return d
	}
	d.WouldRefuse = true
	var waived []readiness.Code
	enforced := false
	for _, x := range r.Reasons {
		if x.Severity != readiness.SeverityBlocking {
			continue
		}
		if g.cfg.modeOf(x.Code) == ModeWarn {
			waived = append(waived, x.Code)
		} else {
			enforced = true
		}
	}
	if enforced || len(waived) == 0 {
		d.Admit = false
		d.Mode = ModeEnforce
		return d
	}
	d.Mode = ModeWarn
	d.Waived = waived
	return d
}

// notify calls the Observer, recovering a panic.
func (g *Gate) notify(d Decision) {
	if g.cfg.Observer == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			g.cfg.Logger.Error("preflight: observer panicked", "node", d.NodeID, "operation", string(d.Operation), "panic", truncate(fmt.Sprint(v), 200))
		}
	}()
	g.cfg.Observer(d)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
