package sshtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Health is the system state a Node simulates, written into its root the
// way Debian 12 and Ubuntu 24.04 keep it: systemctl is-system-running and
// list-units --state=failed answer from it, run/cloud-init/status.json and
// result.json, run/reboot-required and reboot-required.pkgs (as Ubuntu's
// update-notifier writes them), proc/locks and proc/PID/comm for the dpkg
// lock holders, and stat -f answers from Disks.
type Health struct {
	// SystemState is what `systemctl is-system-running` prints
	// ("starting", "initializing", "running", "degraded", ...). Zero
	// means "degraded" when a unit failed (FailedUnits, or a component
	// whose Service is "failed"), "running" otherwise.
	SystemState string
	// FailedUnits are failed units besides the components' own, with
	// their descriptions. Nil adds none.
	FailedUnits []FailedUnit
	// CloudInit is cloud-init's progress: "" (no cloud-init: no
	// run/cloud-init), readiness.CloudInitRunning (status.json only) or
	// readiness.CloudInitDone (status.json and result.json).
	CloudInit readiness.CloudInitState
	// DpkgLockHolders hold POSIX write locks on the dpkg lock files
	// (Path one of /var/lib/dpkg/lock-frontend and /var/lib/dpkg/lock).
	// Nil holds none.
	DpkgLockHolders []readiness.LockHolder
	// Disks are the filesystems mounted in the node, by mount point.
	// Zero means one: "/" with 40 GiB, 20 GiB free, 2621440 inodes, half
	// free. A mount point other than "/" is created as a directory.
	Disks []Disk
	// RebootPackages, when non-nil, makes a reboot required: it writes
	// run/reboot-required and lists the packages in
	// run/reboot-required.pkgs (empty: the marker alone).
	RebootPackages []string
}

// FailedUnit is a unit systemd lists as failed.
type FailedUnit struct {
	Name        string // e.g. "broken.service"
	Description string // e.g. "Broken unit"; zero means the name
}

// Disk is one mounted filesystem, in 4 KiB blocks.
type Disk struct {
	// MountPoint is where it is mounted, e.g. "/srv/www". Required.
	MountPoint string
	// Blocks, Avail are its size and the blocks unprivileged users may
	// use; Files, FreeFiles its inodes (0: no fixed number, as btrfs).
	Blocks, Avail, Files, FreeFiles uint64
}

func (h Health) clone() Health {
	q := h
	q.FailedUnits = slices.Clone(h.FailedUnits)
	q.DpkgLockHolders = slices.Clone(h.DpkgLockHolders)
	q.Disks = slices.Clone(h.Disks)
	q.RebootPackages = slices.Clone(h.RebootPackages)
	return q
}

// defaultRoot is the root filesystem of Health's zero Disks.
var defaultRoot = Disk{MountPoint: "/", Blocks: 10 << 20, Avail: 5 << 20, Files: 2621440, FreeFiles: 1310720}

func (p Profile) disks() []Disk {
	ds := slices.Clone(p.Health.Disks)
	if !slices.ContainsFunc(ds, func(d Disk) bool { return d.MountPoint == "/" }) {
		ds = append(ds, defaultRoot)
	}
	// Longest mount point first: the first that holds a path is its.
	slices.SortFunc(ds, func(a, b Disk) int { return len(b.MountPoint) - len(a.MountPoint) })
	return ds
}

// failedUnits are the units systemctl lists as failed: the components'
// failed units, then Health.FailedUnits.
func (p Profile) failedUnits() []FailedUnit {
	var out []FailedUnit
	units := p.Units()
	names := make([]string, 0, len(units))
	for u, s := range units {
		if s == "failed" && !slices.Contains([]string{"mysql", "mysqld", "redis"}, u) { // aliases are not listed
			names = append(names, u)
		}
	}
	slices.Sort(names)
	for _, u := range names {
		out = append(out, FailedUnit{Name: u + ".service", Description: u})
	}
	return append(out, p.Health.FailedUnits...)
}

// SystemState is what the node's `systemctl is-system-running` prints.
func (p Profile) SystemState() string {
	switch {
	case p.Health.SystemState != "":
		return p.Health.SystemState
	case len(p.failedUnits()) > 0:
		return "degraded"
	}
	return "running"
}

// systemStateCase is the systemctl stub's is-system-running: the state on
// stdout, exit status 0 only for running (systemd 252 on Debian 12).
func systemStateCase(p Profile) string {
	rc := "1"
	if p.SystemState() == "running" {
		rc = "0"
	}
	return "\tif [ -z \"$quiet\" ]; then printf '%s\\n' " + q(p.SystemState()) + "; fi\n\texit " + rc
}

// listedUnit is a unit systemd has in memory, as list-units prints it.
type listedUnit struct {
	name, load, active, sub, desc string
}

