package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), args, &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	require.NoError(t, os.WriteFile(garbage, []byte("not a key"), 0o600))
	badKnown := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(badKnown, []byte("host ssh-ed25519 !!!notbase64\n"), 0o600))
	home := map[string]string{"HOME": dir}
	_, pub := keyFile(t, dir, "")
	pubFile := filepath.Join(dir, "id.pub")
	require.NoError(t, os.WriteFile(pubFile, ssh.MarshalAuthorizedKey(pub), 0o644))
	agentEnv := map[string]string{"HOME": dir, "SSH_AUTH_SOCK": "/nonexistent"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no args", home, nil, "-host is required"},
		{"no user", home, []string{"-host", "h"}, "-user is required"},
		{"bad port", home, []string{"-host", "h", "-user", "u", "-port", "0"}, "-port 0"},
		{"bad port text", home, []string{"-host", "h", "-user", "u", "-port", "ssh"}, "invalid value"},
		{"bad operation", home, []string{"-fake", "ready", "-operation", "deploy"}, "-operation"},
		{"bad timeout", home, []string{"-fake", "ready", "-timeout", "0s"}, "-timeout"},
		{"bad allow-os", home, []string{"-fake", "ready", "-allow-os", "debian"}, "-allow-os"},
		{"unknown flag", home, []string{"-bogus"}, "flag provided but not defined"},
		{"extra arg", home, []string{"-fake", "ready", "extra"}, "unexpected argument"},
		{"fake and host", home, []string{"-fake", "ready", "-host", "h"}, "exclusive"},
		{"unknown fake", home, []string{"-fake", "ready,nope"}, `-fake "nope": unknown profile`},
		{"missing identity", home, []string{"-host", "h", "-user", "u", "-identity", filepath.Join(dir, "nope")}, "-identity"},
		{"garbage identity", home, []string{"-host", "h", "-user", "u", "-identity", garbage}, "-identity"},
		{"no identity", home, []string{"-host", "h", "-user", "u"}, "-identity is required"},
		// An agent is no reason to offer all its keys.
		{"no identity with an agent", agentEnv, []string{"-host", "h", "-user", "u"}, "-identity is required"},
		{"public key without an agent", home, []string{"-host", "h", "-user", "u", "-identity", pubFile}, "$SSH_AUTH_SOCK is unset"},
		{"malformed known_hosts", agentEnv, []string{"-host", "h", "-user", "u", "-identity", pubFile, "-known-hosts", badKnown}, "-known-hosts"},
		{"missing known_hosts", agentEnv, []string{"-host", "h", "-user", "u", "-identity", pubFile, "-known-hosts", filepath.Join(dir, "none")}, "-known-hosts"},
		{"malformed known_hosts with accept-new", agentEnv, []string{"-host", "h", "-user", "u", "-identity", pubFile, "-known-hosts", badKnown, "-accept-new"}, "-known-hosts: sshexec: known_hosts " + badKnown + ": line 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tt.env, tt.args...)
			if code != exitUsage {
				t.Errorf("exit = %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if n := strings.Count(stderr, "\n"); n != 1 || !strings.HasPrefix(stderr, "nodecheck: ") {
				t.Errorf("stderr = %q, want one line starting with nodecheck:", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestFakeProfiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		code    int
		primary readiness.Code
	}{
		{[]string{"-fake", "ready"}, exitReady, ""},
		{[]string{"-fake", "sudo-password"}, exitNotReady, readiness.CodeSudoPasswordRequired},
		{[]string{"-fake", "mariadb-old"}, exitNotReady, readiness.CodeRuntimeVersionUnsupported},
		{[]string{"-fake", "debian-12"}, exitNotReady, readiness.CodeOSUnsupported},
		{[]string{"-fake", "debian-12", "-allow-os", "debian-12"}, exitReady, ""},
		{[]string{"-fake", "fail2ban-missing", "-operation", "env_create"}, exitReady, ""},
		{[]string{"-fake", "fail2ban-missing", "-operation", "site_create"}, exitNotReady, readiness.CodeRuntimeComponentMissing},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, append(tt.args, "-json")...)
			if code != tt.code {
				t.Fatalf("exit = %d, want %d; stderr %q", code, tt.code, stderr)
			}
			var r readiness.Report
			require.NoError(t, json.Unmarshal([]byte(stdout), &r))
			if r.PrimaryReason != tt.primary {
				t.Errorf("primary = %q, want %q", r.PrimaryReason, tt.primary)
			}
			if r.Transport != "ssh" {
				t.Errorf("transport = %q, want ssh", r.Transport)
			}
		})
	}
}

