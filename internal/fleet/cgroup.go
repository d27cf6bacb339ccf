package fleet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// cgroupBase names the directory, at the root of each cgroup hierarchy
// systemd uses, that holds one cgroup per node (Config.cgroupParent).
const cgroupBase = "pressluft-fleet"

// cgroupMounts are the hierarchies nspawn and the node's systemd manage:
// the unified one (cgroup v2, alone or beside v1) and, on a hybrid host,
// v1's name=systemd. Each exists only where the host mounts it.
var cgroupMounts = []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"}

// nodeCgroups returns the cgroups, one per hierarchy the host has, that
// node netns's nspawn starts in. Started in the caller's cgroup, every
// nspawn of a fleet splits that same cgroup into the same supervisor and
// payload children, so all the nodes' systemds shared one tree: seen as
// units failing at boot with status 219/CGROUP, "Failed to kill control
// group ...: Input/output error", and a node whose
// systemd-user-sessions.service failed refusing logins (/run/nologin).
func nodeCgroups(parent, netns string) []string {
	var dirs []string
	for _, m := range cgroupMounts {
		if !exists(filepath.Join(m, "cgroup.procs")) {
			continue
		}
		if m == "/sys/fs/cgroup" && len(dirs) > 0 {
			continue // a hybrid host: its v2 is under unified
		}
		dirs = append(dirs, filepath.Join(m, parent, netns))
	}
	return dirs
}

// makeCgroups creates dirs (and their parents).
func makeCgroups(dirs []string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	return nil
}

// removeCgroup removes cgroup dir and every cgroup under it, deepest
// first (a cgroup goes with rmdir, once it has no processes and no
// children), then its parent when that is empty. A missing dir is not an
// error.
func removeCgroup(dir string) error {
	if !strings.Contains(filepath.Dir(dir), "/"+cgroupBase) {
		return fmt.Errorf("cgroup: %s is not a fleet cgroup", dir)
	}
	if err := rmCgroupTree(dir); err != nil {
		return err
	}
	_ = syscall.Rmdir(filepath.Dir(dir)) // busy while other nodes' remain
	return nil
}

func rmCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("cgroup: rmdir %s: %w", dir, err)
	}
	return nil
}

// nspawnInCgroups is the command that moves itself into dirs and then
// becomes systemd-nspawn with args: the PID started is nspawn's.
func nspawnInCgroups(dirs []string, args ...string) (string, []string) {
	const script = `while [ "$1" != -- ]; do echo $$ >"$1/cgroup.procs" || exit 125; shift; done; shift; exec systemd-nspawn "$@"`
	argv := append([]string{"-c", script, "sh"}, dirs...)
	argv = append(argv, "--")
	return "/bin/sh", append(argv, args...)
}
