package probe

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// These tests run the real script with real shells against a directory
// laid out like an Ubuntu 24.04 host, with #!/bin/sh stubs that print what
// the real tools print. They need no SSH: PRESSLUFT_PROBE_ROOT points the
// script at the directory, exactly as the fake node does.

// host is a fake host filesystem: files by path relative to the root.
// Executables are stubs: their text is the body of a #!/bin/sh script.
type host struct {
	files   map[string]string
	execs   map[string]bool
	links   map[string]string // symlinks: path -> target
	systemd bool
}

// say is a stub body printing lines on stdout.
func say(lines ...string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = "'" + strings.ReplaceAll(l, "'", `'\''`) + "'"
	}
	return "printf '%s\\n' " + strings.Join(q, " ")
}

// sayErr is a stub body printing lines on stderr.
func sayErr(lines ...string) string { return say(lines...) + " >&2" }

const ubuntuOSRelease = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
`

var phpModules = []string{
	"[PHP Modules]", "calendar", "Core", "ctype", "curl", "date", "dom", "exif", "fileinfo",
	"filter", "ftp", "gd", "hash", "iconv", "igbinary", "imagick", "intl", "json", "libxml",
	"mbstring", "mysqli", "mysqlnd", "openssl", "pcntl", "pcre", "PDO", "pdo_mysql", "Phar",
	"posix", "random", "redis", "Reflection", "session", "shmop", "SimpleXML", "sockets",
	"sodium", "SPL", "standard", "sysvmsg", "tokenizer", "xml", "xmlreader", "xmlwriter",
	"xsl", "Zend OPcache", "zip", "zlib", "", "[Zend Modules]", "Zend OPcache", "",
}

func phpExtensions(modules []string) []string {
	var exts []string
	for _, m := range modules {
		if m != "" && !strings.HasPrefix(m, "[") && !slices.Contains(exts, strings.ToLower(m)) {
			exts = append(exts, strings.ToLower(m))
		}
	}
	slices.Sort(exts)
	return exts
}

func phpStub(version string, modules []string) string {
	return "case $1 in\n-v) " + say("PHP "+version+" (fpm-fcgi) (built: Apr 15 2024 19:21:47)",
		"Copyright (c) The PHP Group", "Zend Engine v4.3.6, Copyright (c) Zend Technologies",
		"    with Zend OPcache v8.3.6, Copyright (c), by Zend Technologies") + " ;;\n" +
		"-m) " + say(modules...) + " ;;\n*) exit 64 ;;\nesac"
}

// systemctlStub answers `list-units --all --plain --no-legend --full
// UNIT.service...` and `show -p LoadState,ActiveState UNIT...` from a
// unit -> state table the way systemd 252 does: "masked" and "not-found"
// are LoadStates (with ActiveState inactive), and a unit not in the table
// is not-found. list-units lists only the units systemd has in memory: as
// on the fleet's nodes, neither a stopped and disabled unit ("inactive")
// nor a missing one.
func systemctlStub(units map[string]string) string {
	var listed []string
	for _, u := range slices.Sorted(maps.Keys(units)) {
		if s := units[u]; s != "inactive" && s != "not-found" {
			load, active, sub := "loaded", s, s
			if s == "masked" {
				load, active, sub = s, "inactive", "dead"
			}
			listed = append(listed, u+".service "+load+" "+active+" "+sub+" The "+u+" unit")
		}
	}
	return systemctlListStub(listed, units)
}

// systemctlListStub prints lines for `list-units --all --plain
// --no-legend --full UNIT.service...` (those whose unit is asked for) and
// answers `show -p LoadState,ActiveState UNIT...` from units, but fails
// (exit 64) when shown a unit list-units listed: the script must ask show
// only for the units list-units did not list.
func systemctlListStub(lines []string, units map[string]string) string {
	var b strings.Builder
	b.WriteString("case \"$1 $2 $3 $4 $5\" in\n'list-units --all --plain --no-legend --full')\n")
	for _, l := range lines {
		u := listedUnit(l)
		if u == "" {
			b.WriteString(say(l) + "\n")
			continue
		}
		b.WriteString("case \" $* \" in *' " + u + ".service '*) " + say(l) + " ;; esac\n")
	}
	b.WriteString("exit 0 ;;\nesac\n")
	b.WriteString("[ \"$1 $2 $3\" = 'show -p LoadState,ActiveState' ] && [ $# -gt 3 ] || exit 64\nshift 3\nsep=\nfor u in \"$@\"; do\n[ -z \"$sep\" ] || echo\nsep=1\ncase ${u%.service} in\n")
	for _, l := range lines {
		if u := listedUnit(l); u != "" {
			b.WriteString(u + ") " + sayErr("show asked for "+u+", which list-units listed") + "; exit 64 ;;\n")
		}
	}
	for _, u := range slices.Sorted(maps.Keys(units)) {
		load, active := "loaded", units[u]
		if active == "masked" || active == "not-found" {
			load, active = active, "inactive"
		}
		b.WriteString(u + ") " + say("LoadState="+load, "ActiveState="+active) + " ;;\n")
	}
	b.WriteString("*) " + say("LoadState=not-found", "ActiveState=inactive") + " ;;\nesac\ndone")
	return b.String()
}

