package readiness

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Health is the node's system state as one probe saw it: whether it has
// finished booting, which units failed, who holds the dpkg lock, how full
// the filesystems jobs write to are, and whether a reboot is pending.
type Health struct {
	// SystemState is systemd's state of the whole system, as `systemctl
	// is-system-running` names it: "initializing", "starting",
	// "running", "degraded", "maintenance", "stopping", "offline".
	// "" means not observed (no systemd, or no systemctl).
	SystemState string `json:"system_state,omitempty"`
	// FailedUnits are the units systemd lists as failed, in its order.
	// Nil means none.
	FailedUnits []string `json:"failed_units,omitempty"`
	// CloudInit is cloud-init's progress on this boot. "" means it has
	// not run on this boot (not installed, or disabled).
	CloudInit CloudInitState `json:"cloud_init,omitempty"`
	// DpkgLockObserved is true when the probe could see whether the dpkg
	// locks are held (the lock files and /proc/locks were readable).
	DpkgLockObserved bool `json:"dpkg_lock_observed"`
	// DpkgLockHolders are the processes holding a dpkg lock
	// (/var/lib/dpkg/lock-frontend, /var/lib/dpkg/lock). Nil means none.
	DpkgLockHolders []LockHolder `json:"dpkg_lock_holders,omitempty"`
	// Disks are the filesystems of DiskPaths the probe measured, in
	// DiskPaths order. A path missing here was not measured.
	Disks []DiskUsage `json:"disks,omitempty"`
	// RebootRequired is true when /run/reboot-required exists.
	RebootRequired bool `json:"reboot_required"`
	// RebootPackages are the packages /run/reboot-required.pkgs lists,
	// de-duplicated, in file order. Nil means none listed.
	RebootPackages []string `json:"reboot_packages,omitempty"`
}

// CloudInitState is cloud-init's progress on the current boot.
type CloudInitState string

const (
	// CloudInitRunning: cloud-init has started on this boot and not
	// finished (/run/cloud-init/status.json without result.json).
	CloudInitRunning CloudInitState = "running"
	// CloudInitDone: cloud-init has finished on this boot, with or
	// without errors (/run/cloud-init/result.json).
	CloudInitDone CloudInitState = "done"
)

// LockHolder is a process that holds a lock file.
type LockHolder struct {
	// Path is the lock file, e.g. "/var/lib/dpkg/lock-frontend".
	Path string `json:"path"`
	// PID is the holder's process id as the node sees it; 0 when the
	// lock is an open file description lock, which names no process.
	PID int `json:"pid,omitempty"`
	// Command is the holder's command name (/proc/PID/comm, at most 15
	// bytes, e.g. "apt-get", "unattended-upgr"); "" when unknown.
	Command string `json:"command,omitempty"`
}

// String renders "apt-get (pid 812)".
func (h LockHolder) String() string {
	name := h.Command
	if name == "" {
		name = "a process"
	}
	if h.PID > 0 {
		return name + " (pid " + strconv.Itoa(h.PID) + ")"
	}
	return name
}

// DiskUsage is the free space of the filesystem that holds a path.
type DiskUsage struct {
	// Path is the path of DiskPaths this measures, e.g. "/srv/www".
	Path string `json:"path"`
	// MeasuredAt is the directory measured: Path itself, or, when Path
	// does not exist yet, its nearest existing parent, on whose
	// filesystem a job would create it.
	MeasuredAt string `json:"measured_at"`
	// FSID is the filesystem's id (stat -f %i): paths with the same id
	// are on the same filesystem.
	FSID        string `json:"fsid"`
	TotalBytes  uint64 `json:"total_bytes"`
	FreeBytes   uint64 `json:"free_bytes"` // available to unprivileged users
	TotalInodes uint64 `json:"total_inodes"`
	FreeInodes  uint64 `json:"free_inodes"`
}

