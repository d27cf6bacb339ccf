package sshexec_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/internal/faults"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestKnownHostsStoreSurvivesRestart: a key learned with accept-new is
// in the file, pinned after a restart (the store opened anew), and a
// changed key at the same address is refused before and after restart.
func TestKnownHostsStoreSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pressluft", "known_hosts")
	c := sshexec.Client{Timeout: 10 * time.Second}
	ctx := context.Background()

	// The node's address is a relay, so that a rebuilt node (another
	// server, another key) can take it over.
	srv := newTestServer(t, faultNone)
	relay, err := faults.New(faults.Config{Upstream: srv.ln.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { relay.Close() })
	addr := relay.Addr()
	target := func() sshexec.Target {
		tg := srv.target()
		tg.Port = relay.Port()
		return tg
	}
	store, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err, "a missing file is an empty store")
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "opening creates nothing")

	tg := target()
	tg.HostKeys = store.Strict()
	_, err = c.Run(ctx, tg, "true", nil)
	require.Equal(t, readiness.CodeSSHHostKeyUnknown, sshexec.CodeOf(err), "strict: an empty store knows nothing: %v", err)

	tg.HostKeys = store.AcceptNew()
	res, err := c.Run(ctx, tg, "true", nil)
	require.NoError(t, err)
	require.True(t, res.HostKeyLearned)
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, srv.hostKeys[0].PublicKey()) + "\n"
	require.Equal(t, line, readFile(t, path), "one OpenSSH line, [host]:port for a port other than 22")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	res, err = c.Run(ctx, tg, "true", nil)
	require.NoError(t, err)
	require.False(t, res.HostKeyLearned, "learned once")

	// Restart: nothing in memory survives, the file does.
	reopened, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err)
	tg.HostKeys = reopened.Strict()
	res, err = c.Run(ctx, tg, "true", nil)
	require.NoError(t, err, "the learned key is pinned after a restart")
	require.False(t, res.HostKeyLearned)

	// The node is rebuilt with a new key on the same address.
	rebuilt := newTestServer(t, faultNone)
	relay.SetUpstream(rebuilt.ln.Addr().String())
	for name, policy := range map[string]sshexec.HostKeyPolicy{
		"strict before restart":     store.Strict(),
		"accept-new before restart": store.AcceptNew(),
		"strict after restart":      reopened.Strict(),
		"accept-new after restart":  reopened.AcceptNew(),
	} {
		tg := target()
		tg.HostKeys = policy
		_, err := c.Run(ctx, tg, "true", nil)
		require.Equal(t, readiness.CodeSSHHostKeyMismatch, sshexec.CodeOf(err), "%s: %v", name, err)
	}
	again, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err)
	tg = target()
	tg.HostKeys = again.AcceptNew()
	_, err = c.Run(ctx, tg, "true", nil)
	require.Equal(t, readiness.CodeSSHHostKeyMismatch, sshexec.CodeOf(err), "a third process: %v", err)
	require.Equal(t, line, readFile(t, path), "the changed key was never written")
}

// TestKnownHostsStoreFollowsTheFile: the policies see what an operator
// writes to the file while the store is open.
func TestKnownHostsStoreFollowsTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(path, []byte("# managed by ops\n"), 0o644))
	store, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err)
	srv := newTestServer(t, faultNone)
	tg := srv.target()
	tg.HostKeys = store.Strict()
	c := sshexec.Client{Timeout: 10 * time.Second}
	run := func() readiness.Code {
		_, err := c.Run(context.Background(), tg, "true", nil)
		return sshexec.CodeOf(err)
	}
	require.Equal(t, readiness.CodeSSHHostKeyUnknown, run())

	entry := knownhosts.Line([]string{knownhosts.Normalize(srv.ln.Addr().String())}, srv.hostKeys[0].PublicKey()) + "\n"
	require.NoError(t, os.WriteFile(path, []byte("# managed by ops\n"+entry), 0o644))
	require.Equal(t, readiness.Code(""), run(), "an added line is seen")

	require.NoError(t, os.WriteFile(path, []byte("# managed by ops\n"+entry+"@revoked * "+authorized(srv.hostKeys[0].PublicKey())+"\n"), 0o644))
	require.Equal(t, readiness.CodeSSHHostKeyMismatch, run(), "a revocation is seen")

	require.NoError(t, os.WriteFile(path, []byte("# managed by ops\nbroken line\n"), 0o644))
	_, err = c.Run(context.Background(), tg, "true", nil)
	var e *sshexec.Error
	require.True(t, errors.As(err, &e), "got %v", err)
	require.Equal(t, readiness.CodeSSHHostKeyUnknown, e.Code, "a broken file fails closed")
	require.Equal(t, "the known_hosts file could not be read", e.Detail)
	require.ErrorContains(t, err, path+": line 2:")
	tg.HostKeys = store.AcceptNew()
	_, err = c.Run(context.Background(), tg, "true", nil)
	require.Equal(t, readiness.CodeSSHHostKeyUnknown, sshexec.CodeOf(err), "nothing is learned into a broken file")
	require.Equal(t, "# managed by ops\nbroken line\n", readFile(t, path))

	// Removed: an empty store again, which accept-new writes anew.
	require.NoError(t, os.Remove(path))
	tg.HostKeys = store.Strict()
	require.Equal(t, readiness.CodeSSHHostKeyUnknown, run())
	tg.HostKeys = store.AcceptNew()
	require.Equal(t, readiness.Code(""), run())
	require.Equal(t, entry, readFile(t, path))
}

