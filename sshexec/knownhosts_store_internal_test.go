package sshexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func openStore(t *testing.T, path string) *KnownHosts {
	t.Helper()
	k, err := OpenKnownHosts(path)
	require.NoError(t, err)
	return k
}

// trustedFor returns the keys the store's file trusts for host:22.
func trustedFor(t *testing.T, k *KnownHosts, host string) []ssh.PublicKey {
	t.Helper()
	know := k.Strict().lookup(host, 22)
	require.NoError(t, know.err)
	return know.trusted
}

func TestKnownHostsConcurrentLearns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	k := openStore(t, path)
	const n = 50
	keys := make([]ssh.PublicKey, n)
	for i := range keys {
		keys[i] = testKey(t)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = k.learn(fmt.Sprintf("node%d.example.com:22", i), keys[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "learn %d", i)
	}
	restarted := openStore(t, path)
	for i := range n {
		got := trustedFor(t, restarted, fmt.Sprintf("node%d.example.com", i))
		require.Len(t, got, 1, "node%d", i)
		require.True(t, sameKey(got[0], keys[i]), "node%d has its own key", i)
	}
	require.Len(t, strings.Split(strings.TrimSuffix(readString(t, path), "\n"), "\n"), n, "one line a host")
}

// Two different keys for one host at once: exactly one is written, the
// other is a conflict (a mismatch), whichever goroutine, or store, wins.
func TestKnownHostsConcurrentConflict(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "known_hosts")
		// Two stores on one file, as two processes would have.
		stores := []*KnownHosts{openStore(t, path), openStore(t, path)}
		if round%2 == 0 {
			stores[1] = stores[0] // and one store, two goroutines
		}
		keys := []ssh.PublicKey{testKey(t), testKey(t)}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { errs[i] = stores[i].learn("node1:22", keys[i]) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			var conflict *hostKeyConflict
			switch {
			case err == nil:
				require.Equal(t, -1, winner, "round %d: both learns succeeded", round)
				winner = i
			case errors.As(err, &conflict):
				require.Equal(t, "another host key was recorded for this host meanwhile", conflict.detail)
			default:
				t.Fatalf("round %d: learn %d: %v", round, i, err)
			}
		}
		require.NotEqual(t, -1, winner, "round %d: neither learn succeeded", round)
		got := trustedFor(t, openStore(t, path), "node1")
		require.Len(t, got, 1)
		require.True(t, sameKey(got[0], keys[winner]), "the winner's key is the one written")
		for _, s := range stores {
			require.Len(t, trustedFor(t, s, "node1"), 1, "every store sees the one key")
		}
	}
}

func TestKnownHostsLearnRefusals(t *testing.T) {
	t.Parallel()
	key, other := testKey(t), testKey(t)
	tests := []struct {
		name     string
		file     string
		hostport string
		want     string // "" learned or already known
	}{
		{name: "already known", file: knownhosts.Line([]string{"node1"}, key) + "\n", hostport: "node1:22"},
		{name: "recorded meanwhile with another key", file: knownhosts.Line([]string{"node1"}, other) + "\n", hostport: "node1:22", want: "sshexec: known_hosts: another host key was recorded for this host meanwhile"},
		{name: "revoked meanwhile", file: "@revoked * " + string(ssh.MarshalAuthorizedKey(key)), hostport: "node1:22", want: "sshexec: known_hosts: host key is revoked"},
		{name: "other port is another host", file: knownhosts.Line([]string{"node1"}, other) + "\n", hostport: "node1:2222"},
		{name: "not a host", file: "", hostport: "node 1:22", want: `sshexec: known_hosts: cannot record a key for "node 1:22"`},
		{name: "broken meanwhile", file: "garbage\n", hostport: "node1:22", want: ": line 1: want HOSTS KEYTYPE BASE64-KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "known_hosts")
			k := openStore(t, path)
			require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
			err := k.learn(tt.hostport, key)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, tt.file, readString(t, path), "nothing written")
		})
	}
}

