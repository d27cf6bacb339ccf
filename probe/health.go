package probe

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/readiness"
)

// healthKeys are the record keys of the node's system state (protocol 3).
var healthKeys = []string{
	"system.state", "system.failed", "cloud_init.status", "cloud_init.result",
	"reboot.required", "reboot.pkgs", "disk", "dpkg.lock_observed", "dpkg.lock_holders",
}

// dpkgLocks are the lock files the script checks.
var dpkgLocks = []string{"/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"}

var (
	// systemStatePattern is a state systemctl is-system-running prints.
	systemStatePattern = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)
	// unitPattern is a unit name as systemd allows it.
	unitPattern = regexp.MustCompile(`^[A-Za-z0-9:_.@\\-]{1,255}\.[a-z]{3,9}$`)
	// packagePattern is a Debian package name.
	packagePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]{0,127}$`)
	// fsidPattern is the filesystem id stat -f %i prints (hex).
	fsidPattern = regexp.MustCompile(`^[0-9a-f]{1,16}$`)
	// dirPattern is a directory the script measures.
	dirPattern = regexp.MustCompile(`^/[a-z/]{0,63}$`)
)

// yesNo reads a record that must be "yes" or "no".
func (r *report) yesNo(key string) (bool, error) {
	v, err := r.need(key)
	switch {
	case err != nil:
		return false, err
	case v == "yes":
		return true, nil
	case v == "no":
		return false, nil
	}
	return false, invalid(r.byKey[key].line, key+" is neither yes nor no")
}

// health reads the system-state records.
func (r *report) health(systemd bool) (*readiness.Health, error) {
	h := &readiness.Health{}
	if systemd {
		st, err := r.need("system.state")
		if err != nil {
			return nil, err
		}
		if st != "" && !systemStatePattern.MatchString(st) {
			return nil, invalid(r.byKey["system.state"].line, "system.state is not a system state")
		}
		h.SystemState = st
		if st == "degraded" {
			failed, err := r.need("system.failed")
			if err != nil {
				return nil, err
			}
			for _, u := range lines(failed) {
				if !unitPattern.MatchString(u) {
					return nil, invalid(r.byKey["system.failed"].line, "system.failed holds a line that is not a unit name")
				}
				if !slices.Contains(h.FailedUnits, u) {
					h.FailedUnits = append(h.FailedUnits, u)
				}
			}
		}
	}
	status, err := r.yesNo("cloud_init.status")
	if err != nil {
		return nil, err
	}
	result, err := r.yesNo("cloud_init.result")
	if err != nil {
		return nil, err
	}
	switch {
	case result:
		h.CloudInit = readiness.CloudInitDone
	case status:
		h.CloudInit = readiness.CloudInitRunning
	}
	if h.RebootRequired, err = r.yesNo("reboot.required"); err != nil {
		return nil, err
	}
	if _, ok := r.byKey["reboot.pkgs"]; ok && h.RebootRequired {
		pkgs, _ := r.need("reboot.pkgs")
		for _, p := range lines(pkgs) {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if !packagePattern.MatchString(p) {
				return nil, invalid(r.byKey["reboot.pkgs"].line, "reboot.pkgs holds a line that is not a package name")
			}
			if !slices.Contains(h.RebootPackages, p) {
				h.RebootPackages = append(h.RebootPackages, p)
			}
		}
	}
	if h.Disks, err = r.disks(); err != nil {
		return nil, err
	}
	if h.DpkgLockObserved, err = r.yesNo("dpkg.lock_observed"); err != nil {
		return nil, err
	}
	holders, err := r.need("dpkg.lock_holders")
	if err != nil {
		return nil, err
	}
	if holders != "" && !h.DpkgLockObserved {
		return nil, invalid(r.byKey["dpkg.lock_holders"].line, "dpkg.lock_holders without dpkg.lock_observed")
	}
	for _, l := range lines(holders) {
		x, ok := lockHolder(l)
		if !ok {
			return nil, invalid(r.byKey["dpkg.lock_holders"].line, "dpkg.lock_holders holds a malformed line")
		}
		if x.Path != "" && !slices.Contains(h.DpkgLockHolders, x) {
			h.DpkgLockHolders = append(h.DpkgLockHolders, x)
		}
	}
	return h, nil
}

// lines splits a record's value into its lines; "" has none.
func lines(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}

// lockHolder reads "PATH TYPE PID COMM". An OFD lock's PID is -1 (it
// names no process). A lock of another type is no holder: dpkg and apt
// lock with fcntl, so a flock(2) on the file does not keep them out
// (measured on a Debian 12 node), and is returned with an empty Path.
func lockHolder(l string) (readiness.LockHolder, bool) {
	f := strings.SplitN(l, " ", 4)
	if len(f) < 3 || !slices.Contains(dpkgLocks, f[0]) {
		return readiness.LockHolder{}, false
	}
	comm := ""
	if len(f) == 4 {
		comm = f[3]
	}
	if len(comm) > 64 || !utf8.ValidString(comm) || strings.IndexFunc(comm, unicode.IsControl) >= 0 {
		return readiness.LockHolder{}, false
	}
	x := readiness.LockHolder{Path: f[0], Command: comm}
	switch {
	case f[2] == "-1":
	case isCount([]byte(f[2])):
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid > 1<<22 {
			return readiness.LockHolder{}, false
		}
		x.PID = pid
	default:
		return readiness.LockHolder{}, false
	}
	switch f[1] {
	case "POSIX":
	case "OFDLCK":
		x.PID = 0
		if f[2] != "-1" {
			return readiness.LockHolder{}, false
		}
	default:
		return readiness.LockHolder{}, false
	}
	return x, true
}

// disks reads the disk record: "PATH DIR FSID BSIZE BLOCKS AVAIL FILES
// FFREE" per path of readiness.DiskPaths measured, in that order, each at
// most once.
func (r *report) disks() ([]readiness.DiskUsage, error) {
	v, err := r.need("disk")
	if err != nil {
		return nil, err
	}
	bad := func(reason string) error { return invalid(r.byKey["disk"].line, "disk: "+reason) }
	var out []readiness.DiskUsage
	next := 0
	paths := readiness.DiskPaths()
	for _, l := range lines(v) {
		f := strings.Split(l, " ")
		if len(f) != 8 {
			return nil, bad("a line without eight fields")
		}
		i := slices.Index(paths, f[0])
		if i < next {
			return nil, bad("a path not measured, or out of order")
		}
		next = i + 1
		if !dirPattern.MatchString(f[1]) || (f[1] != "/" && !strings.HasPrefix(f[0]+"/", f[1]+"/")) {
			return nil, bad("a directory that does not hold its path")
		}
		if !fsidPattern.MatchString(f[2]) {
			return nil, bad("a malformed filesystem id")
		}
		var n [5]uint64
		for j := range n {
			if !isCount([]byte(f[3+j])) && !isBig(f[3+j]) {
				return nil, bad("a malformed number")
			}
			n[j], err = strconv.ParseUint(f[3+j], 10, 64)
			if err != nil {
				return nil, bad("a malformed number")
			}
		}
		bsize, blocks, avail, files, ffree := n[0], n[1], n[2], n[3], n[4]
		if bsize == 0 || blocks > (1<<63)/bsize || avail > blocks || ffree > files {
			return nil, bad("inconsistent numbers")
		}
		out = append(out, readiness.DiskUsage{
			Path: f[0], MeasuredAt: f[1], FSID: f[2],
			TotalBytes: blocks * bsize, FreeBytes: avail * bsize,
			TotalInodes: files, FreeInodes: ffree,
		})
	}
	return out, nil
}

// isBig reports whether s is a decimal number of up to 20 digits without
// leading zeros (isCount allows only 6).
func isBig(s string) bool {
	if len(s) == 0 || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
