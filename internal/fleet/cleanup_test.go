package fleet_test

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/fleet"
)

// leftovers lists what a fleet of cfg's instance may leave behind: veths
// and namespaces by the instance's names, and overlay mounts under its
// nodes directory. Other instances' fleets may run meanwhile.
func leftovers(t *testing.T, cfg fleet.Config) []string {
	t.Helper()
	var left []string
	netnsPrefix, hostIfPrefix, _ := fleet.Names(cfg, 0)
	netnsPrefix = strings.TrimSuffix(netnsPrefix, "1")
	hostIfPrefix = strings.TrimSuffix(hostIfPrefix, "1")
	nodesDir := fleet.NodesDir(cfg) + "/"
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	require.NoError(t, err)
	for _, l := range strings.Split(string(links), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], hostIfPrefix) {
			left = append(left, "link "+f[1])
		}
	}
	nss, _ := os.ReadDir("/run/netns")
	for _, e := range nss {
		if strings.HasPrefix(e.Name(), netnsPrefix) {
			left = append(left, "netns "+e.Name())
		}
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	require.NoError(t, err)
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, nodesDir) && strings.HasPrefix(l, "overlay ") {
			left = append(left, "mount "+l)
		}
	}
	return left
}

// TestCrashedRunIsCleanedUp leaves a fleet running as a crashed run would
// (no Down), then checks that the next Up stops it and that Down leaves
// nothing behind.
func TestCrashedRunIsCleanedUp(t *testing.T) {
	requireFleet(t)
	cfg := fleet.Config{Profiles: []fleet.Profile{{Name: "ready"}}}
	crashed := upFleetNoCleanup(t, cfg)
	old, _ := crashed.Node("ready")
	require.NoError(t, syscall.Kill(old.Leader, 0), "the first fleet's node is running")

	f := upFleet(t, cfg)
	if err := syscall.Kill(old.Leader, 0); err == nil {
		if b, _ := os.ReadFile("/proc/" + itoa(old.Leader) + "/comm"); strings.TrimSpace(string(b)) == "systemd" {
			t.Errorf("the crashed run's systemd (pid %d) survived the next Up", old.Leader)
		}
	}
	n, _ := f.Node("ready")
	_, rep := evaluate(t, n)
	if rep.PrimaryReason != "" {
		t.Errorf("got %s after the clean-up, want ready", rep.Summary())
	}
	require.NoError(t, f.Down())
	if left := leftovers(t, cfg); len(left) > 0 {
		t.Errorf("Down left %v", left)
	}
}
