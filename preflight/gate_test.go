package preflight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

var ctx = context.Background()

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := Config{Nodes: NewMemoryNodes(), Credentials: NewMemoryCredentials(), Prober: newFakeProber()}
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"no nodes", func(c *Config) { c.Nodes = nil }},
		{"no credentials", func(c *Config) { c.Credentials = nil }},
		{"no prober", func(c *Config) { c.Prober = nil }},
		{"unknown mode", func(c *Config) { c.Mode = "audit" }},
		{"unknown code", func(c *Config) { c.CodeModes = map[readiness.Code]Mode{"nope": ModeWarn} }},
		{"unknown code mode", func(c *Config) {
			c.CodeModes = map[readiness.Code]Mode{readiness.CodeSudoMissing: "off"}
		}},
		{"negative ttl", func(c *Config) { c.ReadyTTL = -time.Second }},
		{"negative probes", func(c *Config) { c.MaxConcurrentProbes = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			tt.edit(&c)
			_, err := New(c)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
	g, err := New(ok)
	require.NoError(t, err)
	require.NoError(t, g.Close())
}

func TestConfigCopied(t *testing.T) {
	t.Parallel()
	modes := map[readiness.Code]Mode{readiness.CodeSudoPasswordRequired: ModeWarn}
	f := newFixture(t, func(c *Config) { c.CodeModes = modes })
	modes[readiness.CodeSudoPasswordRequired] = ModeEnforce
	f.prober.set("n1", factsObs(sudoPassword))
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if !d.Admit {
		t.Fatalf("got Admit false, want true: CodeModes changed after New must not matter")
	}
}

func TestCheckCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		obs        readiness.Observation
		advance    time.Duration
		wantProbes int
	}{
		{"ready within ReadyTTL", readyObs(), 59 * time.Second, 1},
		{"ready at ReadyTTL", readyObs(), 60 * time.Second, 2},
		{"failure within FailTTL", transportObs(readiness.CodeSSHUnreachable), 9 * time.Second, 1},
		{"failure at FailTTL", transportObs(readiness.CodeSSHUnreachable), 10 * time.Second, 2},
		{"not ready within FailTTL", factsObs(sudoPassword), 9 * time.Second, 1},
		{"not ready after FailTTL", factsObs(sudoPassword), 11 * time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.prober.set("n1", tt.obs)
			d1, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			if d1.Cached {
				t.Fatalf("first check: got Cached true, want false")
			}
			f.clock.Advance(tt.advance)
			d2, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			if got := f.prober.count("n1"); got != tt.wantProbes {
				t.Fatalf("got %d probes, want %d", got, tt.wantProbes)
			}
			if want := tt.wantProbes == 1; d2.Cached != want {
				t.Fatalf("second check: got Cached %v, want %v", d2.Cached, want)
			}
			wantAt := t0 // a cached report keeps the time it was probed
			if tt.wantProbes == 2 {
				wantAt = f.clock.Now()
			}
			if !d2.Report.CheckedAt.Equal(wantAt) {
				t.Fatalf("second check: got CheckedAt %v, want %v", d2.Report.CheckedAt, wantAt)
			}
			d2.Report.CheckedAt = d1.Report.CheckedAt
			if diff := cmp.Diff(d1.Report, d2.Report); diff != "" {
				t.Fatalf("report changed (-first +second):\n%s", diff)
			}
		})
	}
}

func TestCheckPerOperationPolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// fail2ban is in the site_create baseline, not in env_create's.
	f.prober.set("n1", factsObs(func(f *readiness.Facts) { delete(f.Components, readiness.ComponentFail2ban) }))

	site, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	env, err := f.gate.Check(ctx, readiness.OperationEnvCreate, "n1")
	require.NoError(t, err)
	if site.Admit || site.Report.PrimaryReason != readiness.CodeRuntimeComponentMissing {
		t.Fatalf("site_create: got admit=%v primary=%q, want refused with runtime_component_missing", site.Admit, site.Report.PrimaryReason)
	}
	if !env.Admit || !env.Cached || env.Report.Operation != string(readiness.OperationEnvCreate) {
		t.Fatalf("env_create: got admit=%v cached=%v op=%q, want admitted from the cache", env.Admit, env.Cached, env.Report.Operation)
	}
	if got := f.prober.count("n1"); got != 1 {
		t.Fatalf("got %d probes, want 1", got)
	}

	// Each operation's report keeps its own TTL: past FailTTL the refused
	// operation re-probes, the admitted one does not.
	f.clock.Advance(15 * time.Second)
	env, err = f.gate.Check(ctx, readiness.OperationEnvCreate, "n1")
	require.NoError(t, err)
	if !env.Cached || f.prober.count("n1") != 1 {
		t.Fatalf("env_create after 15s: got cached=%v probes=%d, want cached with 1 probe", env.Cached, f.prober.count("n1"))
	}
	site, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if site.Cached || f.prober.count("n1") != 2 {
		t.Fatalf("site_create after 15s: got cached=%v probes=%d, want a new probe", site.Cached, f.prober.count("n1"))
	}
}

func TestCheckCoalescesParallelCallers(t *testing.T) {
	t.Parallel()
	const callers = 1000
	nodes := &countingNodes{MemoryNodes: NewMemoryNodes(activeNode("n1"))}
	f := newFixture(t, func(c *Config) { c.Nodes = nodes })
	f.prober.tokens = make(chan struct{}, 1)

	decisions := make([]Decision, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { decisions[i], errs[i] = f.gate.Check(ctx, readiness.OperationSiteCreate, "n1") })
	}
	// Hold the probe until every caller has at least looked the node up.
	waitFor(t, "all callers", func() bool { return nodes.lookups.Load() == callers })
	time.Sleep(20 * time.Millisecond)
	f.prober.tokens <- struct{}{}
	wg.Wait()

	if got := f.prober.total.Load(); got != 1 {
		t.Fatalf("got %d probes, want 1", got)
	}
	for i := range callers {
		require.NoError(t, errs[i])
		if diff := cmp.Diff(decisions[0].Report, decisions[i].Report); diff != "" {
			t.Fatalf("caller %d: report differs (-0 +%d):\n%s", i, i, diff)
		}
		if !decisions[i].Admit {
			t.Fatalf("caller %d: got Admit false, want true", i)
		}
	}
}

func TestCancelledWaiterReturnsPromptly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.prober.tokens = make(chan struct{})
	f.prober.started = make(chan string, 1)

	cctx, cancel := context.WithCancel(ctx)
	errA := make(chan error, 1)
	go func() {
		_, err := f.gate.Check(cctx, readiness.OperationSiteCreate, "n1")
		errA <- err
	}()
	<-f.prober.started
	type result struct {
		d   Decision
		err error
	}
	resB := make(chan result, 1)
	go func() {
		d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
		resB <- result{d, err}
	}()

	cancel()
	select {
	case err := <-errA:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second): // the probe is held forever
		t.Fatal("cancelled waiter did not return within 10s")
	}

	f.prober.tokens <- struct{}{} // the shared probe carries on for B
	b := <-resB
	require.NoError(t, b.err)
	if !b.d.Admit {
		t.Fatalf("other waiter: got Admit false, want true")
	}
	if got := f.prober.count("n1"); got != 1 {
		t.Fatalf("got %d probes, want 1", got)
	}
}

func TestFleetConcurrencyBound(t *testing.T) {
	t.Parallel()
	const limit, fleet = 3, 24
	f := newFixture(t, func(c *Config) { c.MaxConcurrentProbes = limit })
	for i := range fleet {
		f.nodes.Put(activeNode(nodeName(i)))
	}
	f.prober.delay = 5 * time.Millisecond
	var wg sync.WaitGroup
	for i := range fleet {
		for range 3 {
			wg.Go(func() {
				_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, nodeName(i))
				if err != nil {
					t.Errorf("check %s: %v", nodeName(i), err)
				}
			})
		}
	}
	wg.Wait()
	if got := f.prober.maxInflight(); got > limit || got < 1 {
		t.Fatalf("got %d probes in flight at most, want 1..%d", got, limit)
	}
	if got := f.prober.total.Load(); got != fleet {
		t.Fatalf("got %d probes, want %d (one per node)", got, fleet)
	}
}

