// Package fleettest is what a test package needs to run its tests on the
// real fleet (internal/fleet): the skip that says why and how when the
// fleet cannot run, a fleet that goes down when the test ends, and a
// shell inside a node.
//
// Each package that boots a fleet passes its own Config.Instance, so that
// `go test ./...`, which runs packages in parallel, never has two packages
// on one instance.
package fleettest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/internal/fleet"
)

// Env is the variable that opts in: the fleet's tests run only when it is
// "1" (scripts/test.sh sets it as root, after installing what they need).
const Env = "PRESSLUFT_FLEET"

// Instances used by the module's test packages: one each.
const (
	InstanceFleet     = 0 // internal/fleet
	InstanceHealth    = 1 // node-health profiles (internal/fleet's health tests)
	InstanceRealHost  = 2 // internal/realhost
	InstanceDevserver = 3 // examples/devserver
	InstanceBench     = 4 // benchmarks (scripts/bench.sh)
)

// RequiredEnv, set to "1" (scripts/test.sh does with CI=true), turns
// Require's skip on a machine that cannot run the fleet into a failure.
const RequiredEnv = "PRESSLUFT_FLEET_REQUIRED"

var canRun = sync.OnceValue(fleet.CanRun)

// Require skips t unless the fleet tests were asked for and can run here,
// saying why and how to run them.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(Env) != "1" {
		t.Skip("fleet: opt-in: boots systemd-nspawn nodes; scripts/test.sh runs these as root, or: " +
			"apt-get install debootstrap systemd-container iproute2; sudo env PRESSLUFT_FLEET=1 \"PATH=$PATH\" go test ./...")
	}
	if err := canRun(); err != nil {
		if os.Getenv(RequiredEnv) == "1" {
			t.Fatalf("%v (%s=1: the fleet must run here)", err, RequiredEnv)
		}
		t.Skip(err)
	}
}

// Up boots cfg's nodes and takes them down when t ends, even when it
// fails. A fleet that cannot boot fails t.
func Up(t testing.TB, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	f := UpNoCleanup(t, cfg)
	t.Cleanup(func() {
		start := time.Now()
		if err := f.Down(); err != nil {
			t.Errorf("fleet down: %v", err)
		}
		t.Logf("fleet down in %s", time.Since(start).Round(time.Millisecond))
	})
	return f
}

// UpNoCleanup boots cfg's nodes and leaves them running: a crashed run,
// for the next Up to clean.
func UpNoCleanup(t testing.TB, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	f, summary, err := Boot(cfg)
	if err != nil {
		t.Fatalf("fleet up: %v", err)
	}
	t.Log(summary)
	return f
}

// Boot is Up without a testing.TB, for a fleet that a package's tests
// share (booted in TestMain, or by the first test that needs it through a
// sync.Once): it boots cfg's nodes (within 20 minutes, a base build
// included) and returns the fleet with a summary of its boot (times,
// memory, each node's address) for the caller to log. The caller must
// call f.Down.
func Boot(cfg fleet.Config) (f *fleet.Fleet, summary string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	before, _ := memUsed()
	start := time.Now()
	f, err = fleet.Up(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	after, _ := memUsed()
	var sb strings.Builder
	fmt.Fprintf(&sb, "fleet up in %s (base built: %v, base %s); %d nodes; machine memory in use %d MiB -> %d MiB (%+d MiB)",
		time.Since(start).Round(time.Millisecond), f.BaseBuilt, f.BaseTime.Round(time.Millisecond),
		len(f.Nodes()), before>>20, after>>20, (after-before)>>20)
	for _, n := range f.Nodes() {
		fmt.Fprintf(&sb, "\nnode %-18s %s:%d boot %s", n.Name, n.Addr, n.Port, n.Boot.Round(time.Millisecond))
	}
	return f, sb.String(), nil
}

// MemUsed is the machine's MemTotal - MemAvailable, in bytes.
func MemUsed(t testing.TB) int64 {
	t.Helper()
	v, err := memUsed()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func memUsed() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var k string
		var n int64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &k, &n); err == nil {
			v[strings.TrimSuffix(k, ":")] = n * 1024
		}
	}
	return v["MemTotal"] - v["MemAvailable"], sc.Err()
}

// Shell runs script with /bin/sh inside node n as root (through nsenter)
// and returns its output, trimmed. It does not fail t: a test asserts on
// what the node said.
func Shell(t testing.TB, n fleet.Node, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := fleet.Exec(ctx, n.Leader, "/bin/sh", "-c", script)
	return strings.TrimSpace(out)
}
