package realhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// setupScript installs the packages; relative to this package's directory.
const setupScript = "../../scripts/realhost-setup.sh"

// skipReason, when set, makes every test skip with it.
var skipReason string

// fx is the shared fixture: the test accounts and one sshd.
var fx *fixture

type fixture struct {
	// runID is in every account name: plrt-<runID>-<role>.
	runID string
	// dir is a root-owned 0755 directory under /run (not /tmp: sshd's
	// StrictModes rejects keys below a world-writable directory).
	dir      string
	keysDir  string
	hostKey  string // private host key path
	sshd     *sshd
	accounts map[role]account
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "realhost: these tests need root (they start sshd and create users); run them as root: " +
			"sudo scripts/realhost-setup.sh && sudo env \"PATH=$PATH\" go test ./internal/realhost/, or bash scripts/test.sh as root"
		return m.Run()
	}
	if missing := missingSetup(); len(missing) > 0 {
		if os.Getenv("CI") != "true" && os.Getenv("PRESSLUFT_REALHOST_SETUP") != "1" {
			skipReason = fmt.Sprintf("realhost: the host lacks %s; install them with sudo scripts/realhost-setup.sh "+
				"(or set PRESSLUFT_REALHOST_SETUP=1 to let the tests run it)", strings.Join(missing, ", "))
			return m.Run()
		}
		cmd := exec.Command("/bin/bash", setupScript)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "realhost: %s: %v\n", setupScript, err)
			return 1
		}
		if missing := missingSetup(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "realhost: still missing after %s: %s\n", setupScript, strings.Join(missing, ", "))
			return 1
		}
	}

	unlock, err := lockRuns()
	if err != nil {
		fmt.Fprintf(os.Stderr, "realhost: %v\n", err)
		return 1
	}
	defer unlock()

	ctx := context.Background()
	cleanStale(ctx)
	f, err := newFixture(ctx)
	if err != nil {
		if f != nil {
			f.close(ctx)
		}
		fmt.Fprintf(os.Stderr, "realhost: set-up: %v\n", err)
		return 1
	}
	fx = f
	code := m.Run()
	if err := f.close(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "realhost: clean-up: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// requireFixture skips t unless the tests can run here.
func requireFixture(t *testing.T) *fixture {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return fx
}

// setupPackages are the packages scripts/realhost-setup.sh installs.
var setupPackages = []string{
	"openssh-server", "sudo", "nginx", "redis-server", "php-fpm", "php-redis",
	"mariadb-server", "fail2ban", "rsync", "unzip", "curl",
}

// missingSetup lists what the tests need and the host lacks.
func missingSetup() []string {
	var missing []string
	for _, bin := range []string{sshdPath, "/usr/bin/sudo", "/usr/sbin/visudo", "/usr/sbin/useradd", "/usr/bin/ssh-keygen", "/usr/bin/dpkg-query", "/usr/sbin/nologin"} {
		if _, err := os.Stat(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return missing // without dpkg-query there is nothing more to ask
	}
	for _, p := range setupPackages {
		if _, ok := dpkgInstalled(context.Background(), p); !ok {
			missing = append(missing, p)
		}
	}
	return missing
}

const lockPath = "/run/lock/pressluft-realhost.lock"

// lockRuns serialises runs of this package on the machine: they share
// /etc/sudoers.d, the user database and the packages.
func lockRuns() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// cleanStale removes what a killed run left behind: accounts, sudoers.d
// files and fixture directories. The run lock is held, so none of it
// belongs to a live run.
func cleanStale(ctx context.Context) {
	for _, name := range staleAccounts() {
		if err := removeAccount(ctx, name); err != nil {
			fmt.Fprintf(os.Stderr, "realhost: stale account: %v\n", err)
		}
	}
	dirs, _ := filepath.Glob("/run/pressluft-realhost-*")
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

func newFixture(ctx context.Context) (*fixture, error) {
	f := &fixture{runID: randomHex(3), accounts: map[role]account{}}
	dir, err := os.MkdirTemp("/run", "pressluft-realhost-")
	if err != nil {
		return nil, err
	}
	f.dir = dir
	f.keysDir = filepath.Join(dir, "authorized_keys")
	if err := os.Chmod(dir, 0o755); err != nil {
		return f, err
	}
	// sshd reads authorized keys as the user: the directory must be
	// searchable by everyone and writable by root only.
	if err := os.Mkdir(f.keysDir, 0o755); err != nil {
		return f, err
	}
	// Privilege separation directory; the sshd unit normally creates it.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return f, err
	}
	f.hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	if _, err := newHostKey(f.hostKey); err != nil {
		return f, err
	}
	for _, r := range roles {
		a, err := createAccount(ctx, f.runID, r, f.keysDir, dir)
		f.accounts[r] = a // recorded even on error, for close
		if err != nil {
			return f, err
		}
	}
	s, err := f.startSSHD(0, f.hostKey, "main")
	if err != nil {
		return f, err
	}
	f.sshd = s
	return f, nil
}

// startSSHD starts another sshd for the fixture's accounts, with its own
// config and log in a directory named sub.
func (f *fixture) startSSHD(port int, hostKeyPath, sub string) (*sshd, error) {
	d := filepath.Join(f.dir, sub)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err
	}
	return startSSHD(sshdConfig{
		Dir: d, Port: port, HostKeyPath: hostKeyPath, KeysDir: f.keysDir,
		AllowUsers: userPrefix + f.runID + "-*",
	})
}

// startSSHDT is startSSHD stopped at the end of t.
func (f *fixture) startSSHDT(t *testing.T, port int, hostKeyPath string) *sshd {
	t.Helper()
	s, err := f.startSSHD(port, hostKeyPath, t.Name()+"-"+randomHex(2))
	if err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

func (f *fixture) close(ctx context.Context) error {
	var errs []error
	if f.sshd != nil {
		f.sshd.stop()
	}
	for _, a := range f.accounts {
		if a.Name == "" {
			continue
		}
		if err := removeAccount(ctx, a.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if f.dir != "" {
		if err := os.RemoveAll(f.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