// TestKnownHostsStorePreservesTheFile: learning appends one line and
// keeps every existing byte (comments, hashed entries, markers, CRLF, a
// last line without newline) and the file's mode.
func TestKnownHostsStorePreservesTheFile(t *testing.T) {
	t.Parallel()
	ca, old := newEd25519Signer(t).PublicKey(), newEd25519Signer(t).PublicKey()
	existing := "# fleet known hosts\r\n" +
		"\n" +
		"   # indented comment, odd   spacing\n" +
		knownhosts.Line([]string{knownhosts.HashHostname("web-1.example.com")}, old) + "\n" +
		"@cert-authority *.example.com,!bad.example.com " + authorized(ca) + " fleet CA\n" +
		"@revoked * " + authorized(old) + "\r\n" +
		"db-1.example.com,10.0.0.5\t" + authorized(old) + " trailing comment"
	path := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(path, []byte(existing), 0o640))
	require.NoError(t, os.Chmod(path, 0o640))
	store, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err)

	srv := newTestServer(t, faultNone)
	tg := srv.target()
	tg.HostKeys = store.AcceptNew()
	res, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	require.NoError(t, err)
	require.True(t, res.HostKeyLearned)
	want := existing + "\n" + knownhosts.Line([]string{knownhosts.Normalize(srv.ln.Addr().String())}, res.HostKey) + "\n"
	require.Equal(t, want, readFile(t, path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "the file keeps its mode")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"known_hosts", "known_hosts.lock"}, names, "no temporary file is left behind")
}

// TestKnownHostsStoreSymlink: a symlinked file is updated where it is;
// the link stays a link.
func TestKnownHostsStoreSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "shared", "known_hosts")
	require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o700))
	require.NoError(t, os.WriteFile(target, []byte("# shared\n"), 0o600))
	link := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.Symlink(target, link))
	store, err := sshexec.OpenKnownHosts(link)
	require.NoError(t, err)
	srv := newTestServer(t, faultNone)
	tg := srv.target()
	tg.HostKeys = store.AcceptNew()
	_, err = new(sshexec.Client).Run(context.Background(), tg, "true", nil)
	require.NoError(t, err)
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	require.Equal(t, os.ModeSymlink, fi.Mode().Type(), "still a symlink")
	require.Contains(t, readFile(t, target), "# shared\n[127.0.0.1]:")
	_, err = os.Stat(target + ".lock")
	require.NoError(t, err, "the lock is the target's, shared with stores opened through it")
}

func TestOpenKnownHostsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("# ok\nnode ssh-ed25519\n"), 0o600))
	tests := []struct {
		name, path, want string
	}{
		{name: "malformed", path: bad, want: "sshexec: known_hosts " + bad + ": line 2: want HOSTS KEYTYPE BASE64-KEY"},
		{name: "directory", path: dir, want: "sshexec: known_hosts " + dir + ": not a regular file"},
		{name: "empty path", path: "", want: "sshexec: known_hosts: empty path"},
	}
	for _, tt := range tests {
		_, err := sshexec.OpenKnownHosts(tt.path)
		require.EqualError(t, err, tt.want, tt.name)
	}
}

// TestKnownHostsStoreOpenSSHReadsIt: ssh-keygen finds what the store
// wrote through Runs.
func TestKnownHostsStoreOpenSSHReadsIt(t *testing.T) {
	t.Parallel()
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen is not installed (apt-get install openssh-client): the file is checked against OpenSSH only where it is")
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	store, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err)
	srv := newTestServer(t, faultNone)
	node := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	for _, tg := range []sshexec.Target{srv.target(), node.Target()} {
		tg.HostKeys = store.AcceptNew()
		res, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
		require.NoError(t, err)
		require.True(t, res.HostKeyLearned)
	}
	for _, tc := range []struct {
		name string
		key  ssh.PublicKey
	}{
		{"[127.0.0.1]:" + strconv.Itoa(srv.port()), srv.hostKeys[0].PublicKey()},
		{"[127.0.0.1]:" + strconv.Itoa(node.Port()), node.HostKey()},
	} {
		out, err := exec.Command(keygen, "-F", tc.name, "-f", path).CombinedOutput()
		require.NoError(t, err, "ssh-keygen -F %s: %s", tc.name, out)
		require.Contains(t, string(out), authorized(tc.key), "ssh-keygen -F %s", tc.name)
	}
	out, err := exec.Command(keygen, "-F", "[127.0.0.1]:1", "-f", path).CombinedOutput()
	require.Error(t, err, "a host the file lacks is not found: %s", out)
	out, err = exec.Command(keygen, "-l", "-f", path).CombinedOutput()
	require.NoError(t, err, "ssh-keygen -l reads every line: %s", out)
	require.Len(t, strings.Split(strings.TrimSpace(string(out)), "\n"), 2, "%s", out)
}

