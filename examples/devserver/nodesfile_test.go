package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// keyFile writes a fresh ed25519 identity and returns its path and
// public key.
func keyFile(t *testing.T, dir string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	path := filepath.Join(dir, "id_ed25519")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	sp, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return path, sp
}

func hostKeyLine(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))), k
}

func hashed(name string) string {
	salt := []byte("0123456789abcdefghij")
	m := hmac.New(sha1.New, salt)
	m.Write([]byte(name))
	return "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestLoadNodesFileGood(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, _ := keyFile(t, dir)
	lineA, _ := hostKeyLine(t)
	lineB, _ := hostKeyLine(t)
	lineC, _ := hostKeyLine(t)
	lineR, _ := hostKeyLine(t)
	kh := writeFile(t, dir, "known_hosts", strings.Join([]string{
		"# comment",
		"web-1.example.com,203.0.113.10 " + lineA,
		hashed("[203.0.113.11]:2222") + " " + lineB,
		"*.example.org,!bad.example.org " + lineC,
		"@cert-authority *.example.com " + lineR,
		"203.0.113.10 " + lineR, // revoked below: never pinned
		"@revoked * " + lineR,
		"",
	}, "\n"))
	specs := []NodeSpec{
		{Name: "web-1", Host: "203.0.113.10", User: "pressluft", IdentityFile: id, KnownHostsFile: kh, IsLocal: true},
		{Name: "web-2", Host: "203.0.113.11", Port: 2222, User: "pressluft", IdentityFile: id, KnownHostsFile: kh},
		{Name: "web-3", Host: "good.example.org", User: "pressluft", IdentityFile: id, KnownHostsFile: kh},
		{Name: "web-4", Host: "198.51.100.7", User: "deploy", IdentityFile: id, HostKey: lineA},
	}
	data, err := json.Marshal(specs)
	require.NoError(t, err)
	nodes, err := loadNodesFile(writeFile(t, dir, "nodes.json", string(data)), nil)
	require.NoError(t, err)
	require.Len(t, nodes, 4)
	for i, n := range nodes {
		require.Equal(t, specs[i].Name, n.spec.Name)
		require.NotNil(t, n.hostKeys, "node %s has no host-key policy", n.spec.Name)
	}
	// Which key each policy trusts is sshexec's matching, the same as
	// everywhere else in the SDK: TestRealNodesKnownHosts dials nodes.
	require.Equal(t, 22, nodes[0].spec.Port, "port 0 means 22")
	require.True(t, nodes[0].spec.IsLocal)
}

