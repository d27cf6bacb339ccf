package preflight

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// entry is the gate's state for one node: the last observation, the
// reports evaluated from it, the probe in flight, and the node's status.
type entry struct {
	mu sync.Mutex

	hasObs  bool
	target  targetKey // what the observation was taken of
	obs     readiness.Observation
	at      time.Time // gate clock when obs was recorded
	gen     uint64    // bumped with every new observation
	reports map[readiness.Operation]readiness.Report

	flight  *flight // the probe in flight, if any
	last    *flight // the last probe that finished
	started uint64  // number of probes started

	hasStatus bool
	status    NodeStatus

	// The node's recent history, for the auth-failure backoff and the
	// ban suspicion (ban.go).
	authFails int       // consecutive probes that ended in ssh_auth_failed
	contactAt time.Time // gate clock of the last probe that reached sshd

	loaded atomic.Bool // Config.Memory was consulted (memory.go)
	saveMu sync.Mutex  // serialises Config.Memory.Save
}

// flight is one probe of one node, shared by every caller that waits for
// it. Its result fields are written before done is closed.
type flight struct {
	seq  uint64
	done chan struct{}

	obs readiness.Observation
	gen uint64
	err error // a control-plane failure (credentials, Close): nothing cached
}

// reportLocked returns the observation's report for op, evaluating it the
// first time. e.mu must be held and e.hasObs true.
func (e *entry) reportLocked(c *Config, op readiness.Operation) readiness.Report {
	if r, ok := e.reports[op]; ok {
		return r
	}
	r := readiness.Evaluate(e.obs, c.Policy(op), op)
	if e.reports == nil {
		e.reports = map[readiness.Operation]readiness.Report{}
	}
	e.reports[op] = r
	return r
}

func (e *entry) forgetLocked() {
	e.hasObs = false
	e.obs = readiness.Observation{}
	e.reports = nil
}

func (g *Gate) lookup(id string) *entry {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.entries[id]
}