func nodeName(i int) string { return "node-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }

func TestModes(t *testing.T) {
	t.Parallel()
	nginxMissing := func(f *readiness.Facts) {
		f.Sudo = readiness.SudoPasswordRequired
		delete(f.Components, readiness.ComponentNginx)
	}
	tests := []struct {
		name      string
		mode      Mode
		codeModes map[readiness.Code]Mode
		lifecycle readiness.Lifecycle
		obs       readiness.Observation
		want      Decision // Admit, Mode, WouldRefuse, Waived
	}{
		{"enforce refuses", "", nil, "", factsObs(sudoPassword),
			Decision{Admit: false, Mode: ModeEnforce, WouldRefuse: true}},
		{"enforce admits ready", ModeEnforce, nil, "", readyObs(),
			Decision{Admit: true, Mode: ModeEnforce}},
		{"warn admits and records", ModeWarn, nil, "", factsObs(sudoPassword),
			Decision{Admit: true, Mode: ModeWarn, WouldRefuse: true, Waived: []readiness.Code{readiness.CodeSudoPasswordRequired}}},
		{"warn admits unreachable", ModeWarn, nil, "", transportObs(readiness.CodeSSHUnreachable),
			Decision{Admit: true, Mode: ModeWarn, WouldRefuse: true, Waived: []readiness.Code{readiness.CodeSSHUnreachable}}},
		{"warn ready", ModeWarn, nil, "", readyObs(),
			Decision{Admit: true, Mode: ModeWarn}},
		{"per-code warn admits", "", map[readiness.Code]Mode{readiness.CodeSudoPasswordRequired: ModeWarn}, "", factsObs(sudoPassword),
			Decision{Admit: true, Mode: ModeWarn, WouldRefuse: true, Waived: []readiness.Code{readiness.CodeSudoPasswordRequired}}},
		{"per-code warn with another enforced code refuses", "", map[readiness.Code]Mode{readiness.CodeSudoPasswordRequired: ModeWarn}, "", factsObs(nginxMissing),
			Decision{Admit: false, Mode: ModeEnforce, WouldRefuse: true}},
		{"per-code enforce under warn refuses", ModeWarn, map[readiness.Code]Mode{readiness.CodeSudoPasswordRequired: ModeEnforce}, "", factsObs(sudoPassword),
			Decision{Admit: false, Mode: ModeEnforce, WouldRefuse: true}},
		{"warn does not admit decommissioned", ModeWarn, nil, readiness.LifecycleDecommissioned, readyObs(),
			Decision{Admit: false, Mode: ModeEnforce, WouldRefuse: true}},
		{"warn does not admit acquiring", ModeWarn, nil, readiness.LifecycleAcquiring, readyObs(),
			Decision{Admit: false, Mode: ModeEnforce, WouldRefuse: true}},
		{"named lifecycle code in warn admits", ModeWarn, map[readiness.Code]Mode{readiness.CodeNodeProvisioning: ModeWarn}, readiness.LifecycleProvisioning, readyObs(),
			Decision{Admit: true, Mode: ModeWarn, WouldRefuse: true, Waived: []readiness.Code{readiness.CodeNodeProvisioning}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config) { c.Mode, c.CodeModes = tt.mode, tt.codeModes })
			enforce := newFixture(t, nil)
			n := activeNode("n1")
			n.Lifecycle = tt.lifecycle
			for _, x := range []*fixture{f, enforce} {
				x.nodes.Put(n)
				x.prober.set("n1", tt.obs)
			}
			got, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			strict, err := enforce.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)

			want := tt.want
			want.Operation, want.NodeID = readiness.OperationSiteCreate, "n1"
			if diff := cmp.Diff(want, got, cmpDecision); diff != "" {
				t.Fatalf("decision (-want +got):\n%s", diff)
			}
			// Warn mode records exactly what enforcement would have.
			if diff := cmp.Diff(strict.Report, got.Report); diff != "" {
				t.Fatalf("report differs from enforce mode (-enforce +got):\n%s", diff)
			}
			if got.WouldRefuse != strict.WouldRefuse {
				t.Fatalf("got WouldRefuse %v, want %v as in enforce mode", got.WouldRefuse, strict.WouldRefuse)
			}
		})
	}
}

