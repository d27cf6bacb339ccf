package realhost

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// host is what the machine is, read from the machine itself (os-release,
// /run/systemd/system, dpkg-query, php-fpm -m, systemctl), independently
// of the probe.
//
// readHost runs php-fpm -m, dpkg-query and systemctl as root, locally.
type host struct {
	OS      readiness.OSRelease
	Systemd bool
	// Components is keyed by readiness component name.
	Components map[string]hostComponent
	// PHPRedis is true when `php-fpmX.Y -m` lists the redis extension.
	PHPRedis bool
}

type hostComponent struct {
	Installed bool
	// Package is the dpkg package that provides the component ("" when
	// it is not installed from a package, e.g. a wp-cli phar).
	Package string
	// Version is the upstream part of the package's version ("" unknown).
	Version string
	// Unit is the component's systemd unit, for services.
	Unit string
	// Service is what `systemctl is-active Unit` prints; only with systemd.
	Service readiness.ServiceState
}

// componentPackages maps components to their Debian/Ubuntu package; php-fpm
// is found by its versioned package (php8.2-fpm).
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

var componentUnits = map[string]string{
	readiness.ComponentNginx:    "nginx",
	readiness.ComponentMariaDB:  "mariadb",
	readiness.ComponentRedis:    "redis-server",
	readiness.ComponentFail2ban: "fail2ban",
}

// probePath is the PATH the probe script sets on a real host.
var probePath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

func readHost(ctx context.Context) (host, error) {
	h := host{Components: map[string]hostComponent{}}
	var err error
	if h.OS, err = readOSRelease(); err != nil {
		return h, err
	}
	fi, err := os.Stat("/run/systemd/system")
	h.Systemd = err == nil && fi.IsDir()

	for name, pkg := range componentPackages {
		c := hostComponent{Unit: componentUnits[name]}
		if v, ok := dpkgInstalled(ctx, pkg); ok {
			c.Installed, c.Package, c.Version = true, pkg, upstream(v)
		} else if name == readiness.ComponentWPCLI && onProbePath("wp") {
			c.Installed = true // a phar, as the baseline installs it: version unknown to dpkg
		}
		h.Components[name] = c
	}

	php := hostComponent{}
	branch, pkg, v := phpFPM(ctx)
	if pkg != "" {
		php = hostComponent{Installed: true, Package: pkg, Version: upstream(v), Unit: "php" + branch + "-fpm"}
		// What php-fpm itself says it loads, as root on the host.
		out, err := runCmd(ctx, "/usr/sbin/php-fpm"+branch, "-m")
		if err != nil {
			return h, err
		}
		for line := range strings.SplitSeq(out, "\n") {
			if strings.EqualFold(strings.TrimSpace(line), "redis") {
				h.PHPRedis = true
			}
		}
	}
	h.Components[readiness.ComponentPHPFPM] = php

	if h.Systemd {
		for name, c := range h.Components {
			if c.Installed && c.Unit != "" {
				out, _ := runCmd(ctx, "systemctl", "is-active", c.Unit)
				c.Service = readiness.ServiceState(strings.TrimSpace(out))
				h.Components[name] = c
			}
		}
	}
	return h, nil
}

func readOSRelease() (readiness.OSRelease, error) {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		if f, err = os.Open("/usr/lib/os-release"); err != nil {
			return readiness.OSRelease{}, err
		}
	}
	defer f.Close()
	var o readiness.OSRelease
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			o.ID = v
		case "VERSION_ID":
			o.VersionID = v
		}
	}
	return o, sc.Err()
}

// dpkgInstalled returns the package's version when dpkg says it is
// installed.
func dpkgInstalled(ctx context.Context, pkg string) (string, bool) {
	out, err := runCmd(ctx, "dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", pkg)
	if err != nil {
		return "", false
	}
	status, version, _ := strings.Cut(strings.TrimSpace(out), " ")
	return version, status == "installed"
}

var phpFPMPackage = regexp.MustCompile(`^php(\d+)\.(\d+)-fpm$`)

// phpFPM returns the highest installed phpX.Y-fpm package.
func phpFPM(ctx context.Context) (branch, pkg, version string) {
	out, _ := runCmd(ctx, "dpkg-query", "-W", "-f=${Package} ${db:Status-Status} ${Version}\n", "php*-fpm")
	best := [2]int{-1, -1}
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[1] != "installed" {
			continue
		}
		m := phpFPMPackage.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		var maj, minor int
		fmt.Sscan(m[1], &maj)
		fmt.Sscan(m[2], &minor)
		if maj > best[0] || (maj == best[0] && minor > best[1]) {
			best = [2]int{maj, minor}
			branch, pkg, version = m[1]+"."+m[2], f[0], f[2]
		}
	}
	return branch, pkg, version
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

func onProbePath(name string) bool {
	for _, d := range probePath {
		if fi, err := os.Stat(filepath.Join(d, name)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

// sudoExpectation is what `sudo -n true` (and, when it fails, `sudo -n
// -v`) must tell the probe for user, derived from what root's `sudo -l -U
// user` says the user may do.
//
// sudo authenticates before it refuses a command the policy does not
// allow, so with -n a user outside sudoers, or allowed other commands
// only, is told by `sudo -n true` that a password is required. `sudo -n
// -v` then tells them apart: a user outside sudoers "may not run sudo",
// and one whose every rule is NOPASSWD (verifypw=all, the default)
// validates without a password although true is not allowed; both are
// not permitted. Only a user with a rule that wants a password is left
// password_required.
func sudoExpectation(ctx context.Context, user string) (readiness.SudoOutcome, string, error) {
	out, err := runCmd(ctx, "sudo", "-l", "-U", user)
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

// expectedReasons are the reasons a report on h must carry under p, for a
// user whose sudo gives sudo, in report order (privilege, platform,
// runtime in policy order).
func (h host) expectedReasons(p readiness.Policy, sudo readiness.SudoOutcome) []reason {
	var rs []reason
	if c, ok := sudoCodes[sudo]; ok {
		rs = append(rs, reason{Code: c})
	}
	if len(p.AllowedOS) > 0 && !slices.Contains(p.AllowedOS, h.OS) {
		rs = append(rs, reason{Code: readiness.CodeOSUnsupported})
	}
	if !h.Systemd && slices.ContainsFunc(p.Components, func(r readiness.Requirement) bool { return r.Service }) {
		rs = append(rs, reason{Code: readiness.CodeServiceManagerUnavailable})
	}
	var runtime []reason
	for _, r := range p.Components {
		c := h.Components[r.Component]
		if !c.Installed {
			runtime = append(runtime, reason{readiness.CodeRuntimeComponentMissing, r.Component})
			continue
		}
		if r.MinVersion != "" && c.Version != "" {
			if cmp, err := readiness.CompareVersions(c.Version, r.MinVersion); err != nil || cmp < 0 {
				runtime = append(runtime, reason{readiness.CodeRuntimeVersionUnsupported, r.Component})
			}
		}
		if slices.Contains(r.Extensions, "redis") && !h.PHPRedis {
			runtime = append(runtime, reason{readiness.CodeRuntimeExtensionMissing, r.Component})
		}
		if r.Service && h.Systemd && c.Service != "active" {
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
	return append(rs, runtime...)
}
