package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Tools are the host commands the fleet runs, with the Debian packages
// that carry them.
var Tools = map[string]string{
	"debootstrap":    "debootstrap",
	"systemd-nspawn": "systemd-container",
	"ip":             "iproute2",
	"nsenter":        "util-linux",
	"chroot":         "coreutils",
}

// CanRun says whether this machine can boot a fleet, without booting one:
// root, the tools, a network namespace and a cgroup of its own (what an
// unprivileged container or a user namespace cannot make). The error says
// what is missing and how to get it.
func CanRun() error {
	if os.Geteuid() != 0 {
		return errors.New("fleet: needs root (network namespaces, overlay mounts, systemd-nspawn)")
	}
	var missing []string
	for bin, pkg := range Tools {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" (package "+pkg+")")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("fleet: missing %v: apt-get install debootstrap systemd-container iproute2", missing)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ns := fmt.Sprintf("plf-check-%d", os.Getpid())
	if err := run(ctx, "ip", "netns", "add", ns); err != nil {
		return fmt.Errorf("fleet: cannot make a network namespace here: %w", err)
	}
	if err := run(ctx, "ip", "netns", "del", ns); err != nil {
		return fmt.Errorf("fleet: network namespace %s: %w", ns, err)
	}
	for _, dir := range nodeCgroups(cgroupBase+"-check", fmt.Sprintf("%d", os.Getpid())) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("fleet: cannot make a cgroup here (a node needs its own): %w", err)
		}
		_ = syscall.Rmdir(dir)
		_ = syscall.Rmdir(filepath.Dir(dir))
	}
	return nil
}
