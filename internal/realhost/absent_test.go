package realhost

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// absentPackage is removed for TestAbsentPackage and reinstalled from the
// .deb that scripts/realhost-setup.sh keeps in debDir. It is small, has no
// service and nothing of the baseline depends on it.
const (
	absentPackage = "unzip"
	debDir        = "/var/cache/pressluft-realhost"
)

// TestAbsentPackage removes a package the baseline requires (dpkg -r) and
// checks that the report names it missing, then reinstalls it.
//
// Not parallel: while the package is gone no other test may probe the
// host. Go runs the parallel tests only after the sequential ones,
// cleanups included, have finished.
func TestAbsentPackage(t *testing.T) {
	f := requireFixture(t)
	ctx := context.Background()
	debs, _ := filepath.Glob(filepath.Join(debDir, absentPackage+"_*.deb"))
	if len(debs) == 0 {
		t.Skipf("no %s .deb in %s to reinstall from; run scripts/realhost-setup.sh as root", absentPackage, debDir)
	}
	if _, ok := dpkgInstalled(ctx, absentPackage); !ok {
		t.Skipf("%s is not installed; run scripts/realhost-setup.sh as root", absentPackage)
	}
	_, err := runCmd(ctx, "dpkg", "-r", absentPackage)
	t.Cleanup(func() {
		if _, err := runCmd(ctx, "dpkg", "-i", debs[len(debs)-1]); err != nil {
			t.Errorf("reinstall %s: %v", absentPackage, err)
		}
	})
	require.NoError(t, err)

	h := mustReadHost(t)
	require.False(t, h.Components[readiness.ComponentUnzip].Installed, "dpkg still lists %s", absentPackage)
	obs, rep := evaluate(t, "realhost-absent", f.target(f.accounts[roleNopasswd], nil))
	require.Nil(t, obs.Transport, "transport failure")
	want := h.expectedReasons(policy, readiness.SudoOK)
	require.True(t, slices.Contains(want, reason{readiness.CodeRuntimeComponentMissing, readiness.ComponentUnzip}))
	checkReport(t, rep, want)
}