// The store re-reads the file only when a stat says it changed.
func TestKnownHostsReloadsOnlyOnChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "known_hosts")
	key, other := testKey(t), testKey(t)
	lineA := knownhosts.Line([]string{"node1"}, key) + "\n"
	lineB := knownhosts.Line([]string{"node1"}, other) + "\n" // same length as lineA
	require.Equal(t, len(lineA), len(lineB))
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	write := func(p, content string, mtime time.Time) {
		t.Helper()
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
	write(path, lineA, old)
	k := openStore(t, path)
	parses := func() int {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.parses
	}
	require.Equal(t, 1, parses())
	for range 5 {
		require.True(t, sameKey(trustedFor(t, k, "node1")[0], key))
	}
	require.Equal(t, 1, parses(), "unchanged: no re-parse")

	write(path, lineB, old.Add(time.Second))
	require.True(t, sameKey(trustedFor(t, k, "node1")[0], other), "a new mtime is seen")
	require.Equal(t, 2, parses())

	// Another file renamed into place, same size and mtime: the identity
	// changed.
	tmp := filepath.Join(dir, "replacement")
	write(tmp, lineA, old.Add(time.Second))
	require.NoError(t, os.Rename(tmp, path))
	require.True(t, sameKey(trustedFor(t, k, "node1")[0], key), "a replaced file is seen")
	require.Equal(t, 3, parses())
	trustedFor(t, k, "node1")
	require.Equal(t, 3, parses())

	// A file modified just now may change again unseen within its mtime
	// granule: it is re-read until its mtime is old enough.
	write(path, lineB, time.Now())
	trustedFor(t, k, "node1")
	trustedFor(t, k, "node1")
	require.Equal(t, 5, parses(), "a racily recent file is re-read on each lookup")
	require.NoError(t, os.Chtimes(path, old, old))
	trustedFor(t, k, "node1")
	trustedFor(t, k, "node1")
	require.Equal(t, 6, parses())

	require.NoError(t, os.Remove(path))
	require.Empty(t, trustedFor(t, k, "node1"), "a removed file is an empty store")
	trustedFor(t, k, "node1")
	require.Equal(t, 7, parses())
}

// The store's clock is the one certificates are checked against.
func TestKnownHostsClock(t *testing.T) {
	t.Parallel()
	k := openStore(t, filepath.Join(t.TempDir(), "known_hosts"))
	at := time.Unix(1500, 0)
	k.now = func() time.Time { return at }
	require.Equal(t, at, k.Strict().lookup("node1", 22).now())
	require.Equal(t, at, k.AcceptNew().lookup("node1", 22).now())
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// Processes learning hosts into one file at once all keep their lines:
// the sidecar flock serializes their read-modify-write.
func TestKnownHostsLearnAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	const procs, each = 3, 15
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKnownHostsLearnHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"SSHEXEC_LEARN_HELPER_PATH="+path,
			"SSHEXEC_LEARN_HELPER_PREFIX=proc"+strconv.Itoa(p),
			"SSHEXEC_LEARN_HELPER_COUNT="+strconv.Itoa(each))
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	// This process learns too, meanwhile.
	k := openStore(t, path)
	for i := range each {
		require.NoError(t, k.learn(fmt.Sprintf("parent-%d:22", i), testKey(t)))
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "helper %d", i)
	}
	final := openStore(t, path)
	for p := range procs {
		for i := range each {
			require.Len(t, trustedFor(t, final, fmt.Sprintf("proc%d-%d", p, i)), 1, "proc%d-%d", p, i)
		}
	}
	for i := range each {
		require.Len(t, trustedFor(t, final, fmt.Sprintf("parent-%d", i)), 1, "parent-%d", i)
	}
	require.Len(t, strings.Split(strings.TrimSuffix(readString(t, path), "\n"), "\n"), (procs+1)*each)
}

// TestKnownHostsLearnHelperProcess is the child of
// TestKnownHostsLearnAcrossProcesses; run alone, it does nothing.
func TestKnownHostsLearnHelperProcess(t *testing.T) {
	path := os.Getenv("SSHEXEC_LEARN_HELPER_PATH")
	if path == "" {
		t.Skip("helper process of TestKnownHostsLearnAcrossProcesses")
	}
	prefix := os.Getenv("SSHEXEC_LEARN_HELPER_PREFIX")
	n, err := strconv.Atoi(os.Getenv("SSHEXEC_LEARN_HELPER_COUNT"))
	require.NoError(t, err)
	k := openStore(t, path)
	for i := range n {
		require.NoError(t, k.learn(fmt.Sprintf("%s-%d:22", prefix, i), testKey(t)))
	}
}

// A key recorded for the host between a Run's lookup and its learn is a
// mismatch, reported as such by the Run's host key check.
func TestKnownHostsLearnRaceIsAMismatch(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	k := openStore(t, path)
	h := newHostKeyCheck(k.AcceptNew(), "node1", 22) // looks up: unknown
	other := openStore(t, path)                      // another process
	require.NoError(t, other.learn("node1:22", testKey(t)))
	presented := testKey(t)
	err := h.check("node1:22", nil, presented)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "ssh_host_key_mismatch", string(e.Code))
	require.Equal(t, "another host key was recorded for this host meanwhile", e.Detail)
	require.Equal(t, ssh.FingerprintSHA256(presented), e.Fingerprint)
	_, learned, _ := h.result()
	require.False(t, learned)
}

func TestLockFileTimesOut(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts.lock")
	unlock, err := lockFile(path, time.Second)
	require.NoError(t, err)
	_, err = lockFile(path, 50*time.Millisecond)
	require.ErrorContains(t, err, "timed out after 50ms")
	unlock()
	unlock2, err := lockFile(path, time.Second)
	require.NoError(t, err, "free again once released")
	unlock2()
}
