// Package faultmatrix holds the end-to-end fault matrix: every ready-made
// host profile and transport fault of the sshtest harness, probed through
// the real probe script over real SSH, must give exactly the expected
// readiness report, in one connection and one exec, within its deadline,
// and leave no goroutine behind.
package faultmatrix

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

type reason struct {
	Code      readiness.Code
	Component string
}

// want is the expected outcome of one profile, written out by hand from
// what the simulated host is, not derived from the evaluator.
type want struct {
	state   readiness.State
	reasons []reason
	// conns and execs are the connections and exec requests the node
	// must see: 1 and 1 unless the failure stops the probe earlier.
	conns, execs int
	// undialed is set when the failure is decided before the node is
	// dialed: no step of the SSH chain before the failing one is
	// observed, so each is skipped, never pass.
	undialed bool
}

func notReady(rs ...reason) want {
	return want{state: readiness.StateNotReady, reasons: rs, conns: 1, execs: 1}
}

func r(c readiness.Code, component ...string) reason {
	x := reason{Code: c}
	if len(component) > 0 {
		x.Component = component[0]
	}
	return x
}

// expectations covers every profile sshtest.Profiles returns; a profile
// without an entry fails the test, so new harness profiles get one.
var expectations = func() map[string]want {
	m := map[string]want{
		"ready": {state: readiness.StateReady, conns: 1, execs: 1},
		// nginx built from source in /usr/local/sbin: its version comes
		// from nginx -v, and it satisfies the baseline.
		"nginx-unpackaged":   {state: readiness.StateReady, conns: 1, execs: 1},
		"sudo-missing":       notReady(r(readiness.CodeSudoMissing)),
		"sudo-password":      notReady(r(readiness.CodeSudoPasswordRequired)),
		"sudo-not-permitted": notReady(r(readiness.CodeSudoNotPermitted)),
		"sudo-requiretty":    notReady(r(readiness.CodeSudoTTYRequired)),
		"old-versions": notReady(
			r(readiness.CodeRuntimeVersionUnsupported, "mariadb"), r(readiness.CodeRuntimeVersionUnsupported, "nginx"),
			r(readiness.CodeRuntimeVersionUnsupported, "php-fpm"), r(readiness.CodeRuntimeVersionUnsupported, "redis")),
		// The baseline needs fail2ban running, not only installed.
		"fail2ban-inactive": notReady(r(readiness.CodeRuntimeServiceInactive, "fail2ban")),
		// A failed unit makes systemd degraded: a warning beside it.
		"nginx-failed":     notReady(r(readiness.CodeRuntimeServiceInactive, "nginx"), r(readiness.CodeSystemDegraded)),
		"redis-masked":     notReady(r(readiness.CodeRuntimeServiceInactive, "redis")),
		"redis-activating": notReady(r(readiness.CodeRuntimeServiceInactive, "redis")),
		"redis-not-found":  notReady(r(readiness.CodeRuntimeServiceInactive, "redis")),
		"no-php-redis":     notReady(r(readiness.CodeRuntimeExtensionMissing, "php-fpm")),
		"no-systemd":       notReady(r(readiness.CodeServiceManagerUnavailable)),
		"debian-12":        notReady(r(readiness.CodeOSUnsupported)),
		"nologin":          notReady(r(readiness.CodeSSHExecRejected)),
		// What the fleet's noisy-bashrc node gives: the greeting comes
		// before the report's header.
		"noisy-bashrc":   notReady(r(readiness.CodeProbeOutputInvalid)),
		"exec-refused":   notReady(r(readiness.CodeSSHExecRejected)),
		"auth-rejected":  {state: readiness.StateNotReady, reasons: []reason{r(readiness.CodeSSHAuthFailed)}, conns: 1},
		"refuse-tcp":     {state: readiness.StateNotReady, reasons: []reason{r(readiness.CodeSSHUnreachable)}},
		"silent":         {state: readiness.StateNotReady, reasons: []reason{r(readiness.CodeSSHHandshakeFailed)}, conns: 1},
		"garbage-banner": {state: readiness.StateNotReady, reasons: []reason{r(readiness.CodeSSHHandshakeFailed)}, conns: 1},
		// The fault delays the banner past the matrix's handshake budget.
		"slow-handshake":  {state: readiness.StateNotReady, reasons: []reason{r(readiness.CodeSSHHandshakeFailed)}, conns: 1},
		"hang-after-exec": notReady(r(readiness.CodeProbeTimeout)),
		"drop-mid-output": notReady(r(readiness.CodeProbeInterrupted)),
		"flood":           notReady(r(readiness.CodeProbeOutputInvalid)),
		"exit-no-status":  notReady(r(readiness.CodeProbeInterrupted)),
		"exit-signal":     notReady(r(readiness.CodeProbeInterrupted)),
		// Node health (issue 11): booting is pending; the warnings leave
		// the node ready; a full site root blocks.
		"booting":         {state: readiness.StatePending, reasons: []reason{r(readiness.CodeNodeBooting)}, conns: 1, execs: 1},
		"degraded":        {state: readiness.StateReady, reasons: []reason{r(readiness.CodeSystemDegraded)}, conns: 1, execs: 1},
		"dpkg-locked":     {state: readiness.StateReady, reasons: []reason{r(readiness.CodePackageManagerBusy)}, conns: 1, execs: 1},
		"reboot-required": {state: readiness.StateReady, reasons: []reason{r(readiness.CodeRebootRequired)}, conns: 1, execs: 1},
		"disk-low":        notReady(r(readiness.CodeDiskSpaceLow, "/srv/www")),
	}
	for _, c := range sshtest.Components() {
		m[c+"-missing"] = notReady(r(readiness.CodeRuntimeComponentMissing, c))
	}
	for _, c := range []string{"nginx", "php-fpm", "mariadb", "redis"} {
		m[c+"-old"] = notReady(r(readiness.CodeRuntimeVersionUnsupported, c))
		m[c+"-inactive"] = notReady(r(readiness.CodeRuntimeServiceInactive, c))
	}
	return m
}()

