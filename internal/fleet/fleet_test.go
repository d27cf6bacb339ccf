package fleet_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/internal/fleet/fleettest"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// policy admits Debian 12, the fleet's OS, as an operator would with
// -allow-os debian-12.
var policy = readiness.Baseline().WithAllowedOS(readiness.OSRelease{ID: "debian", VersionID: "12"})

const probeTimeout = 60 * time.Second

func requireFleet(t *testing.T) { t.Helper(); fleettest.Require(t) }

// upFleet boots cfg's nodes on this package's instance and takes them
// down when t ends.
func upFleet(t *testing.T, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	return fleettest.Up(t, withInstance(cfg))
}

func upFleetNoCleanup(t *testing.T, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	return fleettest.UpNoCleanup(t, withInstance(cfg))
}

// withInstance puts cfg on this package's instance unless it names one
// or $PRESSLUFT_FLEET_INSTANCE does.
func withInstance(cfg fleet.Config) fleet.Config {
	if cfg.Instance == 0 && os.Getenv(fleet.InstanceEnv) == "" {
		cfg.Instance = fleettest.InstanceFleet
	}
	return cfg
}

func itoa(i int) string { return strconv.Itoa(i) }

// nodeShowing is the node of profile, after checking that its real state
// is what the test expects of it: the output of fact, run in the node,
// contains shows. It returns that output.
func nodeShowing(t *testing.T, f *fleet.Fleet, profile, fact, shows string) (fleet.Node, string) {
	t.Helper()
	n, ok := f.Node(profile)
	if !ok {
		t.Fatalf("no node for profile %s", profile)
	}
	out := inNode(t, n, fact)
	if !strings.Contains(out, shows) {
		t.Fatalf("node state: %q gave %q, want it to contain %q", fact, out, shows)
	}
	return n, out
}

// inNode runs a shell command inside node n (as root, through nsenter).
func inNode(t *testing.T, n fleet.Node, script string) string {
	t.Helper()
	return fleettest.Shell(t, n, script)
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
