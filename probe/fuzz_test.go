package probe

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/readiness"
)

// FuzzParse checks that Parse never panics, returns facts or an error and
// never both, and that the facts it returns hold what Parse promises.
// Seeds are below and in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(render(readyRecords())))
	f.Add([]byte(render(edit("systemd no", "nginx.unit", "nginx.load", "nginx.active", "php-fpm.unit", "php-fpm.load", "php-fpm.active",
		"mariadb.unit", "mariadb.load", "mariadb.active", "redis.unit", "redis.load", "redis.active", "fail2ban.unit", "fail2ban.load", "fail2ban.active"))))
	f.Add([]byte(render(edit("sudo.path ", "sudo.exit", "sudo.stderr", "redis.path ", "redis.package", "redis.unit", "redis.load", "redis.active"))))
	f.Add([]byte(render(edit("nginx.package", `nginx.version a\\b\nc`, `os.id "x"`))))
	f.Add([]byte(render(edit("php-fpm.conf_d", `php-fpm.modules [PHP Modules]\nredis`, "wp-cli.package installed wp-cli 2.10.0-1"))))
	f.Add([]byte(render(edit("mariadb.package installed mariadb-server-core-10.6 1:10.6.18-0ubuntu0.22.04.1"))))
	f.Add([]byte(""))
	f.Add([]byte("This account is currently not available.\n"))
	f.Add([]byte(header + "\nend 0\n"))
	f.Add([]byte(header + "\nsystemd yes\nend 1\n"))
	f.Add([]byte(render(edit("system.state degraded", `system.failed a.service\nb.service`, "reboot.required yes", `reboot.pkgs libc6\nlibc6`))))
	f.Add([]byte(render(edit(`dpkg.lock_holders /var/lib/dpkg/lock POSIX 594 dpkg\n/var/lib/dpkg/lock-frontend OFDLCK -1 `, "disk /srv/www /srv 1 4096 16384 0 16384 16380"))))
	f.Fuzz(func(t *testing.T, out []byte) {
		facts, err := Parse(out)
		if err != nil {
			if facts != nil {
				t.Fatalf("Parse() = %+v, %v; want nil facts with an error", facts, err)
			}
			if !errors.Is(err, ErrOutputInvalid) {
				t.Fatalf("error %v does not wrap ErrOutputInvalid", err)
			}
			return
		}
		if facts == nil {
			t.Fatal("Parse() = nil, nil")
		}
		if facts.ScriptVersion != ScriptVersion {
			t.Errorf("ScriptVersion = %d, want %d", facts.ScriptVersion, ScriptVersion)
		}
		if len(out) > MaxOutput {
			t.Errorf("accepted %d bytes, over MaxOutput", len(out))
		}
		for _, s := range []string{facts.OS.ID, facts.OS.VersionID} {
			if !utf8.ValidString(s) || len(s) > 128 {
				t.Errorf("OS value %q is not short UTF-8", s)
			}
		}
		switch facts.Sudo {
		case readiness.SudoOK, readiness.SudoMissing, readiness.SudoPasswordRequired,
			readiness.SudoNotPermitted, readiness.SudoTTYRequired, readiness.SudoFailed:
		default:
			t.Errorf("Sudo = %q, not a SudoOutcome", facts.Sudo)
		}
		if len(facts.Components) != len(components) {
			t.Errorf("%d components, want %d", len(facts.Components), len(components))
		}
		for _, c := range components {
			cf, ok := facts.Components[c.name]
			switch {
			case !ok:
				t.Errorf("component %s missing", c.name)
			case !cf.Installed && cf != (readiness.ComponentFacts{}):
				t.Errorf("component %s not installed but has facts %+v", c.name, cf)
			case (cf.Unit != "") != (cf.Installed && c.service && facts.Systemd):
				t.Errorf("component %s: unit %q with systemd %v", c.name, cf.Unit, facts.Systemd)
			case cf.Service != "" && !servicePattern.MatchString(string(cf.Service)):
				t.Errorf("component %s: service state %q", c.name, cf.Service)
			case cf.Version != "" && strings.Trim(cf.Version, "0123456789.") != "":
				t.Errorf("component %s: version %q", c.name, cf.Version)
			case cf.Package != "":
				if _, err := readiness.ParseVersion(cf.Package); err != nil {
					t.Errorf("component %s: package version %q: %v", c.name, cf.Package, err)
				}
			case c.version == nil && cf.Version != "":
				t.Errorf("component %s: version %q read from a tool the script never runs", c.name, cf.Version)
			}
		}
		if !slices.IsSorted(facts.PHPExtensions) || len(slices.Compact(slices.Clone(facts.PHPExtensions))) != len(facts.PHPExtensions) {
			t.Errorf("PHPExtensions %q not sorted and unique", facts.PHPExtensions)
		}
		for _, m := range facts.PHPExtensions {
			if m != strings.ToLower(m) || !modulePattern.MatchString(m) {
				t.Errorf("PHP extension %q", m)
			}
		}
		if !facts.Components[readiness.ComponentPHPFPM].Installed && facts.PHPExtensions != nil {
			t.Errorf("PHP extensions %q without php-fpm", facts.PHPExtensions)
		}
		h := facts.Health
		if h == nil {
			t.Fatal("Health = nil, want the system state of a version-3 report")
		}
		if !facts.Systemd && (h.SystemState != "" || h.FailedUnits != nil) {
			t.Errorf("system state %q %q without systemd", h.SystemState, h.FailedUnits)
		}
		if h.FailedUnits != nil && h.SystemState != "degraded" {
			t.Errorf("failed units %q with state %q", h.FailedUnits, h.SystemState)
		}
		if !h.DpkgLockObserved && h.DpkgLockHolders != nil {
			t.Errorf("lock holders %v not observed", h.DpkgLockHolders)
		}
		for _, x := range h.DpkgLockHolders {
			if !slices.Contains(dpkgLocks, x.Path) || x.PID < 0 {
				t.Errorf("lock holder %+v", x)
			}
		}
		if !h.RebootRequired && h.RebootPackages != nil {
			t.Errorf("reboot packages %q without the marker", h.RebootPackages)
		}
		for i, d := range h.Disks {
			if !slices.Contains(readiness.DiskPaths(), d.Path) || (i > 0 && slices.Index(readiness.DiskPaths(), d.Path) <= slices.Index(readiness.DiskPaths(), h.Disks[i-1].Path)) {
				t.Errorf("disk %d path %q", i, d.Path)
			}
			if d.FreeBytes > d.TotalBytes || d.FreeInodes > d.TotalInodes {
				t.Errorf("disk %+v frees more than it has", d)
			}
		}
		// Parsing is a function of the bytes: a second parse agrees.
		again, err := Parse(out)
		if err != nil || again == nil {
			t.Fatalf("second Parse() = %v, %v", again, err)
		}
	})
}