// cmpDecision compares decisions without the report and duration.
var cmpDecision = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "Report" || s == "Duration" || s == "Cached"
}, cmp.Ignore())

func TestUnprobedNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lifecycle readiness.Lifecycle
		host      string
		wantState readiness.State
		wantCode  readiness.Code
	}{
		{"acquiring", readiness.LifecycleAcquiring, "10.0.0.1", readiness.StatePending, readiness.CodeNodeAcquiring},
		{"provisioning", readiness.LifecycleProvisioning, "10.0.0.1", readiness.StatePending, readiness.CodeNodeProvisioning},
		{"decommissioned", readiness.LifecycleDecommissioned, "10.0.0.1", readiness.StateNotReady, readiness.CodeNodeDecommissioned},
		{"no address", readiness.LifecycleActive, "", readiness.StateNotReady, readiness.CodeNodeAddressMissing},
		{"blank address", "", "  ", readiness.StateNotReady, readiness.CodeNodeAddressMissing},
		{"address with port", "", "10.0.0.1:22", readiness.StateNotReady, readiness.CodeNodeConfigInvalid},
		{"address with user", "", "root@10.0.0.1", readiness.StateNotReady, readiness.CodeNodeConfigInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			n := activeNode("n1")
			n.Lifecycle, n.Host = tt.lifecycle, tt.host
			f.nodes.Put(n)

			d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			r1, err := f.gate.Refresh(ctx, "n1")
			require.NoError(t, err)
			r2, err := f.gate.Report(ctx, "n1")
			require.NoError(t, err)
			for _, r := range []readiness.Report{d.Report, r1, r2} {
				if r.State != tt.wantState || r.PrimaryReason != tt.wantCode {
					t.Fatalf("got %s/%s, want %s/%s", r.State, r.PrimaryReason, tt.wantState, tt.wantCode)
				}
			}
			if d.Admit {
				t.Fatal("got Admit true, want false")
			}
			if got := f.prober.total.Load(); got != 0 {
				t.Fatalf("got %d probes, want 0", got)
			}
			st, ok := f.gate.Status("n1")
			if !ok || st.State != tt.wantState {
				t.Fatalf("status: got %+v (%v), want state %s", st, ok, tt.wantState)
			}
		})
	}
}

func TestUnknownNode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "nope")
	require.ErrorIs(t, err, ErrNodeNotFound)
	_, err = f.gate.Refresh(ctx, "nope")
	require.ErrorIs(t, err, ErrNodeNotFound)
	_, err = f.gate.Report(ctx, "nope")
	require.ErrorIs(t, err, ErrNodeNotFound)
	if _, ok := f.gate.Status("nope"); ok {
		t.Fatal("Status of an unknown node: got ok, want false")
	}
	_, err = f.gate.Check(ctx, "", "n1")
	require.Error(t, err)
}

func TestCancelledContextBeforeCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := f.gate.Check(cctx, readiness.OperationSiteCreate, "n1")
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, f.prober.total.Load())
}