// listedUnit is the unit a list-units line names with its LOAD and
// ACTIVE (its first or, after a glyph, second field, without ".service"),
// or "": a shorter line lists nothing.
func listedUnit(line string) string {
	f := strings.Fields(line)
	for i := 0; i < min(2, len(f)-2); i++ {
		if u, ok := strings.CutSuffix(f[i], ".service"); ok {
			return u
		}
	}
	return ""
}

var readyUnits = map[string]string{
	"nginx": "active", "php8.3-fpm": "active", "mariadb": "active",
	"redis-server": "active", "fail2ban": "active",
}

// readyPackages is the dpkg database of the ready host.
var readyPackages = []sshtest.Package{
	{Name: "curl", Version: "8.5.0-2ubuntu10.6"},
	{Name: "fail2ban", Version: "1.0.2-3ubuntu0.1"},
	{Name: "mariadb-server-core", Version: "1:10.11.8-0ubuntu0.24.04.1"},
	{Name: "nginx", Version: "1.24.0-2ubuntu7.1"},
	{Name: "nginx-common", Version: "1.24.0-2ubuntu7.1"},
	{Name: "nginx-core", Status: "not-installed"},
	{Name: "php8.3-fpm", Version: "8.3.6-0ubuntu0.24.04.5"},
	{Name: "redis-server", Version: "5:7.0.15-1build2"},
	{Name: "rsync", Version: "3.2.7-1ubuntu1"},
	{Name: "unzip", Version: "6.0-28ubuntu4"},
}

// readyConfD are the ini files in php8.3's fpm/conf.d of the ready host.
var readyConfD = []string{"10-mysqlnd.ini", "10-opcache.ini", "20-curl.ini", "20-mbstring.ini", "20-mysqli.ini", "20-redis.ini"}

const confD = "etc/php/8.3/fpm/conf.d/"

func readyHost() host {
	h := host{
		systemd: true,
		files: map[string]string{
			"etc/os-release": ubuntuOSRelease,
		},
		execs: map[string]bool{},
		links: map[string]string{},
	}.
		exe("usr/bin/sudo", `[ "$1 $2" = "-n true" ] || exit 64`).
		exe("usr/bin/systemctl", systemctlStub(readyUnits)).
		exe("usr/sbin/nginx", `[ "$1" = -v ] || exit 64`+"\n"+sayErr("nginx version: nginx/1.24.0 (Ubuntu)")).
		exe("usr/sbin/php-fpm8.3", phpStub("8.3.6", phpModules)).
		exe("usr/sbin/mariadbd", say("/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)")).
		exe("usr/bin/redis-server", say("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=d81b8ff71cfb150e")).
		// wp starts PHP: the script must never run it.
		exe("usr/local/bin/wp", sayErr("wp was run")+"; exit 1").
		exe("usr/bin/fail2ban-client", say("Fail2Ban v1.0.2")).
		exe("usr/bin/rsync", say("rsync  version 3.2.7  protocol version 31", "Copyright (C) 1996-2022 by Andrew Tridgell, Wayne Davison, and others.", "Web site: https://rsync.samba.org/")).
		exe("usr/bin/unzip", say("UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.", "", "Latest sources and executables are at ftp://ftp.info-zip.org/pub/infozip/ ;")).
		exe("usr/bin/curl", say("curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13 zlib/1.3 brotli/1.1.0", "Release-Date: 2023-12-06, security patched: 8.5.0-2ubuntu10.6", `Protocols: dict file ftp ftps gopher gophers http https imap imaps ldap ldaps mqtt pop3 pop3s rtmp rtsp scp sftp smb smbs smtp smtps telnet tftp`)).
		link("usr/bin/grep", realGrep).
		packages(readyPackages...)
	for _, ini := range readyConfD {
		h.files[confD+ini] = "extension=x.so\n"
	}
	return h
}

