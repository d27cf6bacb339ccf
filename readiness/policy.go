package readiness

import (
	"errors"
	"fmt"
	"slices"
)

// Operation is a control-plane flow that needs a ready node.
type Operation string

const (
	OperationSiteCreate Operation = "site_create"
	OperationEnvCreate  Operation = "env_create"
)

// Requirement is one runtime component a policy requires.
type Requirement struct {
	// Component is the component name (ComponentNginx, ...). Required.
	Component string `json:"component"`
	// MinVersion is the lowest acceptable version; "" accepts any.
	MinVersion string `json:"min_version,omitempty"`
	// Service, when true, requires the component's systemd unit to be
	// active. The unit is the one the probe reports for the component.
	Service bool `json:"service,omitempty"`
	// Extensions are PHP extensions php-fpm must load (php-fpm only).
	Extensions []string `json:"extensions,omitempty"`
	// Install is the command that installs the component on the
	// supported OS, shown in remediation; "" falls back to the registry's
	// generic text.
	Install string `json:"install,omitempty"`
}

// Policy is what a node must satisfy. Policies are values: the With...
// methods return modified copies and never change the receiver.
//
// The zero Policy requires only a working SSH round trip and
// non-interactive sudo: any OS, no runtime components.
type Policy struct {
	// AllowedOS lists the accepted operating systems; empty accepts any.
	AllowedOS []OSRelease `json:"allowed_os,omitempty"`
	// SkipSudo, when true, does not require non-interactive sudo.
	SkipSudo bool `json:"skip_sudo,omitempty"`
	// Components are the required runtime components, in report order.
	Components []Requirement `json:"components,omitempty"`
	// Severity overrides a code's severity. Only the codes the probe
	// observes (boot, privilege, platform, runtime and health) may be
	// downgraded to SeverityWarning (the warn-only rollback lever); any
	// code may be made SeverityBlocking (package_manager_busy, say, which
	// warns by default). Validate rejects anything else.
	Severity map[Code]Severity `json:"severity,omitempty"`
	// NodeHealth, when true, checks the node's system state: a node
	// still booting (node_booting, blocking), failed units
	// (system_degraded), the dpkg lock held (package_manager_busy) and a
	// pending reboot (reboot_required), all three warnings. False checks
	// none of them.
	NodeHealth bool `json:"node_health,omitempty"`
	// Disks are the filesystems that must have room, each named by a
	// path of DiskPaths (the filesystem that holds it, or would hold it
	// once created); disk_space_low when one has less. Nil checks none.
	Disks []DiskRequirement `json:"disks,omitempty"`
}

// Baseline is the pressluft node baseline for Ubuntu 24.04.
func Baseline() Policy {
	return Policy{
		AllowedOS:  []OSRelease{{ID: "ubuntu", VersionID: "24.04"}},
		NodeHealth: true,
		Disks:      DefaultDisks(),
		Components: []Requirement{
			{Component: ComponentNginx, MinVersion: "1.22", Service: true, Install: "sudo apt-get install -y nginx"},
			{Component: ComponentPHPFPM, MinVersion: "8.2", Service: true, Extensions: []string{"redis"}, Install: "sudo apt-get install -y php-fpm php-redis"},
			{Component: ComponentMariaDB, MinVersion: "10.11", Service: true, Install: "sudo apt-get install -y mariadb-server"},
			{Component: ComponentRedis, MinVersion: "7.0", Service: true, Install: "sudo apt-get install -y redis-server"},
			{Component: ComponentWPCLI, Install: "curl -fsSLo /tmp/wp-cli.phar https://raw.githubusercontent.com/wp-cli/builds/gh-pages/phar/wp-cli.phar && sudo install -m 0755 /tmp/wp-cli.phar /usr/local/bin/wp"},
			{Component: ComponentFail2ban, MinVersion: "1.0", Service: true, Install: "sudo apt-get install -y fail2ban"},
			{Component: ComponentRsync, Install: "sudo apt-get install -y rsync"},
			{Component: ComponentUnzip, Install: "sudo apt-get install -y unzip"},
			{Component: ComponentCurl, Install: "sudo apt-get install -y curl"},
		},
	}
}

// PolicyFor returns the default policy of an operation. site_create needs
// the whole baseline; env_create (clone, staging: rsync, a database copy and
// wp-cli search-replace on an existing site's node) does not need fail2ban
// or unzip. An unknown operation gets the whole baseline.
func PolicyFor(op Operation) Policy {
	p := Baseline()
	if op == OperationEnvCreate {
		p = p.WithoutComponent(ComponentFail2ban).WithoutComponent(ComponentUnzip)
	}
	return p
}

