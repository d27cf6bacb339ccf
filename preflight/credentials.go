package preflight

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// Auth is how the gate reaches one node over SSH: the client keys it
// offers and the policy that verifies the node's host key.
type Auth struct {
	// Signers are the client keys offered, in order.
	Signers []ssh.Signer
	// UseAgent offers keys of the SSH agent at $SSH_AUTH_SOCK after
	// Signers: only those AgentKeys names. The gate refuses UseAgent
	// without AgentKeys (ssh_credentials_unavailable, not dialed): every
	// key an agent holds, offered to a node, is an authentication failure
	// its fail2ban counts.
	UseAgent bool
	// AgentKeys are the public halves of the node's own keys in the
	// agent (sshexec.Target.AgentKeys). Nil with UseAgent is refused.
	AgentKeys []ssh.PublicKey
	// HostKeys verifies the node's host key: sshexec.PinnedHostKeys, a
	// known_hosts policy, or an accept-new policy that records what it
	// learns. Required: nil is ssh_credentials_unavailable, never "accept
	// any key".
	HostKeys sshexec.HostKeyPolicy
}

// Credentials supplies the SSH side of a node. Implementations must be
// safe for concurrent use; the gate calls Auth once per probe, never for
// a node it decides from its record. An error (a secrets store that is
// down, a key file that cannot be read), no client key at all, or no
// host-key policy makes the node not ready with
// ssh_credentials_unavailable, without dialing it. The error's text is
// logged by the gate (Config.Logger), never shown in a report.
//
// FileCredentials reads the key file a node record names;
// MemoryCredentials holds keys in memory; CredentialsFunc adapts a
// function.
type Credentials interface {
	Auth(ctx context.Context, n Node) (Auth, error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context, n Node) (Auth, error)

// Auth implements Credentials.
func (f CredentialsFunc) Auth(ctx context.Context, n Node) (Auth, error) { return f(ctx, n) }

// MemoryCredentials is an in-memory Credentials for tests, examples and
// small embeddings: default signers for every node, per-node overrides,
// and pinned host keys per node. It is safe for concurrent use; the zero
// value offers no keys, pins none and learns none.
type MemoryCredentials struct {
	mu        sync.RWMutex
	defaults  []ssh.Signer
	signers   map[string][]ssh.Signer
	pinned    map[string][]ssh.PublicKey
	learned   map[string][]ssh.PublicKey
	acceptNew bool
}

// NewMemoryCredentials returns credentials that offer signers to every
// node.
func NewMemoryCredentials(signers ...ssh.Signer) *MemoryCredentials {
	return &MemoryCredentials{defaults: slices.Clone(signers)}
}

// SetSigners replaces the keys offered to one node (instead of the
// defaults).
func (m *MemoryCredentials) SetSigners(nodeID string, signers ...ssh.Signer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.signers == nil {
		m.signers = map[string][]ssh.Signer{}
	}
	m.signers[nodeID] = slices.Clone(signers)
}

// PinHostKeys replaces the host keys trusted for one node. No keys makes
// the node's host key unknown again.
func (m *MemoryCredentials) PinHostKeys(nodeID string, keys ...ssh.PublicKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pinned == nil {
		m.pinned = map[string][]ssh.PublicKey{}
	}
	m.pinned[nodeID] = slices.Clone(keys)
}

// SetAcceptNew sets whether a node with no pinned key trusts the first key
// it presents (trust on first use). A learned key is pinned in memory
// only, so it is trusted anew after a restart: a control plane that
// restarts wants FileCredentials with a persisted known_hosts policy.
func (m *MemoryCredentials) SetAcceptNew(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acceptNew = on
}

// Learned returns the keys learned on first use for a node, oldest first.
func (m *MemoryCredentials) Learned(nodeID string) []ssh.PublicKey {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.learned[nodeID])
}

// Auth implements Credentials: the node's own signers or the defaults,
// and its pinned keys; with none pinned, an accept-new policy when
// SetAcceptNew is on, else a policy for which every key is unknown.
func (m *MemoryCredentials) Auth(_ context.Context, n Node) (Auth, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a := Auth{Signers: slices.Clone(m.defaults)}
	if s, ok := m.signers[n.ID]; ok {
		a.Signers = slices.Clone(s)
	}
	pinned := m.pinned[n.ID]
	switch {
	case len(pinned) > 0 || !m.acceptNew:
		a.HostKeys = sshexec.PinnedHostKeys(pinned...)
	default:
		id := n.ID
		a.HostKeys = sshexec.AcceptNew(nil, func(_ string, key ssh.PublicKey) error {
			m.learn(id, key)
			return nil
		})
	}
	return a, nil
}

// learn records and pins a key learned on first use.
func (m *MemoryCredentials) learn(nodeID string, key ssh.PublicKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pinned == nil {
		m.pinned = map[string][]ssh.PublicKey{}
	}
	if m.learned == nil {
		m.learned = map[string][]ssh.PublicKey{}
	}
	for _, k := range m.pinned[nodeID] {
		if bytes.Equal(k.Marshal(), key.Marshal()) {
			return
		}
	}
	m.pinned[nodeID] = append(m.pinned[nodeID], key)
	m.learned[nodeID] = append(m.learned[nodeID], key)
}