// realGrep is the machine's grep: the script reads the fake status file
// with the real tool.
var realGrep = func() string {
	for _, g := range []string{"/usr/bin/grep", "/bin/grep"} {
		if _, err := os.Stat(g); err == nil {
			return g
		}
	}
	return "/nonexistent/grep"
}()

// dpkgStatus is dpkg's database in the fake root.
const dpkgStatus = "var/lib/dpkg/status"

// packages returns h with a dpkg status file and a dpkg-query that both
// know exactly pkgs.
func (h host) packages(pkgs ...sshtest.Package) host {
	h = h.clone()
	h.files["usr/bin/dpkg-query"] = sshtest.DpkgQueryScript(pkgs)
	h.execs["usr/bin/dpkg-query"] = true
	h.files[dpkgStatus] = sshtest.DpkgStatus(pkgs)
	return h
}

// noDpkg returns h without dpkg: no status file, no dpkg-query.
func (h host) noDpkg() host {
	return h.without(dpkgStatus).without("usr/bin/dpkg-query")
}

// link returns h with a symlink at path.
func (h host) link(path, target string) host {
	h = h.clone()
	h.links[path] = target
	return h
}

// readyHostFacts are the facts of the ready host: its systemctl stub
// knows no is-system-running and it has no stat, so of its system state
// only the absence of cloud-init and of a reboot marker is seen.
func readyHostFacts() *readiness.Facts {
	f := readyFacts()
	f.Health = &readiness.Health{}
	return f
}

// toolFacts are the facts of the ready host read from the tools' own
// output, as without dpkg.
func toolFacts() *readiness.Facts {
	f := readyHostFacts()
	for k, c := range f.Components {
		c.Package = ""
		f.Components[k] = c
	}
	setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version = "6.00" })
	return f
}

// exe returns h with an executable stub at path (a copy: hosts are values).
func (h host) exe(path, body string) host {
	h = h.clone()
	h.files[path] = "#!/bin/sh\n" + body + "\n"
	h.execs[path] = true
	return h
}

// without returns h without the file or link at path, or every file
// under it when path ends in a slash.
func (h host) without(path string) host {
	h = h.clone()
	for p := range h.files {
		if p == path || (strings.HasSuffix(path, "/") && strings.HasPrefix(p, path)) {
			delete(h.files, p)
		}
	}
	delete(h.links, path)
	return h
}

func (h host) clone() host {
	h.files = maps.Clone(h.files)
	h.execs = maps.Clone(h.execs)
	h.links = maps.Clone(h.links)
	return h
}

