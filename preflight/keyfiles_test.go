package preflight

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// writeKey writes a new ed25519 private key to path (encrypted when
// passphrase is set) and returns its public key.
func writeKey(t *testing.T, path string, passphrase []byte) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var blk *pem.Block
	if passphrase != nil {
		blk, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", passphrase)
	} else {
		blk, err = ssh.MarshalPrivateKey(priv, "")
	}
	require.NoError(t, err)
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, pem.EncodeToMemory(blk), 0o600))
	require.NoError(t, os.Rename(tmp, path)) // as a control plane rotates a key
	sp, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return sp
}

func pinnedNone() HostKeysFunc { return SameHostKeys(sshexec.PinnedHostKeys()) }

func TestFileCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "n1_ed25519")
	first := writeKey(t, path, nil)
	c := &FileCredentials{HostKeys: pinnedNone()}
	n := Node{ID: "n1", KeyFile: path}

	a, err := c.Auth(ctx, n)
	require.NoError(t, err)
	require.Len(t, a.Signers, 1)
	require.Equal(t, first.Marshal(), a.Signers[0].PublicKey().Marshal())
	require.False(t, a.UseAgent)
	require.NotNil(t, a.HostKeys)

	again, err := c.Auth(ctx, n)
	require.NoError(t, err)
	require.Same(t, a.Signers[0], again.Signers[0], "an unchanged file is not read again")

	second := writeKey(t, path, nil) // rotated
	a, err = c.Auth(ctx, n)
	require.NoError(t, err)
	require.Equal(t, second.Marshal(), a.Signers[0].PublicKey().Marshal(), "a changed file is read again")
}

func TestFileCredentialsFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enc := filepath.Join(dir, "enc")
	writeKey(t, enc, []byte("s3cret"))
	garbage := filepath.Join(dir, "garbage")
	require.NoError(t, os.WriteFile(garbage, []byte("not a key"), 0o600))
	hkErr := errors.New("known_hosts unreadable")

	tests := []struct {
		name  string
		creds *FileCredentials
		node  Node
		want  error // nil: any error
	}{
		{"no key file named", &FileCredentials{HostKeys: pinnedNone()}, Node{ID: "n"}, ErrNoKeyFile},
		{"missing key file", &FileCredentials{HostKeys: pinnedNone()}, Node{ID: "n", KeyFile: filepath.Join(dir, "nope")}, os.ErrNotExist},
		{"missing key file is not replaced by the agent", &FileCredentials{HostKeys: pinnedNone(), AgentFallback: true}, Node{ID: "n", KeyFile: filepath.Join(dir, "nope")}, os.ErrNotExist},
		{"not a key", &FileCredentials{HostKeys: pinnedNone()}, Node{ID: "n", KeyFile: garbage}, nil},
		{"encrypted without passphrase", &FileCredentials{HostKeys: pinnedNone()}, Node{ID: "n", KeyFile: enc}, sshexec.ErrPassphraseRequired},
		{"wrong passphrase", &FileCredentials{HostKeys: pinnedNone(), Passphrase: func(string) ([]byte, error) { return []byte("nope"), nil }}, Node{ID: "n", KeyFile: enc}, sshexec.ErrWrongPassphrase},
		{"host keys fail", &FileCredentials{HostKeys: func(context.Context, Node) (sshexec.HostKeyPolicy, error) { return nil, hkErr }}, Node{ID: "n", KeyFile: garbage}, nil},
		{"no HostKeys", &FileCredentials{}, Node{ID: "n", KeyFile: enc}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.creds.Auth(ctx, tt.node)
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			require.NotContains(t, err.Error(), "s3cret")
		})
	}

	c := &FileCredentials{HostKeys: pinnedNone(), Passphrase: func(string) ([]byte, error) { return []byte("s3cret"), nil }}
	a, err := c.Auth(ctx, Node{ID: "n", KeyFile: enc})
	require.NoError(t, err)
	require.Len(t, a.Signers, 1, "the right passphrase opens the key")
}

