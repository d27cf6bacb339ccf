package sshexec

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pressluft/runtime-readiness/readiness"
)

// ParsePrivateKey parses a PEM-encoded private key (OpenSSH, PKCS#1,
// PKCS#8 or SEC 1; Ed25519, ECDSA or RSA) into a signer.
//
// An encrypted key needs passphrase: without one the error is
// ErrPassphraseRequired, with a wrong one ErrWrongPassphrase. A passphrase
// given for an unencrypted key is ignored. Any other input is an error
// starting "sshexec: private key: "; ParsePrivateKey never panics. Errors
// never contain key material.
func ParsePrivateKey(pemBytes, passphrase []byte) (s ssh.Signer, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, errors.New("sshexec: private key: malformed key")
		}
	}()
	s, err = ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case !errors.As(err, &missing):
		return nil, fmt.Errorf("sshexec: private key: %w", err)
	case len(passphrase) == 0:
		return nil, ErrPassphraseRequired
	}
	s, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, passphrase)
	switch {
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, ErrWrongPassphrase
	case err != nil:
		return nil, fmt.Errorf("sshexec: private key: %w", err)
	}
	return s, nil
}

// LoadPrivateKeyFile reads and parses the private key at path; see
// ParsePrivateKey.
func LoadPrivateKeyFile(path string, passphrase []byte) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sshexec: private key: %w", err)
	}
	s, err := ParsePrivateKey(b, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return s, nil
}

// agentSigners connects to the SSH agent at $SSH_AUTH_SOCK and returns
// its signers; when only is non-empty, just those whose public key is one
// of only. The connection is registered with g, which closes it when the
// Run ends (the signers use it during authentication).
func agentSigners(ctx context.Context, g *closer, only []ssh.PublicKey) ([]ssh.Signer, error) {
	fail := func(detail string, err error) error {
		if err == nil {
			err = ErrAgentUnavailable
		} else {
			err = fmt.Errorf("%w: %w", ErrAgentUnavailable, err)
		}
		return &Error{Phase: PhaseConfig, Code: readiness.CodeSSHCredentialsUnavailable, Detail: detail, Err: err}
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, fail("SSH_AUTH_SOCK is not set", nil)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fail("cannot connect to the ssh agent", err)
	}
	if !g.add(conn) {
		return nil, fail("cannot connect to the ssh agent", ctx.Err())
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		return nil, fail("cannot list the ssh agent's keys", err)
	}
	if len(only) == 0 {
		return signers, nil
	}
	kept := signers[:0]
	for _, s := range signers {
		pub := s.PublicKey().Marshal()
		for _, k := range only {
			if k != nil && bytes.Equal(pub, k.Marshal()) {
				kept = append(kept, s)
				break
			}
		}
	}
	if len(kept) == 0 {
		return nil, fail("the ssh agent does not hold this node's key", nil)
	}
	return kept, nil
}