// unitDescription is a component unit's Description as the Debian 12 and
// Ubuntu 24.04 packages write it.
func (p Profile) unitDescription(component string) string {
	switch component {
	case readiness.ComponentNginx:
		return "A high performance web server and a reverse proxy server"
	case readiness.ComponentPHPFPM:
		return "The PHP " + p.phpBranch() + " FastCGI Process Manager"
	case readiness.ComponentMariaDB:
		// The upstream version of the package ("10.11.6" of
		// "1:10.11.6-0+deb12u1"), or of what the tool reports.
		v := p.Components[component].Package
		if _, after, ok := strings.Cut(v, ":"); ok {
			v = after
		}
		if i := strings.LastIndex(v, "-"); i >= 0 {
			v = v[:i]
		}
		if v == "" {
			v, _, _ = strings.Cut(p.Components[component].Version, "-")
		}
		return "MariaDB " + v + " database server"
	case readiness.ComponentRedis:
		return "Advanced key-value store"
	case readiness.ComponentFail2ban:
		return "Fail2Ban Service"
	}
	return component
}

// listedUnits are the units `systemctl list-units --all` lists, sorted by
// name: the components' units that systemd keeps in memory, and
// Health.FailedUnits. Not listed are aliases, missing units, and an
// "inactive" unit, which the fake takes for stopped and disabled with
// nothing referencing it, as the fleet's -stopped nodes are; except
// mariadb's: the package's mariadb.socket, enabled and listening,
// triggers mariadb.service, so systemd keeps it in memory even disabled
// (as on the fleet's Debian 12 node). A masked unit's description is its
// name, as systemd 252 prints it.
func (p Profile) listedUnits() []listedUnit {
	var out []listedUnit
	for name, c := range p.Components {
		names := p.unitNames(name)
		if len(names) == 0 || c.Service == "" || c.Service == "not-found" ||
			(c.Service == "inactive" && name != readiness.ComponentMariaDB) {
			continue
		}
		pr := unitProperties(c.Service)
		u := listedUnit{names[0] + ".service", pr[0], pr[1], pr[2], p.unitDescription(name)}
		if c.Service == "masked" {
			u.desc = u.name
		}
		out = append(out, u)
	}
	for _, f := range p.Health.FailedUnits {
		d := f.Description
		if d == "" {
			d = f.Name
		}
		out = append(out, listedUnit{f.Name, "loaded", "failed", "failed", d})
	}
	slices.SortFunc(out, func(a, b listedUnit) int { return strings.Compare(a.name, b.name) })
	return out
}

// listUnitsCase is the stub's `list-units [--all] [--state=STATE,...]
// --plain --no-legend [--full] [PATTERN...]`: the listed units that match
// a pattern (a shell pattern on the whole name: "nginx" does not match
// nginx.service) and a state (load, active or sub), or without --state and
// --all only those not inactive; one line each, its columns (UNIT LOAD
// ACTIVE SUB DESCRIPTION) padded to the widest of the lines printed, as
// systemd 252 prints them. There is never a JOB column.
func listUnitsCase(p Profile) string {
	var rows strings.Builder
	for _, u := range p.listedUnits() {
		fmt.Fprintf(&rows, "		lu %s %s %s %s %s\n", q(u.name), q(u.load), q(u.active), q(u.sub), q(u.desc))
	}
	return `	l_all= l_state=
	for a in "$@"; do
		case $a in
		--plain | --no-legend | --full | -l | --no-pager) ;;
		--all | -a) l_all=1 ;;
		--state=*) l_state=${a#--state=} ;;
		-*) printf 'sshtest: the systemctl stub does not simulate: %s\n' "$*" >&2; exit 2 ;;
		esac
	done
	case " $* " in *' --plain '*) ;; *) printf 'sshtest: the systemctl stub does not simulate: %s\n' "$*" >&2; exit 2 ;; esac
	case " $* " in *' --no-legend '*) ;; *) printf 'sshtest: the systemctl stub does not simulate: %s\n' "$*" >&2; exit 2 ;; esac
	pad() { P=$1; while [ "${#P}" -lt "$2" ]; do P="$P "; done; }
	w1=0 w2=0 w3=0 w4=0
	lu() {
		if [ -n "$l_state" ]; then
			case ,$l_state, in *,"$2",* | *,"$3",* | *,"$4",*) ;; *) return 0 ;; esac
		elif [ -z "$l_all" ] && [ "$3" = inactive ]; then
			return 0
		fi
		if [ -n "$units" ]; then
			l_m=
			set -f
			for l_p in $units; do
				case $1 in $l_p) l_m=1 ;; esac
			done
			set +f
			[ -n "$l_m" ] || return 0
		fi
		if [ "$l_pass" = w ]; then
			[ "${#1}" -le "$w1" ] || w1=${#1}
			[ "${#2}" -le "$w2" ] || w2=${#2}
			[ "${#3}" -le "$w3" ] || w3=${#3}
			[ "${#4}" -le "$w4" ] || w4=${#4}
			return 0
		fi
		pad "$1" "$w1"
		l_o=$P
		pad "$2" "$w2"
		l_o="$l_o $P"
		pad "$3" "$w3"
		l_o="$l_o $P"
		pad "$4" "$w4"
		printf '%s\n' "$l_o $P $5"
	}
	for l_pass in w p; do
` + rows.String() + `	done
	exit 0`
}

