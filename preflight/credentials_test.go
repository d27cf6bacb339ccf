package preflight

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
)

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

func TestMemoryCredentials(t *testing.T) {
	t.Parallel()
	def, own := newSigner(t), newSigner(t)
	m := NewMemoryCredentials(def)
	m.SetSigners("own", own)

	a, err := m.Auth(ctx, Node{ID: "any"})
	require.NoError(t, err)
	require.Equal(t, []ssh.Signer{def}, a.Signers)
	require.NotNil(t, a.HostKeys, "a policy, failing closed, even with nothing pinned")
	a, err = m.Auth(ctx, Node{ID: "own"})
	require.NoError(t, err)
	require.Equal(t, []ssh.Signer{own}, a.Signers)
}

func TestCredentialsFunc(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	var got Node
	c := CredentialsFunc(func(_ context.Context, n Node) (Auth, error) {
		got = n
		return Auth{Signers: []ssh.Signer{s}}, nil
	})
	a, err := c.Auth(ctx, Node{ID: "n7"})
	require.NoError(t, err)
	require.Equal(t, "n7", got.ID)
	require.Equal(t, []ssh.Signer{s}, a.Signers)
}

func TestTargetFromNodeAndCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := activeNode("n1")
	n.Port = 2222
	f.nodes.Put(n)
	f.nodes.Put(activeNode("n2"))
	signer := newSigner(t)
	f.creds.SetSigners("n1", signer)
	for _, id := range []string{"n1", "n2"} {
		_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, id)
		require.NoError(t, err)
	}
	f.prober.mu.Lock()
	defer f.prober.mu.Unlock()
	t1, t2 := f.prober.targets["n1"], f.prober.targets["n2"]
	if t1.Host != "10.0.0.1" || t1.Port != 2222 || t1.User != "pressluft" || len(t1.Signers) != 1 || t1.HostKeys == nil {
		t.Fatalf("n1: got target %+v, want 10.0.0.1:2222 as pressluft with one signer and a host key policy", t1)
	}
	if t2.Port != 22 || t2.HostKeys == nil || t2.UseAgent {
		t.Fatalf("n2: got port %d, policy %v, agent %v; want 22, a (fail-closed) policy, no agent", t2.Port, t2.HostKeys, t2.UseAgent)
	}
}

var failingCreds = CredentialsFunc(func(context.Context, Node) (Auth, error) {
	return Auth{}, errors.New("secrets store down")
})

func TestCredentialsUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		creds Credentials
	}{
		{"credentials fail", failingCreds},
		{"no host-key policy", CredentialsFunc(func(context.Context, Node) (Auth, error) {
			return Auth{Signers: []ssh.Signer{newSigner(t)}}, nil
		})},
		{"no signer", NewMemoryCredentials()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config) { c.Credentials = tt.creds })
			d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			if d.Admit || d.Report.PrimaryReason != readiness.CodeSSHCredentialsUnavailable {
				t.Fatalf("got admit=%v primary=%q, want refused with ssh_credentials_unavailable", d.Admit, d.Report.PrimaryReason)
			}
			require.Zero(t, f.prober.total.Load(), "the node must not be dialed")
			requireNothingDialed(t, d.Report)
		})
	}
}

// requireNothingDialed asserts that a report claims no step of the SSH
// round trip: auth fails with ssh_credentials_unavailable, and every other
// step is skipped, blocked by it.
func requireNothingDialed(t *testing.T, r readiness.Report) {
	t.Helper()
	const cred = readiness.CodeSSHCredentialsUnavailable
	want := map[string]readiness.Check{
		"tcp":           {Status: readiness.CheckSkipped, BlockedBy: cred},
		"ssh_handshake": {Status: readiness.CheckSkipped, BlockedBy: cred},
		"host_key":      {Status: readiness.CheckSkipped, BlockedBy: cred},
		"auth":          {Status: readiness.CheckFail, Code: cred},
		"exec":          {Status: readiness.CheckSkipped, BlockedBy: cred},
	}
	got := map[string]readiness.Check{}
	for _, c := range r.Checks {
		if _, ok := want[c.Name]; ok {
			got[c.Name] = readiness.Check{Status: c.Status, Code: c.Code, BlockedBy: c.BlockedBy}
		}
	}
	require.Equal(t, want, got, "checks of the SSH round trip")
}

func TestMemoryNodes(t *testing.T) {
	t.Parallel()
	var m MemoryNodes // zero value
	m.Put(activeNode("b"))
	m.Put(activeNode("a"))
	got, err := m.Nodes(ctx)
	require.NoError(t, err)
	require.Equal(t, []Node{activeNode("a"), activeNode("b")}, got)
	require.NoError(t, m.SetLifecycle("a", readiness.LifecycleDecommissioned))
	n, err := m.Node(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, readiness.LifecycleDecommissioned, n.Lifecycle)
	m.Delete("a")
	_, err = m.Node(ctx, "a")
	require.ErrorIs(t, err, ErrNodeNotFound)
	require.ErrorIs(t, m.SetLifecycle("a", readiness.LifecycleActive), ErrNodeNotFound)
}

func TestProberThatCouldNotAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// What probe.Prober returns when it could not attempt the round trip
	// for a reason of the control plane's (a host key it could not record).
	f.prober.set("n1", readiness.Observation{NodeID: "n1", HasAddress: true})
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	if d.Report.PrimaryReason != readiness.CodeSSHCredentialsUnavailable {
		t.Fatalf("got primary %q, want ssh_credentials_unavailable (never node_never_probed after a probe)", d.Report.PrimaryReason)
	}
	requireNothingDialed(t, d.Report)
}