// DiskRequirement is the room a filesystem must have.
type DiskRequirement struct {
	// Path is one of DiskPaths. Required.
	Path string `json:"path"`
	// MinFreeBytes is the least free space; 0 requires none.
	MinFreeBytes uint64 `json:"min_free_bytes,omitempty"`
	// MinFreePercent is the least free space as a percentage (0-100) of
	// the filesystem's size; 0 requires none.
	MinFreePercent int `json:"min_free_percent,omitempty"`
	// MinFreeInodesPercent is the least share (0-100) of free inodes; 0
	// requires none. A filesystem without a fixed number of inodes
	// (btrfs reports 0) always has room.
	MinFreeInodesPercent int `json:"min_free_inodes_percent,omitempty"`
}

// The paths the probe measures, in report order: the root, MariaDB's data
// directory and the site root.
const (
	DiskRoot    = "/"
	DiskMariaDB = "/var/lib/mysql"
	DiskSites   = "/srv/www"
)

// DiskPaths are the paths whose filesystems the probe measures; a
// DiskRequirement must name one of them (the probe script is a constant,
// so a policy cannot ask it to measure another).
func DiskPaths() []string { return []string{DiskRoot, DiskMariaDB, DiskSites} }

// GiB is 2^30 bytes.
const GiB = 1 << 30

// DefaultDisks are the baseline's disk requirements: at least 2 GiB and
// 5% free, and 5% of the inodes free, on each of DiskPaths.
func DefaultDisks() []DiskRequirement {
	var d []DiskRequirement
	for _, p := range DiskPaths() {
		d = append(d, DiskRequirement{Path: p, MinFreeBytes: 2 * GiB, MinFreePercent: 5, MinFreeInodesPercent: 5})
	}
	return d
}

// WithDisk returns a copy that requires d, replacing any requirement of
// the same path in place.
func (p Policy) WithDisk(d DiskRequirement) Policy {
	q := p.clone()
	for i := range q.Disks {
		if q.Disks[i].Path == d.Path {
			q.Disks[i] = d
			return q
		}
	}
	q.Disks = append(q.Disks, d)
	return q
}

// WithoutDisk returns a copy that no longer checks the path's filesystem.
func (p Policy) WithoutDisk(path string) Policy {
	q := p.clone()
	q.Disks = slices.DeleteFunc(q.Disks, func(d DiskRequirement) bool { return d.Path == path })
	return q
}

func validateDisks(ds []DiskRequirement) error {
	seen := map[string]bool{}
	for _, d := range ds {
		if !slices.Contains(DiskPaths(), d.Path) {
			return fmt.Errorf("%w: disk path %q is not one the probe measures (%s)", ErrInvalidPolicy, d.Path, strings.Join(DiskPaths(), ", "))
		}
		if seen[d.Path] {
			return fmt.Errorf("%w: disk path %q listed twice", ErrInvalidPolicy, d.Path)
		}
		seen[d.Path] = true
		if d.MinFreePercent < 0 || d.MinFreePercent > 100 || d.MinFreeInodesPercent < 0 || d.MinFreeInodesPercent > 100 {
			return fmt.Errorf("%w: disk path %q: a percentage outside 0-100", ErrInvalidPolicy, d.Path)
		}
	}
	return nil
}

// booting reports whether h shows a node still in its boot, and what it
// shows of systemd and cloud-init, both named (on a provider's first boot
// both say so: cloud-init's last stage is one of systemd's boot jobs).
func (h *Health) booting() (bool, string) {
	booting := h.SystemState == "initializing" || h.SystemState == "starting" || h.CloudInit == CloudInitRunning
	var parts []string
	if h.SystemState != "" {
		parts = append(parts, "systemd: "+h.SystemState)
	}
	if h.CloudInit != "" {
		parts = append(parts, "cloud-init: "+string(h.CloudInit))
	}
	return booting, strings.Join(parts, ", ")
}

// boot checks that the node has finished booting.
func (e *evaluator) boot() {
	if !e.p.NodeHealth {
		return
	}
	const req = "boot finished"
	switch h := e.health(); {
	case e.blocked != "":
		e.skip("boot", PrereqBoot, "", e.blocked, req)
	case h == nil:
		e.skip("boot", PrereqBoot, "", "", req)
	default:
		if b, obs := h.booting(); b {
			e.fail("boot", PrereqBoot, "", CodeNodeBooting, obs, req)
		} else {
			e.pass("boot", PrereqBoot, "", obs, req)
		}
	}
}

