package preflight

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
	"github.com/pressluft/runtime-readiness/sshexec"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is an injectable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func readyFacts() *readiness.Facts { return readinesstest.ReadyFacts() }

// facts returns ready facts changed by fn.
func facts(fn func(f *readiness.Facts)) *readiness.Facts {
	f := readyFacts()
	fn(f)
	return f
}

func readyObs() readiness.Observation { return readiness.Observation{Facts: readyFacts()} }

func factsObs(fn func(f *readiness.Facts)) readiness.Observation {
	return readiness.Observation{Facts: facts(fn)}
}

func transportObs(c readiness.Code) readiness.Observation {
	return readiness.Observation{Transport: &readiness.TransportFailure{Code: c, Detail: "test"}}
}

func sudoPassword(f *readiness.Facts) { f.Sudo = readiness.SudoPasswordRequired }

// fakeProber returns canned observations (ready by default) and counts
// calls. With tokens set, every Observe takes one token before it
// returns, ignoring ctx, to hold a probe in flight.
type fakeProber struct {
	mu       sync.Mutex
	results  map[string]readiness.Observation
	calls    map[string]int
	targets  map[string]sshexec.Target
	inflight int
	maxIn    int
	panicV   any
	delay    time.Duration

	tokens  chan struct{}
	started chan string // nil, or receives each node id as its probe starts
	total   atomic.Int64
}

func newFakeProber() *fakeProber {
	return &fakeProber{
		results: map[string]readiness.Observation{},
		calls:   map[string]int{},
		targets: map[string]sshexec.Target{},
	}
}

func (p *fakeProber) set(id string, obs readiness.Observation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results[id] = obs
}

func (p *fakeProber) setPanic(v any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.panicV = v
}

func (p *fakeProber) count(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

func (p *fakeProber) maxInflight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxIn
}

func (p *fakeProber) Observe(_ context.Context, id string, t sshexec.Target) readiness.Observation {
	p.total.Add(1)
	p.mu.Lock()
	p.calls[id]++
	p.targets[id] = t
	p.inflight++
	p.maxIn = max(p.maxIn, p.inflight)
	obs, ok := p.results[id]
	pv, delay := p.panicV, p.delay
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()
	if p.started != nil {
		p.started <- id
	}
	if p.tokens != nil {
		<-p.tokens
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if pv != nil {
		panic(pv)
	}
	if !ok {
		obs = readyObs()
	}
	return obs
}

// countingNodes counts Node look-ups.
type countingNodes struct {
	*MemoryNodes
	lookups atomic.Int64
}

func (c *countingNodes) Node(ctx context.Context, id string) (Node, error) {
	c.lookups.Add(1)
	return c.MemoryNodes.Node(ctx, id)
}

func activeNode(id string) Node {
	return Node{ID: id, Name: id, Lifecycle: readiness.LifecycleActive, Host: "10.0.0.1", User: "pressluft"}
}

type fixture struct {
	gate   *Gate
	nodes  *MemoryNodes
	prober *fakeProber
	clock  *clock
	creds  *MemoryCredentials
}

// newFixture builds a gate over one active node "n1", a fake prober and a
// fake clock; edit adjusts the Config before New.
func newFixture(t *testing.T, edit func(c *Config)) *fixture {
	t.Helper()
	f := &fixture{
		nodes:  NewMemoryNodes(activeNode("n1")),
		prober: newFakeProber(),
		clock:  newClock(),
		creds:  NewMemoryCredentials(newSigner(t)),
	}
	cfg := Config{Nodes: f.nodes, Credentials: f.creds, Prober: f.prober, Now: f.clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	f.gate = g
	return f
}

// waitFor polls cond for up to 10s (a bound against a hang, not a speed
// claim: a loaded CI machine may take a while).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
