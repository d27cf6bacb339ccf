// Package preflighttest stands in for the readiness gate's SSH side in a
// host's own tests, the way net/http/httptest stands in for a server: a
// host's existing suite, whose node records have no keys and whose nodes
// do not exist, runs unchanged with the gate installed.
//
// NewGate returns a real *preflight.Gate (so caching, coalescing, modes,
// Choose and the Observer behave as in production) whose Prober answers
// from what the test set, with no SSH: every node is ready until the test
// says otherwise (Prober.Refuse, Prober.SetFacts). Credentials satisfies
// every node with a throwaway key, so records without key files are not
// ssh_credentials_unavailable. Nodes decided from their record (acquiring,
// provisioning, decommissioned, no address) are decided that way here
// too, without asking the Prober.
//
// Setup failures panic with a "preflighttest: " prefix. Nothing here dials
// or listens.
package preflighttest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"maps"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// Prober is a preflight.Prober that answers from what the test set. The
// zero value is not usable; use NewProber. It is safe for concurrent use.
type Prober struct {
	mu    sync.Mutex
	obs   map[string]readiness.Observation
	calls map[string]int
	total int
}

// NewProber returns a Prober for which every node is ready.
func NewProber() *Prober {
	return &Prober{obs: map[string]readiness.Observation{}, calls: map[string]int{}}
}

// SetReady makes the node ready again.
func (p *Prober) SetReady(nodeID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.obs, nodeID)
}

// SetFacts makes the node's probe report f (see readinesstest.Facts for
// ready facts with one change).
func (p *Prober) SetFacts(nodeID string, f *readiness.Facts) {
	p.set(nodeID, readiness.Observation{Facts: f})
}

// Refuse makes the node's probe fail with code as its primary reason. It
// panics for a code no probe reports (the lifecycle codes, which come
// from the node record: set the record's Lifecycle instead; and the codes
// the gate itself decides, such as no_candidate_node).
func (p *Prober) Refuse(nodeID string, code readiness.Code) {
	obs, ok := ObservationFor(code)
	if !ok {
		panic("preflighttest: code " + string(code) + " is not the outcome of a probe")
	}
	p.set(nodeID, obs)
}

func (p *Prober) set(nodeID string, obs readiness.Observation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.obs[nodeID] = obs
}

// Probes returns how many times the node was probed.
func (p *Prober) Probes(nodeID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[nodeID]
}

// Total returns how many probes ran, across all nodes.
func (p *Prober) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// Observe implements preflight.Prober. It never dials.
func (p *Prober) Observe(_ context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	p.mu.Lock()
	p.calls[nodeID]++
	p.total++
	obs, ok := p.obs[nodeID]
	p.mu.Unlock()
	if !ok {
		obs = readiness.Observation{Facts: readinesstest.ReadyFacts()}
	} else if obs.Facts != nil {
		f := *obs.Facts
		f.Components = maps.Clone(f.Components)
		obs.Facts = &f
	}
	obs.NodeID, obs.User, obs.HasAddress, obs.Probed = nodeID, t.User, true, true
	return obs
}

// ObservationFor returns an observation whose evaluation under the
// baseline policy has code as its primary reason (or, for a code the
// baseline only warns of, such as system_degraded, as its one reason),
// and false for a code no probe reports.
func ObservationFor(code readiness.Code) (readiness.Observation, bool) {
	info, ok := readiness.Lookup(code)
	if !ok {
		return readiness.Observation{}, false
	}
	switch info.Prerequisite {
	case readiness.PrereqTCP, readiness.PrereqSSHHandshake, readiness.PrereqHostKey,
		readiness.PrereqAuth, readiness.PrereqExec:
		return readiness.Observation{Transport: &readiness.TransportFailure{Code: code, Detail: "preflighttest"}}, true
	}
	f := readinesstest.ReadyFacts()
	switch code {
	case readiness.CodeSudoMissing:
		f.Sudo = readiness.SudoMissing
	case readiness.CodeSudoPasswordRequired:
		f.Sudo = readiness.SudoPasswordRequired
	case readiness.CodeSudoNotPermitted:
		f.Sudo = readiness.SudoNotPermitted
	case readiness.CodeSudoTTYRequired:
		f.Sudo = readiness.SudoTTYRequired
	case readiness.CodeSudoFailed:
		f.Sudo = readiness.SudoFailed
	case readiness.CodeOSUnsupported:
		f.OS = readiness.OSRelease{ID: "debian", VersionID: "11"}
	case readiness.CodeServiceManagerUnavailable:
		f.Systemd = false
	case readiness.CodeRuntimeComponentMissing:
		f.Components[readiness.ComponentNginx] = readiness.ComponentFacts{}
	case readiness.CodeRuntimeVersionUnsupported:
		c := f.Components[readiness.ComponentMariaDB]
		c.Version = "10.6.18"
		f.Components[readiness.ComponentMariaDB] = c
	case readiness.CodeRuntimeExtensionMissing:
		f.PHPExtensions = []string{"core", "mysqli"}
	case readiness.CodeRuntimeServiceInactive:
		c := f.Components[readiness.ComponentNginx]
		c.Service = "inactive"
		f.Components[readiness.ComponentNginx] = c
	case readiness.CodeNodeBooting:
		f.Health.SystemState = "starting"
	case readiness.CodeSystemDegraded:
		f.Health.SystemState = "degraded"
		f.Health.FailedUnits = []string{"broken.service"}
	case readiness.CodePackageManagerBusy:
		f.Health.DpkgLockHolders = []readiness.LockHolder{{Path: "/var/lib/dpkg/lock-frontend", PID: 812, Command: "apt-get"}}
	case readiness.CodeDiskSpaceLow:
		f.Health.Disks[2].FreeBytes = 0
	case readiness.CodeRebootRequired:
		f.Health.RebootRequired = true
		f.Health.RebootPackages = []string{"linux-image-6.8.0-51-generic"}
	default:
		return readiness.Observation{}, false
	}
	return readiness.Observation{Facts: f}, true
}

var (
	keyOnce sync.Once
	signer  ssh.Signer
)

func testSigner() ssh.Signer {
	keyOnce.Do(func() {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic("preflighttest: " + err.Error())
		}
		if signer, err = ssh.NewSignerFromKey(priv); err != nil {
			panic("preflighttest: " + err.Error())
		}
	})
	return signer
}

// Credentials returns credentials that satisfy every node: a throwaway
// client key, and a host-key policy pinned to that key's public half,
// which no real node presents, so nothing can be trusted by accident if a
// real prober were plugged in.
func Credentials() preflight.Credentials {
	s := testSigner()
	return preflight.CredentialsFunc(func(context.Context, preflight.Node) (preflight.Auth, error) {
		return preflight.Auth{Signers: []ssh.Signer{s}, HostKeys: sshexec.PinnedHostKeys(s.PublicKey())}, nil
	})
}

// NewGate returns a real gate over nodes that probes with p and
// Credentials, closed when the test ends. edit, if given, adjusts the
// Config (Mode, Observer, ...) before New. A nil p means NewProber().
func NewGate(t testing.TB, nodes preflight.NodeSource, p *Prober, edit ...func(*preflight.Config)) *preflight.Gate {
	t.Helper()
	if p == nil {
		p = NewProber()
	}
	cfg := preflight.Config{Nodes: nodes, Credentials: Credentials(), Prober: p}
	for _, e := range edit {
		e(&cfg)
	}
	g, err := preflight.New(cfg)
	if err != nil {
		panic("preflighttest: " + err.Error())
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}