// TestFileCredentialsAgentFallback: the agent is only ever asked for the
// node's own key, named by KeyFile+".pub" or by AgentKeys.
func TestFileCredentialsAgentFallback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	own := writeKey(t, filepath.Join(dir, "scratch"), nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "agent_key.pub"), ssh.MarshalAuthorizedKey(own), 0o644))

	t.Run("no key file, no agent key named", func(t *testing.T) {
		t.Parallel()
		c := &FileCredentials{HostKeys: pinnedNone(), AgentFallback: true}
		_, err := c.Auth(ctx, Node{ID: "n"})
		require.ErrorIs(t, err, ErrNoAgentKey)
	})
	t.Run("no key file, AgentKeys names it", func(t *testing.T) {
		t.Parallel()
		c := &FileCredentials{HostKeys: pinnedNone(), AgentFallback: true,
			AgentKeys: func(context.Context, Node) ([]ssh.PublicKey, error) { return []ssh.PublicKey{own}, nil }}
		a, err := c.Auth(ctx, Node{ID: "n"})
		require.NoError(t, err)
		require.True(t, a.UseAgent)
		require.Empty(t, a.Signers)
		require.Len(t, a.AgentKeys, 1)
		require.Equal(t, own.Marshal(), a.AgentKeys[0].Marshal())
	})
	t.Run("private half in the agent, public half beside KeyFile", func(t *testing.T) {
		t.Parallel()
		c := &FileCredentials{HostKeys: pinnedNone(), AgentFallback: true}
		a, err := c.Auth(ctx, Node{ID: "n", KeyFile: filepath.Join(dir, "agent_key")})
		require.NoError(t, err)
		require.True(t, a.UseAgent)
		require.Len(t, a.AgentKeys, 1)
		require.Equal(t, own.Marshal(), a.AgentKeys[0].Marshal())
	})
	t.Run("without AgentFallback the .pub is not used", func(t *testing.T) {
		t.Parallel()
		c := &FileCredentials{HostKeys: pinnedNone()}
		_, err := c.Auth(ctx, Node{ID: "n", KeyFile: filepath.Join(dir, "agent_key")})
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

// TestFileCredentialsThroughGate: a node whose key file is missing is
// not dialed and is ssh_credentials_unavailable; an agent-only node is
// dialed with the agent, restricted to its own key; an Auth that asks
// for the whole agent is refused without dialing.
func TestFileCredentialsThroughGate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	own := writeKey(t, filepath.Join(dir, "scratch"), nil)
	creds := &FileCredentials{HostKeys: pinnedNone(), AgentFallback: true,
		AgentKeys: func(context.Context, Node) ([]ssh.PublicKey, error) { return []ssh.PublicKey{own}, nil }}
	f := newFixture(t, func(c *Config) { c.Credentials = creds })
	missing := activeNode("missing")
	missing.KeyFile = filepath.Join(dir, "missing_key")
	f.nodes.Put(missing)
	f.nodes.Put(activeNode("agent"))

	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "missing")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHCredentialsUnavailable, d.Report.PrimaryReason)
	require.Zero(t, f.prober.count("missing"), "not dialed")

	_, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "agent")
	require.NoError(t, err)
	f.prober.mu.Lock()
	tg := f.prober.targets["agent"]
	f.prober.mu.Unlock()
	require.True(t, tg.UseAgent, "agent-only node is dialed with the agent")
	require.Len(t, tg.AgentKeys, 1, "and offered only its own key")

	whole := newFixture(t, func(c *Config) {
		c.Credentials = CredentialsFunc(func(context.Context, Node) (Auth, error) {
			return Auth{UseAgent: true, HostKeys: sshexec.PinnedHostKeys()}, nil
		})
	})
	whole.nodes.Put(activeNode("n"))
	d, err = whole.gate.Check(ctx, readiness.OperationSiteCreate, "n")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHCredentialsUnavailable, d.Report.PrimaryReason)
	require.Zero(t, whole.prober.count("n"), "every agent key: not dialed")
}

func TestHostLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, host string
		want         readiness.Lifecycle
		probed       bool
	}{
		{"active", "203.0.113.10", readiness.LifecycleActive, true},
		{"active", PendingHost, readiness.LifecycleAcquiring, false},
		{" Active ", "PENDING.provider", readiness.LifecycleAcquiring, false},
		{"provisioning", "203.0.113.10", readiness.LifecycleProvisioning, false},
		{"unreachable", "203.0.113.10", readiness.LifecycleActive, true},
		{"decommissioned", "203.0.113.10", readiness.LifecycleDecommissioned, false},
		{"", "203.0.113.10", readiness.LifecycleActive, true},
		{"maintenance", "203.0.113.10", readiness.LifecycleActive, true},
	}
	for _, tt := range tests {
		got := HostLifecycle(tt.status, tt.host)
		if got != tt.want {
			t.Errorf("HostLifecycle(%q, %q) = %q, want %q", tt.status, tt.host, got, tt.want)
		}
		n := activeNode("x")
		n.Lifecycle = got
		if n.probed() != tt.probed {
			t.Errorf("status %q host %q: probed=%v, want %v", tt.status, tt.host, n.probed(), tt.probed)
		}
	}
}

// TestUnreachableStatusIsProbed: a node the host marked unreachable is
// probed, and ready when it answers again.
func TestUnreachableStatusIsProbed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := activeNode("n1")
	n.Lifecycle = HostLifecycle("unreachable", n.Host)
	f.nodes.Put(n)
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.True(t, d.Admit)
	require.Equal(t, 1, f.prober.count("n1"))
}

func TestSummary(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.prober.set("n1", factsObs(sudoPassword))
	s, err := f.gate.Summary(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, readiness.StateUnknown, s.State)
	require.Equal(t, readiness.CodeNodeNeverProbed, s.PrimaryReason)

	_, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	s, err = f.gate.Summary(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, readiness.StateNotReady, s.State)
	require.Equal(t, readiness.CodeSudoPasswordRequired, s.PrimaryReason)
	require.Contains(t, s.Remediation, "NOPASSWD")
	require.Equal(t, "not_ready: sudo_password_required", s.Summary)
	require.Equal(t, readiness.StateUnknown, s.PreviousState)
	require.NotNil(t, s.LastCheckedAt)
	require.Equal(t, t0, *s.LastCheckedAt)

	_, err = f.gate.Summary(ctx, "nope")
	require.ErrorIs(t, err, ErrNodeNotFound)
}
