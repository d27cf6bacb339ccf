package probe

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pressluft/runtime-readiness/readiness"
)

// readyRecords are the records of a ready Ubuntu 24.04 host, as the script
// prints them (without header and trailer; the script's order varies).
func readyRecords() []string {
	return []string{
		"os.id ubuntu",
		"os.version_id 24.04",
		"systemd yes",
		"sudo.path /usr/bin/sudo",
		"sudo.exit 0",
		"sudo.stderr ",
		"nginx.path /usr/sbin/nginx",
		"nginx.package installed nginx 1.24.0-2ubuntu7.1",
		"nginx.unit nginx",
		"nginx.active active",
		"php-fpm.path /usr/sbin/php-fpm8.3",
		"php-fpm.package installed php8.3-fpm 8.3.6-0ubuntu0.24.04.5",
		`php-fpm.conf_d 10-mysqlnd.ini\n10-opcache.ini\n20-curl.ini\n20-mbstring.ini\n20-mysqli.ini\n20-redis.ini`,
		"php-fpm.unit php8.3-fpm",
		"php-fpm.active active",
		"mariadb.path /usr/sbin/mariadbd",
		"mariadb.package installed mariadb-server-core 1:10.11.8-0ubuntu0.24.04.1",
		"mariadb.unit mariadb",
		"mariadb.active active",
		"redis.path /usr/bin/redis-server",
		"redis.package installed redis-server 5:7.0.15-1build2",
		"redis.unit redis-server",
		"redis.active active",
		"wp-cli.path /usr/local/bin/wp",
		"fail2ban.path /usr/bin/fail2ban-client",
		"fail2ban.package installed fail2ban 1.0.2-3ubuntu0.1",
		"fail2ban.unit fail2ban",
		"fail2ban.active active",
		"rsync.path /usr/bin/rsync",
		"rsync.package installed rsync 3.2.7-1ubuntu1",
		"unzip.path /usr/bin/unzip",
		"unzip.package installed unzip 6.0-28ubuntu4",
		"curl.path /usr/bin/curl",
		"curl.package installed curl 8.5.0-2ubuntu10.6",
		"nginx.load loaded",
		"php-fpm.load loaded",
		"mariadb.load loaded",
		"redis.load loaded",
		"fail2ban.load loaded",
		"system.state running",
		"cloud_init.status no",
		"cloud_init.result no",
		"reboot.required no",
		`disk / / 7f4a2f83e5c6192d 4096 66053021 20358492 16777216 16331737\n/var/lib/mysql /var/lib/mysql 7f4a2f83e5c6192d 4096 66053021 20358492 16777216 16331737\n/srv/www /srv 7f4a2f83e5c6192d 4096 66053021 20358492 16777216 16331737`,
		"dpkg.lock_observed yes",
		"dpkg.lock_holders ",
	}
}

// readyHealth is the system state readyRecords report (as a Debian 12
// fleet node's overlay root printed it).
func readyHealth() *readiness.Health {
	h := &readiness.Health{SystemState: "running", DpkgLockObserved: true}
	for _, d := range [][2]string{{"/", "/"}, {"/var/lib/mysql", "/var/lib/mysql"}, {"/srv/www", "/srv"}} {
		h.Disks = append(h.Disks, readiness.DiskUsage{Path: d[0], MeasuredAt: d[1], FSID: "7f4a2f83e5c6192d",
			TotalBytes: 66053021 * 4096, FreeBytes: 20358492 * 4096, TotalInodes: 16777216, FreeInodes: 16331737})
	}
	return h
}

// render frames records as the script does: header, records, trailer.
func render(records []string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, r := range records {
		b.WriteString(r + "\n")
	}
	fmt.Fprintf(&b, "end %d\n", len(records))
	return b.String()
}

