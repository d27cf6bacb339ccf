package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Devserver is the example control plane (examples/devserver, a package
// main that cannot be imported) running as a child process on
// 127.0.0.1 with a random port. Start it with StartDevserver; Stop it.
type Devserver struct {
	// URL is "http://127.0.0.1:PORT".
	URL string
	// DB is the SQLite file the server uses (inspect it after Stop).
	DB string

	cmd     *exec.Cmd
	out     *syncBuffer // stdout and stderr
	waited  chan struct{}
	err     error // of Wait
	once    sync.Once
	stopErr error
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// moduleRoot is the repository root, found from this file's path.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// GoCommand returns the go command of the toolchain running the tests: go
// test puts that toolchain's GOROOT/bin first in PATH (since Go 1.19), so
// a GOTOOLCHAIN-selected Go builds with itself. Without a go in PATH it is
// $GOROOT/bin/go when GOROOT is set. (runtime.GOROOT, deprecated, names
// the GOROOT the test binary was built with, which need not be the one
// running it.)
func GoCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("loadtest: no go command in PATH or in $GOROOT/bin")
}

// RaceServerEnv, set to "1", builds the server with -race too. By default
// it is built without: under the race detector the server's SQLite
// (modernc, pure Go) is about 20 times slower, and 10,000 creates take
// over 90s on two cores instead of about 5s. The server's own tests run
// under -race; this harness measures its behaviour under load.
const RaceServerEnv = "LOADTEST_RACE_SERVER"

// BuildDevserver builds examples/devserver once per process (with -race
// when RaceServerEnv is "1") into a temporary directory and returns the
// binary's path. The directory is left for the OS to clean: the binary is
// shared by every test of the process.
func BuildDevserver(ctx context.Context) (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "loadtest-devserver-")
		if err != nil {
			buildErr = fmt.Errorf("loadtest: %w", err)
			return
		}
		goBin, err := GoCommand()
		if err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(dir, "devserver")
		args := []string{"build", "-o", bin}
		if os.Getenv(RaceServerEnv) == "1" {
			args = append(args, "-race")
		}
		args = append(args, "./examples/devserver")
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("loadtest: go build ./examples/devserver: %w\n%s", err, out)
			return
		}
		buildPath = bin
	})
	return buildPath, buildErr
}

// StartDevserver builds (once) and starts the example server with
// "-addr 127.0.0.1:0 -db DIR/devserver.db" plus args, and waits up to
// 60s for its banner. The caller must call Stop.
func StartDevserver(ctx context.Context, dir string, args ...string) (*Devserver, error) {
	bin, err := BuildDevserver(ctx)
	if err != nil {
		return nil, err
	}
	d := &Devserver{DB: filepath.Join(dir, "devserver.db"), out: &syncBuffer{}, waited: make(chan struct{})}
	d.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-db", d.DB}, args...)...)
	d.cmd.Stderr = d.out
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: start devserver: %w", err)
	}
	urls := make(chan string, 1)
	go func() { // ends when the child closes stdout (it exits)
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			d.out.Write([]byte(line + "\n"))
			if rest, ok := strings.CutPrefix(line, "devserver listening on "); ok && !sent {
				urls <- strings.Fields(rest)[0]
				sent = true
			}
		}
		_, _ = io.Copy(d.out, stdout)
		d.err = d.cmd.Wait()
		close(d.waited)
	}()
	select {
	case d.URL = <-urls:
		return d, nil
	case <-d.waited:
		return nil, fmt.Errorf("loadtest: devserver exited before listening: %v\n%s", d.err, d.out.String())
	case <-time.After(60 * time.Second):
		d.Stop()
		return nil, fmt.Errorf("loadtest: devserver did not listen within 60s\n%s", d.out.String())
	}
}

// Output returns everything the server printed so far (stdout, then
// stderr lines as they came: its log).
func (d *Devserver) Output() string { return d.out.String() }

// Stop sends SIGINT and waits up to 30s for a clean exit (status 0: the
// server's Close returned after waiting for everything it started); it
// kills the process otherwise and reports why. Idempotent.
func (d *Devserver) Stop() error {
	d.once.Do(func() {
		_ = d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-d.waited:
			if d.err != nil {
				d.stopErr = fmt.Errorf("loadtest: devserver exit: %w", d.err)
			}
		case <-time.After(30 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.waited
			d.stopErr = errors.New("loadtest: devserver did not shut down within 30s of SIGINT")
		}
	})
	return d.stopErr
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
