package sshtest

import (
	"bytes"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestHostCertificate(t *testing.T) {
	t.Parallel()
	ca, err := newSigner()
	require.NoError(t, err)
	n := NewNodeT(t, ReadyProfile())

	// presented dials offering algos and returns the host key the node
	// presented.
	presented := func(algos ...string) (ssh.PublicKey, error) {
		var got ssh.PublicKey
		cfg := n.ClientConfig()
		cfg.HostKeyAlgorithms = algos
		cfg.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
			got = key
			return nil
		}
		c, err := ssh.Dial("tcp", n.Addr(), cfg)
		if err != nil {
			return nil, err
		}
		c.Close()
		return got, nil
	}

	key, err := presented(ssh.CertAlgoED25519v01, ssh.KeyAlgoED25519)
	require.NoError(t, err)
	require.Equal(t, ssh.KeyAlgoED25519, key.Type(), "no certificate until one is set")

	cert := n.CertifyHostKey(ca, "127.0.0.1", "node.example.com")
	require.Equal(t, []string{"127.0.0.1", "node.example.com"}, cert.ValidPrincipals)
	key, err = presented(ssh.CertAlgoED25519v01, ssh.KeyAlgoED25519)
	require.NoError(t, err)
	got, ok := key.(*ssh.Certificate)
	require.True(t, ok, "got %s, want the certificate", key.Type())
	require.True(t, bytes.Equal(cert.Marshal(), got.Marshal()))
	checker := ssh.CertChecker{IsHostAuthority: func(auth ssh.PublicKey, _ string) bool {
		return bytes.Equal(auth.Marshal(), ca.PublicKey().Marshal())
	}}
	require.NoError(t, checker.CheckHostKey(n.Addr(), nil, got), "x/crypto accepts what CertifyHostKey signs")

	key, err = presented(ssh.KeyAlgoED25519)
	require.NoError(t, err)
	require.Equal(t, ssh.KeyAlgoED25519, key.Type(), "clients offering plain algorithms get the plain key")

	n.SetHostCertificate(nil)
	_, err = presented(ssh.CertAlgoED25519v01)
	require.Error(t, err, "no certificate presented once removed")

	other := NewNodeT(t, ReadyProfile())
	require.PanicsWithValue(t, "sshtest: SetHostCertificate: the certificate certifies another key than the node's host key", func() {
		n.SetHostCertificate(other.CertifyHostKey(ca, "127.0.0.1"))
	})
	require.Panics(t, func() { n.CertifyHostKey(ca) }, "a certificate without principals cannot be signed")
}
