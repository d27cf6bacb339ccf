package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Suite and Mirror are the Debian release the base root is built from and
// the mirror debootstrap fetches it from.
const (
	Suite  = "bookworm"
	Mirror = "http://deb.debian.org/debian"
)

// basePackages are installed into the base root by debootstrap, on top of
// minbase. python3-systemd lets fail2ban read sshd's journal (a minbase root
// has no syslog, so no /var/log/auth.log); nftables is fail2ban's default
// ban action on Debian 12.
var basePackages = []string{
	"openssh-server", "sudo", "systemd", "systemd-sysv", "dbus", "netbase", "iproute2",
	"nginx", "php8.2-fpm", "php8.2-redis", "mariadb-server", "redis-server",
	"fail2ban", "python3-systemd", "nftables", "rsync", "unzip", "curl",
	"cloud-init", "python3-cffi-backend", // debootstrap does not resolve the virtual python3-cffi-backend-api-* python3-cryptography needs
}

// baseSetup runs in the finished debootstrap root (chroot) once. Anything
// per node (host key, client key, hostname, profile) is done at Up, in the
// node's overlay.
const baseSetup = `set -eu
cat >/usr/local/bin/wp <<'WP'
#!/bin/sh
# Stand-in for wp-cli (Debian 12 has no package): the probe checks presence.
case "${1-}" in
--version) echo "WP-CLI 2.10.0" ;;
*) echo "wp: pressluft fleet stand-in for wp-cli" >&2; exit 1 ;;
esac
WP
chmod 0755 /usr/local/bin/wp
rm -f /etc/ssh/ssh_host_*
cat >/etc/ssh/sshd_config.d/fleet.conf <<'SSHD'
HostKey /etc/ssh/ssh_host_ed25519_key
LogLevel VERBOSE
SSHD
# cloud-init is installed so a profile can run the real one (a provider's
# first boot); every other node has it disabled, as a VM whose first boot
# is long over would not run it again. Its datasource is a NoCloud seed
# the profile writes (no metadata service: the nodes have no network).
touch /etc/cloud/cloud-init.disabled
printf 'datasource_list: [ NoCloud, None ]\n' >/etc/cloud/cloud.cfg.d/90-fleet.cfg
mkdir -p /etc/fail2ban/jail.d
cat >/etc/fail2ban/jail.d/fleet.conf <<'F2B'
[sshd]
enabled = true
backend = systemd
# Debian 12's unit is ssh.service: fail2ban's default sshd journalmatch
# (_SYSTEMD_UNIT=sshd.service) reads nothing there (seen on the fleet:
# "Total failed: 0" after a dozen failed logins).
journalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd
F2B
useradd --create-home --shell /bin/bash ` + User + `
install -d -m 0700 -o ` + User + ` -g ` + User + ` /home/` + User + `/.ssh
: >/etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/*
`

// recipe is what the base root is a function of: when it changes, the
// cached root is rebuilt.
func recipe() string {
	h := sha256.New()
	fmt.Fprintf(h, "suite %s\nmirror %s\nvariant minbase\npackages %s\nsetup\n%s", Suite, Mirror,
		strings.Join(basePackages, ","), baseSetup)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Base builds the base root cfg's fleets boot from, unless the cache
// already has one of the current recipe (built false), and says how long
// that took: what `fleet base` runs before the fleet tests, so that CI's
// log shows the build apart from the tests. Root only.
func Base(ctx context.Context, cfg Config) (built bool, took time.Duration, err error) {
	cfg = cfg.withDefaults()
	if os.Geteuid() != 0 {
		return false, 0, errNotRoot
	}
	start := time.Now()
	logf := func(format string, args ...any) { cfg.Logger.Info(fmt.Sprintf(format, args...)) }
	_, built, err = ensureBase(ctx, cfg.CacheDir, logf)
	return built, time.Since(start), err
}

// ensureBase returns the cached base root under cacheDir, building it
// first when no root of the current recipe is there. It reports whether it
// built one. Roots of other recipes are removed, unless a running node
// (of another instance) still has one mounted. Fleets of several instances
// build it once: the build holds a lock in cacheDir.
func ensureBase(ctx context.Context, cacheDir string, logf func(string, ...any)) (root string, built bool, err error) {
	id := recipe()
	final := filepath.Join(cacheDir, "base-"+id)
	root = filepath.Join(final, "root")
	if _, err := os.Stat(filepath.Join(final, "complete")); err == nil {
		return root, false, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("fleet: base: %w", err)
	}
	unlock, err := lock(cacheDir)
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(final, "complete")); err == nil {
		return root, false, nil // another instance built it while this one waited
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	olds, _ := filepath.Glob(filepath.Join(cacheDir, "base-*"))
	olds2, _ := filepath.Glob(filepath.Join(cacheDir, "build-*"))
	for _, old := range append(olds, olds2...) {
		if strings.Contains(string(mounts), old+"/") {
			logf("fleet: keeping %s: a running node still has it mounted", old)
			continue
		}
		if err := os.RemoveAll(old); err != nil {
			return "", false, fmt.Errorf("fleet: base: remove stale %s: %w", old, err)
		}
	}
	debs := filepath.Join(cacheDir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", false, fmt.Errorf("fleet: base: %w", err)
	}
	tmp := filepath.Join(cacheDir, "build-"+id)
	start := time.Now()
	logf("fleet: building base root %s (debootstrap %s, recipe %s)", final, Suite, id)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--cache-dir="+debs,
		"--include="+strings.Join(basePackages, ","), Suite, filepath.Join(tmp, "root"), Mirror)
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("fleet: base: debootstrap: %w\n%s", err, tail(out, 40))
	}
	cmd = exec.CommandContext(ctx, "chroot", filepath.Join(tmp, "root"), "/bin/sh", "-c", baseSetup)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("fleet: base: setup: %w\n%s", err, tail(out, 40))
	}
	if err := os.WriteFile(filepath.Join(tmp, "recipe"), []byte(recipeText()), 0o644); err != nil {
		return "", false, fmt.Errorf("fleet: base: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return "", false, fmt.Errorf("fleet: base: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", false, fmt.Errorf("fleet: base: %w", err)
	}
	logf("fleet: base root built in %s", time.Since(start).Round(time.Second))
	return root, true, nil
}

func recipeText() string {
	return fmt.Sprintf("recipe %s\nsuite %s\nmirror %s\npackages %s\n\n%s", recipe(), Suite, Mirror,
		strings.Join(basePackages, " "), baseSetup)
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errNotRoot = errors.New("fleet: must run as root")
