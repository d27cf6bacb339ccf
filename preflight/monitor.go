package preflight

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Monitor re-probes every probed node of Config.Nodes.Nodes once right
// away and then every interval, each wait stretched or shrunk at random
// by up to jitter (0 to 1; 0.1 means ±10%) so that a fleet of gates does
// not probe in lockstep. A round runs at most MaxConcurrentProbes probes
// at once (sharing the gate's fleet-wide bound with Check) and waits for
// all of them before the next wait. Each probe is a Refresh: it joins
// nothing older than itself. Entries of nodes that are gone from the
// NodeSource are dropped. A node within its auth-failure backoff
// (Config.AuthFailBackoff) is skipped, so the Monitor never adds failed
// logins to the node's fail2ban faster than the backoff allows.
//
// Monitor returns ctx.Err() once ctx is done, after every probe it
// started has finished (each is bounded by ProbeTimeout), or ErrClosed
// when the gate closes. A failing NodeSource is logged and retried on the
// next round. Run it in one goroutine per gate.
func (g *Gate) Monitor(ctx context.Context, every time.Duration, jitter float64) error {
	if every <= 0 {
		return errors.New("preflight: monitor: interval must be positive")
	}
	jitter = min(max(jitter, 0), 1)
	for {
		if g.isClosed() {
			return ErrClosed
		}
		g.sweep(ctx)
		d := time.Duration(float64(every) * (1 + jitter*(2*rand.Float64()-1)))
		t := time.NewTimer(max(d, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// sweep probes every node once and waits for those probes.
func (g *Gate) sweep(ctx context.Context) {
	nodes, err := g.cfg.Nodes.Nodes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			g.cfg.Logger.Error("preflight: monitor: listing nodes failed", "error", err)
		}
		return
	}
	seen := make(map[string]bool, len(nodes))
	var wg sync.WaitGroup
	slots := make(chan struct{}, g.cfg.MaxConcurrentProbes)
loop:
	for _, n := range nodes {
		seen[n.ID] = true
		if !n.probed() || g.held(n) {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			f, _ := g.await(ctx, g.loaded(n), n, true)
			if f != nil {
				<-f.done // the probe this monitor asked for: wait for it
			}
		}()
	}
	wg.Wait()
	if ctx.Err() == nil {
		g.prune(seen)
	}
}

// held reports whether n's last observation is within its auth-failure
// backoff, which the Monitor respects.
func (g *Gate) held(n Node) bool {
	e := g.lookup(n.ID)
	if g.cfg.Memory != nil {
		e = g.loaded(n) // after a restart, the backoff is in the store
	}
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.heldLocked(&g.cfg, n.target(), g.cfg.Now())
}

// prune drops the entries of nodes the NodeSource no longer lists.
func (g *Gate) prune(keep map[string]bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, e := range g.entries {
		if keep[id] {
			continue
		}
		e.mu.Lock()
		idle := e.flight == nil
		e.mu.Unlock()
		if idle {
			delete(g.entries, id)
		}
	}
}
