package sshexec_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// testAgent serves an in-memory keyring on a unix socket and counts open
// client connections.
type testAgent struct {
	path string
	ln   net.Listener
	open atomic.Int64
	wg   sync.WaitGroup
}

func newTestAgent(t *testing.T, keys ...agent.AddedKey) *testAgent {
	t.Helper()
	// Unix socket paths are short; t.TempDir can be too long.
	dir, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	a := &testAgent{path: filepath.Join(dir, "s")}
	a.ln, err = net.Listen("unix", a.path)
	if err != nil {
		t.Fatal(err)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := a.ln.Accept()
			if err != nil {
				return
			}
			a.open.Add(1)
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				defer a.open.Add(-1)
				defer c.Close()
				_ = agent.ServeAgent(kr, c)
			}()
		}
	}()
	t.Cleanup(func() {
		a.ln.Close()
		a.wg.Wait()
	})
	return a
}

// These tests set SSH_AUTH_SOCK and so cannot run in parallel.

func TestAgent(t *testing.T) {
	_, priv, _ := deterministicEd25519()
	srv := newTestServer(t, faultNone)
	a := newTestAgent(t, agent.AddedKey{PrivateKey: testRSAKey(t)}, agent.AddedKey{PrivateKey: priv})
	t.Setenv("SSH_AUTH_SOCK", a.path)

	// The agent holds keys the server does not authorize; the Target's
	// own signer comes first and is accepted.
	tg := srv.target()
	tg.UseAgent = true
	if _, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil); err != nil {
		t.Fatalf("signers plus agent: got %v, want nil", err)
	}

	// Agent keys only: the server rejects them (auth failure, not config).
	tg.Signers = nil
	_, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	if got := sshexec.CodeOf(err); got != "ssh_auth_failed" {
		t.Errorf("agent keys only: got %q (%v), want ssh_auth_failed", got, err)
	}

	// The agent connection is closed after every Run.
	deadline := time.Now().Add(10 * time.Second)
	for a.open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := a.open.Load(); n != 0 {
		t.Errorf("got %d open agent connections after Run, want 0", n)
	}
}

func TestAgentAuthorizedKey(t *testing.T) {
	_, priv, _ := deterministicEd25519()
	a := newTestAgent(t, agent.AddedKey{PrivateKey: priv})
	t.Setenv("SSH_AUTH_SOCK", a.path)
	srv2 := newTestServerAuthorizing(t, mustSigner(t, priv).PublicKey())
	tg := srv2.target()
	tg.Signers = nil
	tg.UseAgent = true
	if _, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil); err != nil {
		t.Fatalf("agent only: got %v, want nil", err)
	}
}

func TestAgentUnavailable(t *testing.T) {
	srv := newTestServer(t, faultNone)
	emptyAgent := newTestAgent(t)
	tests := []struct {
		name string
		sock string
	}{
		{"unset", ""},
		{"missing socket", filepath.Join(t.TempDir(), "nope")},
		{"no keys", emptyAgent.path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", tt.sock)
			tg := srv.target()
			tg.Signers = nil
			tg.UseAgent = true
			_, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
			if !errors.Is(err, sshexec.ErrAgentUnavailable) {
				t.Errorf("got %v, want ErrAgentUnavailable", err)
			}
			if got := sshexec.CodeOf(err); got != readiness.CodeSSHCredentialsUnavailable {
				t.Errorf("got code %q, want %s: the control plane has no usable key", got, readiness.CodeSSHCredentialsUnavailable)
			}
		})
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("got %d connections, want 0: nothing is dialed without keys", n)
	}
}

// AgentKeys offers only the node's own key from the agent: a server that
// authorizes another key the agent holds is never offered that key.
func TestAgentKeysFilter(t *testing.T) {
	_, priv, _ := deterministicEd25519()
	own := mustSigner(t, priv).PublicKey()
	other := testRSAKey(t)
	a := newTestAgent(t, agent.AddedKey{PrivateKey: other}, agent.AddedKey{PrivateKey: priv})
	t.Setenv("SSH_AUTH_SOCK", a.path)
	otherPub := mustSigner(t, other).PublicKey()
	srv := newTestServerAuthorizing(t, otherPub)
	tg := srv.target()
	tg.Signers = nil
	tg.UseAgent = true

	// Unfiltered, the agent's other key gets in: what fail2ban counts.
	if _, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil); err != nil {
		t.Fatalf("every agent key: got %v, want nil", err)
	}
	// Filtered to the node's own key, the other key is not offered.
	tg.AgentKeys = []ssh.PublicKey{own}
	_, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	if got := sshexec.CodeOf(err); got != readiness.CodeSSHAuthFailed {
		t.Errorf("own key only: got %q (%v), want ssh_auth_failed", got, err)
	}
	tg.AgentKeys = []ssh.PublicKey{otherPub}
	if _, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil); err != nil {
		t.Errorf("filtered to the authorized key: got %v, want nil", err)
	}

	// A key the agent does not hold: nothing is dialed.
	before := srv.accepted.Load()
	tg.AgentKeys = []ssh.PublicKey{newEd25519Signer(t).PublicKey()}
	_, err = new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	if !errors.Is(err, sshexec.ErrAgentUnavailable) || sshexec.CodeOf(err) != readiness.CodeSSHCredentialsUnavailable {
		t.Errorf("key not in agent: got %v, want ErrAgentUnavailable with ssh_credentials_unavailable", err)
	}
	if n := srv.accepted.Load() - before; n != 0 {
		t.Errorf("key not in agent: got %d connections, want 0", n)
	}
}
