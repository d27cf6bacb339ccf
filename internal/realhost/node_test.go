package realhost

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/readiness"
)

// shell runs a /bin/sh script as root on one machine, a node or the
// control plane's own host, and returns what it printed (stdout and
// stderr).
type shell func(ctx context.Context, script string) (string, error)

// shellEnv starts every script: root's tools are in sbin, which the
// test process's PATH may lack, and the messages are the C locale's.
const shellEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; LC_ALL=C; export LC_ALL\n"

// inNode runs scripts inside node n (every namespace of its systemd,
// through nsenter): the node's own root, users, dpkg and systemd.
func inNode(n fleet.Node) shell {
	return func(ctx context.Context, script string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		out, err := fleet.Exec(ctx, n.Leader, "/bin/sh", "-c", shellEnv+script)
		if err != nil {
			return out, fmt.Errorf("in node %s: %q: %w: %s", n.Name, script, err, strings.TrimSpace(out))
		}
		return out, nil
	}
}

// onHost runs scripts on the machine the tests run on: the control
// plane's host, which the probe must never read.
func onHost(ctx context.Context, script string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", shellEnv+script).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("on the host: %q: %w: %s", script, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// machine is what a machine is, read from the machine itself (os-release,
// /run/systemd/system, dpkg-query, php-fpm -m, systemctl show) through a
// shell, independently of the probe.
type machine struct {
	OS      readiness.OSRelease
	Systemd bool
	// Components is keyed by readiness component name.
	Components map[string]machineComponent
	// PHPRedis is true when `php-fpmX.Y -m` lists the redis extension.
	PHPRedis bool
	// SystemState is what `systemctl is-system-running` says ("" without
	// systemd).
	SystemState string
}

type machineComponent struct {
	Installed bool
	// Package is the dpkg package that provides the component ("" when
	// it is not installed from a package, e.g. the fleet's stand-in wp).
	Package string
	// Version is the upstream part of the package's version ("" unknown).
	Version string
	// Path is where the component's tool is on the probe's PATH ("" none).
	Path string
	// Unit is the component's systemd unit, for services.
	Unit string
	// Service is the unit's ActiveState when it is loaded and its
	// LoadState otherwise (systemctl show, asked one property at a time);
	// only with systemd.
	Service readiness.ServiceState
}

// componentPackages maps components to their Debian package; php-fpm is
// found by its versioned package (php8.2-fpm).
var componentPackages = map[string]string{
	readiness.ComponentNginx:    "nginx",
	readiness.ComponentMariaDB:  "mariadb-server",
	readiness.ComponentRedis:    "redis-server",
	readiness.ComponentWPCLI:    "wp-cli",
	readiness.ComponentFail2ban: "fail2ban",
	readiness.ComponentRsync:    "rsync",
	readiness.ComponentUnzip:    "unzip",
	readiness.ComponentCurl:     "curl",
}

// componentTools are the executables the probe looks for; php-fpm's is
// versioned (php-fpm8.2).
var componentTools = map[string]string{
	readiness.ComponentNginx:    "nginx",
	readiness.ComponentPHPFPM:   "php-fpm[0-9]*",
	readiness.ComponentMariaDB:  "mariadbd",
	readiness.ComponentRedis:    "redis-server",
	readiness.ComponentWPCLI:    "wp",
	readiness.ComponentFail2ban: "fail2ban-client",
	readiness.ComponentRsync:    "rsync",
	readiness.ComponentUnzip:    "unzip",
	readiness.ComponentCurl:     "curl",
}

var componentUnits = map[string]string{
	readiness.ComponentNginx:    "nginx",
	readiness.ComponentMariaDB:  "mariadb",
	readiness.ComponentRedis:    "redis-server",
	readiness.ComponentFail2ban: "fail2ban",
}

// probePath is the PATH the probe script sets on a real host.
const probePath = "/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin"

func readMachine(ctx context.Context, sh shell) (machine, error) {
	m := machine{Components: map[string]machineComponent{}}
	osr, err := sh(ctx, "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release")
	if err != nil {
		return m, err
	}
	m.OS = parseOSRelease(osr)
	sd, _ := sh(ctx, "if [ -d /run/systemd/system ]; then echo yes; fi")
	m.Systemd = strings.TrimSpace(sd) == "yes"
	if m.Systemd {
		st, _ := sh(ctx, "systemctl is-system-running")
		m.SystemState = strings.TrimSpace(st)
	}

	pkgs := []string{"'php*-fpm'"}
	for _, p := range componentPackages {
		pkgs = append(pkgs, p)
	}
	// dpkg-query exits 1 when a name matches nothing, after listing the
	// others.
	out, _ := sh(ctx, "dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}\\n' "+strings.Join(pkgs, " ")+" 2>/dev/null")
	installed := map[string]string{} // package -> version
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[1] == "installed" {
			installed[f[0]] = f[2]
		}
	}
	branch, phpPkg := phpFPM(installed)
	for name, tool := range componentTools {
		c := machineComponent{Unit: componentUnits[name]}
		p, _ := sh(ctx, "for d in "+probePath+"; do for f in $d/"+tool+"; do if [ -f \"$f\" ] && [ -x \"$f\" ]; then echo \"$f\"; exit 0; fi; done; done")
		c.Path = strings.TrimSpace(p)
		pkg := componentPackages[name]
		if name == readiness.ComponentPHPFPM {
			pkg, c.Unit = phpPkg, "php"+branch+"-fpm"
		}
		if v, ok := installed[pkg]; ok && pkg != "" {
			c.Installed, c.Package, c.Version = true, pkg, upstream(v)
		} else if name == readiness.ComponentWPCLI && c.Path != "" {
			c.Installed = true // a phar or the fleet's stand-in: no package, version unknown to dpkg
		}
		if !c.Installed {
			c.Unit = ""
		}
		if c.Installed && c.Unit != "" && m.Systemd {
			load, _ := sh(ctx, "systemctl show --value -p LoadState "+c.Unit)
			active, _ := sh(ctx, "systemctl show --value -p ActiveState "+c.Unit)
			c.Service = readiness.ServiceState(strings.TrimSpace(active))
			if l := strings.TrimSpace(load); l != "loaded" {
				c.Service = readiness.ServiceState(l)
			}
		}
		m.Components[name] = c
	}
	if m.Components[readiness.ComponentPHPFPM].Installed {
		// What php-fpm itself says it loads, as root in the machine.
		out, err := sh(ctx, "php-fpm"+branch+" -m")
		if err != nil {
			return m, err
		}
		for line := range strings.SplitSeq(out, "\n") {
			if strings.EqualFold(strings.TrimSpace(line), "redis") {
				m.PHPRedis = true
			}
		}
	}
	return m, nil
}

