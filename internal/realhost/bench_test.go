package realhost

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// The speed comparison (issue 5, section 2, and issue 10): four ways of
// asking the same fleet node (Debian 12 booted by systemd, its own sshd,
// in its own network namespace), as the same NOPASSWD user with the same
// ed25519 key, for the same thing. Each case is one operation; the
// Benchmark functions time it with b.Loop and TestRealSpeedTable runs
// them interleaved, round after round, and prints medians and ratios (see
// speed_test.go).

// benchTimeout bounds one operation of any case. Ansible's ping takes a
// second or two; the SDK cases take milliseconds.
const benchTimeout = 60 * time.Second

// benchEnv is what every case needs, built once per process.
type benchEnv struct {
	node       fleet.Node
	target     sshexec.Target
	keyPath    string // the fleet's client key, OpenSSH PEM, 0600
	knownHosts string // the node's address and pinned host key
	dir        string // scratch for the ssh client and ansible
	script     []byte
	// want is the report's state and primary reason on the node,
	// checked against the node itself when the env is built.
	wantState   readiness.State
	wantPrimary readiness.Code
}

var (
	benchOnce sync.Once
	benchVal  *benchEnv
	benchErr  error
	// benchDir is the scratch directory, removed by TestMain.
	benchDir string
)

// getBenchEnv returns the shared environment, or skips tb when the
// fleet cannot run here.
func getBenchEnv(tb testing.TB) *benchEnv {
	tb.Helper()
	f := requireFixture(tb)
	n := f.node(tb, nodeReady)
	benchOnce.Do(func() { benchVal, benchErr = newBenchEnv(n) })
	if benchErr != nil {
		tb.Fatalf("bench set-up: %v", benchErr)
	}
	return benchVal
}

// newBenchEnv writes a known_hosts file with the node's host key for the
// OpenSSH client and ansible (which read the fleet's client key file),
// and checks once that the SDK's report says what the node is.
func newBenchEnv(n fleet.Node) (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "pressluft-realhost-bench-")
	if err != nil {
		return nil, err
	}
	benchDir = dir
	tg, err := n.Target()
	if err != nil {
		return nil, err
	}
	e := &benchEnv{
		node: n, target: tg, dir: dir, script: []byte(probe.Script()),
		keyPath:    n.ClientKeyFile,
		knownHosts: filepath.Join(dir, "known_hosts"),
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(n.Addr + ":" + strconv.Itoa(n.Port))}, n.HostKey)
	if err := os.WriteFile(e.knownHosts, []byte(line+"\n"), 0o600); err != nil {
		return nil, err
	}

	// The report must be what the node is before its speed means anything.
	ctx := context.Background()
	m, err := readMachine(ctx, inNode(n))
	if err != nil {
		return nil, err
	}
	want := m.expectedReasons(policy, readiness.SudoOK)
	obs := benchProber.Observe(ctx, "bench", e.target)
	if obs.Facts == nil {
		return nil, fmt.Errorf("probe failed: %+v", obs.Transport)
	}
	rep := readiness.Evaluate(obs, policy, readiness.OperationSiteCreate)
	got := reasonsOf(rep)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return nil, fmt.Errorf("report reasons %v, want %v from the node", got, want)
	}
	e.wantState, e.wantPrimary = rep.State, rep.PrimaryReason
	return e, nil
}

var benchProber = &probe.Prober{Client: &sshexec.Client{Timeout: benchTimeout}}

// speedCase is one way of checking the node, timed per operation.
type speedCase struct {
	Name string
	// Need names what the case needs that the host may lack; "" for none.
	Need func() string
	Op   func(ctx context.Context, e *benchEnv) error
}

var (
	caseEvaluate = speedCase{Name: "evaluate", Op: opEvaluate}
	caseFloor    = speedCase{Name: "floor", Op: opFloor}
	caseSSH      = speedCase{Name: "ssh-client", Op: opSSHClient, Need: needBinary("/usr/bin/ssh", "openssh-client")}
	caseAnsible  = speedCase{Name: "ansible-ping", Op: opAnsiblePing, Need: needBinary("/usr/bin/ansible", "ansible-core")}
	speedCases   = []speedCase{caseEvaluate, caseFloor, caseSSH, caseAnsible}
)

func needBinary(path, pkg string) func() string {
	return func() string {
		if _, err := os.Stat(path); err != nil {
			return fmt.Sprintf("%s is missing: install %s (sudo bash scripts/realhost-setup.sh --bench)", path, pkg)
		}
		return ""
	}
}