// The short deadlines are for the profiles about a deadline (a hang, a
// slow banner); the others get generous ones, so a loaded machine cannot
// turn them into probe_timeout or ssh_handshake_failed.
const (
	timeout          = 3 * time.Second
	handshakeTimeout = time.Second // below sshtest.DefaultFaultDelay

	relaxedTimeout          = 10 * time.Second
	relaxedHandshakeTimeout = 5 * time.Second
)

// deadlines returns the client deadlines for a profile whose expected
// outcome is w.
func deadlines(w want) (run, handshake time.Duration) {
	for _, r := range w.reasons {
		if r.Code == readiness.CodeProbeTimeout || r.Code == readiness.CodeSSHHandshakeFailed {
			return timeout, handshakeTimeout
		}
	}
	return relaxedTimeout, relaxedHandshakeTimeout
}

func TestFaultMatrix(t *testing.T) {
	baseline := leaktest.Take()
	profiles := sshtest.Profiles()
	seen := map[string]bool{}
	t.Run("profiles", func(t *testing.T) {
		for _, p := range profiles {
			seen[p.Name] = true
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				w, ok := expectations[p.Name]
				if !ok {
					t.Fatalf("profile %q has no expectation: add one to the matrix", p.Name)
				}
				checkProfile(t, p, w)
			})
		}
	})
	for name := range expectations {
		if !seen[name] {
			t.Errorf("expectation %q matches no sshtest profile", name)
		}
	}
	// Every node was closed by its subtest: no goroutine may be left.
	leaktest.Check(t, baseline)
}