// build writes the host under a directory whose name needs quoting.
func (h host) build(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "node root [1]*")
	for path, text := range h.files {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if h.execs[path] {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	for path, target := range h.links {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	if h.systemd {
		if err := os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// shells are the ways the script is run: as the fake node and sshd run it
// (a login shell running Command), and directly under each shell.
func shells(t *testing.T) map[string][]string {
	t.Helper()
	s := map[string][]string{"sh -c Command": {"/bin/sh", "-c", Command}}
	for _, sh := range []string{"/bin/dash", "/bin/bash", "/bin/busybox"} {
		if _, err := os.Stat(sh); err == nil {
			args := []string{sh, "-s"}
			if filepath.Base(sh) == "busybox" {
				args = []string{sh, "sh", "-s"}
			}
			s[filepath.Base(sh)] = args
			if filepath.Base(sh) == "bash" {
				s["bash --posix"] = []string{sh, "--posix", "-s"}
			}
		}
	}
	return s
}

// runScript runs Script on stdin of argv with the fake node's environment.
func runScript(t *testing.T, argv []string, root string) (stdout, stderr []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "PRESSLUFT_PROBE_ROOT=" + root, "USER=deploy", "LOGNAME=deploy"}
	cmd.Stdin = strings.NewReader(Script())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v (stderr %q)", argv, err, errb.String())
	}
	return out.Bytes(), errb.Bytes()
}

func TestScript(t *testing.T) {
	t.Parallel()
	withFacts := func(fn func(f *readiness.Facts)) *readiness.Facts {
		f := readyHostFacts()
		fn(f)
		return f
	}
	sudoFails := func(msg string) host {
		return readyHost().exe("usr/bin/sudo", sayErr(msg)+"; exit 1")
	}
	// sudoValidates answers `sudo -n -v` with validate (a command that
	// may exit 0) and `sudo -n true` with "a password is required", as
	// sudo 1.9 does for a user outside sudoers.
	sudoValidates := func(validate string) host {
		return readyHost().exe("usr/bin/sudo", `if [ "$1 $2" = "-n -v" ]; then `+validate+`; fi
`+sayErr("sudo: a password is required")+"; exit 1")
	}
	withoutPHPRedis := func(f *readiness.Facts) {
		f.PHPExtensions = slices.DeleteFunc(f.PHPExtensions, func(m string) bool { return m == "redis" })
	}
	longLine := strings.Repeat("x", 2000)
	tests := []struct {
		name string
		host host
		want *readiness.Facts
	}{
		{"ready", readyHost(), readyHostFacts()},
		{"sudo missing", readyHost().without("usr/bin/sudo"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoMissing })},
		{"sudo password required", sudoFails("sudo: a password is required"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoPasswordRequired })},
		{"sudo user not in sudoers", sudoValidates(sayErr("Sorry, user deploy may not run sudo on node1.") + "; exit 1"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo some commands without a password", sudoValidates("exit 0"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo not allowed", sudoFails("Sorry, user deploy is not allowed to execute '/usr/bin/true' as root on node1."),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo may not run", sudoFails("Sorry, user deploy may not run sudo on node1."),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo requiretty", sudoFails("sudo: sorry, you must have a tty to run sudo"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoTTYRequired })},
		{"sudo broken", sudoFails("sudo: /etc/sudoers is world writable"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoFailed })},
		{"sudo ok with a warning", readyHost().exe("usr/bin/sudo", sayErr("sudo: unable to resolve host node1: Name or service not known")),
			readyHostFacts()},
		{"redis missing, package still listed", readyHost().without("usr/bin/redis-server"),
			withFacts(func(f *readiness.Facts) { f.Components[readiness.ComponentRedis] = readiness.ComponentFacts{} })},
		{"fail2ban removed, config files kept", readyHost().without("usr/bin/fail2ban-client").packages(append(
			slices.DeleteFunc(slices.Clone(readyPackages), func(p sshtest.Package) bool { return p.Name == "fail2ban" }),
			sshtest.Package{Name: "fail2ban", Version: "1.0.2-3ubuntu0.1", Status: "config-files"})...),
			withFacts(func(f *readiness.Facts) { f.Components[readiness.ComponentFail2ban] = readiness.ComponentFacts{} })},
		{"every tool missing", func() host {
			h := readyHost()
			for p := range h.execs {
				if p != "usr/bin/sudo" && p != "usr/bin/systemctl" && p != "usr/bin/dpkg-query" {
					h = h.without(p)
				}
			}
			return h
		}(), withFacts(func(f *readiness.Facts) {
			for k := range f.Components {
				f.Components[k] = readiness.ComponentFacts{}
			}
			f.PHPExtensions = nil
		})},
		{"unpackaged nginx in /usr/local/sbin", readyHost().without("usr/sbin/nginx").
			exe("usr/local/sbin/nginx", `[ "$1" = -v ] || exit 64`+"\n"+sayErr("nginx version: nginx/1.27.3")).
			packages(append(slices.DeleteFunc(slices.Clone(readyPackages), func(p sshtest.Package) bool { return p.Name == "nginx" }),
				sshtest.Package{Name: "nginx", Version: "1.24.0-2ubuntu7.1", Status: "config-files"})...),
			withFacts(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Version, c.Package = "1.27.3", "" })
			})},
		{"curl half-installed", readyHost().packages(append(
			slices.DeleteFunc(slices.Clone(readyPackages), func(p sshtest.Package) bool { return p.Name == "curl" }),
			sshtest.Package{Name: "curl", Version: "8.5.0-2ubuntu10.7", Status: "half-installed"})...),
			withFacts(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentCurl, func(c *readiness.ComponentFacts) { c.Package = "" })
			})},
		{"wp-cli packaged, mariadb by metapackage", readyHost().packages(append(slices.Clone(readyPackages),
			sshtest.Package{Name: "wp-cli", Version: "2.10.0-1"},
			sshtest.Package{Name: "mariadb-server", Version: "1:10.11.8-0ubuntu0.24.04.1"},
			sshtest.Package{Name: "mariadb-server-core-10.6", Status: "config-files", Version: "1:10.6.18-0ubuntu0.22.04.1"})...),
			withFacts(func(f *readiness.Facts) {
				f.Components[readiness.ComponentWPCLI] = readiness.ComponentFacts{Installed: true, Version: "2.10.0", Package: "2.10.0-1"}
			})},
		{"packages by grep, without dpkg-query", readyHost().without("usr/bin/dpkg-query"), readyHostFacts()},
		{"packages by grep, dpkg-query broken", readyHost().exe("usr/bin/dpkg-query", sayErr("dpkg-query was run")+"; exit 2"), readyHostFacts()},
		{"no status file: dpkg-query", readyHost().without(dpkgStatus), readyHostFacts()},
		{"no grep: dpkg-query", readyHost().without("usr/bin/grep"), readyHostFacts()},
		{"grep fails: dpkg-query", readyHost().without("usr/bin/grep").exe("usr/bin/grep", sayErr("grep: invalid option -- 'A'")+"; exit 2"), readyHostFacts()},
		{"no status file, no grep: dpkg-query", readyHost().without(dpkgStatus).without("usr/bin/grep"), readyHostFacts()},
		{"no dpkg", readyHost().noDpkg(), toolFacts()},
		{"no status file, dpkg-query fails", readyHost().without(dpkgStatus).
			exe("usr/bin/dpkg-query", sayErr("dpkg-query: error: parsing file '/var/lib/dpkg/status' near line 5")+"; exit 2"), toolFacts()},
		{"config-files and unversioned stanzas not counted", readyHost().without("usr/bin/dpkg-query").packages(append(
			slices.DeleteFunc(slices.Clone(readyPackages), func(p sshtest.Package) bool { return p.Name == "nginx" || p.Name == "nginx-core" || p.Name == "unzip" }),
			sshtest.Package{Name: "nginx", Version: "1.24.0-2ubuntu7.1", Status: "config-files"},
			sshtest.Package{Name: "nginx-core", Version: "1.24.0-2ubuntu7.1", Status: "half-configured"},
			sshtest.Package{Name: "unzip"})...).without("usr/bin/dpkg-query"),
			withFacts(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Package = "" })
				setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version, c.Package = "6.00", "" })
			})},
		{"no systemd", func() host {
			h := readyHost().exe("usr/bin/systemctl", sayErr("System has not been booted with systemd as init system (PID 1). Can't operate.",
				"Failed to connect to bus: Host is down")+"; exit 1")
			h.systemd = false
			return h
		}(), withFacts(func(f *readiness.Facts) {
			f.Systemd = false
			for k, c := range f.Components {
				c.Unit, c.Service = "", ""
				f.Components[k] = c
			}
		})},
		{"systemd without systemctl", readyHost().without("usr/bin/systemctl"),
			withFacts(func(f *readiness.Facts) {
				for k, c := range f.Components {
					c.Service = ""
					f.Components[k] = c
				}
			})},
		{"services down", readyHost().exe("usr/bin/systemctl", systemctlStub(map[string]string{
			"nginx": "failed", "php8.3-fpm": "activating", "mariadb": "masked", "fail2ban": "inactive",
		})), withFacts(func(f *readiness.Facts) {
			setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Service = "failed" })
			setComponent(f, readiness.ComponentPHPFPM, func(c *readiness.ComponentFacts) { c.Service = "activating" })
			setComponent(f, readiness.ComponentMariaDB, func(c *readiness.ComponentFacts) { c.Service = "masked" })
			setComponent(f, readiness.ComponentRedis, func(c *readiness.ComponentFacts) { c.Service = "not-found" })
			setComponent(f, readiness.ComponentFail2ban, func(c *readiness.ComponentFacts) { c.Service = "inactive" })
		})},
		// list-units lists only what systemd has in memory; the rest is
		// asked of show (which fails for a listed unit here).
		{"nothing listed: show for every unit", readyHost().exe("usr/bin/systemctl", systemctlListStub(nil, readyUnits)), readyHostFacts()},
		{"a stopped unit in memory is listed", readyHost().exe("usr/bin/systemctl", systemctlListStub([]string{
			"fail2ban.service     loaded active   running Fail2Ban Service",
			"mariadb.service      loaded active   running MariaDB 10.11.8 database server",
			"nginx.service        loaded inactive dead    A high performance web server and a reverse proxy server",
			"php8.3-fpm.service   loaded active   running The PHP 8.3 FastCGI Process Manager",
			"redis-server.service loaded active   running Advanced key-value store",
		}, nil)), withFacts(func(f *readiness.Facts) {
			setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Service = "inactive" })
		})},
		// Without --plain systemd 252 puts a glyph before a failed or
		// masked unit ("*" in the C locale); the JOB column comes before
		// the description when some unit has a job; other lines are
		// ignored.
		{"glyphs, a job column and stray lines", readyHost().exe("usr/bin/systemctl", systemctlListStub([]string{
			"* nginx.service loaded failed failed A high performance web server and a reverse proxy server",
			"\u25cf mariadb.service masked inactive dead mariadb.service",
			"php8.3-fpm.service loaded activating auto-restart start The PHP 8.3 FastCGI Process Manager",
			"redis-server.service loaded",
			"fail2ban.service",
			"nosuch.service loaded active running Not asked for",
			"",
		}, map[string]string{"redis-server": "active", "fail2ban": "inactive"})), withFacts(func(f *readiness.Facts) {
			setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Service = "failed" })
			setComponent(f, readiness.ComponentMariaDB, func(c *readiness.ComponentFacts) { c.Service = "masked" })
			setComponent(f, readiness.ComponentPHPFPM, func(c *readiness.ComponentFacts) { c.Service = "activating" })
			setComponent(f, readiness.ComponentFail2ban, func(c *readiness.ComponentFacts) { c.Service = "inactive" })
		})},
		{"php without redis", readyHost().without(confD + "20-redis.ini"), withFacts(withoutPHPRedis)},
		{"dangling redis ini", readyHost().without(confD+"20-redis.ini").link(confD+"20-redis.ini", "/etc/php/8.3/mods-available/redis.ini"),
			withFacts(withoutPHPRedis)},
		{"redis ini linked", readyHost().without(confD+"20-redis.ini").link(confD+"20-redis.ini", "../../mods-available/redis.ini").
			exe("etc/php/8.3/mods-available/redis.ini", "extension=redis.so"), readyHostFacts()},
		{"empty conf.d", readyHost().without(confD).exe(confD+"README", "x"),
			withFacts(func(f *readiness.Facts) { f.PHPExtensions = nil })},
		{"no conf.d: php-fpm -m", readyHost().without(confD),
			withFacts(func(f *readiness.Facts) { f.PHPExtensions = phpExtensions(phpModules) })},
		{"no conf.d: modules after a warning on stdout", readyHost().without(confD).exe("usr/sbin/php-fpm8.3", phpStub("8.3.6",
			append([]string{`PHP Warning:  Module "redis" is already loaded in Unknown on line 0`}, phpModules...))),
			withFacts(func(f *readiness.Facts) { f.PHPExtensions = phpExtensions(phpModules) })},
		{"no conf.d: php without redis", readyHost().without(confD).exe("usr/sbin/php-fpm8.3", phpStub("8.3.6",
			slices.DeleteFunc(slices.Clone(phpModules), func(m string) bool { return m == "redis" }))),
			withFacts(func(f *readiness.Facts) { f.PHPExtensions = phpExtensions(phpModules); withoutPHPRedis(f) })},
		{"highest php-fpm wins", readyHost().
			exe("usr/sbin/php-fpm7.4", phpStub("7.4.33", phpModules[:3])).
			exe("usr/sbin/php-fpm8.1", phpStub("8.1.2", phpModules[:3])).
			exe("usr/sbin/php-fpm8.4.dpkg-old", phpStub("8.4.1", phpModules[:3])).
			exe("usr/sbin/php-fpm", phpStub("9.9.9", phpModules[:3])),
			readyHostFacts()},
		{"php-fpm not executable", func() host {
			h := readyHost().exe("usr/sbin/php-fpm8.4", phpStub("8.4.1", phpModules[:3]))
			h.execs["usr/sbin/php-fpm8.4"] = false
			return h
		}(), readyHostFacts()},
		{"other php branch, unpackaged", readyHost().without("usr/sbin/php-fpm8.3").exe("usr/sbin/php-fpm8.1", phpStub("8.1.2", phpModules)),
			withFacts(func(f *readiness.Facts) {
				f.Components[readiness.ComponentPHPFPM] = readiness.ComponentFacts{Installed: true, Version: "8.1.2", Unit: "php8.1-fpm", Service: "not-found"}
				f.PHPExtensions = phpExtensions(phpModules)
			})},
		{"os-release quoting", func() host {
			h := readyHost().clone()
			h.files["etc/os-release"] = "# ID=commented\n  ID=indented\nVERSION_ID='12'\nID_LIKE=\"debian\"\nID=\"debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm"
			return h
		}(), withFacts(func(f *readiness.Facts) { f.OS = readiness.OSRelease{ID: "debian", VersionID: "12"} })},
		{"os-release with CRLF", func() host {
			h := readyHost().clone()
			h.files["etc/os-release"] = strings.ReplaceAll(ubuntuOSRelease, "\n", "\r\n")
			return h
		}(), readyHostFacts()},
		{"os-release only in /usr/lib", func() host {
			h := readyHost().without("etc/os-release")
			h.files["usr/lib/os-release"] = "ID=ubuntu\nVERSION_ID=24.04\n"
			return h
		}(), readyHostFacts()},
		{"no os-release", readyHost().without("etc/os-release"),
			withFacts(func(f *readiness.Facts) { f.OS = readiness.OSRelease{} })},
		{"odd tool output", readyHost().noDpkg().
			exe("usr/sbin/nginx", sayErr(`nginx version: nginx/1.24.0 (Ubuntu) \n \\ %s %d `+"\t", "second line")).
			exe("usr/sbin/mariadbd", sayErr("mariadbd: Can't read dir of '/etc/mysql/conf.d/' (Errcode: 13 \"Permission denied\")")+"\n"+
				say("/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)")).
			exe("usr/bin/redis-server", say(longLine, "Redis server v=7.0.15 sha=00000000:0")).
			exe("usr/bin/rsync", `printf 'rsync  version 3.2.7  protocol \377\376 version 31'`).
			exe("usr/bin/fail2ban-client", sayErr("ERROR  Unable to contact server. Is it running?")+"; exit 255").
			exe("usr/bin/unzip", say(slices.Repeat([]string{"UnZip is not what this says"}, 40)...)).
			// A tool that reads its stdin must get /dev/null, not the script.
			exe("usr/bin/curl", "while read -r l; do echo \"$l\"; done\n"+say("curl 8.5.0 (x86_64-pc-linux-gnu)")),
			func() *readiness.Facts {
				f := toolFacts()
				setComponent(f, readiness.ComponentFail2ban, func(c *readiness.ComponentFacts) { c.Version = "" })
				setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version = "" })
				return f
			}()},
		{"huge tool output", readyHost().noDpkg().
			exe("usr/bin/unzip", say(slices.Repeat([]string{strings.Repeat(`\`, 500)}, 40)...)).
			exe("usr/sbin/php-fpm8.3", phpStub("8.3.6", append([]string{"[PHP Modules]"}, slices.Repeat([]string{strings.Repeat("m", 60)}, 500)...))).
			without(confD),
			func() *readiness.Facts {
				f := toolFacts()
				setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version = "" })
				f.PHPExtensions = []string{strings.Repeat("m", 60)}
				return f
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := tt.host.build(t)
			var first []byte
			for _, name := range slices.Sorted(maps.Keys(shells(t))) {
				stdout, stderr := runScript(t, shells(t)[name], root)
				if len(stderr) > 0 {
					t.Errorf("%s: stderr = %q, want none (a command outside sh's builtins and the checked tools?)", name, stderr)
				}
				got, err := Parse(stdout)
				if err != nil {
					t.Fatalf("%s: Parse() error = %v\noutput:\n%s", name, err, stdout)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: facts mismatch (-want +got):\n%s\noutput:\n%s", name, diff, stdout)
				}
				checkFrame(t, name, stdout)
				// The jobs finish in any order: compare the sorted records.
				lines := strings.Split(string(stdout), "\n")
				slices.Sort(lines)
				sorted := []byte(strings.Join(lines, "\n"))
				if first == nil {
					first = sorted
				} else if !bytes.Equal(sorted, first) {
					t.Errorf("%s: output differs from the other shells':\n%s\nwant:\n%s", name, sorted, first)
				}
			}
		})
	}
}

// TestScriptIsConstant: Script() is script.sh byte for byte, the stdin
// every probe sends (scriptBytes, shared by all of them) is the same text,
// and a probe leaves it so.
func TestScriptIsConstant(t *testing.T) {
	t.Parallel()
	file, err := os.ReadFile("script.sh")
	if err != nil {
		t.Fatal(err)
	}
	if len(file) == 0 {
		t.Fatal("script.sh is empty")
	}
	if got := Script(); got != string(file) {
		t.Fatalf("Script() is not script.sh: got %d bytes, want %d (first difference at byte %d)", len(got), len(file), firstDiff([]byte(got), file))
	}
	if !bytes.Equal(scriptBytes, file) {
		t.Fatalf("the probe's stdin is not script.sh: got %d bytes, want %d (first difference at byte %d)", len(scriptBytes), len(file), firstDiff(scriptBytes, file))
	}
	n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	if obs := (&Prober{}).Observe(context.Background(), "n1", n.Target()); obs.Facts == nil {
		t.Fatalf("probe of a ready node: got transport failure %+v, want facts", obs.Transport)
	}
	if !bytes.Equal(scriptBytes, file) {
		t.Fatalf("after a probe the stdin shared by every probe is no longer script.sh (first difference at byte %d)", firstDiff(scriptBytes, file))
	}
	if !strings.HasPrefix(Script(), "LC_ALL=C; export LC_ALL\nR=${PRESSLUFT_PROBE_ROOT-}\n"+
		"PATH=$R/usr/local/sbin:$R/usr/local/bin:$R/usr/sbin:$R/usr/bin:$R/sbin:$R/bin; export PATH\n") {
		t.Error("Script() does not start with the preamble the fake-host contract fixes")
	}
	if !strings.Contains(Script(), fmt.Sprintf("printf 'pressluft-probe %d\\n'", ScriptVersion)) {
		t.Errorf("Script() does not print the header of ScriptVersion %d", ScriptVersion)
	}
}

// checkFrame checks what Parse cannot see: every line is short enough to
// have been written atomically (PIPE_BUF), and the header comes first.
func checkFrame(t *testing.T, shell string, out []byte) {
	t.Helper()
	if !bytes.HasPrefix(out, []byte(header+"\n")) {
		t.Errorf("%s: output does not start with the header", shell)
	}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(line)+1 > 3600 {
			t.Errorf("%s: line %d is %d bytes, want under 3600 (PIPE_BUF is 4096)", shell, i+1, len(line)+1)
		}
	}
}

// firstDiff returns the index of the first byte where a and b differ, or
// the length of the shorter one.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestScriptUnitQueries: the units' state costs one systemctl when
// list-units lists every unit, and a show only for the units it does not
// list (besides is-system-running, which the stub does not answer).
func TestScriptUnitQueries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		units map[string]string
		want  []string
	}{
		{"all listed", readyUnits, []string{"is-system-running", "list-units --all --plain --no-legend --full nginx.service php8.3-fpm.service mariadb.service redis-server.service fail2ban.service"}},
		{"two not listed", map[string]string{"nginx": "active", "php8.3-fpm": "failed", "mariadb": "inactive", "fail2ban": "masked"}, []string{
			"is-system-running",
			"list-units --all --plain --no-legend --full nginx.service php8.3-fpm.service mariadb.service redis-server.service fail2ban.service",
			"show -p LoadState,ActiveState mariadb.service redis-server.service",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Each call appends its arguments to a log in the root.
			root := readyHost().exe("usr/bin/systemctl", `printf '%s\n' "$*" >>"$PRESSLUFT_PROBE_ROOT/systemctl.log"`+"\n"+systemctlStub(tt.units)).build(t)
			for _, name := range slices.Sorted(maps.Keys(shells(t))) {
				log := filepath.Join(root, "systemctl.log")
				if err := os.RemoveAll(log); err != nil {
					t.Fatal(err)
				}
				runScript(t, shells(t)[name], root)
				b, err := os.ReadFile(log)
				if err != nil {
					t.Fatal(err)
				}
				got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				slices.Sort(got) // the jobs run concurrently
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Errorf("%s: systemctl calls (-want +got):\n%s", name, d)
				}
			}
		})
	}
}
