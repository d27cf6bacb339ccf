package faults

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

func newHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return k
}

// persister records what an AcceptNew policy persists.
type persister struct {
	mu   sync.Mutex
	keys []ssh.PublicKey
	at   []string
}

func (p *persister) persist(hostport string, k ssh.PublicKey) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, k)
	p.at = append(p.at, hostport)
	return nil
}

func (p *persister) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

func run(t *testing.T, tg sshexec.Target) (*sshexec.Result, readiness.Code) {
	t.Helper()
	res, err := (&sshexec.Client{Timeout: 5 * time.Second}).Run(context.Background(), tg, probe.Command, []byte(probe.Script()))
	return res, sshexec.CodeOf(err)
}

// TestChangedHostKeyNeverAccepted: whatever the policy (pinned,
// known_hosts, accept-new with a known key), a node presenting another
// key is ssh_host_key_mismatch, nothing is persisted and no command runs.
func TestChangedHostKeyNeverAccepted(t *testing.T) {
	t.Parallel()
	n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	old := newHostKey(t) // the key the node had before it "changed"
	line := knownhosts.Line([]string{knownhosts.Normalize(n.Addr())}, old)
	kh, err := sshexec.ParseKnownHosts(strings.NewReader(line + "\n"))
	require.NoError(t, err)
	khFile := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(khFile, []byte(line+"\n"), 0o600))
	khf, err := sshexec.KnownHostsFile(khFile)
	require.NoError(t, err)

	var p persister
	policies := map[string]sshexec.HostKeyPolicy{
		"pinned":                 sshexec.PinnedHostKeys(old),
		"known_hosts":            kh,
		"known_hosts_file":       khf,
		"accept-new-pinned":      sshexec.AcceptNew(sshexec.PinnedHostKeys(old), p.persist),
		"accept-new-known_hosts": sshexec.AcceptNew(khf, p.persist),
	}
	for name, pol := range policies {
		t.Run(name, func(t *testing.T) {
			tg := n.Target()
			tg.HostKeys = pol
			res, code := run(t, tg)
			if code != readiness.CodeSSHHostKeyMismatch {
				t.Errorf("got %q, want ssh_host_key_mismatch", code)
			}
			if res != nil && res.HostKeyLearned {
				t.Errorf("the changed key was learned")
			}
		})
	}
	if p.count() != 0 {
		t.Errorf("got %d keys persisted, want 0", p.count())
	}
	if len(n.Execs()) != 0 {
		t.Errorf("got %d exec requests, want 0", len(n.Execs()))
	}
	after, err := os.ReadFile(khFile)
	require.NoError(t, err)
	require.Equal(t, line+"\n", string(after), "known_hosts must be untouched")
}

// TestAcceptNewPersistsAndPins: an accept-new key is persisted once, a
// later run with the learned key pinned succeeds, and another machine on
// the same address is then a mismatch: directly through sshexec, and
// through the gate with MemoryCredentials.SetAcceptNew.
func TestAcceptNewPersistsAndPins(t *testing.T) {
	t.Parallel()
	a := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	b := sshtest.NewNodeT(t, sshtest.ReadyProfile()) // the replacement machine
	px, err := New(Config{Upstream: a.Addr()})
	require.NoError(t, err)
	defer px.Close()

	// sshexec: learn, pin, replace.
	var p persister
	tg := a.Target()
	tg.Port = px.Port()
	tg.HostKeys = sshexec.AcceptNew(nil, p.persist)
	res, code := run(t, tg)
	require.Empty(t, code)
	require.True(t, res.HostKeyLearned)
	require.Equal(t, 1, p.count(), "keys persisted")
	require.True(t, bytes.Equal(a.HostKey().Marshal(), p.keys[0].Marshal()), "the persisted key is the node's")
	require.Equal(t, px.Addr(), p.at[0])
	require.True(t, bytes.Equal(a.HostKey().Marshal(), res.HostKey.Marshal()), "Result.HostKey")

	tg.HostKeys = sshexec.PinnedHostKeys(p.keys[0])
	res, code = run(t, tg)
	require.Empty(t, code, "the learned key pinned")
	require.False(t, res.HostKeyLearned)

	// known_hosts written from what was persisted, the way an operator
	// CLI stores it.
	khFile := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(khFile, []byte(knownhosts.Line([]string{knownhosts.Normalize(p.at[0])}, p.keys[0])+"\n"), 0o600))
	khf, err := sshexec.KnownHostsFile(khFile)
	require.NoError(t, err)
	tg.HostKeys = sshexec.AcceptNew(khf, p.persist)
	_, code = run(t, tg)
	require.Empty(t, code, "accept-new with the learned key in known_hosts")

	px.SetUpstream(b.Addr())
	for name, pol := range map[string]sshexec.HostKeyPolicy{
		"pinned":                 sshexec.PinnedHostKeys(p.keys[0]),
		"accept-new-known_hosts": sshexec.AcceptNew(khf, p.persist),
	} {
		tg.HostKeys = pol
		res, code = run(t, tg)
		if code != readiness.CodeSSHHostKeyMismatch {
			t.Errorf("%s: replaced machine: got %q, want ssh_host_key_mismatch", name, code)
		}
		if res != nil && res.HostKeyLearned {
			t.Errorf("%s: the replacement's key was learned", name)
		}
	}
	require.Equal(t, 1, p.count(), "nothing more persisted")
	require.Empty(t, b.Execs(), "no command ran on the replacement")

	// The gate, trust on first use.
	px.SetUpstream(a.Addr())
	creds := preflight.NewMemoryCredentials(a.ClientSigner(), b.ClientSigner())
	creds.SetAcceptNew(true)
	nodes := preflight.NewMemoryNodes(preflight.Node{ID: "n1", Name: "web-1", Host: "127.0.0.1", Port: px.Port(), User: sshtest.DefaultUser})
	g, err := preflight.New(preflight.Config{
		Nodes: nodes, Credentials: creds,
		Prober: &probe.Prober{Client: &sshexec.Client{Timeout: 5 * time.Second}},
	})
	require.NoError(t, err)
	defer g.Close()
	ctx := context.Background()
	rep, err := g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.True(t, rep.Ready(), "first contact: %v %v", rep.State, rep.PrimaryReason)
	learned := creds.Learned("n1")
	require.Len(t, learned, 1)
	require.True(t, bytes.Equal(a.HostKey().Marshal(), learned[0].Marshal()))
	rep, err = g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.True(t, rep.Ready(), "second contact, pinned")

	px.SetUpstream(b.Addr())
	rep, err = g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHHostKeyMismatch, rep.PrimaryReason, "replaced machine through the gate")
	d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.False(t, d.Admit, "a create on the replaced machine is refused")
	require.Len(t, creds.Learned("n1"), 1, "nothing more learned")
	require.Empty(t, b.Execs(), "no command ran on the replacement")
}
