package readiness

import (
	"fmt"
	"strings"
	"time"
)

// Lifecycle is the node's provider/provisioning status as the control plane
// records it. The zero value means active.
type Lifecycle string

const (
	LifecycleActive         Lifecycle = "active"
	LifecycleAcquiring      Lifecycle = "acquiring"
	LifecycleProvisioning   Lifecycle = "provisioning"
	LifecycleDecommissioned Lifecycle = "decommissioned"
)

// Observation is everything one readiness evaluation saw of a node: the
// node record's lifecycle, how far the SSH round trip got, and the facts the
// probe script reported. Evaluate turns it into a Report; it does no I/O.
type Observation struct {
	NodeID    string
	Lifecycle Lifecycle // "" means active
	// User is the SSH login user, used only to make remediation text
	// specific ("pressluft ALL=(ALL) NOPASSWD:ALL"); "" leaves USER.
	User string
	// HasAddress is false when the node record has no host to dial.
	HasAddress bool
	// Probed is false when no probe was attempted (lifecycle or address
	// stopped it, or the node was never checked).
	Probed    bool
	CheckedAt time.Time
	Duration  time.Duration

	// Transport is nil when the probe script ran to completion and its
	// output was read; otherwise it says where the round trip stopped.
	Transport *TransportFailure
	// Facts are the parsed probe output; nil unless Transport is nil.
	Facts *Facts
}

// TransportFailure is a failed SSH round trip, classified by phase.
type TransportFailure struct {
	// Code is one of the transport codes: ssh_host_unresolvable,
	// ssh_unreachable, ssh_banned_suspected, ssh_handshake_failed,
	// ssh_connection_dropped, ssh_host_key_unknown,
	// ssh_host_key_mismatch, ssh_host_cert_invalid, ssh_auth_failed,
	// ssh_exec_rejected, probe_timeout, probe_interrupted,
	// probe_output_invalid.
	Code Code
	// Detail is a short, operator-safe description (no remote output, no
	// secrets), such as "connection refused" or "no banner within 5s".
	Detail string
	// Reached is the step of the SSH chain (PrereqTCP, PrereqSSHHandshake,
	// PrereqHostKey, PrereqAuth or PrereqExec) the round trip was at when
	// it stopped: the steps before it were observed to hold, and Evaluate
	// reports no later one as pass. PrereqTCP says nothing was observed
	// (a failure decided before dialing, or a round trip canceled before
	// its connection). "" means the step Code fails, which holds for
	// every code a completed phase reports: an ssh_auth_failed came after
	// the handshake and the host key. ssh_credentials_unavailable is
	// always decided before dialing, and a code outside the chain says
	// nothing of the steps before it unless Reached does; any other value
	// claims nothing.
	Reached Prerequisite
}

// SudoOutcome is what `sudo -n true` told the probe.
type SudoOutcome string

const (
	SudoOK               SudoOutcome = "ok"
	SudoMissing          SudoOutcome = "missing"
	SudoPasswordRequired SudoOutcome = "password_required"
	SudoNotPermitted     SudoOutcome = "not_permitted"
	SudoTTYRequired      SudoOutcome = "tty_required"
	// SudoFailed: sudo refused with a message the probe does not know
	// (broken sudoers, a locked account, a PAM failure, ...).
	SudoFailed SudoOutcome = "failed"
)

// ServiceState is a systemd unit's state: its ActiveState ("active",
// "inactive", "failed", "activating", ...) when the unit is loaded, and
// its LoadState otherwise ("masked", "not-found", "bad-setting",
// "error"), which systemd's ActiveState (inactive) would hide. The empty
// value means not observed.
type ServiceState string

// Facts are what the probe script reported, after strict parsing.
type Facts struct {
	// ScriptVersion is the probe script's protocol version.
	ScriptVersion int
	OS            OSRelease
	// Systemd is true when systemd is the running service manager
	// (/run/systemd/system exists).
	Systemd bool
	Sudo    SudoOutcome
	// Components is keyed by component name (ComponentNginx, ...).
	Components map[string]ComponentFacts
	// PHPExtensions are the modules php-fpm loads (php-fpm -m), lowercased.
	PHPExtensions []string
	// Health is the node's system state (boot, failed units, the dpkg
	// lock, free space, a pending reboot), which probe protocol 3 and
	// later report. Nil means not observed: Evaluate then skips the
	// health checks without a reason (facts built by hand, or by an older
	// probe).
	Health *Health
}

// ParseOSRelease parses "ID-VERSION_ID" as String renders it, e.g.
// "debian-12" or "ubuntu-24.04". The split is at the last '-'.
func ParseOSRelease(s string) (OSRelease, error) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 || i == len(s)-1 {
		return OSRelease{}, fmt.Errorf("readiness: os %q: want ID-VERSION, e.g. ubuntu-24.04", s)
	}
	return OSRelease{ID: s[:i], VersionID: s[i+1:]}, nil
}

// OSRelease identifies an operating system as /etc/os-release does.
type OSRelease struct {
	ID        string `json:"id"`
	VersionID string `json:"version_id"`
}

// String renders ID-VERSION, e.g. "ubuntu-24.04".
func (o OSRelease) String() string {
	if o.VersionID == "" {
		return o.ID
	}
	return o.ID + "-" + o.VersionID
}

// ComponentFacts is one runtime component as the probe saw it.
type ComponentFacts struct {
	Installed bool
	// Version is the component's upstream version, e.g. "10.11.8": the
	// installed Debian package's version without epoch and revision, or,
	// for a binary no package covers, what the tool itself reports
	// (nginx -v, ...). "" means installed but not readable.
	Version string
	// Package is the full version of the installed Debian package that
	// provides the component, e.g. "1:10.11.8-0ubuntu0.24.04.1" (Version
	// is then its upstream part, "10.11.8"); "" when no installed package
	// covers it and Version comes from the tool itself.
	Package string
	// Unit is the systemd unit the probe checked, if the component is a
	// service (e.g. "php8.3-fpm").
	Unit    string
	Service ServiceState
}

// The runtime component names the default policy knows.
const (
	ComponentNginx    = "nginx"
	ComponentPHPFPM   = "php-fpm"
	ComponentMariaDB  = "mariadb"
	ComponentRedis    = "redis"
	ComponentWPCLI    = "wp-cli"
	ComponentFail2ban = "fail2ban"
	ComponentRsync    = "rsync"
	ComponentUnzip    = "unzip"
	ComponentCurl     = "curl"
)
