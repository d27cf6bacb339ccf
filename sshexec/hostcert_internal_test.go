package sshexec

import (
	"crypto/ed25519"
	"crypto/rand"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/readiness"
)

func testSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hostCert returns a host certificate of key for "node1", valid for
// [1000, 2000), signed by ca after edit (nil ca: unsigned).
func hostCert(t *testing.T, key ssh.PublicKey, ca ssh.Signer, edit func(*ssh.Certificate)) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{
		Key: key, CertType: ssh.HostCert, KeyId: "node1",
		ValidPrincipals: []string{"node1"}, ValidAfter: 1000, ValidBefore: 2000,
	}
	if edit != nil {
		edit(c)
	}
	if ca != nil {
		if err := c.SignCert(rand.Reader, ca); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCheckHostCert(t *testing.T) {
	t.Parallel()
	ca, other, host := testSigner(t), testSigner(t), testSigner(t).PublicKey()
	cas := []ssh.PublicKey{ca.PublicKey()}
	revokedKey := map[string]bool{string(host.Marshal()): true}
	revokedCA := map[string]bool{string(ca.PublicKey().Marshal()): true}
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	tampered := hostCert(t, host, ca, nil)
	tampered.KeyId = "changed after signing"
	unsignedNoPrincipals := hostCert(t, host, nil, func(c *ssh.Certificate) { c.ValidPrincipals = nil })
	unsignedNoPrincipals.SignatureKey = ca.PublicKey()
	tests := []struct {
		name    string
		cert    *ssh.Certificate
		host    string
		revoked map[string]bool
		now     time.Time
		want    *certFailure
	}{
		{name: "valid", cert: hostCert(t, host, ca, nil), host: "node1", now: at(1500)},
		{name: "valid from its first second", cert: hostCert(t, host, ca, nil), host: "node1", now: at(1000)},
		{name: "valid to its last second", cert: hostCert(t, host, ca, nil), host: "node1", now: at(1999)},
		{name: "forever", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.ValidAfter, c.ValidBefore = 0, ssh.CertTimeInfinity }), host: "node1", now: at(math.MaxInt32)},
		{name: "one of several principals", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.ValidPrincipals = []string{"a", "node1", "b"} }), host: "node1", now: at(1500)},
		{name: "user certificate", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.CertType = ssh.UserCert }), host: "node1", now: at(1500), want: &certFailure{detail: certNotHost}},
		{name: "other CA", cert: hostCert(t, host, other, nil), host: "node1", now: at(1500), want: &certFailure{detail: certUntrustedCA}},
		{name: "revoked CA", cert: hostCert(t, host, ca, nil), host: "node1", now: at(1500), revoked: revokedCA, want: &certFailure{detail: certCARevoked, final: true}},
		{name: "revoked key", cert: hostCert(t, host, ca, nil), host: "node1", now: at(1500), revoked: revokedKey, want: &certFailure{detail: certKeyRevoked, final: true}},
		{name: "critical option", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"force-command": "true"} }), host: "node1", now: at(1500), want: &certFailure{detail: certCritical}},
		{name: "empty principals are valid for no host", cert: unsignedNoPrincipals, host: "node1", now: at(1500), want: &certFailure{detail: certNoPrincipals}},
		{name: "other host", cert: hostCert(t, host, ca, nil), host: "node2", now: at(1500), want: &certFailure{detail: certWrongHost}},
		{name: "principals match exactly, not as patterns", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.ValidPrincipals = []string{"*"} }), host: "node1", now: at(1500), want: &certFailure{detail: certWrongHost}},
		{name: "principals match case-sensitively", cert: hostCert(t, host, ca, nil), host: "NODE1", now: at(1500), want: &certFailure{detail: certWrongHost}},
		{name: "not yet valid", cert: hostCert(t, host, ca, nil), host: "node1", now: at(999), want: &certFailure{detail: certNotYetValid}},
		{name: "valid after past int64", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.ValidAfter = math.MaxInt64 + 1 }), host: "node1", now: at(1500), want: &certFailure{detail: certNotYetValid}},
		{name: "expired at its end", cert: hostCert(t, host, ca, nil), host: "node1", now: at(2000), want: &certFailure{detail: certExpired}},
		{name: "valid before past int64 is expired", cert: hostCert(t, host, ca, func(c *ssh.Certificate) { c.ValidBefore = math.MaxInt64 + 1 }), host: "node1", now: at(1500), want: &certFailure{detail: certExpired}},
		{name: "tampered after signing", cert: tampered, host: "node1", now: at(1500), want: &certFailure{detail: certBadSignature}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := checkHostCert(tt.cert, tt.host, cas, tt.revoked, tt.now)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(certFailure{})); diff != "" {
				t.Errorf("checkHostCert (-want +got):\n%s", diff)
			}
			if tt.want == nil {
				// Agree with x/crypto's CertChecker on what is accepted.
				c := ssh.CertChecker{Clock: func() time.Time { return tt.now }}
				if err := c.CheckCert(tt.host, tt.cert); err != nil {
					t.Errorf("got accepted, but CertChecker refuses: %v", err)
				}
			}
		})
	}
}

