package sshexec

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func testKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	return testSigner(t).PublicKey()
}

func TestKnownHostsLookup(t *testing.T) {
	t.Parallel()
	k := testKey(t)
	line := func(hosts ...string) string { return knownhosts.Line(hosts, k) + "\n" }
	tests := []struct {
		name string
		file string
		host string
		port int
		want bool
	}{
		{"exact", line("node1"), "node1", 22, true},
		{"case-insensitive", line("Node1.Example.COM"), "node1.example.com", 22, true},
		{"other host", line("node1"), "node2", 22, false},
		{"bracketed 22 is plain", line("[node1]:22"), "node1", 22, true},
		{"non-22 port needs brackets", line("node1"), "node1", 2222, false},
		{"bracketed port", line("[node1]:2222"), "node1", 2222, true},
		{"bracketed other port", line("[node1]:2222"), "node1", 2223, false},
		{"star", line("*.example.com"), "a.example.com", 22, true},
		{"star does not match port form", line("*.example.com"), "a.example.com", 2222, false},
		{"question", line("node?"), "node7", 22, true},
		{"question needs one char", line("node?"), "node", 22, false},
		{"negation wins", line("*.example.com", "!bad.example.com"), "bad.example.com", 22, false},
		{"hashed", line(knownhosts.HashHostname("node1")), "node1", 22, true},
		{"hashed port", line(knownhosts.HashHostname("[node1]:2222")), "node1", 2222, true},
		{"hashed other", line(knownhosts.HashHostname("node1")), "node2", 22, false},
		{"ipv6", line("[2001:db8::1]:2222"), "2001:db8::1", 2222, true},
		{"ipv6 port 22", line("2001:db8::1"), "2001:db8::1", 22, true},
		{"cert authority is no host key", "@cert-authority node1 " + string(ssh.MarshalAuthorizedKey(k)), "node1", 22, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseKnownHosts(strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := len(p.lookup(tt.host, tt.port).trusted) == 1
			if got != tt.want {
				t.Errorf("lookup(%q, %d): got known %v, want %v", tt.host, tt.port, got, tt.want)
			}
		})
	}
}

func TestKnownHostsLookupCAs(t *testing.T) {
	t.Parallel()
	ca := testKey(t)
	line := func(hosts string) string {
		return "@cert-authority " + hosts + " " + string(ssh.MarshalAuthorizedKey(ca))
	}
	tests := []struct {
		name string
		file string
		host string
		port int
		want bool
	}{
		{"wildcard", line("*.example.com"), "a.example.com", 22, true},
		{"other domain", line("*.example.com"), "a.example.org", 22, false},
		{"port form needed for other ports", line("*.example.com"), "a.example.com", 2222, false},
		{"port pattern", line("[*.example.com]:*"), "a.example.com", 2222, true},
		{"star matches every port form", line("*"), "a.example.com", 2222, true},
		{"negated", line("*.example.com,!bad.example.com"), "bad.example.com", 22, false},
		{"hashed", line(knownhosts.HashHostname("node1")), "node1", 22, true},
		{"hashed other", line(knownhosts.HashHostname("node1")), "node2", 22, false},
		{"plain line is no CA", knownhosts.Line([]string{"node1"}, ca), "node1", 22, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseKnownHosts(strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			know := p.lookup(tt.host, tt.port)
			if got := len(know.cas) == 1; got != tt.want {
				t.Errorf("lookup(%q, %d): got CA %v, want %v", tt.host, tt.port, got, tt.want)
			}
			if len(know.trusted) != 0 && tt.want {
				t.Errorf("a CA line trusted %d host keys, want 0", len(know.trusted))
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "anything", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*.x.*", "a.x.b", true},
		{"**a", "bba", true},
		{"abc", "ABC", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q): got %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestHostKeyAlgorithms(t *testing.T) {
	t.Parallel()
	ed := testKey(t)
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa, err := ssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keys []ssh.PublicKey
		want []string
	}{
		{"nothing known keeps the default", nil, nil},
		{"ed25519", []ssh.PublicKey{ed}, []string{ssh.KeyAlgoED25519}},
		{"rsa", []ssh.PublicKey{rsa}, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}},
		{"both, deduplicated", []ssh.PublicKey{ed, rsa, ed}, []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}},
	}
	for _, tt := range tests {
		got := hostKeyAlgorithms(tt.keys)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
