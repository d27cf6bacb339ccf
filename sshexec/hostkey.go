package sshexec

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
)

// HostKeyPolicy decides which host keys a node may present. The policies
// are PinnedHostKeys, ParseKnownHosts (and KnownHostsFile), AcceptNew, and
// a KnownHosts store's Strict and AcceptNew; the interface is sealed, and
// there is no policy that accepts any key. Policies are safe for
// concurrent use; all but a store's are immutable, and a store's follow
// its file.
type HostKeyPolicy interface {
	// lookup reports what the policy knows about host on port.
	lookup(host string, port int) hostKnowledge
}

// hostKnowledge is what a policy knows about one host.
type hostKnowledge struct {
	// trusted are the keys the host may present; empty means unknown.
	trusted []ssh.PublicKey
	// cas are the certificate authorities trusted to sign host
	// certificates for the host.
	cas []ssh.PublicKey
	// revoked keys (host keys and CAs) are rejected whatever else is
	// known, by marshaled plain key.
	revoked map[string]bool
	// now is the clock for certificate validity; nil means time.Now.
	now func() time.Time
	// learn, when set, accepts (and records) a key for an unknown host.
	learn bool
	// persist records a learned key; nil means the caller records it
	// from Result.
	persist func(hostport string, key ssh.PublicKey) error
	// err, when set, is why the policy knows nothing (its file could not
	// be read); every key is rejected.
	err error
}

// PinnedHostKeys returns a policy that accepts exactly keys, for any host.
// With no keys every host is unknown (code ssh_host_key_unknown).
func PinnedHostKeys(keys ...ssh.PublicKey) HostKeyPolicy {
	p := pinned{}
	for _, k := range keys {
		if k != nil {
			p.keys = append(p.keys, k)
		}
	}
	return p
}

type pinned struct{ keys []ssh.PublicKey }

func (p pinned) lookup(string, int) hostKnowledge {
	return hostKnowledge{trusted: p.keys}
}

// AcceptNew returns a trust-on-first-use policy. For a host that known
// (which may be nil) has keys for, those keys must match: a different key
// is a mismatch, never learned. For a host known has no keys for, the
// first key presented is accepted, persist is called with the address as
// "host:port" (net.JoinHostPort; knownhosts.Normalize turns it into the
// known_hosts form), and the key is reported in Result.HostKey with
// Result.HostKeyLearned set. An error from persist aborts the Run before
// authentication. A nil persist records nothing: the caller stores
// Result.HostKey itself. Keys revoked by known are never learned.
func AcceptNew(known HostKeyPolicy, persist func(hostport string, key ssh.PublicKey) error) HostKeyPolicy {
	return acceptNew{known: known, persist: persist}
}

type acceptNew struct {
	known   HostKeyPolicy
	persist func(string, ssh.PublicKey) error
}

func (a acceptNew) lookup(host string, port int) hostKnowledge {
	var k hostKnowledge
	if a.known != nil {
		k = a.known.lookup(host, port)
	}
	k.learn = true
	k.persist = a.persist
	return k
}

