package fleet_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// healthFake is the system state of sshtest's stand-in for a health
// profile: the sshtest profile of that condition, on the fake's Debian 12.
func healthFake(profile string) sshtest.Health {
	switch profile {
	case "booting":
		// cloud-init is disabled there: systemd alone says starting.
		return sshtest.Health{SystemState: "starting"}
	case "cloud-init-running":
		return sshtest.Health{SystemState: "starting", CloudInit: readiness.CloudInitRunning}
	case "cloud-init-done":
		return sshtest.Health{CloudInit: readiness.CloudInitDone}
	case "degraded":
		return sshtest.Health{FailedUnits: []sshtest.FailedUnit{{Name: "pressluft-broken.service", Description: "A unit that fails"}}}
	case "dpkg-locked":
		return sshtest.DpkgLockedProfile().Health
	case "disk-low":
		return sshtest.DiskLowProfile().Health
	case "reboot-required":
		return sshtest.Health{RebootPackages: []string{"linux-image-6.1.0-28-amd64", "libc6"}}
	}
	return sshtest.Health{}
}

// healthCases say, per health profile, how to read the node's real state
// (run inside it as root), what that must show, and the report it must
// give: its state, primary reason, and the health reason it must carry
// (a warning for the warning codes) with what its observed value names.
var healthCases = []struct {
	profile  string
	fact     string
	shows    string
	state    readiness.State
	primary  readiness.Code
	code     readiness.Code
	observed string
}{
	{"booting", "systemctl is-system-running; systemctl list-jobs --no-legend | grep -c pressluft-firstboot", "starting",
		readiness.StatePending, readiness.CodeNodeBooting, readiness.CodeNodeBooting, "systemd: starting"},
	// The real cloud-init says where its first boot is: the probe reads
	// its files under /run/cloud-init, never runs it.
	{"cloud-init-running", "cloud-init status; systemctl is-system-running", "status: running\nstarting",
		readiness.StatePending, readiness.CodeNodeBooting, readiness.CodeNodeBooting, "systemd: starting, cloud-init: running"},
	// Finished: no reason at all (code "").
	{"cloud-init-done", "cloud-init status; systemctl is-system-running", "status: done\nrunning",
		readiness.StateReady, "", "", ""},
	{"degraded", "systemctl is-system-running; systemctl --failed --plain --no-legend", "degraded\npressluft-broken.service",
		readiness.StateReady, "", readiness.CodeSystemDegraded, "pressluft-broken.service"},
	// dpkg itself says so: a command that needs the lock is refused.
	{"dpkg-locked", "dpkg --configure -a 2>&1; ps -o comm= -p $(pgrep -x apt-get)", "dpkg frontend lock was locked by another process with pid",
		readiness.StateReady, "", readiness.CodePackageManagerBusy, "/var/lib/dpkg/lock-frontend held by apt-get (pid"},
	{"disk-low", "df -P -k /srv/www | tail -n1 | tr -s ' '", " 0 100% /srv/www",
		readiness.StateNotReady, readiness.CodeDiskSpaceLow, readiness.CodeDiskSpaceLow, "0.0 MiB (0%) free of 64.0 MiB"},
	{"reboot-required", "cat /run/reboot-required /run/reboot-required.pkgs", "*** System restart required ***\nlinux-image-6.1.0-28-amd64\nlibc6",
		readiness.StateReady, "", readiness.CodeRebootRequired, "required by linux-image-6.1.0-28-amd64, libc6"},
}

// TestHealthProfiles boots the health profiles and probes each: the report
// must follow from what the node itself says, and sshtest's stand-in must
// give the same codes.
func TestHealthProfiles(t *testing.T) {
	requireFleet(t)
	f := upFleet(t, fleet.Config{Profiles: fleet.HealthProfiles(), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	for _, c := range healthCases {
		t.Run(c.profile, func(t *testing.T) {
			n, fact := nodeShowing(t, f, c.profile, c.fact, c.shows)
			_, rep := evaluate(t, n)
			t.Logf("%s: %s", c.profile, rep.Summary())
			if rep.State != c.state || rep.PrimaryReason != c.primary {
				t.Errorf("got %s/%q, want %s/%q (node: %q)", rep.State, rep.PrimaryReason, c.state, c.primary, fact)
			}
			if c.code == "" {
				if len(rep.Reasons) > 0 {
					t.Errorf("got reasons %+v, want none", rep.Reasons)
				}
				// The boot check saw cloud-init's end, not its absence.
				if i := slices.IndexFunc(rep.Checks, func(x readiness.Check) bool { return x.Name == "boot" }); i < 0 ||
					!strings.Contains(rep.Checks[i].Observed, "cloud-init: done") {
					t.Errorf("boot check %+v, want it to observe cloud-init: done", rep.Checks)
				}
			} else {
				i := slices.IndexFunc(rep.Reasons, func(x readiness.Reason) bool { return x.Code == c.code })
				if i < 0 {
					t.Fatalf("no %s reason in %+v", c.code, rep.Reasons)
				}
				if info, _ := readiness.Lookup(c.code); rep.Reasons[i].Severity != info.Severity {
					t.Errorf("%s: severity %s, want %s", c.code, rep.Reasons[i].Severity, info.Severity)
				}
				if !strings.Contains(rep.Reasons[i].Observed, c.observed) {
					t.Errorf("%s: observed %q, want it to contain %q", c.code, rep.Reasons[i].Observed, c.observed)
				}
			}
			if c.state == readiness.StatePending && !rep.Retryable() {
				t.Error("a booting node's report is not retryable")
			}

			// sshtest's stand-in gives the same codes (values such as
			// pids and sizes differ).
			fp, ok := fakeFor(n.Name)
			if !ok {
				t.Fatalf("no fake for %s", n.Name)
			}
			fake := sshtest.NewNodeT(t, fp)
			_, fakeRep := evaluateTarget(t, "fake-"+n.Name, sshexec.Target{
				Host: "127.0.0.1", Port: fake.Port(), User: "pressluft",
				Signers: []ssh.Signer{fake.ClientSigner()}, HostKeys: sshexec.PinnedHostKeys(fake.HostKey()),
			})
			if d := cmp.Diff(codes(rep), codes(fakeRep)); d != "" {
				t.Errorf("fake differs from the node (-node +fake):\n%s", d)
			}
		})
	}
	t.Run("unit-query", func(t *testing.T) { testUnitQuery(t, f) })
}

// codes are a report's state and its reasons' codes, components and
// severities.
func codes(r readiness.Report) []string {
	out := []string{string(r.State)}
	for _, x := range r.Reasons {
		out = append(out, string(x.Code)+" "+x.Component+" "+string(x.Severity))
	}
	return out
}