// edit returns the ready records with the records of the given keys
// replaced ("key value"), or removed (a key alone), and new ones appended.
func edit(changes ...string) []string {
	recs := readyRecords()
	for _, c := range changes {
		key, _, _ := strings.Cut(c, " ")
		i := 0
		for i < len(recs) && !strings.HasPrefix(recs[i], key+" ") {
			i++
		}
		switch {
		case i == len(recs):
			recs = append(recs, c)
		case !strings.Contains(c, " "):
			recs = append(recs[:i], recs[i+1:]...)
		default:
			recs[i] = c
		}
	}
	return recs
}

func readyFacts() *readiness.Facts {
	return &readiness.Facts{
		ScriptVersion: 3,
		OS:            readiness.OSRelease{ID: "ubuntu", VersionID: "24.04"},
		Systemd:       true,
		Sudo:          readiness.SudoOK,
		Components: map[string]readiness.ComponentFacts{
			readiness.ComponentNginx:    {Installed: true, Version: "1.24.0", Package: "1.24.0-2ubuntu7.1", Unit: "nginx", Service: "active"},
			readiness.ComponentPHPFPM:   {Installed: true, Version: "8.3.6", Package: "8.3.6-0ubuntu0.24.04.5", Unit: "php8.3-fpm", Service: "active"},
			readiness.ComponentMariaDB:  {Installed: true, Version: "10.11.8", Package: "1:10.11.8-0ubuntu0.24.04.1", Unit: "mariadb", Service: "active"},
			readiness.ComponentRedis:    {Installed: true, Version: "7.0.15", Package: "5:7.0.15-1build2", Unit: "redis-server", Service: "active"},
			readiness.ComponentWPCLI:    {Installed: true},
			readiness.ComponentFail2ban: {Installed: true, Version: "1.0.2", Package: "1.0.2-3ubuntu0.1", Unit: "fail2ban", Service: "active"},
			readiness.ComponentRsync:    {Installed: true, Version: "3.2.7", Package: "3.2.7-1ubuntu1"},
			readiness.ComponentUnzip:    {Installed: true, Version: "6.0", Package: "6.0-28ubuntu4"},
			readiness.ComponentCurl:     {Installed: true, Version: "8.5.0", Package: "8.5.0-2ubuntu10.6"},
		},
		PHPExtensions: []string{"curl", "mbstring", "mysqli", "mysqlnd", "opcache", "redis"},
		Health:        readyHealth(),
	}
}

// setComponent changes one component of f.
func setComponent(f *readiness.Facts, name string, fn func(c *readiness.ComponentFacts)) {
	c := f.Components[name]
	fn(&c)
	f.Components[name] = c
}

