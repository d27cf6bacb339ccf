package realhost

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Acceptance criterion 6: reason codes map to node-target failures, not
// to the control plane's host state. Each test reads both machines with
// the same code (dpkg-query, the probe's PATH, systemctl show) and picks
// what they disagree on, so that a probe that read the host instead of
// the node would fail it.

// hostHas reports whether the control plane's host, the machine the
// tests run on, has component c: dpkg says so or its tool is on the PATH
// (exec.LookPath) or in the probe's.
func hostHas(h machine, c string) bool {
	if h.Components[c].Installed || h.Components[c].Path != "" {
		return true
	}
	tool := strings.TrimSuffix(componentTools[c], "[0-9]*")
	_, err := exec.LookPath(tool)
	return err == nil
}

// removable are the components TestAbsentPackage may remove from a node:
// no service, nothing of the baseline depends on them.
var removable = []string{readiness.ComponentUnzip, readiness.ComponentCurl, readiness.ComponentRsync}

// TestAbsentPackage removes from a node (dpkg -r, in the node: its
// overlay is thrown away at the end) a package the baseline requires and
// the control plane's host has, and checks that the report names it
// missing while the host still has it.
func TestAbsentPackage(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeAbsent)
	t.Parallel()
	ctx := context.Background()
	host := mustRead(t, onHost)
	i := slices.IndexFunc(removable, func(c string) bool { return hostHas(host, c) })
	if i < 0 {
		t.Skipf("the control plane's host has none of %v, so a node lacking one cannot be told from the host here", removable)
	}
	comp := removable[i]
	pkg := componentPackages[comp]
	before := mustRead(t, inNode(n))
	require.True(t, before.Components[comp].Installed, "%s is installed on %s before the removal", pkg, n.Name)
	_, rep := evaluate(t, "realhost-absent", target(t, n, nil))
	require.NotContains(t, reasonsOf(rep), reason{readiness.CodeRuntimeComponentMissing, comp}, "before the removal")

	out, err := inNode(n)(ctx, "dpkg -r "+pkg)
	require.NoError(t, err, out)
	node := mustRead(t, inNode(n))
	require.False(t, node.Components[comp].Installed, "dpkg on %s still lists %s", n.Name, pkg)
	require.Empty(t, node.Components[comp].Path, "%s still has the tool", n.Name)

	obs, rep := evaluate(t, "realhost-absent", target(t, n, nil))
	require.Nil(t, obs.Transport, "transport failure")
	t.Logf("control plane host: %s installed %v (%s), on PATH %q", comp, host.Components[comp].Installed, host.Components[comp].Version, host.Components[comp].Path)
	t.Logf("node %s: %s installed %v; report: %s", n.Name, comp, node.Components[comp].Installed, rep.Summary())
	want := node.expectedReasons(policy, readiness.SudoOK)
	require.Contains(t, want, reason{readiness.CodeRuntimeComponentMissing, comp})
	checkReport(t, rep, want)
	checkInventory(t, rep, node)
	require.True(t, hostHas(mustRead(t, onHost), comp), "the host still has %s", comp)
}

// TestPresentOnNodeOnly probes the ready node for the components the
// control plane's host lacks (on CI nginx, php-fpm, mariadb, redis,
// fail2ban, rsync, wp: nothing installs them on the host any more): the
// report must have each installed, at the node's version, with the node's
// unit state, and no reason for it.
func TestPresentOnNodeOnly(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeReady)
	t.Parallel()
	host := mustRead(t, onHost)
	var lacks []string
	for _, r := range policy.Components {
		if !hostHas(host, r.Component) {
			lacks = append(lacks, r.Component)
		}
	}
	if len(lacks) == 0 {
		t.Skip("the control plane's host has every baseline component, so a node having one cannot be told from the host here")
	}
	node := mustRead(t, inNode(n))
	obs, rep := evaluate(t, "realhost-present", target(t, n, nil))
	require.Nil(t, obs.Transport, "transport failure")
	t.Logf("the control plane's host lacks %v; report on %s: %s", lacks, n.Name, rep.Summary())
	got := map[string]readiness.InventoryComponent{}
	for _, c := range rep.Inventory.Components {
		got[c.Name] = c
	}
	for _, c := range lacks {
		nc := node.Components[c]
		require.True(t, nc.Installed, "%s is installed on %s", c, n.Name)
		ic := got[c]
		t.Logf("%s: host: none; node: %s %s unit %q %s; report: installed %v %s %s", c, nc.Package, nc.Version, nc.Unit, nc.Service, ic.Installed, ic.Version, ic.Service)
		if !ic.Installed || ic.Service != nc.Service {
			t.Errorf("%s: got installed %v service %q, want installed with the node's %q", c, ic.Installed, ic.Service, nc.Service)
		}
		for _, r := range rep.Reasons {
			if r.Component == c {
				t.Errorf("%s: got reason %s, want none (the node has it)", c, r.Code)
			}
		}
	}
	checkReport(t, rep, node.expectedReasons(policy, readiness.SudoOK))
	checkInventory(t, rep, node)
}
