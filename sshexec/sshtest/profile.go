package sshtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Profile describes the machine a Node simulates. The zero Profile is a
// reachable host that accepts the client key and runs commands with
// passwordless sudo, but has no os-release, no systemd and no runtime
// components. Use ReadyProfile and the other constructors for realistic
// hosts.
//
// A Node copies the Profile it is given (NewNode, SetProfile); changing the
// caller's value afterwards has no effect.
type Profile struct {
	// Name labels the profile (e.g. "ready"); informational only. Zero
	// means unnamed.
	Name string
	// Hostname is the host name the node reports (sudo messages). Zero
	// means "sshtest".
	Hostname string
	// OS is written to etc/os-release. The zero value (empty ID and empty
	// Raw) means the file does not exist.
	OS OS
	// Systemd makes run/systemd/system exist and systemctl answer from
	// the components' Service states. False means systemctl prints the
	// real "System has not been booted with systemd" error.
	Systemd bool
	// Sudo is the sudo policy for the login user. The zero value is
	// SudoNoPassword.
	Sudo SudoPolicy
	// Components are the installed runtime components, keyed by
	// readiness.ComponentNginx etc. An absent key means not installed (no
	// executable). Nil means nothing is installed.
	Components map[string]Component
	// PHPExtensions are the modules `php-fpmX.Y -m` lists under
	// [PHP Modules] (printed sorted case-insensitively, as PHP does).
	// Nil lists none. Only used when the php-fpm component is installed.
	// Those that are not compiled in also get an ini file in
	// etc/php/X.Y/fpm/conf.d (see PHPConfD).
	PHPExtensions []string
	// ExtraPackages are dpkg database entries besides the components'
	// packages, e.g. a removed package whose configuration files remain
	// (Status "config-files"). Nil adds none.
	ExtraPackages []Package
	// AuthRejected makes the node reject every public key. False accepts
	// the node's client key (and only it).
	AuthRejected bool
	// AuthorizedKeys are accepted in addition to the node's own client
	// key, like lines of ~/.ssh/authorized_keys (for tests that bring
	// their own key file). Nil adds none.
	AuthorizedKeys []ssh.PublicKey
	// Shell is the simulated login shell. The zero value is ShellSh.
	Shell Shell
	// ShellStartupOutput is what the login shell's startup files print
	// on stdout before every command, like a ~/.bashrc that echoes before
	// its interactive check (sshd's bash reads ~/.bashrc for commands
	// too). Zero prints nothing.
	ShellStartupOutput string
	// ExecRefused makes the node refuse exec and shell requests at the
	// protocol level (the client sees the request fail). False accepts
	// them.
	ExecRefused bool
	// Fault is a transport fault to inject. The zero value is FaultNone.
	Fault Fault
	// FaultDelay is how long FaultSlowHandshake waits before sending the
	// SSH banner. Zero means DefaultFaultDelay.
	FaultDelay time.Duration
	// Health is the node's system state: boot, failed units, the dpkg
	// lock, free space, a pending reboot. The zero value is a settled
	// node: systemd running (degraded when a unit failed), no
	// cloud-init, the dpkg lock free, 20 GiB of 40 GiB free on one
	// filesystem, no reboot pending.
	Health Health
	// FaultConnections limits Fault to the first FaultConnections TCP
	// connections accepted after NewNode or SetProfile; later ones are
	// served as with FaultNone (sshd past MaxStartups for a moment).
	// Zero means every connection. FaultRefuseTCP ignores it.
	FaultConnections int
}

// DefaultFaultDelay is the banner delay of FaultSlowHandshake when
// Profile.FaultDelay is zero.
const DefaultFaultDelay = 2 * time.Second

// FloodBytes is how many bytes of output FaultFlood writes.
const FloodBytes = 8 << 20

// OS identifies the simulated operating system.
type OS struct {
	// OSRelease holds ID and VERSION_ID. An empty ID (with empty Raw)
	// means the host has no etc/os-release.
	readiness.OSRelease
	// PrettyName is PRETTY_NAME, e.g. "Ubuntu 24.04.1 LTS". Zero means
	// derived from ID and VersionID.
	PrettyName string
	// Raw, when non-empty, is written to etc/os-release verbatim instead
	// of the file generated from the other fields (for odd formats).
	Raw string
}