func (e *evaluator) health() *Health {
	if e.obs.Facts == nil {
		return nil
	}
	return e.obs.Facts.Health
}

// remedy replaces the remediation of the reason just added.
func (e *evaluator) remedy(s string) {
	e.reasons[len(e.reasons)-1].Remediation = s
}

// systemHealth checks failed units, the dpkg lock, the disks and a pending
// reboot.
func (e *evaluator) systemHealth() {
	h := e.health()
	if e.p.NodeHealth {
		e.healthCheck("units", "no failed units", h, e.units)
		e.healthCheck("package_manager", "dpkg lock free", h, e.dpkgLock)
		e.healthCheck("reboot", "no reboot pending", h, e.reboot)
	}
	for _, d := range e.p.Disks {
		req := diskRequired(d)
		switch {
		case e.blocked != "":
			e.skip("disk", PrereqHealth, d.Path, e.blocked, req)
		case h == nil:
			e.skip("disk", PrereqHealth, d.Path, "", req)
		default:
			e.disk(d, h, req)
		}
	}
}

func (e *evaluator) healthCheck(name, req string, h *Health, check func(h *Health, req string)) {
	switch {
	case e.blocked != "":
		e.skip(name, PrereqHealth, "", e.blocked, req)
	case h == nil:
		e.skip(name, PrereqHealth, "", "", req)
	default:
		check(h, req)
	}
}

func (e *evaluator) units(h *Health, req string) {
	if h.SystemState == "" && !e.obs.Facts.Systemd {
		e.skip("units", PrereqHealth, "", CodeServiceManagerUnavailable, req)
		return
	}
	if len(h.FailedUnits) == 0 && h.SystemState != "degraded" {
		e.pass("units", PrereqHealth, "", "no failed units", req)
		return
	}
	obs := "degraded"
	if len(h.FailedUnits) > 0 {
		obs = "failed: " + strings.Join(h.FailedUnits, ", ")
	}
	e.fail("units", PrereqHealth, "", CodeSystemDegraded, obs, req)
	if len(h.FailedUnits) > 0 {
		var logs []string
		for _, u := range h.FailedUnits {
			logs = append(logs, "sudo journalctl -u "+u+" -n 50")
		}
		e.remedy("Read why each failed unit failed (" + strings.Join(logs, "; ") + "), fix or disable it, then clear the state (sudo systemctl reset-failed " + strings.Join(h.FailedUnits, " ") + ").")
	}
}

func (e *evaluator) dpkgLock(h *Health, req string) {
	if !h.DpkgLockObserved {
		e.skip("package_manager", PrereqHealth, "", "", req)
		return
	}
	if len(h.DpkgLockHolders) == 0 {
		e.pass("package_manager", PrereqHealth, "", "free", req)
		return
	}
	var held []string
	var pids []string
	for _, x := range h.DpkgLockHolders {
		held = append(held, x.Path+" held by "+x.String())
		if x.PID > 0 && !slices.Contains(pids, strconv.Itoa(x.PID)) {
			pids = append(pids, strconv.Itoa(x.PID))
		}
	}
	e.fail("package_manager", PrereqHealth, "", CodePackageManagerBusy, strings.Join(held, "; "), req)
	if len(pids) > 0 {
		e.remedy("Wait for " + h.DpkgLockHolders[0].String() + " to finish and re-check; see what it is doing (ps -o pid,etime,args -p " + strings.Join(pids, ",") + "), or on a first boot wait for cloud-init's installs (cloud-init status --wait). Never delete the lock files. If the holder is gone but dpkg was interrupted, finish its work: sudo dpkg --configure -a.")
	}
}

func (e *evaluator) reboot(h *Health, req string) {
	if !h.RebootRequired {
		e.pass("reboot", PrereqHealth, "", "not required", req)
		return
	}
	obs := "required"
	if len(h.RebootPackages) > 0 {
		obs = "required by " + strings.Join(h.RebootPackages, ", ")
	}
	e.fail("reboot", PrereqHealth, "", CodeRebootRequired, obs, req)
	if len(h.RebootPackages) > 0 {
		e.remedy("Reboot the node when no job runs on it: sudo reboot. Updates to " + strings.Join(h.RebootPackages, ", ") + " take effect only after it.")
	}
}