func TestRefreshForcesProbe(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	f.prober.set("n1", factsObs(sudoPassword))
	r, err := f.gate.Refresh(ctx, "n1")
	require.NoError(t, err)
	if r.PrimaryReason != readiness.CodeSudoPasswordRequired {
		t.Fatalf("refresh: got primary %q, want sudo_password_required", r.PrimaryReason)
	}
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if !d.Cached || d.Admit || f.prober.count("n1") != 2 {
		t.Fatalf("check after refresh: got cached=%v admit=%v probes=%d, want the refreshed result from the cache", d.Cached, d.Admit, f.prober.count("n1"))
	}
}

func TestRefreshFollowsProbeInFlight(t *testing.T) {
	t.Parallel()
	const refreshers = 10
	f := newFixture(t, nil)
	f.prober.tokens = make(chan struct{})
	f.prober.started = make(chan string, 4)
	var following atomic.Int32
	f.gate.testHookFollow = func() { following.Add(1) }

	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
		require.NoError(t, err)
	})
	<-f.prober.started
	for range refreshers {
		wg.Go(func() {
			_, err := f.gate.Refresh(ctx, "n1")
			require.NoError(t, err)
		})
	}
	// Every refresher is waiting for the running probe (a sleep here
	// would let a late one ask after the new probe started: 3 probes).
	waitFor(t, "refreshers", func() bool { return following.Load() == refreshers })
	f.prober.tokens <- struct{}{} // the probe that was already running
	<-f.prober.started            // one new probe for all refreshers
	f.prober.tokens <- struct{}{}
	wg.Wait()
	if got := f.prober.count("n1"); got != 2 {
		t.Fatalf("got %d probes, want 2", got)
	}
}

func TestReportNeverProbes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r, err := f.gate.Report(ctx, "n1")
	require.NoError(t, err)
	if r.State != readiness.StateUnknown || r.PrimaryReason != readiness.CodeNodeNeverProbed {
		t.Fatalf("never probed: got %s/%s, want unknown/node_never_probed", r.State, r.PrimaryReason)
	}

	_, err = f.gate.Check(ctx, readiness.OperationEnvCreate, "n1")
	require.NoError(t, err)
	r, err = f.gate.Report(ctx, "n1")
	require.NoError(t, err)
	if r.State != readiness.StateReady || r.Operation != string(readiness.OperationSiteCreate) {
		t.Fatalf("after a probe: got %s for %q, want ready for site_create", r.State, r.Operation)
	}

	f.clock.Advance(DefaultStaleAfter + time.Second)
	r, err = f.gate.Report(ctx, "n1")
	require.NoError(t, err)
	if r.State != readiness.StateUnknown || r.PrimaryReason != readiness.CodeReadinessStale {
		t.Fatalf("old result: got %s/%s, want unknown/readiness_stale", r.State, r.PrimaryReason)
	}
	if got := f.prober.count("n1"); got != 1 {
		t.Fatalf("got %d probes, want 1 (Report never probes)", got)
	}
}

func TestStatusTransitions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	check := func() {
		t.Helper()
		_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
		require.NoError(t, err)
	}
	check()
	want := NodeStatus{NodeID: "n1", State: readiness.StateReady, PreviousState: readiness.StateUnknown, LastTransitionAt: t0, LastCheckedAt: t0}
	got, ok := f.gate.Status("n1")
	require.True(t, ok)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first status (-want +got):\n%s", diff)
	}

	f.prober.set("n1", factsObs(sudoPassword))
	f.clock.Advance(time.Minute)
	t1 := f.clock.Now()
	check()
	want = NodeStatus{NodeID: "n1", State: readiness.StateNotReady, PreviousState: readiness.StateReady,
		PrimaryReason: readiness.CodeSudoPasswordRequired, LastTransitionAt: t1, LastCheckedAt: t1}
	got, _ = f.gate.Status("n1")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after ready->not_ready (-want +got):\n%s", diff)
	}

	f.clock.Advance(time.Minute)
	t2 := f.clock.Now()
	check() // still not ready: no transition
	want.LastCheckedAt = t2
	got, _ = f.gate.Status("n1")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("without a transition (-want +got):\n%s", diff)
	}

	require.NoError(t, f.nodes.SetLifecycle("n1", readiness.LifecycleProvisioning))
	check()
	got, _ = f.gate.Status("n1")
	if got.State != readiness.StatePending || got.PreviousState != readiness.StateNotReady {
		t.Fatalf("after provisioning: got %s (previous %s), want pending (previous not_ready)", got.State, got.PreviousState)
	}
}

func TestCacheFollowsTheNodeRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	check := func() Decision {
		t.Helper()
		d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
		require.NoError(t, err)
		return d
	}
	check()
	n := activeNode("n1")
	n.Host = "10.0.0.2"
	f.nodes.Put(n)
	if d := check(); d.Cached {
		t.Fatal("after an address change: got a cached decision, want a new probe")
	}
	require.NoError(t, f.nodes.SetLifecycle("n1", readiness.LifecycleProvisioning))
	check()
	require.NoError(t, f.nodes.SetLifecycle("n1", readiness.LifecycleActive))
	if d := check(); d.Cached {
		t.Fatal("after re-provisioning: got a cached decision, want a new probe")
	}
	if got := f.prober.count("n1"); got != 3 {
		t.Fatalf("got %d probes, want 3", got)
	}
}

func TestObserver(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []Decision
	)
	f := newFixture(t, func(c *Config) {
		c.Observer = func(d Decision) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, d)
		}
	})
	f.prober.set("n1", factsObs(sudoPassword))
	d1, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	d2, err := f.gate.Check(ctx, readiness.OperationEnvCreate, "n1")
	require.NoError(t, err)
	_, err = f.gate.Refresh(ctx, "n1") // not a decision
	require.NoError(t, err)
	_, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "nope") // no decision
	require.Error(t, err)

	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]Decision{d1, d2}, seen); diff != "" {
		t.Fatalf("observed decisions (-want +got):\n%s", diff)
	}
	if seen[0].Operation != readiness.OperationSiteCreate || seen[0].NodeID != "n1" || seen[0].Admit ||
		seen[0].Report.PrimaryReason != readiness.CodeSudoPasswordRequired || seen[1].Cached != true {
		t.Fatalf("got %+v, want site_create refused for sudo, then a cached env_create", seen)
	}
}

func TestPanicsAreContained(t *testing.T) {
	t.Parallel()
	calls := 0
	f := newFixture(t, func(c *Config) {
		c.Observer = func(Decision) { calls++; panic("observer bug") }
	})
	f.prober.setPanic("prober bug")
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if d.Admit || d.Report.PrimaryReason != readiness.CodeProbeOutputInvalid {
		t.Fatalf("panicking prober: got admit=%v primary=%q, want refused with probe_output_invalid", d.Admit, d.Report.PrimaryReason)
	}
	f.prober.setPanic(nil)
	f.clock.Advance(DefaultFailTTL)
	d, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if !d.Admit || calls != 2 {
		t.Fatalf("after the panics: got admit=%v observer calls=%d, want admitted and 2 calls", d.Admit, calls)
	}
}

func TestInvalidNodeConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(n *Node)
	}{
		{"no user", func(n *Node) { n.User = "" }},
		{"port too high", func(n *Node) { n.Port = 70000 }},
		{"negative port", func(n *Node) { n.Port = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			n := activeNode("n1")
			tt.edit(&n)
			f.nodes.Put(n)
			d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			if d.Admit || d.Report.PrimaryReason != readiness.CodeNodeConfigInvalid {
				t.Fatalf("got admit=%v primary=%q, want refused with node_config_invalid", d.Admit, d.Report.PrimaryReason)
			}
			require.Zero(t, f.prober.total.Load())
		})
	}
}

func TestOtherLifecycleValuesAreProbed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := activeNode("n1")
	n.Lifecycle = "unreachable" // the host's own node_status value
	f.nodes.Put(n)
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if !d.Admit || f.prober.count("n1") != 1 {
		t.Fatalf("got admit=%v probes=%d, want a probe and admission", d.Admit, f.prober.count("n1"))
	}
}