// changed returns the ready facts after fn.
func changed(fn func(f *readiness.Facts)) *readiness.Facts {
	f := readyFacts()
	fn(f)
	return f
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	fromTool := func(name, version string) *readiness.Facts {
		return changed(func(f *readiness.Facts) {
			setComponent(f, name, func(c *readiness.ComponentFacts) { c.Version, c.Package = version, "" })
		})
	}
	tests := []struct {
		name string
		out  string
		want *readiness.Facts
	}{
		{"ready", render(readyRecords()), readyFacts()},
		{"records in another order", func() string {
			r := readyRecords()
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return render(r)
		}(), readyFacts()},
		// What sudo 1.9.13 printed on real Debian 12 nodes (internal/fleet).
		{"sudo password required", render(edit("sudo.exit 1", "sudo.stderr sudo: a password is required",
			"sudo.validate_exit 1", "sudo.validate_stderr sudo: a password is required")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoPasswordRequired })},
		{"sudo user not in sudoers", render(edit("sudo.exit 1", "sudo.stderr sudo: a password is required",
			"sudo.validate_exit 1", "sudo.validate_stderr Sorry, user deploy may not run sudo on node1.")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo some commands without a password, not this one", render(edit("sudo.exit 1", "sudo.stderr sudo: a password is required",
			"sudo.validate_exit 0", "sudo.validate_stderr ")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo not allowed", render(edit("sudo.exit 1", "sudo.stderr Sorry, user deploy is not allowed to execute '/usr/bin/true' as root on node1.",
			"sudo.validate_exit 1", "sudo.validate_stderr sudo: a password is required")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo may not run", render(edit("sudo.exit 1", "sudo.stderr Sorry, user deploy may not run sudo on node1.",
			"sudo.validate_exit 1", "sudo.validate_stderr Sorry, user deploy may not run sudo on node1.")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo tty", render(edit("sudo.exit 1", "sudo.stderr sudo: sorry, you must have a tty to run sudo",
			"sudo.validate_exit 1", "sudo.validate_stderr sudo: sorry, you must have a tty to run sudo")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoTTYRequired })},
		{"sudo unknown failure", render(edit("sudo.exit 1", `sudo.stderr sudo: /etc/sudoers is world writable\nsudo: no valid sudoers sources found, quitting`,
			"sudo.validate_exit 1", `sudo.validate_stderr sudo: /etc/sudoers is world writable`)),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoFailed })},
		{"sudo ok with a warning", render(edit("sudo.stderr sudo: unable to resolve host node1: Name or service not known")),
			readyFacts()},
		{"sudo missing", render(edit("sudo.path ", "sudo.exit", "sudo.stderr")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoMissing })},
		{"redis missing", render(edit("redis.path ", "redis.package", "redis.unit", "redis.load", "redis.active")),
			changed(func(f *readiness.Facts) { f.Components[readiness.ComponentRedis] = readiness.ComponentFacts{} })},
		{"php-fpm missing", render(edit("php-fpm.path ", "php-fpm.package", "php-fpm.conf_d", "php-fpm.unit", "php-fpm.load", "php-fpm.active")),
			changed(func(f *readiness.Facts) {
				f.Components[readiness.ComponentPHPFPM] = readiness.ComponentFacts{}
				f.PHPExtensions = nil
			})},
		{"booting, cloud-init running", render(edit("system.state starting", "cloud_init.status yes")),
			changed(func(f *readiness.Facts) {
				f.Health.SystemState = "starting"
				f.Health.CloudInit = readiness.CloudInitRunning
			})},
		{"cloud-init done", render(edit("cloud_init.status yes", "cloud_init.result yes")),
			changed(func(f *readiness.Facts) { f.Health.CloudInit = readiness.CloudInitDone })},
		{"degraded", render(edit("system.state degraded", `system.failed hold-apt.service\nbroken@1.service`)),
			changed(func(f *readiness.Facts) {
				f.Health.SystemState = "degraded"
				f.Health.FailedUnits = []string{"hold-apt.service", "broken@1.service"}
			})},
		{"dpkg lock held, as on a fleet node", render(edit(`dpkg.lock_holders /var/lib/dpkg/lock POSIX 594 dpkg\n/var/lib/dpkg/lock-frontend POSIX 581 apt-get\n/var/lib/dpkg/lock-frontend OFDLCK -1 `)),
			changed(func(f *readiness.Facts) {
				f.Health.DpkgLockHolders = []readiness.LockHolder{{Path: "/var/lib/dpkg/lock", PID: 594, Command: "dpkg"},
					{Path: "/var/lib/dpkg/lock-frontend", PID: 581, Command: "apt-get"}, {Path: "/var/lib/dpkg/lock-frontend"}}
			})},
		{"reboot required", render(edit("reboot.required yes", `reboot.pkgs linux-image-6.8.0-51-generic\nlibc6\nlibc6\n`)),
			changed(func(f *readiness.Facts) {
				f.Health.RebootRequired = true
				f.Health.RebootPackages = []string{"linux-image-6.8.0-51-generic", "libc6"}
			})},
		{"reboot required, no list", render(edit("reboot.required yes")), changed(func(f *readiness.Facts) { f.Health.RebootRequired = true })},
		{"nothing measured", render(edit("disk ", "dpkg.lock_observed no")),
			changed(func(f *readiness.Facts) { f.Health.Disks = nil; f.Health.DpkgLockObserved = false })},
		{"no systemd", render(edit("systemd no", "nginx.unit", "nginx.load", "nginx.active", "php-fpm.unit", "php-fpm.load", "php-fpm.active",
			"mariadb.unit", "mariadb.load", "mariadb.active", "redis.unit", "redis.load", "redis.active", "fail2ban.unit", "fail2ban.load", "fail2ban.active", "system.state")),
			changed(func(f *readiness.Facts) {
				f.Systemd = false
				f.Health.SystemState = ""
				for k, c := range f.Components {
					c.Unit, c.Service = "", ""
					f.Components[k] = c
				}
			})},
		{"services not active", render(edit("nginx.active failed", "redis.active inactive", "mariadb.active ", "fail2ban.active Failed to connect to bus")),
			changed(func(f *readiness.Facts) {
				for k, s := range map[string]readiness.ServiceState{
					readiness.ComponentNginx: "failed", readiness.ComponentRedis: "inactive",
					readiness.ComponentMariaDB: "", readiness.ComponentFail2ban: "",
				} {
					setComponent(f, k, func(c *readiness.ComponentFacts) { c.Service = s })
				}
			})},
		// What systemd 252 printed on the fleet's Debian 12 nodes.
		{"units not loaded", render(edit("redis.load masked", "redis.active inactive", "nginx.load not-found", "nginx.active inactive",
			"php-fpm.active activating", "mariadb.load ", "mariadb.active inactive")),
			changed(func(f *readiness.Facts) {
				for k, s := range map[string]readiness.ServiceState{
					readiness.ComponentRedis: "masked", readiness.ComponentNginx: "not-found",
					readiness.ComponentPHPFPM: "activating", readiness.ComponentMariaDB: "",
				} {
					setComponent(f, k, func(c *readiness.ComponentFacts) { c.Service = s })
				}
			})},
		{"unpackaged nginx", render(edit("nginx.path /usr/local/sbin/nginx", "nginx.package", "nginx.version nginx version: nginx/1.27.3")),
			fromTool(readiness.ComponentNginx, "1.27.3")},
		{"no dpkg", render(edit("nginx.package", "nginx.version nginx version: nginx/1.24.0 (Ubuntu)",
			"php-fpm.package", `php-fpm.version PHP 8.3.6 (fpm-fcgi) (built: Apr 15 2024 19:21:47)\nCopyright (c) The PHP Group`,
			"mariadb.package", "mariadb.version /usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)",
			"redis.package", "redis.version Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=d81b8ff71cfb150e",
			"fail2ban.package", "fail2ban.version Fail2Ban v1.0.2",
			"rsync.package", `rsync.version rsync  version 3.2.7  protocol version 31\nCopyright (C) 1996-2022 by Andrew Tridgell, Wayne Davison, and others.`,
			"unzip.package", "unzip.version UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.",
			"curl.package", "curl.version curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13 zlib/1.3")),
			changed(func(f *readiness.Facts) {
				for k, c := range f.Components {
					c.Package = ""
					f.Components[k] = c
				}
				setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version = "6.00" })
			})},
		{"wp-cli from a package", render(edit("wp-cli.path /usr/bin/wp", "wp-cli.package installed wp-cli 2.10.0-1")),
			changed(func(f *readiness.Facts) {
				f.Components[readiness.ComponentWPCLI] = readiness.ComponentFacts{Installed: true, Version: "2.10.0", Package: "2.10.0-1"}
			})},
		{"other mariadb packages", render(edit("mariadb.package installed mariadb-server-core-10.6 1:10.6.18-0ubuntu0.22.04.1")),
			changed(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentMariaDB, func(c *readiness.ComponentFacts) {
					c.Version, c.Package = "10.6.18", "1:10.6.18-0ubuntu0.22.04.1"
				})
			})},
		{"mariadb metapackage", render(edit("mariadb.package installed mariadb-server 1:10.11.8-0ubuntu0.24.04.1")), readyFacts()},
		{"nginx-full", render(edit("nginx.package installed nginx-full 1.18.0-6ubuntu14.4")),
			changed(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Version, c.Package = "1.18.0", "1.18.0-6ubuntu14.4" })
			})},
		{"package versions", render(edit("rsync.package installed rsync 3.2.7+dfsg-1", "unzip.package installed unzip 6", "curl.package installed curl 2:8.5.0~rc1",
			"fail2ban.package installed fail2ban 1.0.2.3.4.5-1", "redis.package installed redis-server 5:7.0.15-1~deb12u3")),
			changed(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentRsync, func(c *readiness.ComponentFacts) { c.Version, c.Package = "3.2.7", "3.2.7+dfsg-1" })
				setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version, c.Package = "6", "6" })
				setComponent(f, readiness.ComponentCurl, func(c *readiness.ComponentFacts) { c.Version, c.Package = "8.5.0", "2:8.5.0~rc1" })
				setComponent(f, readiness.ComponentFail2ban, func(c *readiness.ComponentFacts) { c.Version, c.Package = "", "1.0.2.3.4.5-1" })
				setComponent(f, readiness.ComponentRedis, func(c *readiness.ComponentFacts) { c.Package = "5:7.0.15-1~deb12u3" })
			})},
		{"unrecognised versions", render(edit("nginx.package", "nginx.version nginx: [alert] could not open error log", "curl.package", "curl.version ",
			"mariadb.package", `mariadb.version mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)`)),
			changed(func(f *readiness.Facts) {
				for _, k := range []string{readiness.ComponentNginx, readiness.ComponentCurl, readiness.ComponentMariaDB} {
					setComponent(f, k, func(c *readiness.ComponentFacts) { c.Version, c.Package = "", "" })
				}
			})},
		{"version after warnings", render(edit("mariadb.package", "mariadb.version mariadbd: Can't read dir of '/etc/mysql/conf.d/'\r\\n/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu\r",
			"rsync.package", `rsync.version rsync  version v3.3.0  protocol version 32`)),
			changed(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentMariaDB, func(c *readiness.ComponentFacts) { c.Package = "" })
				setComponent(f, readiness.ComponentRsync, func(c *readiness.ComponentFacts) { c.Version, c.Package = "3.3.0", "" })
			})},
		{"modules instead of conf.d", render(edit("php-fpm.conf_d",
			`php-fpm.modules PHP Warning:  Module "redis" is already loaded in Unknown on line 0\n[PHP Modules]\nredis\nRedis\nmysqli\n`+"\xff\xfe"+`\n\n[Zend Modules]\nZend OPcache\n`)),
			changed(func(f *readiness.Facts) { f.PHPExtensions = []string{"mysqli", "redis", "zend opcache"} })},
		{"php-fpm without modules", render(edit("php-fpm.conf_d", "php-fpm.modules ")),
			changed(func(f *readiness.Facts) { f.PHPExtensions = nil })},
		{"empty conf.d", render(edit("php-fpm.conf_d ")),
			changed(func(f *readiness.Facts) { f.PHPExtensions = nil })},
		{"odd conf.d names", render(edit(`php-fpm.conf_d 20-redis.ini\nREADME\n99-Custom.ini\nredis.ini\n.ini\n20-.ini\n20-a b.ini\n-x.ini\n` + "\xff.ini")),
			changed(func(f *readiness.Facts) { f.PHPExtensions = []string{"custom", "redis"} })},
		{"other php branch", render(edit("php-fpm.path /usr/sbin/php-fpm8.1", "php-fpm.unit php8.1-fpm", "php-fpm.package installed php8.1-fpm 8.1.2-1ubuntu2.18")),
			changed(func(f *readiness.Facts) {
				f.Components[readiness.ComponentPHPFPM] = readiness.ComponentFacts{Installed: true, Version: "8.1.2", Package: "8.1.2-1ubuntu2.18", Unit: "php8.1-fpm", Service: "active"}
			})},
		{"os values trimmed and unquoted", render(edit(`os.id "debian" `, "os.version_id '12'\r")),
			changed(func(f *readiness.Facts) { f.OS = readiness.OSRelease{ID: "debian", VersionID: "12"} })},
		{"no os-release", render(edit("os.id ", "os.version_id ")),
			changed(func(f *readiness.Facts) { f.OS = readiness.OSRelease{} })},
		{"backslashes in tool output", render(edit("nginx.package", `nginx.version nginx version: nginx/1.24.0 \\n (C:\\x)`)),
			changed(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Package = "" })
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.out))
			if err != nil {
				t.Fatalf("Parse() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	ready := render(readyRecords())
	tests := []struct {
		name string
		out  string
		want string // the error message, which never quotes the output
	}{
		{"empty", "", "probe: output invalid: empty output"},
		{"no final newline", strings.TrimSuffix(ready, "\n"), "probe: output invalid: output does not end with a newline (truncated)"},
		{"cut mid-way", render(readyRecords())[:strings.Index(ready, "redis.path")], "probe: output invalid: missing trailer (truncated)"},
		{"too long", header + "\n" + strings.Repeat("x", MaxOutput), "probe: output invalid: output exceeds 65536 bytes"},
		{"banner first", "Welcome to node1!\n" + ready, "probe: output invalid: line 1: missing header"},
		{"nologin", "This account is currently not available.\n", "probe: output invalid: line 1: missing header"},
		{"CRLF", strings.ReplaceAll(ready, "\n", "\r\n"), "probe: output invalid: line 1: unsupported script version"},
		{"version 1", strings.Replace(ready, header, "pressluft-probe 1", 1), "probe: output invalid: line 1: unsupported script version"},
		{"other version", strings.Replace(ready, header, "pressluft-probe 4", 1), "probe: output invalid: line 1: unsupported script version"},
		{"version 2", strings.Replace(ready, header, "pressluft-probe 2", 1), "probe: output invalid: line 1: unsupported script version"},
		{"system.state missing", render(edit("system.state")), "probe: output invalid: missing record system.state"},
		{"system.failed without degraded", render(edit("system.failed x.service")), "probe: output invalid: line 48: unexpected record system.failed"},
		{"system.failed not a unit", render(edit("system.state degraded", "system.failed rm -rf")), "probe: output invalid: line 48: system.failed holds a line that is not a unit name"},
		{"cloud_init maybe", render(edit("cloud_init.status maybe")), "probe: output invalid: line 42: cloud_init.status is neither yes nor no"},
		{"reboot.pkgs without marker", render(edit("reboot.pkgs libc6")), "probe: output invalid: line 48: unexpected record reboot.pkgs"},
		{"disk path unknown", render(edit("disk /home /home 1 4096 1 1 1 1")), "probe: output invalid: line 45: disk: a path not measured, or out of order"},
		{"disk twice", render(edit(`disk / / 1 4096 1 1 1 1\n/ / 1 4096 1 1 1 1`)), "probe: output invalid: line 45: disk: a path not measured, or out of order"},
		{"disk avail over size", render(edit("disk / / 1 4096 1 2 1 1")), "probe: output invalid: line 45: disk: inconsistent numbers"},
		{"disk short", render(edit("disk / / 1 4096 1 1 1")), "probe: output invalid: line 45: disk: a line without eight fields"},
		{"disk dir not a parent", render(edit("disk /srv/www /var 1 4096 1 1 1 1")), "probe: output invalid: line 45: disk: a directory that does not hold its path"},
		{"disk overflow", render(edit("disk / / 1 4096 18446744073709551615 1 1 1")), "probe: output invalid: line 45: disk: inconsistent numbers"},
		{"lock holder elsewhere", render(edit("dpkg.lock_holders /etc/shadow POSIX 1 x")), "probe: output invalid: line 47: dpkg.lock_holders holds a malformed line"},
		{"flock holder", render(edit("dpkg.lock_holders /var/lib/dpkg/lock FLOCK 1 flock")), "probe: output invalid: line 47: dpkg.lock_holders holds a malformed line"},
		{"holder unobserved", render(edit("dpkg.lock_observed no", "dpkg.lock_holders /var/lib/dpkg/lock POSIX 1 apt")), "probe: output invalid: line 47: dpkg.lock_holders without dpkg.lock_observed"},
		{"unknown key", render(edit("nginx.flavour plain")), "probe: output invalid: line 48: unknown record key"},
		{"wp-cli is never run", render(edit("wp-cli.version WP-CLI 2.10.0")), "probe: output invalid: line 48: unknown record key"},
		{"key without value", render(edit("systemd")) + "", "probe: output invalid: missing record systemd"},
		{"no space", strings.Replace(ready, "systemd yes", "systemd", 1), "probe: output invalid: line 4: malformed record: no space after the key"},
		{"duplicate", render(append(readyRecords(), "systemd no")), "probe: output invalid: line 48: duplicate record systemd"},
		{"count too high", strings.Replace(ready, "end 46", "end 35", 1), "probe: output invalid: line 48: trailer count does not match the records"},
		{"count with zero", strings.Replace(ready, "end 46", "end 041", 1), "probe: output invalid: line 48: trailer count does not match the records"},
		{"count missing", strings.Replace(ready, "end 46", "end ", 1), "probe: output invalid: line 48: trailer count does not match the records"},
		{"data after end", ready + "logout\n", "probe: output invalid: line 49: data after the trailer"},
		{"empty line after end", ready + "\n", "probe: output invalid: line 49: data after the trailer"},
		{"two reports", ready + ready, "probe: output invalid: line 49: data after the trailer"},
		{"bad escape", render(edit(`nginx.package a\tb`)), "probe: output invalid: line 9: malformed escape in record nginx.package"},
		{"dangling backslash", render(edit(`nginx.package a\`)), "probe: output invalid: line 9: malformed escape in record nginx.package"},
		{"NUL", render(edit("nginx.package a\x00b")), "probe: output invalid: line 9: NUL byte"},
		{"systemd maybe", render(edit("systemd maybe")), "probe: output invalid: line 4: systemd is neither yes nor no"},
		{"sudo exit text", render(edit("sudo.exit one")), "probe: output invalid: line 6: sudo.exit is not an exit status"},
		{"sudo exit too big", render(edit("sudo.exit 256")), "probe: output invalid: line 6: sudo.exit is not an exit status"},
		{"sudo exit signed", render(edit("sudo.exit +1")), "probe: output invalid: line 6: sudo.exit is not an exit status"},
		{"sudo stderr missing", render(edit("sudo.stderr")), "probe: output invalid: missing record sudo.stderr"},
		{"sudo validate missing", render(edit("sudo.exit 1", "sudo.stderr sudo: a password is required")),
			"probe: output invalid: missing record sudo.validate_exit"},
		{"sudo validate stderr missing", render(edit("sudo.exit 1", "sudo.stderr sudo: a password is required", "sudo.validate_exit 1")),
			"probe: output invalid: missing record sudo.validate_stderr"},
		{"sudo validate exit text", render(edit("sudo.exit 1", "sudo.validate_exit x", "sudo.validate_stderr ")),
			"probe: output invalid: line 48: sudo.validate_exit is not an exit status"},
		{"sudo validated after success", render(edit("sudo.validate_exit 0", "sudo.validate_stderr ")),
			"probe: output invalid: line 48: unexpected record sudo.validate_exit"},
		{"sudo records without sudo", render(edit("sudo.path ")), "probe: output invalid: line 6: unexpected record sudo.exit"},
		{"relative path", render(edit("nginx.path nginx")), "probe: output invalid: line 8: nginx.path is not an absolute path"},
		{"neither package nor version", render(edit("curl.package")), "probe: output invalid: missing record curl.version"},
		{"package and version", render(edit("curl.version curl 8.5.0")), "probe: output invalid: line 48: unexpected record curl.version"},
		{"package without tool", render(edit("curl.path ")), "probe: output invalid: line 35: unexpected record curl.package"},
		{"package not installed", render(edit("nginx.package config-files nginx 1.24.0-2ubuntu7.1")),
			"probe: output invalid: line 9: nginx.package is not an installed package of nginx"},
		{"package of something else", render(edit("nginx.package installed apache2 2.4.58-1ubuntu8")),
			"probe: output invalid: line 9: nginx.package is not an installed package of nginx"},
		{"package of another php branch", render(edit("php-fpm.package installed php8.1-fpm 8.1.2-1ubuntu2.18")),
			"probe: output invalid: line 13: php-fpm.package is not an installed package of php-fpm"},
		{"package without version", render(edit("redis.package installed redis-server ")),
			"probe: output invalid: line 22: redis.package is not a package version"},
		{"package with two versions", render(edit("redis.package installed redis-server 7.0 7.1")),
			"probe: output invalid: line 22: redis.package is not a package version"},
		{"package version not a version", render(edit("redis.package installed redis-server 1:abc")),
			"probe: output invalid: line 22: redis.package is not a package version"},
		{"package record alone", render(edit("redis.package installed")),
			"probe: output invalid: line 22: redis.package is not an installed package of redis"},
		{"conf.d and modules", render(edit("php-fpm.modules [PHP Modules]")), "probe: output invalid: line 48: unexpected record php-fpm.modules"},
		{"neither conf.d nor modules", render(edit("php-fpm.conf_d")), "probe: output invalid: missing record php-fpm.modules"},
		{"unit without systemd", render(edit("systemd no")), "probe: output invalid: line 10: unexpected record nginx.unit"},
		{"unit missing", render(edit("redis.unit")), "probe: output invalid: missing record redis.unit"},
		{"active missing", render(edit("redis.active")), "probe: output invalid: missing record redis.active"},
		{"load missing", render(edit("redis.load")), "probe: output invalid: missing record redis.load"},
		{"wrong unit", render(edit("nginx.unit apache2")), "probe: output invalid: line 10: nginx.unit is not the unit the script checks"},
		{"php unit of another branch", render(edit("php-fpm.unit php8.1-fpm")), "probe: output invalid: line 15: php-fpm.unit does not match php-fpm.path"},
		{"php path not php-fpm", render(edit("php-fpm.path /usr/sbin/php8.3")), "probe: output invalid: line 15: php-fpm.unit does not match php-fpm.path"},
		{"os id not UTF-8", render(edit("os.id ubu\xffntu")), "probe: output invalid: line 2: os.id is not printable text"},
		{"os id control", render(edit("os.version_id 24\x1b[0m")), "probe: output invalid: line 3: os.version_id is not printable text"},
		{"os id too long", render(edit("os.id " + strings.Repeat("u", 129))), "probe: output invalid: line 2: os.id is not printable text"},
		{"os missing", render(edit("os.id")), "probe: output invalid: missing record os.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.out))
			if err == nil {
				t.Fatalf("Parse() error = nil, want %q", tt.want)
			}
			if got != nil {
				t.Errorf("Parse() facts = %+v, want nil with an error", got)
			}
			if !errors.Is(err, ErrOutputInvalid) {
				t.Errorf("errors.Is(%v, ErrOutputInvalid) = false, want true", err)
			}
			if oe := (*OutputError)(nil); !errors.As(err, &oe) {
				t.Errorf("error %T is no *OutputError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err.Error(), tt.want)
			}
		})
	}
}

func TestParseErrorsNeverQuoteOutput(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-SECRET"
	outs := []string{
		secret + "\n",
		header + "\n" + secret + " x\nend 1\n",
		header + "\n" + secret + "\n",
		render(edit("os.id " + secret + "\x01")),
		render(edit("nginx.unit " + secret)),
		render(edit("sudo.exit " + secret)),
		render(edit(`nginx.package \` + secret)),
		render(edit("nginx.package installed " + secret)),
		render(edit("nginx.package installed nginx " + secret)),
		render(edit("end " + secret)),
		render(edit("systemd " + secret)),
	}
	for i, out := range outs {
		_, err := Parse([]byte(out))
		if err == nil {
			t.Fatalf("output %d: Parse() error = nil, want one", i)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("output %d: error %q quotes the output", i, err)
		}
	}
}