func TestLoadNodesFileBad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, _ := keyFile(t, dir)
	line, _ := hostKeyLine(t)
	kh := writeFile(t, dir, "known_hosts", "other.example.com "+line+"\n")
	badKH := writeFile(t, dir, "known_hosts_bad", "other.example.com "+line+"\nweb-1 ssh-ed25519 !!notbase64\n")
	notKey := writeFile(t, dir, "not_a_key", "hello\n")
	node := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"name": "web-1", "host": "203.0.113.10", "user": "pressluft", "identity_file": id, "host_key": line}
		if mod != nil {
			mod(m)
		}
		return m
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}
	cases := []struct {
		name, content, want string
	}{
		{"not JSON", "nodes: [web-1]", "invalid JSON"},
		{"object, not array", enc(node(nil)), "invalid JSON"},
		{"trailing data", enc([]any{node(nil)}) + " []", "trailing data"},
		{"empty", "[]", "no nodes"},
		{"unknown field", enc([]any{node(func(m map[string]any) { m["password"] = "x" })}), "unknown field"},
		{"no name", enc([]any{node(func(m map[string]any) { delete(m, "name") })}), "name must be"},
		{"no host", enc([]any{node(func(m map[string]any) { delete(m, "host") })}), "host must be"},
		{"host with port", enc([]any{node(func(m map[string]any) { m["host"] = "203.0.113.10:22" })}), "must not carry a port"},
		{"host with user", enc([]any{node(func(m map[string]any) { m["host"] = "root@203.0.113.10" })}), "host must be"},
		{"port out of range", enc([]any{node(func(m map[string]any) { m["port"] = 70000 })}), "out of range"},
		{"no user", enc([]any{node(func(m map[string]any) { delete(m, "user") })}), "user is required"},
		{"no identity", enc([]any{node(func(m map[string]any) { delete(m, "identity_file") })}), "identity_file is required"},
		{"no host key", enc([]any{node(func(m map[string]any) { delete(m, "host_key") })}), "exactly one of"},
		{"both host keys", enc([]any{node(func(m map[string]any) { m["known_hosts_file"] = kh })}), "exactly one of"},
		{"duplicate name", enc([]any{node(nil), node(nil)}), "duplicate name"},
		{"two local", enc([]any{node(func(m map[string]any) { m["is_local"] = true }),
			node(func(m map[string]any) { m["name"], m["is_local"] = "web-2", true })}), "is_local"},
		{"identity missing", enc([]any{node(func(m map[string]any) { m["identity_file"] = filepath.Join(dir, "nope") })}), "identity_file"},
		{"identity not a key", enc([]any{node(func(m map[string]any) { m["identity_file"] = notKey })}), "identity_file"},
		{"bad host_key", enc([]any{node(func(m map[string]any) { m["host_key"] = "ssh-ed25519 notbase64!" })}), "host_key"},
		{"known_hosts missing", enc([]any{node(func(m map[string]any) {
			delete(m, "host_key")
			m["known_hosts_file"] = filepath.Join(dir, "nope")
		})}), "known_hosts_file"},
		{"known_hosts malformed", enc([]any{node(func(m map[string]any) {
			delete(m, "host_key")
			m["known_hosts_file"] = badKH
		})}), "line 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "nodes.json", c.content)
			_, err := loadNodesFile(path, nil)
			require.Error(t, err)
			require.True(t, errors.Is(err, errNodesFile), "got %v, want errNodesFile", err)
			require.Contains(t, err.Error(), c.want)

			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-nodes", path}, &stdout, &stderr, func(string) string { return "" })
			if code != 2 {
				t.Errorf("got exit %d, want 2", code)
			}
			require.Contains(t, stderr.String(), c.want)
		})
	}
	t.Run("file missing", func(t *testing.T) {
		_, err := loadNodesFile(filepath.Join(dir, "absent.json"), nil)
		require.ErrorIs(t, err, errNodesFile)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-mode", "audit"},
		{"-workers", "0"},
		{"-bogus"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 2 {
				t.Errorf("got exit %d, want 2 (stderr %q)", code, stderr.String())
			}
		})
	}
}

// A -nodes fleet is probed and runs jobs like the fake one: here the
// "real" node is a fake node that accepts the file's identity.
func TestRealNodesFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, pub := keyFile(t, dir)
	p := sshtest.ReadyProfile()
	p.AuthorizedKeys = []ssh.PublicKey{pub}
	fake := sshtest.NewNodeT(t, p)
	spec := []NodeSpec{{
		Name: "web-1", Host: "127.0.0.1", Port: fake.Port(), User: sshtest.DefaultUser, IdentityFile: id,
		HostKey: string(ssh.MarshalAuthorizedKey(fake.HostKey())), IsLocal: true,
	}}
	data, err := json.Marshal(spec)
	require.NoError(t, err)
	nodes, err := loadNodesFile(writeFile(t, dir, "nodes.json", string(data)), nil)
	require.NoError(t, err)

	s, _ := testServer(t, func(c *Config) { c.Nodes = nodes })
	require.Len(t, s.Fleet(), 1)
	j := waitJob(t, s, createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"}))
	require.Equal(t, jobSucceeded, j.Status, "job: %+v", j)
	require.True(t, ranJobCommand(fake))

	// The gate reads the key file the node's record names, each time it
	// changes: gone, the node is not ready, and it is not dialed.
	dialed := fake.Connections()
	require.NoError(t, os.Remove(id))
	res := do(t, s, "POST", "/api/nodes/"+j.NodeID+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var r readiness.Report
	res.json(t, &r)
	require.Equal(t, readiness.CodeSSHCredentialsUnavailable, r.PrimaryReason)
	require.Equal(t, dialed, fake.Connections(), "a node without its key is not dialed")
}

// A -nodes entry's host key is pinned: a node presenting another key is
// not ready (ssh_host_key_mismatch), and nothing runs on it.
func TestRealNodesPinnedHostKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, pub := keyFile(t, dir)
	p := sshtest.ReadyProfile()
	p.AuthorizedKeys = []ssh.PublicKey{pub}
	fake := sshtest.NewNodeT(t, p)
	line, _ := hostKeyLine(t) // not the node's
	data, err := json.Marshal([]NodeSpec{{
		Name: "web-1", Host: "127.0.0.1", Port: fake.Port(), User: sshtest.DefaultUser, IdentityFile: id, HostKey: line,
	}})
	require.NoError(t, err)
	nodes, err := loadNodesFile(writeFile(t, dir, "nodes.json", string(data)), nil)
	require.NoError(t, err)
	s, _ := testServer(t, func(c *Config) { c.Nodes = nodes })
	res := do(t, s, "POST", "/api/sites", `{"name":"Blog","slug":"blog"}`)
	require.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
	var e errBody
	res.json(t, &e)
	require.Equal(t, readiness.CodeSSHHostKeyMismatch, e.Readiness.PrimaryReason)
	require.False(t, ranJobCommand(fake))
}

