package sshexec_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// certFor signs key as a certificate of type typ for principals, valid
// from after to before.
func certFor(t *testing.T, ca ssh.Signer, key ssh.PublicKey, typ uint32, after, before time.Time, principals ...string) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{
		Key: key, CertType: typ, KeyId: "test", ValidPrincipals: principals,
		ValidAfter: uint64(after.Unix()), ValidBefore: uint64(before.Unix()),
	}
	require.NoError(t, c.SignCert(rand.Reader, ca))
	return c
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// TestHostCertificateRun runs against sshtest nodes presenting host
// certificates, the way an sshd with HostCertificate does.
func TestHostCertificateRun(t *testing.T) {
	t.Parallel()
	ca, rogue := newEd25519Signer(t), newEd25519Signer(t)
	now := time.Now()
	day := 24 * time.Hour
	fleet := "@cert-authority * " + authorized(ca.PublicKey()) + "\n"
	tests := []struct {
		name string
		// cert certifies the node's key; nil presents none.
		cert       func(n *sshtest.Node) *ssh.Certificate
		file       func(n *sshtest.Node) string
		wantCode   readiness.Code
		wantDetail string
	}{
		{
			name: "fleet CA, certificate for the host",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file: func(*sshtest.Node) string { return fleet },
		},
		{
			name: "hashed CA line for [host]:port",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file: func(n *sshtest.Node) string {
				return "@cert-authority " + knownhosts.HashHostname("[127.0.0.1]:"+strconv.Itoa(n.Port())) + " " + authorized(ca.PublicKey()) + "\n"
			},
		},
		{
			name: "certificate for another host",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "web-7.example.com")
			},
			file:     func(*sshtest.Node) string { return fleet },
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "not valid for this host",
		},
		{
			name: "principal with the port is not the bare host",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1:"+strconv.Itoa(n.Port()))
			},
			file:     func(*sshtest.Node) string { return fleet },
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "not valid for this host",
		},
		{
			name: "expired",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-2*day), now.Add(-day), "127.0.0.1")
			},
			file:     func(*sshtest.Node) string { return fleet },
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "has expired",
		},
		{
			name: "not yet valid",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(day), now.Add(2*day), "127.0.0.1")
			},
			file:     func(*sshtest.Node) string { return fleet },
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "not yet valid",
		},
		{
			name: "revoked CA",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file: func(n *sshtest.Node) string {
				// Even with the plain key pinned: a revoked CA is final.
				return fleet + "@revoked * " + authorized(ca.PublicKey()) + "\n" + knownhosts.Line([]string{n.Addr()}, n.HostKey()) + "\n"
			},
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "revoked certificate authority",
		},
		{
			name: "a user certificate",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.UserCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file:     func(*sshtest.Node) string { return fleet },
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "not a host certificate",
		},
		{
			name: "untrusted CA",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, rogue, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file:     func(*sshtest.Node) string { return fleet },
			wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: "not signed by a certificate authority trusted",
		},
		{
			name: "untrusted CA, plain key pinned: the pin decides",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, rogue, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file: func(n *sshtest.Node) string {
				return fleet + knownhosts.Line([]string{n.Addr()}, n.HostKey()) + "\n"
			},
		},
		{
			name: "untrusted CA, another key pinned",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, rogue, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file: func(n *sshtest.Node) string {
				return fleet + knownhosts.Line([]string{n.Addr()}, newEd25519Signer(t).PublicKey()) + "\n"
			},
			wantCode: readiness.CodeSSHHostKeyMismatch, wantDetail: "does not match the pinned key",
		},
		{
			name: "CA for the host, node without a certificate",
			file: func(*sshtest.Node) string { return fleet },
			// Only a certificate could have been trusted.
			wantCode: readiness.CodeSSHHostKeyUnknown, wantDetail: "presented no host certificate",
		},
		{
			name: "CA for the host, node without a certificate, key pinned",
			file: func(n *sshtest.Node) string {
				return fleet + knownhosts.Line([]string{n.Addr()}, n.HostKey()) + "\n"
			},
		},
		{
			name: "CA for other hosts only",
			cert: func(n *sshtest.Node) *ssh.Certificate {
				return certFor(t, ca, n.HostKey(), ssh.HostCert, now.Add(-time.Hour), now.Add(day), "127.0.0.1")
			},
			file: func(*sshtest.Node) string {
				return "@cert-authority *.example.com " + authorized(ca.PublicKey()) + "\n"
			},
			wantCode: readiness.CodeSSHHostKeyUnknown, wantDetail: "host key is not known",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
			if tt.cert != nil {
				n.SetHostCertificate(tt.cert(n))
			}
			policy, err := sshexec.ParseKnownHosts(strings.NewReader(tt.file(n)))
			require.NoError(t, err)
			tg := n.Target()
			tg.HostKeys = policy
			res, err := (&sshexec.Client{Timeout: 10 * time.Second}).Run(context.Background(), tg, "true", nil)
			if tt.wantCode == "" {
				require.NoError(t, err)
				require.True(t, sameKey(res.HostKey, n.HostKey()), "got host key %v, want the node's plain key", res.HostKey)
				require.False(t, res.HostKeyLearned)
				return
			}
			var e *sshexec.Error
			require.True(t, errors.As(err, &e), "got %v, want an *sshexec.Error", err)
			require.Equal(t, tt.wantCode, e.Code, "err: %v", err)
			require.Equal(t, sshexec.PhaseHostKey, e.Phase)
			require.Contains(t, e.Detail, tt.wantDetail)
			require.Equal(t, ssh.FingerprintSHA256(n.HostKey()), e.Fingerprint, "the fingerprint names the certified key")
			require.Len(t, n.Execs(), 0, "nothing ran")
		})
	}
}
