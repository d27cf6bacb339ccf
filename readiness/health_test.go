package readiness

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func healthyHealth() *Health {
	h := &Health{SystemState: "running", CloudInit: CloudInitDone, DpkgLockObserved: true}
	for _, p := range DiskPaths() {
		h.Disks = append(h.Disks, DiskUsage{Path: p, MeasuredAt: p, FSID: "1", TotalBytes: 40 * GiB, FreeBytes: 20 * GiB, TotalInodes: 1000, FreeInodes: 500})
	}
	return h
}

func withHealth(fn func(h *Health)) *Facts {
	f := readyFacts()
	fn(f.Health)
	return f
}

func healthCheckOf(r Report, name, component string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name && c.Component == component {
			return c, true
		}
	}
	return Check{}, false
}

func TestHealthCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		facts     *Facts
		policy    Policy
		state     State
		primary   Code
		retryable bool
		check     string
		component string
		status    CheckStatus
		observed  string
		remedy    string
	}{
		{"healthy", readyFacts(), Baseline(), StateReady, "", false, "boot", "", CheckPass, "systemd: running, cloud-init: done", ""},
		{"systemd starting", withHealth(func(h *Health) { h.SystemState = "starting" }), Baseline(), StatePending, CodeNodeBooting, true, "boot", "", CheckFail, "systemd: starting, cloud-init: done", "cloud-init status --wait"},
		{"systemd initializing", withHealth(func(h *Health) { h.SystemState = "initializing" }), Baseline(), StatePending, CodeNodeBooting, true, "boot", "", CheckFail, "systemd: initializing, cloud-init: done", ""},
		{"cloud-init running", withHealth(func(h *Health) { h.CloudInit = CloudInitRunning }), Baseline(), StatePending, CodeNodeBooting, true, "boot", "", CheckFail, "systemd: running, cloud-init: running", ""},
		{"first boot: both", withHealth(func(h *Health) { h.SystemState = "starting"; h.CloudInit = CloudInitRunning }), Baseline(), StatePending, CodeNodeBooting, true, "boot", "", CheckFail, "systemd: starting, cloud-init: running", ""},
		// A booting node whose packages cloud-init has yet to install is
		// pending, and a refused create may be retried.
		{"booting, nginx missing", func() *Facts {
			f := withHealth(func(h *Health) { h.CloudInit = CloudInitRunning })
			f.Components[ComponentNginx] = ComponentFacts{}
			return f
		}(), Baseline(), StatePending, CodeNodeBooting, true, "installed", ComponentNginx, CheckFail, "missing", ""},
		{"degraded is not booting", withHealth(func(h *Health) { h.SystemState = "degraded"; h.FailedUnits = []string{"broken.service"} }), Baseline(), StateReady, "", false, "units", "", CheckWarn, "failed: broken.service", "sudo systemctl reset-failed broken.service"},
		{"degraded boot check passes", withHealth(func(h *Health) { h.SystemState = "degraded"; h.FailedUnits = []string{"broken.service"} }), Baseline(), StateReady, "", false, "boot", "", CheckPass, "systemd: degraded, cloud-init: done", ""},
		{"dpkg lock held", withHealth(func(h *Health) {
			h.DpkgLockHolders = []LockHolder{{Path: "/var/lib/dpkg/lock-frontend", PID: 812, Command: "apt-get"}}
		}), Baseline(), StateReady, "", false, "package_manager", "", CheckWarn, "/var/lib/dpkg/lock-frontend held by apt-get (pid 812)", "ps -o pid,etime,args -p 812"},
		{"dpkg lock held, blocking by policy", withHealth(func(h *Health) {
			h.DpkgLockHolders = []LockHolder{{Path: "/var/lib/dpkg/lock", PID: 9, Command: "dpkg"}}
		}), Baseline().WithSeverity(CodePackageManagerBusy, SeverityBlocking), StateNotReady, CodePackageManagerBusy, true, "package_manager", "", CheckFail, "/var/lib/dpkg/lock held by dpkg (pid 9)", ""},
		{"dpkg lock not observable", withHealth(func(h *Health) { h.DpkgLockObserved = false }), Baseline(), StateReady, "", false, "package_manager", "", CheckSkipped, "", ""},
		{"sites volume full", withHealth(func(h *Health) {
			h.Disks[2] = DiskUsage{Path: DiskSites, MeasuredAt: DiskSites, FSID: "2", TotalBytes: 64 << 20, FreeBytes: 0, TotalInodes: 1000, FreeInodes: 990}
		}), Baseline(), StateNotReady, CodeDiskSpaceLow, false, "disk", DiskSites, CheckFail, "0.0 MiB (0%) free of 64.0 MiB, 99% inodes free, at /srv/www", "sudo du -xh -d1 /srv/www"},
		{"under 5% free though over 2 GiB", withHealth(func(h *Health) { h.Disks[0].FreeBytes = 3 * GiB; h.Disks[0].TotalBytes = 100 * GiB }), Baseline(), StateNotReady, CodeDiskSpaceLow, false, "disk", DiskRoot, CheckFail, "3.0 GiB (3%) free of 100.0 GiB, 50% inodes free, at /", ""},
		{"exactly 5% and 2 GiB is enough", withHealth(func(h *Health) { h.Disks[0].FreeBytes = 2 * GiB; h.Disks[0].TotalBytes = 40 * GiB }), Baseline(), StateReady, "", false, "disk", DiskRoot, CheckPass, "2.0 GiB (5%) free of 40.0 GiB, 50% inodes free, at /", ""},
		{"inodes low", withHealth(func(h *Health) { h.Disks[1].FreeInodes = 49 }), Baseline(), StateNotReady, CodeDiskSpaceLow, false, "disk", DiskMariaDB, CheckFail, "20.0 GiB (50%) free of 40.0 GiB, 4% inodes free, at /var/lib/mysql", "out of inodes"},
		{"no inode count (btrfs)", withHealth(func(h *Health) { h.Disks[1].TotalInodes, h.Disks[1].FreeInodes = 0, 0 }), Baseline(), StateReady, "", false, "disk", DiskMariaDB, CheckPass, "20.0 GiB (50%) free of 40.0 GiB, at /var/lib/mysql", ""},
		{"disk not measured fails closed", withHealth(func(h *Health) { h.Disks = h.Disks[:2] }), Baseline(), StateNotReady, CodeDiskSpaceLow, false, "disk", DiskSites, CheckFail, "not measured", "df -h /srv/www"},
		{"policy threshold", withHealth(func(h *Health) { h.Disks[2].FreeBytes = 5 * GiB }), Baseline().WithDisk(DiskRequirement{Path: DiskSites, MinFreeBytes: 10 * GiB}), StateNotReady, CodeDiskSpaceLow, false, "disk", DiskSites, CheckFail, "5.0 GiB (12%) free of 40.0 GiB, 50% inodes free, at /srv/www", ""},
		{"path left out by policy", withHealth(func(h *Health) { h.Disks[2].FreeBytes = 0 }), Baseline().WithoutDisk(DiskSites), StateReady, "", false, "disk", DiskRoot, CheckPass, "20.0 GiB (50%) free of 40.0 GiB, 50% inodes free, at /", ""},
		{"reboot required", withHealth(func(h *Health) {
			h.RebootRequired = true
			h.RebootPackages = []string{"linux-image-6.8.0-51-generic", "libc6"}
		}), Baseline(), StateReady, "", false, "reboot", "", CheckWarn, "required by linux-image-6.8.0-51-generic, libc6", "Updates to linux-image-6.8.0-51-generic, libc6 take effect"},
		{"reboot required, no list", withHealth(func(h *Health) { h.RebootRequired = true }), Baseline(), StateReady, "", false, "reboot", "", CheckWarn, "required", "/run/reboot-required.pkgs"},
		{"not observed: skipped", func() *Facts { f := readyFacts(); f.Health = nil; return f }(), Baseline(), StateReady, "", false, "disk", DiskSites, CheckSkipped, "", ""},
		{"booting downgraded", withHealth(func(h *Health) { h.SystemState = "starting" }), Baseline().WithSeverity(CodeNodeBooting, SeverityWarning), StateReady, "", false, "boot", "", CheckWarn, "systemd: starting, cloud-init: done", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.policy.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			r := Evaluate(probed(tc.facts), tc.policy, OperationSiteCreate)
			if r.State != tc.state || r.PrimaryReason != tc.primary || r.Retryable() != tc.retryable {
				t.Errorf("got %s/%q retryable %v, want %s/%q retryable %v (%s)", r.State, r.PrimaryReason, r.Retryable(), tc.state, tc.primary, tc.retryable, r.Summary())
			}
			c, ok := healthCheckOf(r, tc.check, tc.component)
			if !ok {
				t.Fatalf("no check %s %s in %+v", tc.check, tc.component, r.Checks)
			}
			if c.Status != tc.status || c.Observed != tc.observed {
				t.Errorf("check %s: got %s %q, want %s %q", tc.check, c.Status, c.Observed, tc.status, tc.observed)
			}
			if tc.remedy != "" {
				found := false
				for _, x := range r.Reasons {
					if x.Code == c.Code && strings.Contains(x.Remediation, tc.remedy) {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s reason's remediation contains %q: %+v", c.Code, tc.remedy, r.Reasons)
				}
			}
		})
	}
}

