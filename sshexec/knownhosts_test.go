package sshexec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/sshexec"
)

func TestParseKnownHosts(t *testing.T) {
	t.Parallel()
	ed := newEd25519Signer(t).PublicKey()
	ec := newECDSASigner(t).PublicKey()
	rs := newRSASigner(t).PublicKey()
	auth := func(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }
	blob := base64.StdEncoding.EncodeToString(ed.Marshal())
	tests := []struct {
		name    string
		file    string
		wantErr string // substring; "" means valid
	}{
		{name: "empty", file: ""},
		{name: "comments and blanks", file: "# comment\n\n   \n\t# indented comment\n"},
		{name: "plain entries", file: "example.com " + auth(ed) + "\n10.0.0.1,node1 " + auth(ec) + " comment here\n" + "[node2]:2222 " + auth(rs) + "\n"},
		{name: "crlf line ends", file: "example.com " + auth(ed) + "\r\nnode1 " + auth(ec) + "\r\n"},
		{name: "hashed", file: knownhosts.Line([]string{knownhosts.HashHostname("example.com")}, ed)},
		{name: "wildcards and negation", file: "*.example.com,!bad.example.com,node?? " + auth(ed)},
		{name: "ipv6 with port", file: "[2001:db8::1]:2222 " + auth(ed)},
		{name: "revoked marker", file: "@revoked * " + auth(ed)},
		{name: "cert-authority marker", file: "@cert-authority *.example.com " + auth(ed)},
		{name: "unknown marker", file: "@bogus host " + auth(ed), wantErr: `line 1: unknown marker "@bogus"`},
		{name: "certificate as a CA key", file: "@cert-authority * " + auth(testHostCert(t, ed)), wantErr: "line 1: a certificate authority key must be a plain key"},
		{name: "revoked certificate", file: "@revoked * " + auth(testHostCert(t, ed))},
		{name: "missing key", file: "# ok\nexample.com ssh-ed25519\n", wantErr: "line 2: want HOSTS KEYTYPE BASE64-KEY"},
		{name: "host only", file: "example.com\n", wantErr: "line 1:"},
		{name: "bad base64", file: "example.com ssh-ed25519 !!!notbase64", wantErr: "line 1: key is not valid base64"},
		{name: "truncated key", file: "example.com ssh-ed25519 " + blob[:20], wantErr: "line 1:"},
		{name: "type mismatch", file: "example.com ssh-rsa " + blob, wantErr: `line 1: key type "ssh-rsa" does not match`},
		{name: "bad hash", file: "|1|abc|def " + auth(ed), wantErr: "line 1: invalid hashed host"},
		{name: "unknown hash type", file: "|2|" + strings.Repeat("A", 28) + "|" + strings.Repeat("A", 28) + " " + auth(ed), wantErr: "invalid hashed host"},
		{name: "empty pattern", file: "a,,b " + auth(ed), wantErr: "line 1: empty host pattern"},
		{name: "all negated", file: "!a,!b " + auth(ed), wantErr: "all negated"},
		{name: "bracket without port", file: "[node] " + auth(ed), wantErr: "want [HOST]:PORT"},
		{name: "port out of range", file: "[node]:70000 " + auth(ed), wantErr: "invalid port"},
		{name: "port zero", file: "[node]:0 " + auth(ed), wantErr: "invalid port"},
		{name: "stray bracket", file: "node] " + auth(ed), wantErr: "invalid host pattern"},
		{name: "control characters", file: "node\x00 " + auth(ed), wantErr: "line 1: invalid characters"},
		{name: "line too long", file: "node " + strings.Repeat("A", 70000), wantErr: "line 1: line too long"},
		{name: "error on a later line", file: "a " + auth(ed) + "\nb " + auth(ed) + "\n@nope c " + auth(ed) + "\n", wantErr: "line 3:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := sshexec.ParseKnownHosts(strings.NewReader(tt.file))
			if tt.wantErr == "" {
				if err != nil || p == nil {
					t.Fatalf("got %v, want a policy", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "sshexec: known_hosts") {
				t.Errorf("got %q, want the sshexec: known_hosts prefix", err)
			}
			if p != nil {
				t.Errorf("got policy %v with an error, want nil", p)
			}
		})
	}
}

func TestKnownHostsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	key := newEd25519Signer(t).PublicKey()
	if err := os.WriteFile(good, []byte(knownhosts.Line([]string{"node"}, key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("node ssh-ed25519\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sshexec.KnownHostsFile(good); err != nil {
		t.Errorf("good file: got %v, want nil", err)
	}
	if _, err := sshexec.KnownHostsFile(bad); err == nil || !strings.Contains(err.Error(), bad+": line 1:") {
		t.Errorf("bad file: got %v, want an error naming the file and line", err)
	}
	if _, err := sshexec.KnownHostsFile(filepath.Join(dir, "missing")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
}

// testHostCert is a host certificate of key, signed by a fresh CA.
func testHostCert(t *testing.T, key ssh.PublicKey) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, CertType: ssh.HostCert, ValidPrincipals: []string{"node"}, ValidBefore: ssh.CertTimeInfinity}
	if err := c.SignCert(rand.Reader, newEd25519Signer(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func FuzzParseKnownHosts(f *testing.F) {
	_, priv, _ := deterministicEd25519()
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	key := s.PublicKey()
	f.Add([]byte(knownhosts.Line([]string{"example.com", "[10.0.0.1]:2222"}, key)))
	f.Add([]byte(knownhosts.Line([]string{knownhosts.HashHostname("example.com")}, key)))
	f.Add([]byte("@revoked * " + string(ssh.MarshalAuthorizedKey(key))))
	f.Add([]byte("@cert-authority *.example.com,!x " + string(ssh.MarshalAuthorizedKey(key))))
	f.Add([]byte("# comment\n\n[node]:0 ssh-ed25519 AAAA\n|1|x|y ssh-rsa AAAA"))
	f.Add([]byte("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?b " + string(ssh.MarshalAuthorizedKey(key))))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := sshexec.ParseKnownHosts(bytes.NewReader(data))
		if (p == nil) == (err == nil) {
			t.Fatalf("got policy %v and error %v, want exactly one", p, err)
		}
		if p != nil {
			// Looking a host up through a Run is not possible offline;
			// build a target to make sure the policy is usable.
			_ = sshexec.Target{Host: "example.com", User: "u", HostKeys: p}
		}
	})
}
