package fleet_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// policy admits Debian 12, the fleet's OS, as an operator would with
// -allow-os debian-12.
var policy = readiness.Baseline().WithAllowedOS(readiness.OSRelease{ID: "debian", VersionID: "12"})

const probeTimeout = 60 * time.Second

// requireFleet skips unless the fleet tests were asked for and can run.
func requireFleet(t *testing.T) {
	t.Helper()
	if os.Getenv("PRESSLUFT_FLEET") != "1" {
		t.Skip("fleet: opt-in: boots systemd-nspawn nodes; run as root with PRESSLUFT_FLEET=1 " +
			"(apt-get install debootstrap systemd-container iproute2): sudo env PRESSLUFT_FLEET=1 \"PATH=$PATH\" go test ./internal/fleet/")
	}
	if os.Geteuid() != 0 {
		t.Skip("fleet: needs root (network namespaces, overlay mounts, systemd-nspawn); run with sudo")
	}
	for _, bin := range []string{"debootstrap", "systemd-nspawn", "ip", "nsenter", "chroot"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("fleet: %s not found: apt-get install debootstrap systemd-container iproute2 util-linux", bin)
		}
	}
}

// upFleet boots cfg's nodes and tears them down when t ends, even when it
// fails.
func upFleet(t *testing.T, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	f := upFleetNoCleanup(t, cfg)
	t.Cleanup(func() {
		start := time.Now()
		if err := f.Down(); err != nil {
			t.Errorf("fleet down: %v", err)
		}
		t.Logf("fleet down in %s", time.Since(start).Round(time.Millisecond))
	})
	return f
}

// upFleetNoCleanup boots cfg's nodes and leaves them running: a crashed
// run, for the next Up to clean.
func upFleetNoCleanup(t *testing.T, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	before := memUsed(t)
	start := time.Now()
	f, err := fleet.Up(ctx, cfg)
	require.NoError(t, err)
	after := memUsed(t)
	t.Logf("fleet up in %s (base built: %v, base %s); %d nodes; machine memory in use %d MiB -> %d MiB (+%d MiB)",
		time.Since(start).Round(time.Millisecond), f.BaseBuilt, f.BaseTime.Round(time.Millisecond),
		len(f.Nodes()), before>>20, after>>20, (after-before)>>20)
	for _, n := range f.Nodes() {
		t.Logf("node %-18s %s:%d boot %s", n.Name, n.Addr, n.Port, n.Boot.Round(time.Millisecond))
	}
	return f
}

func itoa(i int) string { return strconv.Itoa(i) }

// memUsed is MemTotal - MemAvailable of the machine.
func memUsed(t *testing.T) int64 {
	f, err := os.Open("/proc/meminfo")
	require.NoError(t, err)
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
	return v["MemTotal"] - v["MemAvailable"]
}

// inNode runs a shell command inside node n (as root, through nsenter).
func inNode(t *testing.T, n fleet.Node, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := fleet.Exec(ctx, n.Leader, "/bin/sh", "-c", script)
	return strings.TrimSpace(out)
}

func evaluate(t *testing.T, n fleet.Node) (readiness.Observation, readiness.Report) {
	t.Helper()
	tg, err := n.Target()
	require.NoError(t, err)
	return evaluateTarget(t, n.Name, tg)
}

func evaluateTarget(t *testing.T, id string, tg sshexec.Target) (readiness.Observation, readiness.Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout+5*time.Second)
	defer cancel()
	p := &probe.Prober{Client: &sshexec.Client{Timeout: probeTimeout}}
	obs := p.Observe(ctx, id, tg)
	return obs, readiness.Evaluate(obs, policy, readiness.OperationSiteCreate)
}