// opEvaluate is a full readiness evaluation through the SDK: one SSH
// connection, the probe script, the parser and Evaluate.
func opEvaluate(ctx context.Context, e *benchEnv) error {
	obs := benchProber.Observe(ctx, "bench", e.target)
	if obs.Facts == nil {
		return fmt.Errorf("probe failed: %+v", obs.Transport)
	}
	rep := readiness.Evaluate(obs, policy, readiness.OperationSiteCreate)
	if rep.State != e.wantState || rep.PrimaryReason != e.wantPrimary {
		return fmt.Errorf("got %s/%s, want %s/%s", rep.State, rep.PrimaryReason, e.wantState, e.wantPrimary)
	}
	return nil
}

var floorClient = &sshexec.Client{Timeout: benchTimeout}

// opFloor is the floor under any check: dial, handshake, auth and exec
// `true` through the SDK's own client.
func opFloor(ctx context.Context, e *benchEnv) error {
	res, err := floorClient.Run(ctx, e.target, "true", nil)
	if err != nil {
		return err
	}
	if res.ExitStatus != 0 {
		return fmt.Errorf("true exited %d", res.ExitStatus)
	}
	return nil
}

// opSSHClient runs the same probe script the same way (exec /bin/sh -s,
// script on stdin) with OpenSSH's client, one connection, no
// multiplexing, and parses its output: the same work as opEvaluate.
func opSSHClient(ctx context.Context, e *benchEnv) error {
	cmd := exec.CommandContext(ctx, "/usr/bin/ssh",
		"-o", "BatchMode=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+e.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
		"-i", e.keyPath, "-p", strconv.Itoa(e.node.Port),
		e.node.User+"@"+e.node.Addr, probe.Command)
	cmd.Stdin = bytes.NewReader(e.script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + e.dir, "LC_ALL=C"}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ssh: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	if _, err := probe.Parse(out.Bytes()); err != nil {
		return fmt.Errorf("ssh: probe output: %w", err)
	}
	return nil
}

// opAnsiblePing runs `ansible -m ping -b` against the node, cold: a new
// ansible process, no ControlPersist (every ssh ansible starts makes its
// own connection), no fact gathering. The interpreter is named in the
// inventory, which spares ansible a discovery round trip.
func opAnsiblePing(ctx context.Context, e *benchEnv) error {
	inv := filepath.Join(e.dir, "inventory.ini")
	line := fmt.Sprintf("node ansible_host=%s ansible_port=%d ansible_user=%s "+
		"ansible_ssh_private_key_file=%s ansible_python_interpreter=/usr/bin/python3\n", e.node.Addr, e.node.Port, e.node.User, e.keyPath)
	if err := os.WriteFile(inv, []byte(line), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "/usr/bin/ansible", "node", "-i", inv, "-m", "ping", "-b", "--one-line")
	cmd.Dir = e.dir
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HOME=" + e.dir, "LC_ALL=C.UTF-8",
		"ANSIBLE_HOME=" + filepath.Join(e.dir, "ansible"),
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(e.dir, "ansible", "tmp"),
		"ANSIBLE_SSH_ARGS=-o ControlMaster=no -o ControlPath=none -o StrictHostKeyChecking=yes " +
			"-o UserKnownHostsFile=" + e.knownHosts + " -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes",
		"ANSIBLE_NOCOLOR=1",
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ansible: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if !bytes.Contains(out, []byte("SUCCESS")) || !bytes.Contains(out, []byte(`"ping": "pong"`)) {
		return fmt.Errorf("ansible: no pong: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

// benchLoop times c with b.Loop; the first error stops it and is stored
// in *errp (testing.Benchmark, used by the table, drops b.Fatal's text).
func benchLoop(b *testing.B, c speedCase, errp *error) {
	e := getBenchEnv(b)
	if c.Need != nil {
		if why := c.Need(); why != "" {
			b.Skip(why)
		}
	}
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
		err := c.Op(ctx, e)
		cancel()
		if err != nil {
			if errp != nil {
				*errp = err
			}
			b.Fatalf("%s: %v", c.Name, err)
		}
	}
}

// BenchmarkRealEvaluate is a full readiness evaluation through the SDK
// (Prober.Observe + readiness.Evaluate) against the fleet's ready node.
func BenchmarkRealEvaluate(b *testing.B) { benchLoop(b, caseEvaluate, nil) }

// BenchmarkRealFloor is dial + auth + exec `true` through sshexec.Client.
func BenchmarkRealFloor(b *testing.B) { benchLoop(b, caseFloor, nil) }

// BenchmarkRealSSHClient is OpenSSH's ssh running the probe script.
func BenchmarkRealSSHClient(b *testing.B) { benchLoop(b, caseSSH, nil) }

// BenchmarkRealAnsiblePing is a cold `ansible -m ping -b`.
func BenchmarkRealAnsiblePing(b *testing.B) { benchLoop(b, caseAnsible, nil) }
