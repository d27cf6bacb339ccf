package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// HostKeysFunc returns the host-key policy of one node.
type HostKeysFunc func(ctx context.Context, n Node) (sshexec.HostKeyPolicy, error)

// SameHostKeys returns a HostKeysFunc that gives every node policy p:
// a known_hosts policy already tells hosts apart by address and port.
func SameHostKeys(p sshexec.HostKeyPolicy) HostKeysFunc {
	return func(context.Context, Node) (sshexec.HostKeyPolicy, error) { return p, nil }
}

// ErrNoKeyFile is the error of FileCredentials for a node whose record
// names no key file when AgentFallback is off.
var ErrNoKeyFile = errors.New("preflight: node record names no SSH key file")

// FileCredentials is the Credentials of a control plane that keeps one
// private key file per node and names it in the node record
// (Node.KeyFile): the key is read when first needed, kept, and read again
// when the file changes (its size, modification time or inode), so a
// rotated key is used from the next probe on. Host keys come from
// HostKeys.
//
// Set the fields before first use and do not change them afterwards; the
// methods are safe for concurrent use. The zero value has no HostKeys and
// so fails every node closed (ssh_credentials_unavailable).
type FileCredentials struct {
	// HostKeys returns a node's host-key policy: SameHostKeys of an
	// sshexec known_hosts policy (with accept-new persisted to the file,
	// for a control plane that learns keys on first contact), or
	// per-node pinned keys. Required.
	HostKeys HostKeysFunc
	// Passphrase returns the passphrase of an encrypted key file; nil
	// means key files are not encrypted (an encrypted one is an error).
	Passphrase func(path string) ([]byte, error)
	// AgentFallback offers the SSH agent's keys ($SSH_AUTH_SOCK) to a
	// node whose record names no key file. A key file that is named but
	// cannot be read is an error either way: it is never silently
	// replaced by the agent.
	AgentFallback bool

	mu    sync.Mutex
	cache map[string]*keyFile
}

type keyFile struct {
	size   int64
	mod    time.Time
	ino    uint64
	signer ssh.Signer
}

// Auth implements Credentials.
func (f *FileCredentials) Auth(ctx context.Context, n Node) (Auth, error) {
	if f.HostKeys == nil {
		return Auth{}, errors.New("preflight: FileCredentials.HostKeys is nil")
	}
	var a Auth
	if n.KeyFile == "" {
		if !f.AgentFallback {
			return Auth{}, ErrNoKeyFile
		}
		a.UseAgent = true
	} else {
		s, err := f.signer(n.KeyFile)
		if err != nil {
			return Auth{}, err
		}
		a.Signers = []ssh.Signer{s}
	}
	p, err := f.HostKeys(ctx, n)
	if err != nil {
		return Auth{}, fmt.Errorf("preflight: host keys: %w", err)
	}
	a.HostKeys = p
	return a, nil
}

// signer returns the key at path, read again when the file changed.
func (f *FileCredentials) signer(path string) (ssh.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("preflight: key file: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.cache[path]; k != nil && k.size == st.Size() && k.mod.Equal(st.ModTime()) && k.ino == inode(st) {
		return k.signer, nil
	}
	var pass []byte
	if f.Passphrase != nil {
		if pass, err = f.Passphrase(path); err != nil {
			return nil, fmt.Errorf("preflight: key file passphrase: %w", err)
		}
	}
	s, err := sshexec.LoadPrivateKeyFile(path, pass)
	if err != nil {
		return nil, err
	}
	if f.cache == nil {
		f.cache = map[string]*keyFile{}
	}
	f.cache[path] = &keyFile{size: st.Size(), mod: st.ModTime(), ino: inode(st), signer: s}
	return s, nil
}