func parseOSRelease(s string) readiness.OSRelease {
	var o readiness.OSRelease
	for line := range strings.SplitSeq(s, "\n") {
		k, v, _ := strings.Cut(line, "=")
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			o.ID = v
		case "VERSION_ID":
			o.VersionID = v
		}
	}
	return o
}

var phpFPMPackage = regexp.MustCompile(`^php(\d+)\.(\d+)-fpm$`)

// phpFPM returns the highest installed phpX.Y-fpm package.
func phpFPM(installed map[string]string) (branch, pkg string) {
	best := [2]int{-1, -1}
	for p := range installed {
		m := phpFPMPackage.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		var maj, minor int
		fmt.Sscan(m[1], &maj)
		fmt.Sscan(m[2], &minor)
		if maj > best[0] || (maj == best[0] && minor > best[1]) {
			best = [2]int{maj, minor}
			branch, pkg = m[1]+"."+m[2], p
		}
	}
	return branch, pkg
}

var leadingVersion = regexp.MustCompile(`^\d+(\.\d+)*`)

// upstream returns the upstream version of a dpkg version without its
// epoch, Debian revision and repack suffix: "1:10.11.19-0+deb12u1" ->
// "10.11.19", "3.5.0+ds1-0+deb12u1" -> "3.5.0".
func upstream(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	return leadingVersion.FindString(v)
}