func checkProfile(t *testing.T, p sshtest.Profile, w want) {
	node := sshtest.NewNode(p)
	defer node.Close()
	run, handshake := deadlines(w)
	prober := &probe.Prober{Client: &sshexec.Client{Timeout: run, HandshakeTimeout: handshake}}
	start := time.Now()
	obs := prober.Observe(context.Background(), "node-"+p.Name, node.Target())
	elapsed := time.Since(start)
	rep := readiness.Evaluate(obs, readiness.Baseline(), readiness.OperationSiteCreate)

	if elapsed > run+time.Second {
		t.Errorf("observe took %s, want <= %s (deadline plus one second)", elapsed, run+time.Second)
	}
	if rep.State != w.state {
		t.Errorf("state: got %s, want %s (%s)", rep.State, w.state, rep.Summary())
	}
	var got []reason
	for _, x := range rep.Reasons {
		got = append(got, reason{x.Code, x.Component})
	}
	if diff := cmp.Diff(w.reasons, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	// The primary reason is the first blocking one (a warning is none).
	wantPrimary := readiness.Code("")
	for _, x := range w.reasons {
		if info, _ := readiness.Lookup(x.Code); info.Severity == readiness.SeverityBlocking {
			wantPrimary = x.Code
			break
		}
	}
	if rep.PrimaryReason != wantPrimary {
		t.Errorf("primary reason: got %q, want %q", rep.PrimaryReason, wantPrimary)
	}
	if got := node.Connections(); got != w.conns {
		t.Errorf("connections: got %d, want %d", got, w.conns)
	}
	if got := len(node.Execs()); got != w.execs {
		t.Errorf("exec requests: got %d, want %d", got, w.execs)
	}
	for _, e := range node.Execs() {
		if e.Command != probe.Command {
			t.Errorf("exec command: got %q, want %q", e.Command, probe.Command)
		}
	}
	checkChecks(t, rep, w)
}

// checkChecks asserts the check list against the reasons: every reason has
// its failed check; after a transport failure every later check is skipped
// and blocked by it, and every check before it passes (the record's
// lifecycle and address, and the steps the round trip got through) unless
// the failure was decided before dialing, when the SSH chain's steps before
// it are skipped and blocked by it; otherwise only the checks a failure
// makes unobservable are skipped (a missing component's version, extension
// and service; every service without systemd), and nothing else.
func checkChecks(t *testing.T, rep readiness.Report, w want) {
	t.Helper()
	failed := map[reason]bool{}
	for _, c := range rep.Checks {
		if c.Status == readiness.CheckFail || c.Status == readiness.CheckWarn {
			failed[reason{c.Code, c.Component}] = true
		}
	}
	var wantFailed []string
	for _, x := range w.reasons {
		wantFailed = append(wantFailed, fmt.Sprint(x))
	}
	var gotFailed []string
	for x := range failed {
		gotFailed = append(gotFailed, fmt.Sprint(x))
	}
	sort.Strings(wantFailed)
	sort.Strings(gotFailed)
	if diff := cmp.Diff(wantFailed, gotFailed); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s", diff)
	}
	if len(w.reasons) == 0 {
		for _, c := range rep.Checks {
			if c.Status != readiness.CheckPass {
				t.Errorf("check %s/%s: got %s, want pass on a ready node", c.Name, c.Component, c.Status)
			}
		}
		return
	}
	primary := w.reasons[0].Code
	info, _ := readiness.Lookup(primary)
	transport := !slices.Contains([]readiness.Prerequisite{readiness.PrereqBoot, readiness.PrereqPrivilege,
		readiness.PrereqPlatform, readiness.PrereqRuntime, readiness.PrereqHealth}, info.Prerequisite)
	afterFailure := false
	for _, c := range rep.Checks {
		switch {
		case transport && afterFailure:
			if c.Status != readiness.CheckSkipped || c.BlockedBy != primary {
				t.Errorf("check %s/%s: got %s blocked by %q, want skipped blocked by %s", c.Name, c.Component, c.Status, c.BlockedBy, primary)
			}
		case transport && c.Status == readiness.CheckFail:
			afterFailure = true
		case transport && w.undialed && chainStep[c.Name]:
			if c.Status != readiness.CheckSkipped || c.BlockedBy != primary {
				t.Errorf("check %s/%s: got %s blocked by %q, want skipped blocked by %s: nothing was dialed", c.Name, c.Component, c.Status, c.BlockedBy, primary)
			}
		case transport:
			if c.Status != readiness.CheckPass {
				t.Errorf("check %s/%s: got %s, want pass before the failing %s", c.Name, c.Component, c.Status, primary)
			}
		case c.Status == readiness.CheckSkipped:
			okMissing := c.BlockedBy == readiness.CodeRuntimeComponentMissing && failed[reason{readiness.CodeRuntimeComponentMissing, c.Component}]
			okSystemd := c.BlockedBy == readiness.CodeServiceManagerUnavailable && (c.Name == "service" || c.Name == "units")
			if !okMissing && !okSystemd {
				t.Errorf("check %s/%s: skipped (blocked by %q) but it was observable", c.Name, c.Component, c.BlockedBy)
			}
		}
	}
	if transport && !afterFailure {
		t.Errorf("no failed check for transport code %s", primary)
	}
}

// chainStep names the checks of the SSH round trip.
var chainStep = map[string]bool{"tcp": true, "ssh_handshake": true, "host_key": true, "auth": true, "exec": true}