func (p Policy) clone() Policy {
	q := p
	q.AllowedOS = slices.Clone(p.AllowedOS)
	q.Disks = slices.Clone(p.Disks)
	q.Components = make([]Requirement, len(p.Components))
	for i, r := range p.Components {
		r.Extensions = slices.Clone(r.Extensions)
		q.Components[i] = r
	}
	if p.Severity != nil {
		q.Severity = make(map[Code]Severity, len(p.Severity))
		for k, v := range p.Severity {
			q.Severity[k] = v
		}
	}
	return q
}

// WithAllowedOS returns a copy that also accepts the given systems.
func (p Policy) WithAllowedOS(os ...OSRelease) Policy {
	q := p.clone()
	for _, o := range os {
		if !slices.Contains(q.AllowedOS, o) {
			q.AllowedOS = append(q.AllowedOS, o)
		}
	}
	return q
}

// WithoutComponent returns a copy that no longer requires the component.
func (p Policy) WithoutComponent(name string) Policy {
	q := p.clone()
	q.Components = slices.DeleteFunc(q.Components, func(r Requirement) bool { return r.Component == name })
	return q
}

// WithComponent returns a copy that requires r, replacing any requirement
// of the same component in place.
func (p Policy) WithComponent(r Requirement) Policy {
	q := p.clone()
	r.Extensions = slices.Clone(r.Extensions)
	for i := range q.Components {
		if q.Components[i].Component == r.Component {
			q.Components[i] = r
			return q
		}
	}
	q.Components = append(q.Components, r)
	return q
}

// WithMinVersion returns a copy with the component's minimum version
// changed. A component the policy does not require is left alone.
func (p Policy) WithMinVersion(name, min string) Policy {
	q := p.clone()
	for i := range q.Components {
		if q.Components[i].Component == name {
			q.Components[i].MinVersion = min
		}
	}
	return q
}

// WithSeverity returns a copy in which code c has severity s.
func (p Policy) WithSeverity(c Code, s Severity) Policy {
	q := p.clone()
	if q.Severity == nil {
		q.Severity = map[Code]Severity{}
	}
	q.Severity[c] = s
	return q
}

// ErrInvalidPolicy is wrapped by Validate's errors.
var ErrInvalidPolicy = errors.New("readiness: invalid policy")

// Validate reports the first problem of a policy: an unknown or duplicate
// component, a malformed minimum version, an unknown code or severity, or
// a downgrade of a code upstream of boot (a node that cannot be reached
// cannot be admitted with a warning), or a disk requirement for a path the
// probe does not measure, listed twice, or with a threshold out of range.
func (p Policy) Validate() error {
	seen := map[string]bool{}
	for _, r := range p.Components {
		if r.Component == "" {
			return fmt.Errorf("%w: component with empty name", ErrInvalidPolicy)
		}
		if seen[r.Component] {
			return fmt.Errorf("%w: component %q listed twice", ErrInvalidPolicy, r.Component)
		}
		seen[r.Component] = true
		if r.MinVersion != "" {
			if _, err := ParseVersion(r.MinVersion); err != nil {
				return fmt.Errorf("%w: component %q: min version %q is malformed", ErrInvalidPolicy, r.Component, r.MinVersion)
			}
		}
		if len(r.Extensions) > 0 && r.Component != ComponentPHPFPM {
			return fmt.Errorf("%w: component %q: extensions apply to %s only", ErrInvalidPolicy, r.Component, ComponentPHPFPM)
		}
	}
	if err := validateDisks(p.Disks); err != nil {
		return err
	}
	for _, o := range p.AllowedOS {
		if o.ID == "" {
			return fmt.Errorf("%w: allowed OS with empty id", ErrInvalidPolicy)
		}
	}
	for c, s := range p.Severity {
		info, ok := Lookup(c)
		if !ok {
			return fmt.Errorf("%w: unknown code %q", ErrInvalidPolicy, c)
		}
		if s != SeverityBlocking && s != SeverityWarning {
			return fmt.Errorf("%w: code %q: unknown severity %q", ErrInvalidPolicy, c, s)
		}
		if s == SeverityWarning && info.Prerequisite.rank() < PrereqBoot.rank() {
			return fmt.Errorf("%w: code %q (%s) cannot be downgraded to a warning", ErrInvalidPolicy, c, info.Prerequisite)
		}
	}
	return nil
}

// severity is the effective severity of c under p.
func (p Policy) severity(c Code) Severity {
	info, _ := Lookup(c)
	if s, ok := p.Severity[c]; ok && (s == SeverityBlocking || info.Prerequisite.rank() >= PrereqBoot.rank()) {
		return s
	}
	return info.Severity
}