// sudoExpectation is what `sudo -n true` (and, when it fails, `sudo -n
// -v`) must tell the probe for user, derived from what root's `sudo -l -U
// user` says, in the machine, the user may do.
//
// sudo authenticates before it refuses a command the policy does not
// allow, so with -n a user outside sudoers, or allowed other commands
// only, is told by `sudo -n true` that a password is required. `sudo -n
// -v` then tells them apart: a user outside sudoers "may not run sudo",
// and one whose every rule is NOPASSWD (verifypw=all, the default)
// validates without a password although true is not allowed; both are
// not permitted. Only a user with a rule that wants a password is left
// password_required.
func sudoExpectation(ctx context.Context, sh shell, user string) (readiness.SudoOutcome, string, error) {
	out, err := sh(ctx, "sudo -l -U "+user)
	if err != nil {
		return "", out, err
	}
	if strings.Contains(out, "is not allowed to run sudo") {
		return readiness.SudoNotPermitted, out, nil
	}
	defaults, rules, ok := strings.Cut(out, "may run the following commands")
	if !ok {
		return "", out, fmt.Errorf("sudo -l -U %s: unexpected output", user)
	}
	noAuth := strings.Contains(defaults, "!authenticate")
	allowsAll, allowsAllNoPasswd, everyRuleNoPasswd := false, false, true
	for line := range strings.SplitSeq(rules, "\n") {
		line = strings.TrimSpace(line)
		i := strings.IndexByte(line, ')')
		if !strings.HasPrefix(line, "(") || i < 0 {
			continue
		}
		cmd := strings.TrimSpace(line[i+1:])
		nopasswd := false
		for _, tag := range []string{"NOPASSWD:", "PASSWD:", "SETENV:", "NOSETENV:", "EXEC:", "NOEXEC:"} {
			if rest, ok := strings.CutPrefix(cmd, tag); ok {
				cmd = strings.TrimSpace(rest)
				nopasswd = nopasswd || tag == "NOPASSWD:"
			}
		}
		if cmd == "ALL" {
			allowsAll = true
			allowsAllNoPasswd = allowsAllNoPasswd || nopasswd
		}
		everyRuleNoPasswd = everyRuleNoPasswd && nopasswd
	}
	switch {
	case strings.Contains(defaults, "requiretty"):
		return readiness.SudoTTYRequired, out, nil
	case allowsAll && (allowsAllNoPasswd || noAuth):
		return readiness.SudoOK, out, nil
	case !allowsAll && (noAuth || everyRuleNoPasswd):
		return readiness.SudoNotPermitted, out, nil
	default:
		return readiness.SudoPasswordRequired, out, nil
	}
}

// reason is the part of a readiness.Reason the tests compare.
type reason struct {
	Code      readiness.Code
	Component string
}

var sudoCodes = map[readiness.SudoOutcome]readiness.Code{
	readiness.SudoMissing:          readiness.CodeSudoMissing,
	readiness.SudoPasswordRequired: readiness.CodeSudoPasswordRequired,
	readiness.SudoNotPermitted:     readiness.CodeSudoNotPermitted,
	readiness.SudoTTYRequired:      readiness.CodeSudoTTYRequired,
	readiness.SudoFailed:           readiness.CodeSudoFailed,
}

// expectedReasons are the reasons a report on m must carry under p, for
// a user whose sudo gives sudo, in report order (privilege, platform,
// runtime in policy order).
func (m machine) expectedReasons(p readiness.Policy, sudo readiness.SudoOutcome) []reason {
	var rs []reason
	if p.NodeHealth && (m.SystemState == "initializing" || m.SystemState == "starting") {
		rs = append(rs, reason{Code: readiness.CodeNodeBooting})
	}
	if c, ok := sudoCodes[sudo]; ok {
		rs = append(rs, reason{Code: c})
	}
	if len(p.AllowedOS) > 0 && !slices.Contains(p.AllowedOS, m.OS) {
		rs = append(rs, reason{Code: readiness.CodeOSUnsupported})
	}
	if !m.Systemd && slices.ContainsFunc(p.Components, func(r readiness.Requirement) bool { return r.Service }) {
		rs = append(rs, reason{Code: readiness.CodeServiceManagerUnavailable})
	}
	var runtime []reason
	for _, r := range p.Components {
		c := m.Components[r.Component]
		if !c.Installed {
			runtime = append(runtime, reason{readiness.CodeRuntimeComponentMissing, r.Component})
			continue
		}
		if r.MinVersion != "" && c.Version != "" {
			if cmp, err := readiness.CompareVersions(c.Version, r.MinVersion); err != nil || cmp < 0 {
				runtime = append(runtime, reason{readiness.CodeRuntimeVersionUnsupported, r.Component})
			}
		}
		if slices.Contains(r.Extensions, "redis") && !m.PHPRedis {
			runtime = append(runtime, reason{readiness.CodeRuntimeExtensionMissing, r.Component})
		}
		if r.Service && m.Systemd && c.Service != "active" {
			runtime = append(runtime, reason{readiness.CodeRuntimeServiceInactive, r.Component})
		}
	}
	// The report orders runtime reasons by code (registry order), then
	// component.
	order := map[readiness.Code]int{}
	for i, info := range readiness.Registry() {
		order[info.Code] = i
	}
	slices.SortStableFunc(runtime, func(a, b reason) int {
		if d := order[a.Code] - order[b.Code]; d != 0 {
			return d
		}
		return strings.Compare(a.Component, b.Component)
	})
	rs = append(rs, runtime...)
	// Node health (after runtime): a degraded system is a warning (the
	// suite's nodes have the space, no dpkg lock and no reboot marker).
	if p.NodeHealth && m.SystemState == "degraded" {
		rs = append(rs, reason{Code: readiness.CodeSystemDegraded})
	}
	return rs
}