// A Debian node is os_unsupported under the SDK's baseline, and ready
// with -allow-os debian-12: the lever a fleet of Debian hosts needs.
func TestRealNodesAllowOS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, pub := keyFile(t, dir)
	p := sshtest.DebianProfile()
	p.AuthorizedKeys = []ssh.PublicKey{pub}
	fake := sshtest.NewNodeT(t, p)
	data, err := json.Marshal([]NodeSpec{{
		Name: "deb-1", Host: "127.0.0.1", Port: fake.Port(), User: sshtest.DefaultUser, IdentityFile: id,
		HostKey: string(ssh.MarshalAuthorizedKey(fake.HostKey())), IsLocal: true,
	}})
	require.NoError(t, err)
	file := writeFile(t, dir, "nodes.json", string(data))

	for _, tt := range []struct {
		args []string
		want readiness.Code // "" means ready
	}{
		{nil, readiness.CodeOSUnsupported},
		{[]string{"-allow-os", "debian-12"}, ""},
		{[]string{"-allow-os", "debian-11", "-allow-os", "debian-12"}, ""},
	} {
		t.Run(strings.Join(append([]string{"flags"}, tt.args...), " "), func(t *testing.T) {
			o, err := parseFlags(append([]string{"-nodes", file}, tt.args...), io.Discard, func(string) string { return "" })
			require.NoError(t, err)
			s, _ := testServer(t, func(c *Config) { c.Nodes, c.AllowOS = o.cfg.Nodes, o.cfg.AllowOS })
			nodeID := s.Fleet()[0].ID
			res := do(t, s, "POST", "/api/nodes/"+nodeID+"/readiness/refresh", "")
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			var r readiness.Report
			res.json(t, &r)
			if tt.want == "" {
				require.Equal(t, readiness.StateReady, r.State, "reasons: %+v", r.Reasons)
				res := do(t, s, "POST", "/api/sites", `{"name":"Blog","slug":"blog"}`)
				require.Equal(t, http.StatusAccepted, res.Status, "body: %s", res.Body)
				return
			}
			require.Equal(t, tt.want, r.PrimaryReason)
		})
	}
}

func TestParseFlagsAllowOSInvalid(t *testing.T) {
	t.Parallel()
	_, err := parseFlags([]string{"-allow-os", "debian"}, io.Discard, func(string) string { return "" })
	var ue usageError
	require.ErrorAs(t, err, &ue)
}

// knownHostsServer starts a server on one fake node whose -nodes entry
// names a known_hosts file with content (PORT replaced by the node's
// port, KEY by its host key, HASHED by the hashed name of
// [127.0.0.1]:PORT), and returns the server, the node's id and
// the file.
func knownHostsServer(t *testing.T, fake *sshtest.Node, id, content string) (*Server, string, string) {
	t.Helper()
	dir := t.TempDir()
	port := strconv.Itoa(fake.Port())
	content = strings.NewReplacer("HASHED", hashed("[127.0.0.1]:"+port), "PORT", port,
		"KEY", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(fake.HostKey())))).Replace(content)
	kh := writeFile(t, dir, "known_hosts", content)
	data, err := json.Marshal([]NodeSpec{{
		Name: "web-1", Host: "127.0.0.1", Port: fake.Port(), User: sshtest.DefaultUser, IdentityFile: id, KnownHostsFile: kh,
	}})
	require.NoError(t, err)
	nodes, err := loadNodesFile(writeFile(t, dir, "nodes.json", string(data)), nil)
	require.NoError(t, err)
	s, _ := testServer(t, func(c *Config) { c.Nodes = nodes })
	return s, s.Fleet()[0].ID, kh
}

