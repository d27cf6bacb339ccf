package sshtest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/internal/leaktest"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// probePath sets PATH the way the probe script does.
const probePath = `R=${PRESSLUFT_PROBE_ROOT-}; PATH=$R/usr/local/sbin:$R/usr/local/bin:$R/usr/sbin:$R/usr/bin:$R/sbin:$R/bin; export PATH; `

type result struct {
	stdout, stderr string
	err            error
}

// code returns the exit code, or -1 when the error is not an exit status.
func (r result) code() int {
	var ee *ssh.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &ee) && ee.Signal() == "":
		return ee.ExitStatus()
	}
	return -1
}

func dial(t *testing.T, n *Node) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", n.Addr(), n.ClientConfig())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func runOn(t *testing.T, c *ssh.Client, cmd, stdin string) result {
	t.Helper()
	s, err := c.NewSession()
	require.NoError(t, err)
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if stdin != "" {
		s.Stdin = strings.NewReader(stdin)
	}
	err = s.Run(cmd)
	return result{out.String(), errb.String(), err}
}

func run(t *testing.T, n *Node, cmd string) result {
	t.Helper()
	return runOn(t, dial(t, n), cmd, "")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	other, err := newSigner()
	require.NoError(t, err)
	tests := []struct {
		name    string
		profile Profile
		signer  func(n *Node) ssh.Signer
		wantOK  bool
	}{
		{"client key accepted", ReadyProfile(), (*Node).ClientSigner, true},
		{"other key rejected", ReadyProfile(), func(*Node) ssh.Signer { return other }, false},
		{"auth rejected profile", AuthRejectedProfile(), (*Node).ClientSigner, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := NewNodeT(t, tt.profile)
			cfg := n.ClientConfig()
			cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(tt.signer(n))}
			c, err := ssh.Dial("tcp", n.Addr(), cfg)
			if tt.wantOK {
				require.NoError(t, err)
				c.Close()
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "unable to authenticate")
		})
	}
}

func TestHostKeyPinned(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	other := NewNodeT(t, ReadyProfile())
	cfg := n.ClientConfig()
	cfg.HostKeyCallback = ssh.FixedHostKey(other.HostKey())
	_, err := ssh.Dial("tcp", n.Addr(), cfg)
	require.Error(t, err, "a different node's host key must not verify")
}

func TestNologin(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, NologinProfile())
	got := runOn(t, dial(t, n), "exec /bin/sh -s", "printf 'hello\\n'\n")
	if got.stdout != "This account is currently not available.\n" || got.stderr != "" || got.code() != 1 {
		t.Errorf("got %q %q exit %d, want nologin message on stdout, exit 1", got.stdout, got.stderr, got.code())
	}
}

func TestNoisyBashrc(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, NoisyBashrcProfile())
	got := runOn(t, dial(t, n), "exec /bin/sh -s", "printf 'hello\\n'\n")
	if got.stdout != "Welcome to node-1!\nhello\n" || got.stderr != "" || got.code() != 0 {
		t.Errorf("got %q %q exit %d, want the greeting, then the command's output, exit 0", got.stdout, got.stderr, got.code())
	}
	if execs := n.Execs(); len(execs) != 1 || execs[0].Command != "exec /bin/sh -s" {
		t.Errorf("got execs %+v, want the command as the client sent it", execs)
	}
}

func TestExecRefused(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ExecRefusedProfile())
	got := run(t, n, "true")
	require.Error(t, got.err)
	var ee *ssh.ExitError
	require.False(t, errors.As(got.err, &ee), "got ExitError %v, want a refused request", got.err)
	execs := n.Execs()
	require.Len(t, execs, 1)
	require.True(t, execs[0].Refused)
}

func TestRecording(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	c := dial(t, n)
	runOn(t, c, "true", "")
	runOn(t, c, "printf x", "")
	c2 := dial(t, n)
	runOn(t, c2, "exec /bin/sh -s", "true\n")
	if got := n.Connections(); got != 2 {
		t.Errorf("got %d connections, want 2", got)
	}
	var cmds []string
	for _, e := range n.Execs() {
		require.Equal(t, DefaultUser, e.User)
		require.False(t, e.Time.IsZero())
		cmds = append(cmds, e.Command)
	}
	require.Equal(t, []string{"true", "printf x", "exec /bin/sh -s"}, cmds)
	n.Reset()
	require.Zero(t, n.Connections())
	require.Empty(t, n.Execs())
}

// OfferedKeys lists every key a client offered, refused ones included,
// in order; Reset forgets them.
func TestRecordingOfferedKeys(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	a, err := newSigner()
	require.NoError(t, err)
	b, err := newSigner()
	require.NoError(t, err)
	cfg := n.ClientConfig()
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(a, b, n.ClientSigner())}
	c, err := ssh.Dial("tcp", n.Addr(), cfg)
	require.NoError(t, err)
	c.Close()
	want := []ssh.PublicKey{a.PublicKey(), b.PublicKey(), n.ClientSigner().PublicKey()}
	got := n.OfferedKeys()
	require.Len(t, got, len(want), "offered %d keys, want %d", len(got), len(want))
	for i := range want {
		if !bytes.Equal(got[i].Marshal(), want[i].Marshal()) {
			t.Errorf("offered key %d is not the client's key %d", i, i)
		}
	}
	n.Reset()
	require.Empty(t, n.OfferedKeys())
}