// Component is one installed runtime component.
type Component struct {
	// Version is the version the tool reports, e.g. "1.24.0", or for
	// mariadb the full server version "10.11.8-MariaDB-0ubuntu0.24.04.1".
	// For php-fpm it also names the binary and unit: "8.3.6" installs
	// php-fpm8.3 with unit php8.3-fpm. Required.
	Version string
	// Package is the full version of the installed Debian package that
	// provides the component, e.g. "1.24.0-2ubuntu7.1"; dpkg-query lists
	// it (on Debian-based profiles). The zero value means the component
	// is not from a package (built from source, a phar): dpkg knows
	// nothing of it.
	Package string
	// PackageName is the name of that package. Zero means the package
	// Ubuntu 24.04 and Debian 12 install it from: nginx, phpX.Y-fpm,
	// mariadb-server-core, redis-server, wp-cli, fail2ban, rsync, unzip,
	// curl.
	PackageName string
	// Path is the executable's absolute path on the node, e.g.
	// "/usr/local/sbin/nginx" for a source build. Zero means where the
	// package installs it (/usr/sbin/nginx, /usr/sbin/php-fpmX.Y, ...).
	Path string
	// Service is the state of the component's unit as readiness
	// reports it: its ActiveState ("active", "inactive", "failed",
	// "activating"), or "masked" or "not-found", which are LoadStates
	// (systemctl is-active prints "inactive" for both, as systemd does,
	// and systemctl show prints LoadState=masked or not-found). The zero
	// value means the component has no unit: not-found.
	Service readiness.ServiceState
}

// SudoPolicy is how `sudo` answers the login user.
type SudoPolicy int

const (
	// SudoNoPassword runs any command without asking (NOPASSWD:ALL).
	SudoNoPassword SudoPolicy = iota
	// SudoPassword asks for a password: `sudo -n` fails with
	// "sudo: a password is required".
	SudoPassword
	// SudoNotPermitted is a user outside sudoers: like sudo 1.9, `sudo -n
	// CMD` fails with "sudo: a password is required", and only `sudo -n
	// -v` says "Sorry, user U may not run sudo on H."
	SudoNotPermitted
	// SudoMissing means sudo is not installed (no /usr/bin/sudo).
	SudoMissing
	// SudoRequireTTY refuses without a terminal: "sudo: sorry, you must
	// have a tty to run sudo".
	SudoRequireTTY
)

var sudoNames = []string{"nopasswd", "password", "not-permitted", "missing", "requiretty"}

func (s SudoPolicy) String() string {
	if int(s) >= 0 && int(s) < len(sudoNames) {
		return sudoNames[s]
	}
	return fmt.Sprintf("SudoPolicy(%d)", int(s))
}

// Shell is the simulated login shell of the user.
type Shell int

const (
	// ShellSh runs every exec command as `/bin/sh -c COMMAND`.
	ShellSh Shell = iota
	// ShellNologin answers every exec with "This account is currently not
	// available." on stdout and exit status 1, like /usr/sbin/nologin.
	ShellNologin
)

func (s Shell) String() string {
	switch s {
	case ShellSh:
		return "sh"
	case ShellNologin:
		return "nologin"
	}
	return fmt.Sprintf("Shell(%d)", int(s))
}

// Fault is a transport fault a Node injects.
type Fault int