func TestHumanOutputShowsRemediation(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runCLI(t, nil, "-fake", "ready,nginx-inactive")
	if code != exitNotReady {
		t.Fatalf("exit = %d, want %d (one of two nodes is not ready)", code, exitNotReady)
	}
	for _, want := range []string{
		"node fake-ready: READY",
		"node fake-nginx-inactive: NOT READY",
		"=> runtime_service_inactive [nginx]",
		"fix: Start and enable the service: sudo systemctl enable --now nginx",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// keyFiles writes an ed25519 identity (optionally passphrase-protected)
// and returns its path and public key.
func keyFile(t *testing.T, dir string, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	require.NoError(t, err)
	path := filepath.Join(dir, fmt.Sprintf("id_%d", time.Now().UnixNano()))
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return path, sshPub
}

func knownHostsLine(n *sshtest.Node, key ssh.PublicKey) string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", n.Port(), ssh.MarshalAuthorizedKey(key))
}

func TestRealNodeFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain, plainPub := keyFile(t, dir, "")
	locked, lockedPub := keyFile(t, dir, "s3cret")
	p := sshtest.ReadyProfile()
	p.AuthorizedKeys = []ssh.PublicKey{plainPub, lockedPub}
	node := sshtest.NewNodeT(t, p)
	port := strconv.Itoa(node.Port())
	known := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(known, []byte("# comment\n"+knownHostsLine(node, node.HostKey())), 0o600))
	// -timeout bounds the whole run, key decryption included, and
	// bcrypt_pbkdf under -race takes ~1.7s a key on an idle machine (over
	// 10s, the default, on a loaded one): these cases are not about time.
	base := []string{"-host", "127.0.0.1", "-port", port, "-user", "pressluft", "-known-hosts", known, "-timeout", "60s"}

	t.Run("identity and known_hosts", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, nil, append(base, "-identity", plain)...)
		require.Equal(t, exitReady, code, "stderr %q stdout %q", stderr, stdout)
		require.Contains(t, stdout, "READY")
	})
	t.Run("passphrase-protected key without passphrase", func(t *testing.T) {
		code, _, stderr := runCLI(t, nil, append(base, "-identity", locked)...)
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "passphrase-protected")
		require.Contains(t, stderr, "NODECHECK_KEY_PASSPHRASE")
	})
	t.Run("passphrase-protected key with passphrase", func(t *testing.T) {
		code, _, stderr := runCLI(t, map[string]string{"NODECHECK_KEY_PASSPHRASE": "s3cret"}, append(base, "-identity", locked)...)
		require.Equal(t, exitReady, code, "stderr %q", stderr)
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		code, _, stderr := runCLI(t, map[string]string{"NODECHECK_KEY_PASSPHRASE": "nope"}, append(base, "-identity", locked)...)
		require.Equal(t, exitUsage, code)
		require.NotContains(t, stderr, "nope", "the passphrase must never be printed")
	})
	t.Run("changed host key is a mismatch, never accepted", func(t *testing.T) {
		other := sshtest.NewNodeT(t, sshtest.ReadyProfile())
		wrong := filepath.Join(t.TempDir(), "known_hosts")
		require.NoError(t, os.WriteFile(wrong, []byte(knownHostsLine(node, other.HostKey())), 0o600))
		for _, extra := range [][]string{nil, {"-accept-new"}} {
			args := []string{"-host", "127.0.0.1", "-port", port, "-user", "pressluft", "-known-hosts", wrong, "-identity", plain, "-json"}
			code, stdout, stderr := runCLI(t, nil, append(args, extra...)...)
			require.Equal(t, exitNotReady, code, "stderr %q", stderr)
			var r readiness.Report
			require.NoError(t, json.Unmarshal([]byte(stdout), &r))
			require.Equal(t, readiness.CodeSSHHostKeyMismatch, r.PrimaryReason)
		}
	})
	t.Run("accept-new learns the key, then it is pinned", func(t *testing.T) {
		fresh := filepath.Join(t.TempDir(), "sub", "known_hosts")
		args := []string{"-host", "127.0.0.1", "-port", port, "-user", "pressluft", "-known-hosts", fresh, "-identity", plain}
		code, _, stderr := runCLI(t, nil, args...)
		require.Equal(t, exitUsage, code, "without -accept-new a missing known_hosts is an error: %q", stderr)
		code, _, stderr = runCLI(t, nil, append(args, "-accept-new")...)
		require.Equal(t, exitReady, code, "stderr %q", stderr)
		b, err := os.ReadFile(fresh)
		require.NoError(t, err)
		require.Equal(t, knownHostsLine(node, node.HostKey()), string(b))
		code, _, stderr = runCLI(t, nil, args...)
		require.Equal(t, exitReady, code, "the learned key is pinned: %q", stderr)
	})
	t.Run("accept-new keeps the file's other lines", func(t *testing.T) {
		shared := filepath.Join(t.TempDir(), "known_hosts")
		other := sshtest.NewNodeT(t, sshtest.ReadyProfile())
		existing := "# ops\n" + knownHostsLine(other, other.HostKey())
		require.NoError(t, os.WriteFile(shared, []byte(existing), 0o644))
		args := []string{"-host", "127.0.0.1", "-port", port, "-user", "pressluft", "-known-hosts", shared, "-identity", plain, "-timeout", "60s", "-accept-new"}
		code, _, stderr := runCLI(t, nil, args...)
		require.Equal(t, exitReady, code, "stderr %q", stderr)
		b, err := os.ReadFile(shared)
		require.NoError(t, err)
		require.Equal(t, existing+knownHostsLine(node, node.HostKey()), string(b))
		fi, err := os.Stat(shared)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "the file keeps its mode")
		code, _, stderr = runCLI(t, nil, args...)
		require.Equal(t, exitReady, code, "stderr %q", stderr)
		b, err = os.ReadFile(shared)
		require.NoError(t, err)
		require.Equal(t, existing+knownHostsLine(node, node.HostKey()), string(b), "learned once")
	})
}