func TestRecordingStdin(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	c := dial(t, n)
	script := "x=1\n# " + strings.Repeat("padding ", 4000) + "\nprintf '%s\\n' \"$x\"\n"
	got := runOn(t, c, "exec /bin/sh -s", script)
	require.NoError(t, got.err)
	require.Equal(t, "1\n", got.stdout)
	runOn(t, c, "true", "")
	execs := n.Execs()
	require.Len(t, execs, 2)
	// Recorded before the client had the exit status: no waiting needed.
	require.Equal(t, len(script), execs[0].StdinBytes)
	require.Equal(t, sha256.Sum256([]byte(script)), execs[0].StdinSHA256)
	require.Zero(t, execs[1].StdinBytes)
	require.Equal(t, sha256.Sum256(nil), execs[1].StdinSHA256)
}

func TestRootShared(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	c := dial(t, n)
	root := func() string {
		got := runOn(t, c, `printf %s "$PRESSLUFT_PROBE_ROOT"`, "")
		require.NoError(t, got.err)
		return got.stdout
	}
	first := root()
	require.Equal(t, first, root(), "execs of one profile share its root")
	n.SetProfile(ServiceInactiveProfile("nginx"))
	second := root()
	require.NotEqual(t, first, second, "a new profile gets a new root")
	got := runOn(t, c, probePath+"systemctl is-active nginx", "")
	require.Equal(t, "inactive\n", got.stdout)
	n.Reset()
	require.Zero(t, n.Connections())
	require.Empty(t, n.Execs())
}

func TestSetProfile(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	c := dial(t, n)
	got := runOn(t, c, probePath+"systemctl is-active nginx", "")
	require.Equal(t, "active\n", got.stdout)
	n.SetProfile(ServiceInactiveProfile("nginx"))
	got = runOn(t, c, probePath+"systemctl is-active nginx", "")
	require.Equal(t, "inactive\n", got.stdout)
	require.Equal(t, 3, got.code())
	require.Equal(t, "nginx-inactive", n.Profile().Name)

	n.SetProfile(FaultProfile(FaultRefuseTCP))
	_, err := net.Dial("tcp", n.Addr())
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	n.SetProfile(ReadyProfile())
	require.Equal(t, "", run(t, n, "true").stderr)
}

func TestStdinScript(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	script := "LC_ALL=C; export LC_ALL\n" + probePath + "\nprintf 'user=%s home=%s\\n' \"$USER\" \"${HOME:+set}\"\nnginx -v 2>&1\nexit 3\n"
	got := runOn(t, dial(t, n), "exec /bin/sh -s", script)
	require.Equal(t, "user=pressluft home=set\nnginx version: nginx/1.24.0 (Ubuntu)\n", got.stdout)
	require.Equal(t, 3, got.code())
}

// pidGone reports whether pid no longer runs (absent or a zombie left to
// an init that does not reap).
func pidGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseWaits is not parallel: it checks the process's goroutines.
func TestCloseWaits(t *testing.T) {
	baseline := leaktest.Take()
	silent := NewNode(FaultProfile(FaultSilent))
	busy := NewNode(ReadyProfile())

	// A client stuck in the handshake with the silent node.
	conn, err := net.Dial("tcp", silent.Addr())
	require.NoError(t, err)
	defer conn.Close()
	handshake := make(chan error, 1)
	go func() {
		_, _, _, err := ssh.NewClientConn(conn, silent.Addr(), silent.ClientConfig())
		handshake <- err
	}()
	eventually(t, "silent node accepts", func() bool { return silent.Connections() == 1 })

	// A running command with a background child on the busy node.
	c, err := ssh.Dial("tcp", busy.Addr(), busy.ClientConfig())
	require.NoError(t, err)
	defer c.Close()
	s, err := c.NewSession()
	require.NoError(t, err)
	out, err := s.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, s.Start("sleep 60 & printf '%s %s\\n' $$ $!; wait"))
	var shPID, bgPID int
	_, err = fmtSscan(out, &shPID, &bgPID)
	require.NoError(t, err)

	silent.Close()
	busy.Close()
	select {
	case err := <-handshake:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("handshake did not fail within 5s of Close")
	}
	require.Error(t, s.Wait())
	c.Close()
	conn.Close()
	eventually(t, "shell exits", func() bool { return pidGone(shPID) })
	eventually(t, "background child exits", func() bool { return pidGone(bgPID) })
	leaktest.Check(t, baseline)
	_, err = os.Stat(busy.dir)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func fmtSscan(r io.Reader, a, b *int) (int, error) {
	var line []byte
	buf := make([]byte, 1)
	for {
		if _, err := r.Read(buf); err != nil {
			return 0, err
		}
		if buf[0] == '\n' {
			break
		}
		line = append(line, buf[0])
	}
	f := strings.Fields(string(line))
	if len(f) != 2 {
		return 0, errors.New("bad pid line " + string(line))
	}
	var err error
	if *a, err = strconv.Atoi(f[0]); err != nil {
		return 0, err
	}
	*b, err = strconv.Atoi(f[1])
	return 2, err
}