func (e *evaluator) disk(d DiskRequirement, h *Health, req string) {
	i := slices.IndexFunc(h.Disks, func(u DiskUsage) bool { return u.Path == d.Path })
	if i < 0 {
		// The probe measures every path of DiskPaths: one it could not
		// is not known to have room.
		e.fail("disk", PrereqHealth, d.Path, CodeDiskSpaceLow, "not measured", req)
		e.remedy("The probe could not measure the filesystem of " + d.Path + ": check it on the node (df -h " + d.Path + "; df -i " + d.Path + "), then re-check.")
		return
	}
	u := h.Disks[i]
	obs := diskObserved(u)
	spaceLow := u.FreeBytes < d.MinFreeBytes || lessPercent(u.FreeBytes, u.TotalBytes, d.MinFreePercent)
	inodesLow := u.TotalInodes > 0 && lessPercent(u.FreeInodes, u.TotalInodes, d.MinFreeInodesPercent)
	low := spaceLow || inodesLow
	if !low {
		e.pass("disk", PrereqHealth, d.Path, obs, req)
		return
	}
	e.fail("disk", PrereqHealth, d.Path, CodeDiskSpaceLow, obs, req)
	at := u.MeasuredAt
	if inodesLow && !spaceLow {
		e.remedy("The filesystem of " + d.Path + " is out of inodes, not space: find the directories with the most files (sudo du -x --inodes -d2 " + at + " | sort -n | tail), remove what is not needed, then re-check.")
		return
	}
	e.remedy("Free space on the filesystem of " + d.Path + " (sudo du -xh -d1 " + at + " | sort -h | tail; sudo apt-get clean; sudo journalctl --vacuum-size=200M) or grow its volume (df -h " + at + "; sudo growpart DISK PART && sudo resize2fs DEVICE), then re-check.")
}

// diskRequired renders a requirement: ">= 2.0 GiB and >= 5% free, >= 5%
// inodes free".
func diskRequired(d DiskRequirement) string {
	var space []string
	if d.MinFreeBytes > 0 {
		space = append(space, ">= "+bytesText(d.MinFreeBytes))
	}
	if d.MinFreePercent > 0 {
		space = append(space, ">= "+strconv.Itoa(d.MinFreePercent)+"%")
	}
	var parts []string
	if len(space) > 0 {
		parts = append(parts, strings.Join(space, " and ")+" free")
	}
	if d.MinFreeInodesPercent > 0 {
		parts = append(parts, ">= "+strconv.Itoa(d.MinFreeInodesPercent)+"% inodes free")
	}
	if len(parts) == 0 {
		return "measured"
	}
	return strings.Join(parts, ", ")
}

// diskObserved renders a measurement: "1.5 GiB (3%) free of 50.0 GiB,
// 91% inodes free, at /srv/www".
func diskObserved(u DiskUsage) string {
	s := bytesText(u.FreeBytes) + " (" + percent(u.FreeBytes, u.TotalBytes) + ") free of " + bytesText(u.TotalBytes)
	if u.TotalInodes > 0 {
		s += ", " + percent(u.FreeInodes, u.TotalInodes) + " inodes free"
	}
	return s + ", at " + u.MeasuredAt
}

// lessPercent reports whether part is less than pct percent of whole
// (part*100 < whole*pct), without overflow.
func lessPercent(part, whole uint64, pct int) bool {
	ah, al := bits.Mul64(part, 100)
	bh, bl := bits.Mul64(whole, uint64(pct))
	return ah < bh || (ah == bh && al < bl)
}

// percent is part of whole in whole percent, rounded down; a part over
// the whole counts as the whole.
func percent(part, whole uint64) string {
	if whole == 0 {
		return "0%"
	}
	part = min(part, whole)
	hi, lo := bits.Mul64(part, 100)
	p, _ := bits.Div64(hi, lo, whole) // hi < whole, as part <= whole
	return strconv.FormatUint(p, 10) + "%"
}

// bytesText renders n bytes in GiB or MiB with one decimal.
func bytesText(n uint64) string {
	switch {
	case n >= GiB:
		return strconv.FormatFloat(float64(n)/GiB, 'f', 1, 64) + " GiB"
	default:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
}