const (
	// FaultNone behaves like a healthy sshd.
	FaultNone Fault = iota
	// FaultRefuseTCP closes the listener: connecting to Addr is refused.
	// The port is not held, so another process could take it.
	FaultRefuseTCP
	// FaultSilent accepts TCP connections and never sends anything.
	FaultSilent
	// FaultGarbageBanner sends an HTTP error response instead of an SSH
	// banner, then closes the connection.
	FaultGarbageBanner
	// FaultSlowHandshake waits Profile.FaultDelay before the SSH banner,
	// then behaves normally.
	FaultSlowHandshake
	// FaultHangAfterExec accepts the exec request and then never writes,
	// exits or closes the channel.
	FaultHangAfterExec
	// FaultDropMidOutput runs the command, writes the first half of its
	// stdout (stderr is dropped) and closes the TCP connection without an
	// exit status.
	FaultDropMidOutput
	// FaultFlood ignores the command, writes FloodBytes of output to
	// stdout and exits 0.
	FaultFlood
	// FaultExitNoStatus runs the command normally, then closes the channel
	// without sending an exit status.
	FaultExitNoStatus
	// FaultExitSignal runs the command normally, then reports that it was
	// killed by signal KILL instead of sending an exit status.
	FaultExitSignal
	// FaultDropBeforeBanner accepts the TCP connection, writes
	// "Exceeded MaxStartups\r\n" and closes it before any SSH banner, as
	// OpenSSH's sshd does to a connection past MaxStartups: the client
	// reads that line and EOF where the banner should be.
	// Not in Profiles (a retrying client turns it into a pass or
	// ssh_connection_dropped, depending on FaultConnections).
	FaultDropBeforeBanner
	// FaultResetBeforeBanner accepts the TCP connection and resets it
	// (SO_LINGER 0) before sending anything: the client reads ECONNRESET.
	// Not in Profiles.
	FaultResetBeforeBanner
	// FaultDropInKex sends an OpenSSH banner, reads the client's first
	// bytes and closes the connection during key exchange. Not in
	// Profiles.
	FaultDropInKex
)

var faultNames = []string{
	"none", "refuse-tcp", "silent", "garbage-banner", "slow-handshake",
	"hang-after-exec", "drop-mid-output", "flood", "exit-no-status", "exit-signal",
	"drop-before-banner", "reset-before-banner", "drop-in-kex",
}

func (f Fault) String() string {
	if int(f) >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Clone returns a deep copy of p.
func (p Profile) Clone() Profile {
	q := p
	q.Components = maps.Clone(p.Components)
	q.PHPExtensions = slices.Clone(p.PHPExtensions)
	q.AuthorizedKeys = slices.Clone(p.AuthorizedKeys)
	q.ExtraPackages = slices.Clone(p.ExtraPackages)
	q.Health = p.Health.clone()
	return q
}

func (p Profile) hostname() string {
	if p.Hostname == "" {
		return "sshtest"
	}
	return p.Hostname
}

func (p Profile) faultDelay() time.Duration {
	if p.FaultDelay <= 0 {
		return DefaultFaultDelay
	}
	return p.FaultDelay
}

// phpBranch returns "8.3" for php-fpm version "8.3.6", or "" when php-fpm
// is not installed or its version has no minor part.
func (p Profile) phpBranch() string {
	c, ok := p.Components[readiness.ComponentPHPFPM]
	if !ok {
		return ""
	}
	parts := strings.SplitN(c.Version, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// PHPUnit returns the systemd unit of the profile's php-fpm ("php8.3-fpm"),
// or "" when php-fpm is not installed.
func (p Profile) PHPUnit() string {
	if b := p.phpBranch(); b != "" {
		return "php" + b + "-fpm"
	}
	return ""
}

// Units returns the systemd unit names of the installed components that
// have a Service state, with that state.
func (p Profile) Units() map[string]readiness.ServiceState {
	units := map[string]readiness.ServiceState{}
	for name, c := range p.Components {
		if c.Service == "" {
			continue
		}
		for _, u := range p.unitNames(name) {
			units[u] = c.Service
		}
	}
	return units
}

// unitNames lists a component's unit and its aliases, as installed by the
// Ubuntu packages.
func (p Profile) unitNames(component string) []string {
	switch component {
	case readiness.ComponentNginx:
		return []string{"nginx"}
	case readiness.ComponentPHPFPM:
		if u := p.PHPUnit(); u != "" {
			return []string{u}
		}
	case readiness.ComponentMariaDB:
		return []string{"mariadb", "mysql", "mysqld"}
	case readiness.ComponentRedis:
		return []string{"redis-server", "redis"}
	case readiness.ComponentFail2ban:
		return []string{"fail2ban"}
	}
	return nil
}
