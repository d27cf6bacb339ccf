package preflight

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Credentials supplies the SSH side of a node: the client keys the control
// plane offers and the host keys it trusts. Implementations must be safe
// for concurrent use; the gate calls them once per probe.
type Credentials interface {
	// Signers returns the client keys to offer, in order. An error (a
	// secrets store that is down) or no keys at all makes the node
	// not ready with ssh_credentials_unavailable, without dialing it.
	Signers(ctx context.Context, n Node) ([]ssh.Signer, error)
	// HostKeys returns the node's pinned host keys; none means the key is
	// unknown, and the probe fails closed with ssh_host_key_unknown
	// unless Config.AcceptNewHostKeys is set. An error is
	// ssh_credentials_unavailable.
	HostKeys(ctx context.Context, n Node) ([]ssh.PublicKey, error)
	// LearnHostKey records the key a node presented on first contact.
	// It is called only when Config.AcceptNewHostKeys is set and the node
	// had no pinned key; an error aborts that probe before authentication
	// (ssh_credentials_unavailable).
	LearnHostKey(ctx context.Context, n Node, key ssh.PublicKey) error
}

// MemoryCredentials is an in-memory Credentials for tests, examples and
// small embeddings: default signers for every node, per-node overrides,
// and pinned host keys per node. Learned keys become pinned keys. It is
// safe for concurrent use; the zero value offers no keys and pins none.
type MemoryCredentials struct {
	mu       sync.RWMutex
	defaults []ssh.Signer
	signers  map[string][]ssh.Signer
	pinned   map[string][]ssh.PublicKey
	learned  map[string][]ssh.PublicKey
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

// Learned returns the keys LearnHostKey recorded for a node, oldest first.
func (m *MemoryCredentials) Learned(nodeID string) []ssh.PublicKey {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.learned[nodeID])
}

// Signers implements Credentials.
func (m *MemoryCredentials) Signers(_ context.Context, n Node) ([]ssh.Signer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s, ok := m.signers[n.ID]; ok {
		return slices.Clone(s), nil
	}
	return slices.Clone(m.defaults), nil
}

// HostKeys implements Credentials.
func (m *MemoryCredentials) HostKeys(_ context.Context, n Node) ([]ssh.PublicKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.pinned[n.ID]), nil
}

// LearnHostKey implements Credentials: the key is recorded and pinned.
func (m *MemoryCredentials) LearnHostKey(_ context.Context, n Node, key ssh.PublicKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pinned == nil {
		m.pinned = map[string][]ssh.PublicKey{}
	}
	if m.learned == nil {
		m.learned = map[string][]ssh.PublicKey{}
	}
	for _, k := range m.pinned[n.ID] {
		if bytes.Equal(k.Marshal(), key.Marshal()) {
			return nil
		}
	}
	m.pinned[n.ID] = append(m.pinned[n.ID], key)
	m.learned[n.ID] = append(m.learned[n.ID], key)
	return nil
}