func refreshReport(t *testing.T, s *Server, nodeID string) readiness.Report {
	t.Helper()
	res := do(t, s, "POST", "/api/nodes/"+nodeID+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var r readiness.Report
	res.json(t, &r)
	return r
}

// A known_hosts_file is read by sshexec's store, as everywhere in the
// SDK. The server's own parser, before, got three of these wrong: it
// matched patterns with path.Match, for which "[127.0.0.1]:2222" is a
// character class, so the plain [host]:port form that ssh and
// ssh-keyscan write for any port but 22 never matched ("no key for ..."
// at start; only hashed names worked); it ignored @cert-authority lines,
// so a node known only by its CA was refused at start too; and it read
// the file once, so a fixed entry needed a restart.
func TestRealNodesKnownHosts(t *testing.T) {
	t.Parallel()
	ca, err := ssh.NewSignerFromKey(func() ed25519.PrivateKey {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		return priv
	}())
	require.NoError(t, err)
	caLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey())))
	other, _ := hostKeyLine(t)
	for _, tt := range []struct {
		name, content string
		cert          bool
		want          readiness.Code // "" means ready
	}{
		{"plain", "[127.0.0.1]:PORT KEY\n", false, ""},
		{"hashed", "HASHED KEY\n", false, ""},
		{"pattern with negation", "[127.0.0.*]:*,![127.0.0.2]:* KEY\n", false, ""},
		{"revoked", "[127.0.0.1]:PORT KEY\n@revoked * KEY\n", false, readiness.CodeSSHHostKeyMismatch},
		{"cert-authority only", "@cert-authority [127.0.0.1]:* " + caLine + "\n", true, ""},
		{"another host's entry", "[127.0.0.1]:1 KEY\n", false, readiness.CodeSSHHostKeyUnknown},
		{"changed key", "[127.0.0.1]:PORT " + other + "\n", false, readiness.CodeSSHHostKeyMismatch},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, pub := keyFile(t, t.TempDir())
			p := sshtest.ReadyProfile()
			p.AuthorizedKeys = []ssh.PublicKey{pub}
			fake := sshtest.NewNodeT(t, p)
			if tt.cert {
				fake.CertifyHostKey(ca, "127.0.0.1")
			}
			s, nodeID, _ := knownHostsServer(t, fake, id, tt.content)
			r := refreshReport(t, s, nodeID)
			if tt.want == "" {
				require.Equal(t, readiness.StateReady, r.State, "reasons: %+v", r.Reasons)
				return
			}
			require.Equal(t, tt.want, r.PrimaryReason, "reasons: %+v", r.Reasons)
			require.False(t, ranJobCommand(fake))
		})
	}

	t.Run("the file is followed", func(t *testing.T) {
		t.Parallel()
		id, pub := keyFile(t, t.TempDir())
		p := sshtest.ReadyProfile()
		p.AuthorizedKeys = []ssh.PublicKey{pub}
		fake := sshtest.NewNodeT(t, p)
		s, nodeID, kh := knownHostsServer(t, fake, id, "[127.0.0.1]:PORT "+other+"\n")
		require.Equal(t, readiness.CodeSSHHostKeyMismatch, refreshReport(t, s, nodeID).PrimaryReason)
		// The operator verifies the node's new key and fixes the file.
		line := fmt.Sprintf("[127.0.0.1]:%d %s", fake.Port(), ssh.MarshalAuthorizedKey(fake.HostKey()))
		require.NoError(t, os.WriteFile(kh, []byte(line), 0o600))
		r := refreshReport(t, s, nodeID)
		require.Equal(t, readiness.StateReady, r.State, "reasons: %+v", r.Reasons)
	})
}