func (g *Gate) entry(id string) *entry {
	if e := g.lookup(id); e != nil {
		return e
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.entries[id]
	if e == nil {
		e = &entry{}
		g.entries[id] = e
	}
	return e
}

func (c *Config) ttl(r readiness.Report) time.Duration {
	if r.Ready() {
		return c.ReadyTTL
	}
	return c.FailTTL
}

// evaluate returns the node's report for op: from the cache while fresh
// (unless force), else from a shared probe.
func (g *Gate) evaluate(ctx context.Context, n Node, op readiness.Operation, force bool) (readiness.Report, bool, error) {
	e := g.loaded(n)
	if !force {
		now := g.cfg.Now()
		e.mu.Lock()
		if e.hasObs && e.target == n.target() {
			r := e.reportLocked(&g.cfg, op)
			if now.Sub(e.at) < max(g.cfg.ttl(r), e.authHoldLocked(&g.cfg)) {
				e.mu.Unlock()
				return r, true, nil
			}
		}
		e.mu.Unlock()
	}
	f, err := g.await(ctx, e, n, force)
	if err != nil {
		return readiness.Report{}, false, err
	}
	if f.err != nil {
		return readiness.Report{}, false, f.err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hasObs && e.gen == f.gen {
		return e.reportLocked(&g.cfg, op), false, nil
	}
	// A newer observation replaced this one, or the node left the active
	// lifecycle meanwhile: answer from what this probe saw.
	return readiness.Evaluate(f.obs, g.cfg.Policy(op), op), false, nil
}

// await joins the node's probe in flight or starts one, and waits for it
// or for ctx. A forced caller only joins a probe that started after it
// asked. On a ctx error the flight joined, if any, is still returned.
func (g *Gate) await(ctx context.Context, e *entry, n Node, force bool) (*flight, error) {
	e.mu.Lock()
	need := e.started + 1
	for {
		if force && e.last != nil && e.last.seq >= need {
			// A probe started after this refresh was asked for has
			// already finished while this caller waited.
			f := e.last
			e.mu.Unlock()
			return f, nil
		}
		f := e.flight
		if f != nil && force && f.seq < need {
			// Started before this refresh was asked for: let it finish,
			// then probe again.
			if g.testHookFollow != nil {
				g.testHookFollow()
			}
			e.mu.Unlock()
			if err := wait(ctx, f); err != nil {
				return nil, err
			}
			e.mu.Lock()
			continue
		}
		if f == nil {
			var err error
			if f, err = g.startLocked(e, n); err != nil {
				e.mu.Unlock()
				return nil, err
			}
		}
		e.mu.Unlock()
		return f, wait(ctx, f)
	}
}

func wait(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
		return nil
	default:
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("preflight: waiting for probe: %w", ctx.Err())
	}
}

// startLocked starts a probe of n. e.mu must be held.
func (g *Gate) startLocked(e *entry, n Node) (*flight, error) {
	g.lifeMu.Lock()
	if g.closed {
		g.lifeMu.Unlock()
		return nil, ErrClosed
	}
	g.wg.Add(1)
	g.lifeMu.Unlock()
	e.started++
	f := &flight{seq: e.started, done: make(chan struct{})}
	e.flight = f
	go g.run(e, n, f)
	return f, nil
}

// run is the goroutine of one flight; the gate's wait group owns it.
func (g *Gate) run(e *entry, n Node, f *flight) {
	defer g.wg.Done()
	obs, err := g.probe(n)
	now := g.cfg.Now()
	e.mu.Lock()
	if err == nil {
		obs = e.noteLocked(n, obs, now)
		e.gen++
		e.hasObs, e.target, e.obs, e.at, e.reports = true, n.target(), obs, now, nil
		e.recordLocked(e.reportLocked(&g.cfg, g.cfg.DefaultOperation), now)
	}
	f.obs, f.gen, f.err = obs, e.gen, err
	e.flight, e.last = nil, f
	e.mu.Unlock()
	if err == nil {
		g.notifyProbe(probeEvent(obs))
	}
	close(f.done)
	if err == nil {
		g.save(e, n.ID)
	}
}

// probe takes a fleet slot and runs the Prober under the gate's own
// deadline. Its only error is ErrClosed; everything else, the control
// plane's own credential failures included, is in the observation.
func (g *Gate) probe(n Node) (readiness.Observation, error) {
	select {
	case g.sem <- struct{}{}:
	case <-g.base.Done():
		return readiness.Observation{}, ErrClosed
	}
	defer func() { <-g.sem }()
	ctx, cancel := context.WithTimeout(g.base, g.cfg.ProbeTimeout)
	defer cancel()
	start := g.cfg.Now()
	var obs readiness.Observation
	if t, tf := g.target(ctx, n); tf != nil {
		obs.Transport = tf
	} else {
		obs = g.observe(ctx, n, t)
		if !obs.Probed && obs.Transport == nil && obs.Facts == nil {
			// The Prober could not attempt the round trip for a reason on
			// the control plane's side (with a valid record and keys,
			// that is a host key it could not record).
			if ctx.Err() != nil && g.base.Err() != nil {
				return readiness.Observation{}, ErrClosed
			}
			obs.Transport = &readiness.TransportFailure{
				Code:   readiness.CodeSSHCredentialsUnavailable,
				Detail: "the control plane could not use its SSH credentials for this node",
			}
		}
	}
	obs.NodeID = n.ID
	obs.Lifecycle = n.Lifecycle
	obs.HasAddress = true
	obs.Probed = true
	if obs.User == "" {
		obs.User = n.User
	}
	if obs.CheckedAt.IsZero() {
		obs.CheckedAt = start
	}
	if obs.Duration == 0 {
		obs.Duration = g.cfg.Now().Sub(start)
	}
	return obs, nil
}

// observe calls the Prober, turning a panic into probe_output_invalid.
func (g *Gate) observe(ctx context.Context, n Node, t sshexec.Target) (obs readiness.Observation) {
	defer func() {
		if v := recover(); v != nil {
			g.cfg.Logger.Error("preflight: prober panicked", "node", n.ID, "panic", truncate(fmt.Sprint(v), 200))
			obs = readiness.Observation{Transport: &readiness.TransportFailure{
				Code: readiness.CodeProbeOutputInvalid, Detail: "the prober failed internally",
			}}
		}
	}()
	return g.cfg.Prober.Observe(ctx, n.ID, t)
}

// target builds the SSH target of n from its Credentials. A failure of
// the Credentials, no client key at all, or no host-key policy is
// ssh_credentials_unavailable: the node is not dialed.
func (g *Gate) target(ctx context.Context, n Node) (sshexec.Target, *readiness.TransportFailure) {
	unavailable := func(what string, err error) *readiness.TransportFailure {
		if err != nil {
			g.cfg.Logger.Error("preflight: credentials failed", "node", n.ID, "what", what, "error", err)
		}
		return &readiness.TransportFailure{Code: readiness.CodeSSHCredentialsUnavailable, Detail: what}
	}
	a, err := g.cfg.Credentials.Auth(ctx, n)
	switch {
	case err != nil:
		return sshexec.Target{}, unavailable("the node's SSH credentials could not be loaded", err)
	case len(a.Signers) == 0 && !a.UseAgent:
		return sshexec.Target{}, unavailable("no client key is configured for the node", nil)
	case a.HostKeys == nil:
		return sshexec.Target{}, unavailable("no host-key policy is configured for the node", nil)
	case a.UseAgent && len(a.AgentKeys) == 0:
		return sshexec.Target{}, unavailable("the ssh agent is not restricted to the node's own key", nil)
	}
	return sshexec.Target{
		Host: strings.TrimSpace(n.Host), Port: n.port(), User: n.User,
		Signers: a.Signers, UseAgent: a.UseAgent, AgentKeys: a.AgentKeys, HostKeys: a.HostKeys,
	}, nil
}
