package probe

import (
	"bytes"
	"context"
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

// systemctlStub answers is-active from a unit -> state table the way
// systemctl does: exit 0 only for active, 4 for an unknown unit.
func systemctlStub(units map[string]string) string {
	var b strings.Builder
	b.WriteString("[ \"$1\" = is-active ] || exit 64\ncase $2 in\n")
	for _, u := range slices.Sorted(maps.Keys(units)) {
		code := "3"
		if units[u] == "active" {
			code = "0"
		}
		b.WriteString(u + ") " + say(units[u]) + "; exit " + code + " ;;\n")
	}
	b.WriteString("*) " + say("inactive") + "; exit 4 ;;\nesac")
	return b.String()
}

var readyUnits = map[string]string{
	"nginx": "active", "php8.3-fpm": "active", "mariadb": "active",
	"redis-server": "active", "fail2ban": "active",
}

func readyHost() host {
	return host{
		systemd: true,
		files: map[string]string{
			"etc/os-release": ubuntuOSRelease,
		},
		execs: map[string]bool{},
	}.
		exe("usr/bin/sudo", `[ "$1 $2" = "-n true" ] || exit 64`).
		exe("usr/bin/systemctl", systemctlStub(readyUnits)).
		exe("usr/sbin/nginx", `[ "$1" = -v ] || exit 64`+"\n"+sayErr("nginx version: nginx/1.24.0 (Ubuntu)")).
		exe("usr/sbin/php-fpm8.3", phpStub("8.3.6", phpModules)).
		exe("usr/sbin/mariadbd", say("/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)")).
		exe("usr/bin/redis-server", say("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=d81b8ff71cfb150e")).
		// The real wp refuses to run as root unless told it may.
		exe("usr/local/bin/wp", `[ "$WP_CLI_ALLOW_ROOT" = 1 ] || { `+sayErr("Error: YIKES! It looks like you're running this as root.")+"; exit 1; }\n"+say("WP-CLI 2.10.0")).
		exe("usr/bin/fail2ban-client", say("Fail2Ban v1.0.2")).
		exe("usr/bin/rsync", say("rsync  version 3.2.7  protocol version 31", "Copyright (C) 1996-2022 by Andrew Tridgell, Wayne Davison, and others.", "Web site: https://rsync.samba.org/")).
		exe("usr/bin/unzip", say("UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.", "", "Latest sources and executables are at ftp://ftp.info-zip.org/pub/infozip/ ;")).
		exe("usr/bin/curl", say("curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13 zlib/1.3 brotli/1.1.0", "Release-Date: 2023-12-06, security patched: 8.5.0-2ubuntu10.6", `Protocols: dict file ftp ftps gopher gophers http https imap imaps ldap ldaps mqtt pop3 pop3s rtmp rtsp scp sftp smb smbs smtp smtps telnet tftp`))
}

func readyHostFacts() *readiness.Facts {
	f := readyFacts()
	f.PHPExtensions = phpExtensions(phpModules)
	return f
}

// exe returns h with an executable stub at path (a copy: hosts are values).
func (h host) exe(path, body string) host {
	h = h.clone()
	h.files[path] = "#!/bin/sh\n" + body + "\n"
	h.execs[path] = true
	return h
}

// without returns h without the file at path.
func (h host) without(path string) host {
	h = h.clone()
	delete(h.files, path)
	return h
}

func (h host) clone() host {
	h.files = maps.Clone(h.files)
	h.execs = maps.Clone(h.execs)
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
	setComponent := func(f *readiness.Facts, name string, fn func(c *readiness.ComponentFacts)) {
		c := f.Components[name]
		fn(&c)
		f.Components[name] = c
	}
	sudoFails := func(msg string) host {
		return readyHost().exe("usr/bin/sudo", sayErr(msg)+"; exit 1")
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
		{"sudo not allowed", sudoFails("Sorry, user deploy is not allowed to execute '/usr/bin/true' as root on node1."),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo may not run", sudoFails("Sorry, user deploy may not run sudo on node1."),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo requiretty", sudoFails("sudo: sorry, you must have a tty to run sudo"),
			withFacts(func(f *readiness.Facts) { f.Sudo = readiness.SudoTTYRequired })},
		{"sudo ok with a warning", readyHost().exe("usr/bin/sudo", sayErr("sudo: unable to resolve host node1: Name or service not known")),
			readyHostFacts()},
		{"redis missing", readyHost().without("usr/bin/redis-server"),
			withFacts(func(f *readiness.Facts) { f.Components[readiness.ComponentRedis] = readiness.ComponentFacts{} })},
		{"every tool missing", func() host {
			h := readyHost()
			for p := range h.execs {
				if p != "usr/bin/sudo" && p != "usr/bin/systemctl" {
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
			"nginx": "failed", "php8.3-fpm": "activating", "mariadb": "active", "fail2ban": "inactive",
		})), withFacts(func(f *readiness.Facts) {
			setComponent(f, readiness.ComponentNginx, func(c *readiness.ComponentFacts) { c.Service = "failed" })
			setComponent(f, readiness.ComponentPHPFPM, func(c *readiness.ComponentFacts) { c.Service = "activating" })
			setComponent(f, readiness.ComponentRedis, func(c *readiness.ComponentFacts) { c.Service = "inactive" })
			setComponent(f, readiness.ComponentFail2ban, func(c *readiness.ComponentFacts) { c.Service = "inactive" })
		})},
		{"php without redis", readyHost().exe("usr/sbin/php-fpm8.3", phpStub("8.3.6", slices.DeleteFunc(slices.Clone(phpModules), func(m string) bool { return m == "redis" }))),
			withFacts(func(f *readiness.Facts) {
				f.PHPExtensions = slices.DeleteFunc(f.PHPExtensions, func(m string) bool { return m == "redis" })
			})},
		{"php modules after a warning on stdout", readyHost().exe("usr/sbin/php-fpm8.3", phpStub("8.3.6",
			append([]string{`PHP Warning:  Module "redis" is already loaded in Unknown on line 0`}, phpModules...))),
			readyHostFacts()},
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
		{"other php branch", readyHost().without("usr/sbin/php-fpm8.3").exe("usr/sbin/php-fpm8.1", phpStub("8.1.2", phpModules)),
			withFacts(func(f *readiness.Facts) {
				f.Components[readiness.ComponentPHPFPM] = readiness.ComponentFacts{Installed: true, Version: "8.1.2", Unit: "php8.1-fpm", Service: "inactive"}
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
		{"odd tool output", readyHost().
			exe("usr/sbin/nginx", sayErr(`nginx version: nginx/1.24.0 (Ubuntu) \n \\ %s %d `+"\t", "second line")).
			exe("usr/sbin/mariadbd", sayErr("mariadbd: Can't read dir of '/etc/mysql/conf.d/' (Errcode: 13 \"Permission denied\")")+"\n"+
				say("/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)")).
			exe("usr/local/bin/wp", say(longLine, "WP-CLI 2.10.0")).
			exe("usr/bin/rsync", `printf 'rsync  version 3.2.7  protocol \377\376 version 31'`).
			exe("usr/bin/fail2ban-client", sayErr("ERROR  Unable to contact server. Is it running?")+"; exit 255").
			exe("usr/bin/unzip", say(slices.Repeat([]string{"UnZip is not what this says"}, 40)...)).
			// A tool that reads its stdin must get /dev/null, not the script.
			exe("usr/bin/curl", "while read -r l; do echo \"$l\"; done\n"+say("curl 8.5.0 (x86_64-pc-linux-gnu)")),
			withFacts(func(f *readiness.Facts) {
				setComponent(f, readiness.ComponentFail2ban, func(c *readiness.ComponentFacts) { c.Version = "" })
				setComponent(f, readiness.ComponentUnzip, func(c *readiness.ComponentFacts) { c.Version = "" })
			})},
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
				if first == nil {
					first = stdout
				} else if !bytes.Equal(stdout, first) {
					t.Errorf("%s: output differs from the other shells':\n%s\nwant:\n%s", name, stdout, first)
				}
			}
		})
	}
}

func TestScriptIsConstant(t *testing.T) {
	t.Parallel()
	if Script() != Script() || Script() == "" {
		t.Fatal("Script() is not one constant text")
	}
	if !strings.HasPrefix(Script(), "LC_ALL=C; export LC_ALL\nR=${PRESSLUFT_PROBE_ROOT-}\n"+
		"PATH=$R/usr/local/sbin:$R/usr/local/bin:$R/usr/sbin:$R/usr/bin:$R/sbin:$R/bin; export PATH\n") {
		t.Error("Script() does not start with the preamble the fake-host contract fixes")
	}
	if !strings.Contains(Script(), "printf 'pressluft-probe 1\\n'") {
		t.Errorf("Script() does not print the header of ScriptVersion %d", ScriptVersion)
	}
}