// lockDev is the device the fake root's files are on, as stat %d prints
// it: 0:98, an overlayfs (/proc/locks prints 00:62), as on the fleet's
// nodes.
const lockDev = 98

// lockInodes are the inodes of the dpkg lock files.
var lockInodes = map[string]uint64{"/var/lib/dpkg/lock-frontend": 756976, "/var/lib/dpkg/lock": 756977}

// statStub answers `stat -f -c '%n %i %S %b %a %c %d' DIR...` from the
// profile's Disks and `stat -L -c '%n %d %i' FILE...` for the dpkg lock
// files, as GNU coreutils 9.1 prints them; a file that does not exist gets
// its real message on stderr and exit status 1.
func statStub(p Profile) string {
	var fs strings.Builder
	for i, d := range p.disks() {
		pat := q(strings.TrimSuffix(d.MountPoint, "/")) + "/*"
		if d.MountPoint == "/" {
			pat = "/*"
		} else {
			pat = q(d.MountPoint) + " | " + pat
		}
		fmt.Fprintf(&fs, "\t\t%s) line=\"$a %016x 4096 %d %d %d %d\" ;;\n", pat, 0x7f4a2f83e5c61900+uint64(i), d.Blocks, d.Avail, d.Files, d.FreeFiles)
	}
	var locks strings.Builder
	for _, f := range dpkgLockFiles {
		fmt.Fprintf(&locks, "\t\t%s) line=\"$a %d %d\" ;;\n", q(f), lockDev, lockInodes[f])
	}
	return `#!/bin/sh
# sshtest stub for stat: only -f -c '%n %i %S %b %a %c %d' and -L -c '%n %d %i'
ROOT=${PRESSLUFT_PROBE_ROOT-}
case "$1 $2 $3" in
"-f -c %n %i %S %b %a %c %d") mode=f ;;
"-L -c %n %d %i") mode=L ;;
*) printf 'sshtest: the stat stub does not simulate: %s\n' "$*" >&2; exit 2 ;;
esac
shift 3
rc=0
for a in "$@"; do
	r=${a#"$ROOT"}
	[ -n "$r" ] || r=/
	line=
	if [ -e "$a" ]; then
		if [ $mode = f ]; then
			case $r/ in
` + fs.String() + `		esac
		else
			case $r in
` + locks.String() + `		esac
		fi
	fi
	if [ -z "$line" ]; then
		if [ $mode = f ]; then
			printf "stat: cannot read file system information for '%s': No such file or directory\n" "$a" >&2
		else
			printf "stat: cannot statx '%s': No such file or directory\n" "$a" >&2
		fi
		rc=1
		continue
	fi
	printf '%s\n' "$line"
done
exit $rc
`
}

// dpkgLockFiles are the lock files dpkg and apt take.
var dpkgLockFiles = []string{"/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"}

