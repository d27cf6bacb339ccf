package realhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// sshd is one real OpenSSH server on 127.0.0.1, in its own process group
// (no signal from a terminal reaches it), logging at VERBOSE to its own
// file.
type sshd struct {
	Port    int
	HostKey ssh.PublicKey

	dir      string
	logPath  string
	cmd      *exec.Cmd
	waited   chan struct{} // closed when cmd.Wait has returned
	waitErr  error
	stopOnce sync.Once
}

// sshdConfig says how to start an sshd.
type sshdConfig struct {
	// Dir holds the config, log and pid file. It must exist.
	Dir string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// HostKeyPath is the private host key (ssh-keygen output; .pub beside it).
	HostKeyPath string
	// KeysDir holds one authorized_keys file per user, named for the user.
	KeysDir string
	// AllowUsers is sshd's AllowUsers pattern (only the test's users).
	AllowUsers string
}

// newHostKey generates an ed25519 host key with ssh-keygen at path.
func newHostKey(path string) (ssh.PublicKey, error) {
	out, err := exec.Command("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "realhost-test", "-f", path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	return readPublicKey(path + ".pub")
}

func readPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	return k, err
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startSSHD starts sshd and waits until it listens. With Port 0 it retries
// on another port if the one it picked was taken in between.
func startSSHD(cfg sshdConfig) (*sshd, error) {
	hostKey, err := readPublicKey(cfg.HostKeyPath + ".pub")
	if err != nil {
		return nil, err
	}
	tries := 1
	if cfg.Port == 0 {
		tries = 5
	}
	var last error
	for range tries {
		port := cfg.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		s, err := startSSHDOn(cfg, port)
		if err == nil {
			s.HostKey = hostKey
			return s, nil
		}
		last = err
	}
	return nil, last
}

func startSSHDOn(cfg sshdConfig, port int) (*sshd, error) {
	conf := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		fmt.Sprintf("Port %d", port),
		"HostKey " + cfg.HostKeyPath,
		"PidFile " + filepath.Join(cfg.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(cfg.KeysDir, "%u"),
		"AllowUsers " + cfg.AllowUsers,
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin no",
		"UsePAM yes",
		"StrictModes yes",
		"LogLevel VERBOSE",
		"PrintMotd no",
		"X11Forwarding no",
		"AllowTcpForwarding no",
		"AllowAgentForwarding no",
		"UseDNS no",
		"LoginGraceTime 20",
		"MaxStartups 64:30:128",
		// As Debian's stock sshd_config: tools that copy files (ansible's
		// default transfer method) use sftp first.
		"Subsystem sftp /usr/lib/openssh/sftp-server",
		"",
	}, "\n")
	confPath := filepath.Join(cfg.Dir, "sshd_config")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command(sshdPath, "-t", "-f", confPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sshd -t: %v: %s", err, out)
	}
	logPath := filepath.Join(cfg.Dir, fmt.Sprintf("sshd-%d.log", port))
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(sshdPath, "-D", "-E", logPath, "-f", confPath)
	// Pdeathsig: a test binary killed by its -timeout takes sshd with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	s := &sshd{Port: port, dir: cfg.Dir, logPath: logPath, cmd: cmd, waited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.waited)
	}()
	listening := fmt.Sprintf("Server listening on 127.0.0.1 port %d.", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if strings.Contains(s.log(), listening) {
			return s, nil
		}
		select {
		case <-s.waited:
			return nil, fmt.Errorf("sshd exited (%v) before listening; log:\n%s", s.waitErr, s.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("sshd not listening on port %d after 15s; log:\n%s", port, s.log())
		}
	}
}

// stop ends sshd (SIGTERM, then SIGKILL after 5s) and waits for it.
// Idempotent.
//
// It first waits (up to 10s) for the connections sshd is still handling
// to end: each connection's sshd runs in a session of its own, and one
// orphaned by killing the listener would outlive the test (and keep its
// user busy for userdel). Signals go through os.Process, which does not
// signal a reused process id.
func (s *sshd) stop() { s.stopOnce.Do(s.doStop) }

func (s *sshd) doStop() {
	deadline := time.Now().Add(10 * time.Second)
	for len(childrenOf(s.cmd.Process.Pid)) > 0 && time.Now().Before(deadline) {
		select {
		case <-s.waited:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.waited
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parens.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) || f[0] == "Z" {
			continue
		}
		if k, err := strconv.Atoi(e.Name()); err == nil {
			kids = append(kids, k)
		}
	}
	return kids
}

// log returns what sshd has logged so far.
func (s *sshd) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// count returns the number of log lines that contain every one of subs.
func (s *sshd) count(subs ...string) int {
	n := 0
	for line := range strings.SplitSeq(s.log(), "\n") {
		all := true
		for _, sub := range subs {
			if !strings.Contains(line, sub) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}

// runCmd runs a command (at most 2 minutes) in the C locale and returns
// its combined output.
func runCmd(ctx context.Context, name string, args ...string) (string, error) {
	return runStdin(ctx, "", name, args...)
}

// runStdin is runCmd with stdin.
func runStdin(ctx context.Context, stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if !strings.Contains(name, "/") {
		// Root's tools live in sbin, which a non-login root shell or
		// sudo's secure_path may not have on PATH: search the standard
		// directories, as the probe does.
		for _, d := range probePath {
			if fi, err := os.Stat(filepath.Join(d, name)); err == nil && !fi.IsDir() {
				name = filepath.Join(d, name)
				break
			}
		}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PATH="+strings.Join(probePath, ":"))
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
		return out.String(), fmt.Errorf("%s: %w", name, err)
	}
	return out.String(), nil
}