// A CA fleet with an accept-new store: a certified node is trusted
// without anything being written, and a node with a bad certificate is
// refused and not learned.
func TestKnownHostsStoreHostCertificates(t *testing.T) {
	t.Parallel()
	ca := newEd25519Signer(t)
	now := time.Now()
	path := filepath.Join(t.TempDir(), "known_hosts")
	content := "# fleet\n@cert-authority * " + authorized(ca.PublicKey()) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	store, err := sshexec.OpenKnownHosts(path)
	require.NoError(t, err)
	c := sshexec.Client{Timeout: 10 * time.Second}

	good := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	good.CertifyHostKey(ca, "127.0.0.1")
	tg := good.Target()
	tg.HostKeys = store.AcceptNew()
	res, err := c.Run(context.Background(), tg, "true", nil)
	require.NoError(t, err)
	require.False(t, res.HostKeyLearned, "a certified key is trusted through the CA, not learned")

	expired := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	expired.SetHostCertificate(certFor(t, ca, expired.HostKey(), ssh.HostCert, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "127.0.0.1"))
	tg = expired.Target()
	tg.HostKeys = store.AcceptNew()
	_, err = c.Run(context.Background(), tg, "true", nil)
	require.Equal(t, readiness.CodeSSHHostCertInvalid, sshexec.CodeOf(err), "err: %v", err)

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, content, string(got), "nothing learned")
}

// TestOpenSSHAgrees runs OpenSSH's ssh client, where installed, against
// the same nodes and files as sshexec, and expects the same verdicts: it
// reads what the store wrote, and it accepts and refuses the same host
// certificates (the bare host as principal on a port other than 22,
// expiry, other host names).
func TestOpenSSHAgrees(t *testing.T) {
	t.Parallel()
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("ssh is not installed (apt-get install openssh-client): no comparison with OpenSSH")
	}
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	identity := filepath.Join(dir, "id_ed25519")
	require.NoError(t, os.WriteFile(identity, pem.EncodeToMemory(block), 0o600))
	clientKey, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)

	ca := newEd25519Signer(t)
	now := time.Now()
	fleet := "@cert-authority * " + authorized(ca.PublicKey()) + "\n"
	valid := func(principal string, from, to time.Time) func(n *sshtest.Node) *ssh.Certificate {
		return func(n *sshtest.Node) *ssh.Certificate {
			return certFor(t, ca, n.HostKey(), ssh.HostCert, from, to, principal)
		}
	}
	tests := []struct {
		name   string
		cert   func(n *sshtest.Node) *ssh.Certificate
		file   string // "": the store learns the key first
		wantOK bool
	}{
		{name: "key learned by the store", wantOK: true},
		{name: "valid certificate", file: fleet, cert: valid("127.0.0.1", now.Add(-time.Hour), now.Add(time.Hour)), wantOK: true},
		{name: "expired certificate", file: fleet, cert: valid("127.0.0.1", now.Add(-2*time.Hour), now.Add(-time.Hour))},
		{name: "certificate for another host", file: fleet, cert: valid("web-7.example.com", now.Add(-time.Hour), now.Add(time.Hour))},
		{name: "principal with the port", file: fleet, cert: func(n *sshtest.Node) *ssh.Certificate {
			return valid("127.0.0.1:"+strconv.Itoa(n.Port()), now.Add(-time.Hour), now.Add(time.Hour))(n)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := sshtest.ReadyProfile()
			p.AuthorizedKeys = []ssh.PublicKey{clientKey}
			n := sshtest.NewNodeT(t, p)
			if tt.cert != nil {
				n.SetHostCertificate(tt.cert(n))
			}
			path := filepath.Join(dir, "known_hosts_"+strconv.Itoa(i))
			tg := n.Target()
			if tt.file == "" {
				store, err := sshexec.OpenKnownHosts(path)
				require.NoError(t, err)
				tg.HostKeys = store.AcceptNew()
				_, err = new(sshexec.Client).Run(context.Background(), tg, "true", nil)
				require.NoError(t, err)
				tg.HostKeys = store.Strict()
			} else {
				require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
				policy, err := sshexec.KnownHostsFile(path)
				require.NoError(t, err)
				tg.HostKeys = policy
			}
			_, ourErr := new(sshexec.Client).Run(context.Background(), tg, "true", nil)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, sshBin, "-F", "/dev/null",
				"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile="+path, "-o", "GlobalKnownHostsFile=/dev/null",
				"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i", identity,
				"-o", "ConnectTimeout=10",
				"-p", strconv.Itoa(n.Port()), sshtest.DefaultUser+"@127.0.0.1", "true")
			out, sshErr := cmd.CombinedOutput()
			require.Equal(t, tt.wantOK, sshErr == nil, "OpenSSH: %v: %s", sshErr, out)
			if !tt.wantOK {
				require.Contains(t, string(out), "Host key verification failed", "OpenSSH refused the host key, not something else")
			}
			require.Equal(t, tt.wantOK, ourErr == nil, "sshexec: %v", ourErr)
		})
	}
}