func TestTimeoutBoundsTheRun(t *testing.T) {
	t.Parallel()
	start := time.Now()
	code, stdout, stderr := runCLI(t, nil, "-fake", "silent", "-timeout", "1s", "-json")
	elapsed := time.Since(start)
	require.Equal(t, exitNotReady, code, "stderr %q", stderr)
	var r readiness.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &r))
	require.Equal(t, readiness.CodeSSHHandshakeFailed, r.PrimaryReason)
	if elapsed > 2*time.Second+500*time.Millisecond {
		t.Errorf("run took %s, want within the 1s timeout plus one second (and setup)", elapsed)
	}
}

// startAgent serves an in-memory agent holding keys on a unix socket
// until t ends, and returns the socket's path.
func startAgent(t *testing.T, keys ...ed25519.PrivateKey) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ag") // unix socket paths are short
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	kr := agent.NewKeyring()
	for _, k := range keys {
		require.NoError(t, kr.Add(agent.AddedKey{PrivateKey: k}))
	}
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = agent.ServeAgent(kr, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return path
}

// -identity KEY.pub offers that key from the agent and no other, so a
// node's fail2ban never counts the agent's other keys; an agent without
// it is reported, and the node is not dialed. sshexec reads
// $SSH_AUTH_SOCK itself: not parallel.
func TestAgentOffersOnlyTheNamedKey(t *testing.T) {
	dir := t.TempDir()
	var privs []ed25519.PrivateKey
	var pubs []ssh.PublicKey
	for range 4 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k, err := ssh.NewPublicKey(pub)
		require.NoError(t, err)
		privs, pubs = append(privs, priv), append(pubs, k)
	}
	// The node's key is the agent's second; the fourth is in no agent.
	sock := startAgent(t, privs[0], privs[1], privs[2])
	t.Setenv("SSH_AUTH_SOCK", sock)
	env := map[string]string{"SSH_AUTH_SOCK": sock}
	pubFile := func(k ssh.PublicKey) string {
		f := filepath.Join(t.TempDir(), "id_ed25519.pub")
		require.NoError(t, os.WriteFile(f, ssh.MarshalAuthorizedKey(k), 0o644))
		return f
	}
	p := sshtest.ReadyProfile()
	p.AuthorizedKeys = []ssh.PublicKey{pubs[1]}
	node := sshtest.NewNodeT(t, p)
	known := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(known, []byte(knownHostsLine(node, node.HostKey())), 0o600))
	base := []string{"-host", "127.0.0.1", "-port", strconv.Itoa(node.Port()), "-user", "pressluft", "-known-hosts", known, "-json"}

	code, stdout, stderr := runCLI(t, env, append(base, "-identity", pubFile(pubs[1]))...)
	require.Equal(t, exitReady, code, "stderr %q stdout %q", stderr, stdout)
	offered := node.OfferedKeys()
	require.NotEmpty(t, offered)
	for i, k := range offered {
		if !bytes.Equal(k.Marshal(), pubs[1].Marshal()) {
			t.Errorf("offered key %d is not the named key: the agent's other keys were offered", i)
		}
	}

	dialed := node.Connections()
	code, stdout, stderr = runCLI(t, env, append(base, "-identity", pubFile(pubs[3]))...)
	require.Equal(t, exitNotReady, code, "stderr %q", stderr)
	var r readiness.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &r))
	require.Equal(t, readiness.CodeSSHCredentialsUnavailable, r.PrimaryReason)
	require.Equal(t, dialed, node.Connections(), "a node whose key the agent lacks is not dialed")
}
