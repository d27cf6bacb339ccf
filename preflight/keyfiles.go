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

// ErrNoAgentKey is the error of FileCredentials with AgentFallback for a
// node whose own public key it cannot name: the record names no key file
// and AgentKeys is nil or gives none. The agent's other keys are never
// offered instead.
var ErrNoAgentKey = errors.New("preflight: no public key names the node's key in the ssh agent")

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
	// AgentFallback offers the node's own key from the SSH agent
	// ($SSH_AUTH_SOCK), and only it, never the agent's other keys (each
	// of which the node's fail2ban would count as a failed login):
	//   - a record whose KeyFile does not exist while KeyFile+".pub"
	//     does (the private half lives in the agent) is offered the agent
	//     key with that public half;
	//   - a record with no KeyFile is offered the agent keys AgentKeys
	//     names for it, and fails with ErrNoAgentKey without them.
	// A key file that exists but cannot be read or parsed is an error
	// either way. False never uses the agent.
	AgentFallback bool
	// AgentKeys returns the public keys of a node's own keys in the
	// agent, for records with no KeyFile (AgentFallback). Nil gives none.
	AgentKeys func(ctx context.Context, n Node) ([]ssh.PublicKey, error)

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
	switch {
	case n.KeyFile == "" && !f.AgentFallback:
		return Auth{}, ErrNoKeyFile
	case n.KeyFile == "":
		var keys []ssh.PublicKey
		if f.AgentKeys != nil {
			var err error
			if keys, err = f.AgentKeys(ctx, n); err != nil {
				return Auth{}, fmt.Errorf("preflight: agent keys: %w", err)
			}
		}
		if len(keys) == 0 {
			return Auth{}, ErrNoAgentKey
		}
		a.UseAgent, a.AgentKeys = true, keys
	default:
		s, err := f.signer(n.KeyFile)
		if err != nil {
			pub, ok := f.agentPublicKey(n.KeyFile, err)
			if !ok {
				return Auth{}, err
			}
			a.UseAgent, a.AgentKeys = true, []ssh.PublicKey{pub}
			break
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

// agentPublicKey returns the public half at path+".pub" when AgentFallback
// is on and the private key at path does not exist (err).
func (f *FileCredentials) agentPublicKey(path string, err error) (ssh.PublicKey, bool) {
	if !f.AgentFallback || !errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	b, rerr := os.ReadFile(path + ".pub")
	if rerr != nil {
		return nil, false
	}
	pub, _, _, _, perr := ssh.ParseAuthorizedKey(b)
	if perr != nil {
		return nil, false
	}
	return pub, true
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