// hostKeyAlgorithms lists the host key algorithms that can present one of
// keys, in a stable order, so that a node with several host keys presents
// the pinned one. It returns nil (the library default) for no keys.
func hostKeyAlgorithms(keys []ssh.PublicKey) []string {
	var algos []string
	add := func(names ...string) {
		for _, n := range names {
			if !contains(algos, n) {
				algos = append(algos, n)
			}
		}
	}
	for _, k := range keys {
		switch t := plainKey(k).Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// plainKey returns the key a certificate certifies, or k itself. A node
// that presents a certificate proves possession of the certified key,
// which is what a pin names.
func plainKey(k ssh.PublicKey) ssh.PublicKey {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key
	}
	return k
}

func sameKey(a, b ssh.PublicKey) bool {
	return bytes.Equal(plainKey(a).Marshal(), plainKey(b).Marshal())
}

// hostKeyCheck verifies the host key during one Run. The library calls
// check on every key exchange, including re-keys, possibly from its own
// goroutine.
type hostKeyCheck struct {
	host     string
	hostport string
	know     hostKnowledge

	mu        sync.Mutex
	presented ssh.PublicKey // first key presented and accepted
	learned   bool
	err       *Error // why the key was rejected
}

func newHostKeyCheck(p HostKeyPolicy, host string, port int) *hostKeyCheck {
	return &hostKeyCheck{
		host:     host,
		hostport: net.JoinHostPort(host, strconv.Itoa(port)),
		know:     p.lookup(host, port),
	}
}

func (h *hostKeyCheck) check(_ string, _ net.Addr, key ssh.PublicKey) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	fp := ssh.FingerprintSHA256(plainKey(key))
	reject := func(code readiness.Code, detail string) error {
		h.err = &Error{Phase: PhaseHostKey, Code: code, Detail: detail, Fingerprint: fp}
		return h.err
	}
	if h.presented != nil {
		// A re-key must present the key accepted at first.
		if !sameKey(h.presented, key) {
			return reject(readiness.CodeSSHHostKeyMismatch, "host key changed during the connection")
		}
		return nil
	}
	if h.know.err != nil {
		h.err = &Error{Phase: PhaseHostKey, Code: readiness.CodeSSHHostKeyUnknown, Detail: "the known_hosts file could not be read", Fingerprint: fp, Err: h.know.err}
		return h.err
	}
	// A host certificate is checked first when a CA applies to the host
	// (or when its CA is revoked). As in OpenSSH, a certificate that
	// fails for any reason but revocation leaves the plain key it
	// certifies to be checked as if no certificate had been presented;
	// its failure is the verdict only where that check would find the key
	// unknown.
	var certFail *certFailure
	if cert, ok := key.(*ssh.Certificate); ok && (len(h.know.cas) > 0 || h.know.revoked[string(cert.SignatureKey.Marshal())]) {
		now := time.Now
		if h.know.now != nil {
			now = h.know.now
		}
		certFail = checkHostCert(cert, h.host, h.know.cas, h.know.revoked, now())
		switch {
		case certFail == nil:
			h.presented = key
			return nil
		case certFail.final:
			return reject(readiness.CodeSSHHostCertInvalid, certFail.detail)
		}
	}
	if h.know.revoked[string(plainKey(key).Marshal())] {
		return reject(readiness.CodeSSHHostKeyMismatch, "host key is revoked")
	}
	if len(h.know.trusted) > 0 {
		for _, k := range h.know.trusted {
			if sameKey(k, key) {
				h.presented = key
				return nil
			}
		}
		return reject(readiness.CodeSSHHostKeyMismatch, "host key does not match the pinned key")
	}
	if certFail != nil {
		// Never learn a key a CA fleet's node presents with a bad
		// certificate.
		return reject(readiness.CodeSSHHostCertInvalid, certFail.detail)
	}
	if !h.know.learn {
		if len(h.know.cas) > 0 {
			return reject(readiness.CodeSSHHostKeyUnknown, "host key is not known, and the node presented no host certificate")
		}
		return reject(readiness.CodeSSHHostKeyUnknown, "host key is not known")
	}
	if h.know.persist != nil {
		if err := h.know.persist(h.hostport, plainKey(key)); err != nil {
			var conflict *hostKeyConflict
			if errors.As(err, &conflict) {
				h.err = &Error{Phase: PhaseHostKey, Code: readiness.CodeSSHHostKeyMismatch, Detail: conflict.detail, Fingerprint: fp, Err: err}
				return h.err
			}
			h.err = &Error{Phase: PhaseHostKey, Code: readiness.CodeSSHHostKeyUnknown, Detail: "recording the new host key failed", Fingerprint: fp, Err: err}
			return h.err
		}
	}
	h.presented = key
	h.learned = true
	return nil
}

// result returns the accepted key, whether it was learned, and the
// rejection, if any.
func (h *hostKeyCheck) result() (ssh.PublicKey, bool, *Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var k ssh.PublicKey
	if h.presented != nil {
		k = plainKey(h.presented)
	}
	return k, h.learned, h.err
}

// algorithms returns the host key algorithms to offer: those of the
// trusted keys, or nil (the default) when nothing is known. When a CA
// applies to the host, the certificate algorithms come first, so that a
// node with a host certificate presents it, then those of the trusted
// keys or, with none, every supported plain algorithm.
func (h *hostKeyCheck) algorithms() []string {
	plain := hostKeyAlgorithms(h.know.trusted)
	if len(h.know.cas) == 0 {
		return plain
	}
	if plain == nil {
		plain = plainHostKeyAlgorithms
	}
	return slices.Concat(certAlgorithms, plain)
}