// The checks are in one place (checkHostCert); these cases are about
// how a Run's host key check combines them with the plain keys.
func TestHostKeyCheckWithCA(t *testing.T) {
	t.Parallel()
	ca, rogue := testSigner(t), testSigner(t)
	host, other := testSigner(t).PublicKey(), testSigner(t).PublicKey()
	now := func() time.Time { return time.Unix(1500, 0) }
	good := hostCert(t, host, ca, nil)
	expired := hostCert(t, host, ca, func(c *ssh.Certificate) { c.ValidBefore = 1100 })
	untrusted := hostCert(t, host, rogue, nil)
	auth := func(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }
	caLine := "@cert-authority node1 " + auth(ca.PublicKey()) + "\n"
	pinLine := knownhosts.Line([]string{"node1"}, host) + "\n"
	otherLine := knownhosts.Line([]string{"node1"}, other) + "\n"
	tests := []struct {
		name       string
		file       string
		learn      bool
		key        ssh.PublicKey
		wantCode   readiness.Code // "" accepted
		wantDetail string
	}{
		{name: "valid certificate", file: caLine, key: good},
		{name: "valid certificate, another plain key pinned", file: caLine + otherLine, key: good},
		{name: "expired, plain key pinned: the plain key decides", file: caLine + pinLine, key: expired},
		{name: "expired, another plain key pinned", file: caLine + otherLine, key: expired, wantCode: readiness.CodeSSHHostKeyMismatch, wantDetail: "host key does not match the pinned key"},
		{name: "expired, nothing pinned", file: caLine, key: expired, wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: certExpired},
		{name: "expired, accept-new does not learn it", file: caLine, learn: true, key: expired, wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: certExpired},
		{name: "untrusted CA, plain key pinned", file: caLine + pinLine, key: untrusted},
		{name: "untrusted CA, nothing pinned", file: caLine, key: untrusted, wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: certUntrustedCA},
		{name: "untrusted CA, no CA for the host: plain logic", file: "@cert-authority node2 " + auth(ca.PublicKey()) + "\n", key: untrusted, wantCode: readiness.CodeSSHHostKeyUnknown, wantDetail: "host key is not known"},
		{name: "revoked CA, plain key pinned: never falls back", file: caLine + pinLine + "@revoked * " + auth(ca.PublicKey()) + "\n", key: good, wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: certCARevoked},
		{name: "revoked CA, no CA line for the host", file: pinLine + "@revoked * " + auth(ca.PublicKey()) + "\n", key: good, wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: certCARevoked},
		{name: "revoked certified key", file: caLine + pinLine + "@revoked * " + auth(host) + "\n", key: good, wantCode: readiness.CodeSSHHostCertInvalid, wantDetail: certKeyRevoked},
		{name: "plain key, CA applies, nothing pinned", file: caLine, key: host, wantCode: readiness.CodeSSHHostKeyUnknown, wantDetail: "host key is not known, and the node presented no host certificate"},
		{name: "plain key, CA applies, key pinned", file: caLine + pinLine, key: host},
		{name: "hashed CA line", file: "@cert-authority " + knownhosts.HashHostname("node1") + " " + auth(ca.PublicKey()) + "\n", key: good},
		{name: "CA line for another port does not apply", file: "@cert-authority [node1]:2222 " + auth(ca.PublicKey()) + "\n", key: good, wantCode: readiness.CodeSSHHostKeyUnknown, wantDetail: "host key is not known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseKnownHosts(strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tt.learn {
				p = AcceptNew(p, func(string, ssh.PublicKey) error { t.Error("persist called"); return nil })
			}
			h := newHostKeyCheck(p, "node1", 22)
			h.know.now = now
			err = h.check("node1:22", nil, tt.key)
			var gotCode readiness.Code
			var gotDetail string
			if e, ok := err.(*Error); ok {
				gotCode, gotDetail = e.Code, e.Detail
			} else if err != nil {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			if gotCode != tt.wantCode || gotDetail != tt.wantDetail {
				t.Errorf("got %q %q, want %q %q", gotCode, gotDetail, tt.wantCode, tt.wantDetail)
			}
		})
	}
}

func TestAlgorithmsWithCA(t *testing.T) {
	t.Parallel()
	ca, host := testSigner(t), testSigner(t).PublicKey()
	auth := func(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }
	tests := []struct {
		name string
		file string
		want []string
	}{
		{name: "nothing known", file: "", want: nil},
		{name: "plain key only", file: knownhosts.Line([]string{"node1"}, host), want: []string{ssh.KeyAlgoED25519}},
		{name: "CA only: certificates first, then every plain algorithm", file: "@cert-authority * " + auth(ca.PublicKey()), want: append(append([]string{}, certAlgorithms...), plainHostKeyAlgorithms...)},
		{name: "CA and a pinned key", file: "@cert-authority * " + auth(ca.PublicKey()) + "\n" + knownhosts.Line([]string{"node1"}, host), want: append(append([]string{}, certAlgorithms...), ssh.KeyAlgoED25519)},
		{name: "CA for another host", file: "@cert-authority node2 " + auth(ca.PublicKey()), want: nil},
	}
	for _, tt := range tests {
		p, err := ParseKnownHosts(strings.NewReader(tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, newHostKeyCheck(p, "node1", 22).algorithms()); diff != "" {
			t.Errorf("%s: algorithms (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, a := range plainHostKeyAlgorithms {
		if strings.Contains(a, "cert") {
			t.Errorf("plain algorithms hold %s", a)
		}
	}
	if len(plainHostKeyAlgorithms) == 0 {
		t.Error("no plain algorithms")
	}
}