func TestHealthChecksOrder(t *testing.T) {
	t.Parallel()
	r := Evaluate(probed(readyFacts()), Baseline(), OperationSiteCreate)
	var names []string
	for _, c := range r.Checks {
		if c.Prerequisite == PrereqBoot || c.Prerequisite == PrereqHealth || c.Name == "exec" || c.Name == "sudo" {
			names = append(names, c.Name+":"+c.Component)
		}
	}
	want := []string{"exec:", "boot:", "sudo:", "units:", "package_manager:", "reboot:", "disk:/", "disk:/var/lib/mysql", "disk:/srv/www"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("check order (-want +got):\n%s", diff)
	}
	// The zero policy checks none of it.
	r = Evaluate(probed(readyFacts()), Policy{}, OperationSiteCreate)
	for _, c := range r.Checks {
		if c.Prerequisite == PrereqBoot || c.Prerequisite == PrereqHealth {
			t.Errorf("zero policy has check %s", c.Name)
		}
	}
}

func TestHealthSkippedUpstream(t *testing.T) {
	t.Parallel()
	r := Evaluate(transport(CodeSSHUnreachable), Baseline(), OperationSiteCreate)
	for _, name := range []string{"boot", "units", "package_manager", "reboot"} {
		c, ok := healthCheckOf(r, name, "")
		if !ok || c.Status != CheckSkipped || c.BlockedBy != CodeSSHUnreachable {
			t.Errorf("check %s: got %+v, want skipped blocked by ssh_unreachable", name, c)
		}
	}
}

func TestDiskPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Baseline().WithDisk(DiskRequirement{Path: "/home"}), `disk path "/home" is not one the probe measures`},
		{Policy{Disks: []DiskRequirement{{Path: "/"}, {Path: "/"}}}, `disk path "/" listed twice`},
		{Baseline().WithDisk(DiskRequirement{Path: "/", MinFreePercent: 101}), "outside 0-100"},
		{Baseline().WithSeverity(CodeSSHUnreachable, SeverityWarning), "cannot be downgraded"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
	for _, c := range []Code{CodeNodeBooting, CodeDiskSpaceLow, CodeSystemDegraded} {
		if err := Baseline().WithSeverity(c, SeverityWarning).Validate(); err != nil {
			t.Errorf("downgrading %s: %v", c, err)
		}
	}
	if err := Baseline().Validate(); err != nil {
		t.Errorf("Baseline: %v", err)
	}
	b := Baseline()
	_ = b.WithDisk(DiskRequirement{Path: DiskRoot, MinFreeBytes: 1})
	if b.Disks[0].MinFreeBytes != 2*GiB {
		t.Error("WithDisk changed its receiver")
	}
}

func TestPercentNoOverflow(t *testing.T) {
	t.Parallel()
	if got := percent(^uint64(0)/2, ^uint64(0)); got != "49%" {
		t.Errorf("percent = %s, want 49%%", got)
	}
	if lessPercent(^uint64(0), ^uint64(0), 100) || !lessPercent(^uint64(0)-1, ^uint64(0), 100) {
		t.Error("lessPercent overflows")
	}
}