// writeHealth writes the profile's system state into the root: the mount
// points, var/lib/mysql (with mariadb), the dpkg lock files (Debian-based
// profiles), proc/locks and proc/PID/comm, run/cloud-init and the reboot
// marker.
func writeHealth(dir string, p Profile) error {
	mk := func(rel string) error {
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
			return fmt.Errorf("sshtest: root: %w", err)
		}
		return nil
	}
	for _, rel := range []string{"srv", "proc"} {
		if err := mk(rel); err != nil {
			return err
		}
	}
	for _, d := range p.Health.Disks {
		if err := mk(strings.TrimPrefix(d.MountPoint, "/")); err != nil {
			return err
		}
	}
	if _, ok := p.Components[readiness.ComponentMariaDB]; ok {
		if err := mk("var/lib/mysql"); err != nil {
			return err
		}
	}
	if p.hasDpkg() {
		for _, f := range dpkgLockFiles {
			if err := writeFile(dir, f, "", 0o640); err != nil {
				return err
			}
		}
	}
	// /proc/locks as Linux 6.1 prints it: a POSIX lock of mariadbd's
	// (not a dpkg lock) first, as on a real node, then the holders.
	var locks strings.Builder
	n := 1
	if _, ok := p.Components[readiness.ComponentMariaDB]; ok {
		fmt.Fprintf(&locks, "%d: POSIX  ADVISORY  WRITE 78 00:%02x:794663 0 EOF\n", n, lockDev)
		n++
		if err := writeFile(dir, "proc/78/comm", "mariadbd\n", 0o444); err != nil {
			return err
		}
	}
	for _, h := range p.Health.DpkgLockHolders {
		ino, ok := lockInodes[h.Path]
		if !ok {
			return fmt.Errorf("sshtest: root: %q is not a dpkg lock file", h.Path)
		}
		fmt.Fprintf(&locks, "%d: POSIX  ADVISORY  WRITE %d 00:%02x:%d 0 EOF\n", n, h.PID, lockDev, ino)
		n++
		if h.PID > 0 && h.Command != "" {
			if err := writeFile(dir, "proc/"+strconv.Itoa(h.PID)+"/comm", h.Command+"\n", 0o444); err != nil {
				return err
			}
		}
	}
	if err := writeFile(dir, "proc/locks", locks.String(), 0o444); err != nil {
		return err
	}
	switch p.Health.CloudInit {
	case readiness.CloudInitRunning, readiness.CloudInitDone:
		if err := writeFile(dir, "run/cloud-init/status.json", cloudInitStatus(p.Health.CloudInit == readiness.CloudInitDone), 0o644); err != nil {
			return err
		}
		if p.Health.CloudInit == readiness.CloudInitDone {
			if err := writeFile(dir, "run/cloud-init/result.json", "{\n \"v1\": {\n  \"datasource\": \"DataSourceNoCloud [seed=/var/lib/cloud/seed/nocloud-net]\",\n  \"errors\": []\n }\n}\n", 0o644); err != nil {
				return err
			}
		}
	}
	if p.Health.RebootPackages != nil {
		// update-notifier's notify-reboot-required writes the marker's
		// line and appends each package once.
		if err := writeFile(dir, "run/reboot-required", "*** System restart required ***\n", 0o644); err != nil {
			return err
		}
		var b strings.Builder
		for _, pkg := range p.Health.RebootPackages {
			b.WriteString(pkg + "\n")
		}
		if err := writeFile(dir, "run/reboot-required.pkgs", b.String(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cloudInitStatus is an abridged /run/cloud-init/status.json: the probe
// only asks whether it exists.
func cloudInitStatus(done bool) string {
	stage := `"modules-final"`
	if done {
		stage = "null"
	}
	return "{\n \"v1\": {\n  \"datasource\": \"DataSourceNoCloud [seed=/var/lib/cloud/seed/nocloud-net]\",\n  \"stage\": " + stage + "\n }\n}\n"
}

// BootingProfile is ReadyProfile still in its first boot: systemd
// starting and cloud-init running.
func BootingProfile() Profile {
	p := ReadyProfile()
	p.Name = "booting"
	p.Health.SystemState = "starting"
	p.Health.CloudInit = readiness.CloudInitRunning
	return p
}

// DegradedProfile is ReadyProfile with an unrelated unit failed
// (broken.service), so systemd says degraded.
func DegradedProfile() Profile {
	p := ReadyProfile()
	p.Name = "degraded"
	p.Health.FailedUnits = []FailedUnit{{Name: "broken.service", Description: "Broken unit"}}
	return p
}

// DpkgLockedProfile is ReadyProfile while apt-get installs a package:
// apt-get holds /var/lib/dpkg/lock-frontend and its dpkg /var/lib/dpkg/lock.
func DpkgLockedProfile() Profile {
	p := ReadyProfile()
	p.Name = "dpkg-locked"
	p.Health.DpkgLockHolders = []readiness.LockHolder{
		{Path: "/var/lib/dpkg/lock-frontend", PID: 581, Command: "apt-get"},
		{Path: "/var/lib/dpkg/lock", PID: 594, Command: "dpkg"},
	}
	return p
}

// DiskLowProfile is ReadyProfile whose site root /srv/www is a full
// 64 MiB volume (inodes to spare).
func DiskLowProfile() Profile {
	p := ReadyProfile()
	p.Name = "disk-low"
	p.Health.Disks = []Disk{{MountPoint: "/srv/www", Blocks: 16384, Avail: 0, Files: 16384, FreeFiles: 16380}}
	return p
}

// RebootRequiredProfile is ReadyProfile after an upgrade that needs a
// reboot (a new kernel and libc).
func RebootRequiredProfile() Profile {
	p := ReadyProfile()
	p.Name = "reboot-required"
	p.Health.RebootPackages = []string{"linux-image-6.8.0-51-generic", "linux-base", "libc6"}
	return p
}

// HealthProfiles are the node-health profiles, in a stable order.
func HealthProfiles() []Profile {
	return []Profile{BootingProfile(), DegradedProfile(), DpkgLockedProfile(), DiskLowProfile(), RebootRequiredProfile()}
}
