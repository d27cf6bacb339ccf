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
// prints them (without header and trailer).
func readyRecords() []string {
	return []string{
		"os.id ubuntu",
		"os.version_id 24.04",
		"systemd yes",
		"sudo.path /usr/bin/sudo",
		"sudo.exit 0",
		"sudo.stderr ",
		"nginx.path /usr/sbin/nginx",
		"nginx.version nginx version: nginx/1.24.0 (Ubuntu)",
		"nginx.unit nginx",
		"nginx.active active",
		"php-fpm.path /usr/sbin/php-fpm8.3",
		`php-fpm.version PHP 8.3.6 (fpm-fcgi) (built: Apr 15 2024 19:21:47)\nCopyright (c) The PHP Group\nZend Engine v4.3.6, Copyright (c) Zend Technologies`,
		`php-fpm.modules [PHP Modules]\nCore\ncurl\nmbstring\nmysqli\nredis\nZend OPcache\n\n[Zend Modules]\nZend OPcache`,
		"php-fpm.unit php8.3-fpm",
		"php-fpm.active active",
		"mariadb.path /usr/sbin/mariadbd",
		"mariadb.version /usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)",
		"mariadb.unit mariadb",
		"mariadb.active active",
		"redis.path /usr/bin/redis-server",
		"redis.version Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=d81b8ff71cfb150e",
		"redis.unit redis-server",
		"redis.active active",
		"wp-cli.path /usr/local/bin/wp",
		"wp-cli.version WP-CLI 2.10.0",
		"fail2ban.path /usr/bin/fail2ban-client",
		"fail2ban.version Fail2Ban v1.0.2",
		"fail2ban.unit fail2ban",
		"fail2ban.active active",
		"rsync.path /usr/bin/rsync",
		`rsync.version rsync  version 3.2.7  protocol version 31\nCopyright (C) 1996-2022 by Andrew Tridgell, Wayne Davison, and others.`,
		"unzip.path /usr/bin/unzip",
		"unzip.version UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.",
		"curl.path /usr/bin/curl",
		"curl.version curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13 zlib/1.3",
	}
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
		ScriptVersion: 1,
		OS:            readiness.OSRelease{ID: "ubuntu", VersionID: "24.04"},
		Systemd:       true,
		Sudo:          readiness.SudoOK,
		Components: map[string]readiness.ComponentFacts{
			readiness.ComponentNginx:    {Installed: true, Version: "1.24.0", Unit: "nginx", Service: "active"},
			readiness.ComponentPHPFPM:   {Installed: true, Version: "8.3.6", Unit: "php8.3-fpm", Service: "active"},
			readiness.ComponentMariaDB:  {Installed: true, Version: "10.11.8", Unit: "mariadb", Service: "active"},
			readiness.ComponentRedis:    {Installed: true, Version: "7.0.15", Unit: "redis-server", Service: "active"},
			readiness.ComponentWPCLI:    {Installed: true, Version: "2.10.0"},
			readiness.ComponentFail2ban: {Installed: true, Version: "1.0.2", Unit: "fail2ban", Service: "active"},
			readiness.ComponentRsync:    {Installed: true, Version: "3.2.7"},
			readiness.ComponentUnzip:    {Installed: true, Version: "6.00"},
			readiness.ComponentCurl:     {Installed: true, Version: "8.5.0"},
		},
		PHPExtensions: []string{"core", "curl", "mbstring", "mysqli", "redis", "zend opcache"},
	}
}

// changed returns the ready facts after fn.
func changed(fn func(f *readiness.Facts)) *readiness.Facts {
	f := readyFacts()
	fn(f)
	return f
}

func TestParseValid(t *testing.T) {
	t.Parallel()
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
		{"sudo password required", render(edit("sudo.exit 1", "sudo.stderr sudo: a password is required")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoPasswordRequired })},
		{"sudo not allowed", render(edit("sudo.exit 1", "sudo.stderr Sorry, user deploy is not allowed to execute '/usr/bin/true' as root on node1.")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo may not run", render(edit("sudo.exit 1", "sudo.stderr Sorry, user deploy may not run sudo on node1.")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoNotPermitted })},
		{"sudo tty", render(edit("sudo.exit 1", "sudo.stderr sudo: sorry, you must have a tty to run sudo")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoTTYRequired })},
		{"sudo unknown failure", render(edit("sudo.exit 1", `sudo.stderr sudo: /etc/sudoers is world writable\nsudo: no valid sudoers sources found, quitting`)),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoFailed })},
		{"sudo ok with a warning", render(edit("sudo.stderr sudo: unable to resolve host node1: Name or service not known")),
			readyFacts()},
		{"sudo missing", render(edit("sudo.path ", "sudo.exit", "sudo.stderr")),
			changed(func(f *readiness.Facts) { f.Sudo = readiness.SudoMissing })},
		{"redis missing", render(edit("redis.path ", "redis.version", "redis.unit", "redis.active")),
			changed(func(f *readiness.Facts) { f.Components[readiness.ComponentRedis] = readiness.ComponentFacts{} })},
		{"php-fpm missing", render(edit("php-fpm.path ", "php-fpm.version", "php-fpm.modules", "php-fpm.unit", "php-fpm.active")),
			changed(func(f *readiness.Facts) {
				f.Components[readiness.ComponentPHPFPM] = readiness.ComponentFacts{}
				f.PHPExtensions = nil
			})},
		{"no systemd", render(edit("systemd no", "nginx.unit", "nginx.active", "php-fpm.unit", "php-fpm.active",
			"mariadb.unit", "mariadb.active", "redis.unit", "redis.active", "fail2ban.unit", "fail2ban.active")),
			changed(func(f *readiness.Facts) {
				f.Systemd = false
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
					c := f.Components[k]
					c.Service = s
					f.Components[k] = c
				}
			})},
		{"unrecognised versions", render(edit("nginx.version nginx: [alert] could not open error log", "curl.version ",
			`mariadb.version mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)`)),
			changed(func(f *readiness.Facts) {
				for _, k := range []string{readiness.ComponentNginx, readiness.ComponentCurl, readiness.ComponentMariaDB} {
					c := f.Components[k]
					c.Version = ""
					f.Components[k] = c
				}
			})},
		{"version after warnings", render(edit("mariadb.version mariadbd: Can't read dir of '/etc/mysql/conf.d/'\r\\n/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu\r",
			`rsync.version rsync  version v3.3.0  protocol version 32`)),
			changed(func(f *readiness.Facts) {
				c := f.Components[readiness.ComponentRsync]
				c.Version = "3.3.0"
				f.Components[readiness.ComponentRsync] = c
			})},
		{"modules after a warning, odd lines skipped", render(edit(
			`php-fpm.modules PHP Warning:  Module "redis" is already loaded in Unknown on line 0\n[PHP Modules]\nredis\nRedis\nmysqli\n` + "\xff\xfe" + `\n\n[Zend Modules]\nZend OPcache\n`)),
			changed(func(f *readiness.Facts) { f.PHPExtensions = []string{"mysqli", "redis", "zend opcache"} })},
		{"php-fpm without modules", render(edit("php-fpm.modules ")),
			changed(func(f *readiness.Facts) { f.PHPExtensions = nil })},
		{"other php branch", render(edit("php-fpm.path /usr/sbin/php-fpm8.1", "php-fpm.unit php8.1-fpm", "php-fpm.version PHP 8.1.2-1ubuntu2.18 (fpm-fcgi)")),
			changed(func(f *readiness.Facts) {
				f.Components[readiness.ComponentPHPFPM] = readiness.ComponentFacts{Installed: true, Version: "8.1.2", Unit: "php8.1-fpm", Service: "active"}
			})},
		{"os values trimmed and unquoted", render(edit(`os.id "debian" `, "os.version_id '12'\r")),
			changed(func(f *readiness.Facts) { f.OS = readiness.OSRelease{ID: "debian", VersionID: "12"} })},
		{"no os-release", render(edit("os.id ", "os.version_id ")),
			changed(func(f *readiness.Facts) { f.OS = readiness.OSRelease{} })},
		{"backslashes in tool output", render(edit(`nginx.version nginx version: nginx/1.24.0 \\n (C:\\x)`)), readyFacts()},
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
		{"other version", strings.Replace(ready, header, "pressluft-probe 2", 1), "probe: output invalid: line 1: unsupported script version"},
		{"unknown key", render(edit("nginx.flavour plain")), "probe: output invalid: line 37: unknown record key"},
		{"key without value", render(edit("systemd")) + "", "probe: output invalid: missing record systemd"},
		{"no space", strings.Replace(ready, "systemd yes", "systemd", 1), "probe: output invalid: line 4: malformed record: no space after the key"},
		{"duplicate", render(append(readyRecords(), "systemd no")), "probe: output invalid: line 37: duplicate record systemd"},
		{"count too high", strings.Replace(ready, "end 35", "end 36", 1), "probe: output invalid: line 37: trailer count does not match the records"},
		{"count with zero", strings.Replace(ready, "end 35", "end 035", 1), "probe: output invalid: line 37: trailer count does not match the records"},
		{"count missing", strings.Replace(ready, "end 35", "end ", 1), "probe: output invalid: line 37: trailer count does not match the records"},
		{"data after end", ready + "logout\n", "probe: output invalid: line 38: data after the trailer"},
		{"empty line after end", ready + "\n", "probe: output invalid: line 38: data after the trailer"},
		{"two reports", ready + ready, "probe: output invalid: line 38: data after the trailer"},
		{"bad escape", render(edit(`nginx.version a\tb`)), "probe: output invalid: line 9: malformed escape in record nginx.version"},
		{"dangling backslash", render(edit(`nginx.version a\`)), "probe: output invalid: line 9: malformed escape in record nginx.version"},
		{"NUL", render(edit("nginx.version a\x00b")), "probe: output invalid: line 9: NUL byte"},
		{"systemd maybe", render(edit("systemd maybe")), "probe: output invalid: line 4: systemd is neither yes nor no"},
		{"sudo exit text", render(edit("sudo.exit one")), "probe: output invalid: line 6: sudo.exit is not an exit status"},
		{"sudo exit too big", render(edit("sudo.exit 256")), "probe: output invalid: line 6: sudo.exit is not an exit status"},
		{"sudo exit signed", render(edit("sudo.exit +1")), "probe: output invalid: line 6: sudo.exit is not an exit status"},
		{"sudo stderr missing", render(edit("sudo.stderr")), "probe: output invalid: missing record sudo.stderr"},
		{"sudo records without sudo", render(edit("sudo.path ")), "probe: output invalid: line 6: unexpected record sudo.exit"},
		{"relative path", render(edit("nginx.path nginx")), "probe: output invalid: line 8: nginx.path is not an absolute path"},
		{"version missing", render(edit("curl.version")), "probe: output invalid: missing record curl.version"},
		{"version without tool", render(edit("curl.path ")), "probe: output invalid: line 36: unexpected record curl.version"},
		{"unit without systemd", render(edit("systemd no")), "probe: output invalid: line 10: unexpected record nginx.unit"},
		{"unit missing", render(edit("redis.unit")), "probe: output invalid: missing record redis.unit"},
		{"active missing", render(edit("redis.active")), "probe: output invalid: missing record redis.active"},
		{"wrong unit", render(edit("nginx.unit apache2")), "probe: output invalid: line 10: nginx.unit is not the unit the script checks"},
		{"php unit of another branch", render(edit("php-fpm.unit php8.1-fpm")), "probe: output invalid: line 15: php-fpm.unit does not match php-fpm.path"},
		{"php path not php-fpm", render(edit("php-fpm.path /usr/sbin/php8.3")), "probe: output invalid: line 15: php-fpm.unit does not match php-fpm.path"},
		{"modules missing", render(edit("php-fpm.modules")), "probe: output invalid: missing record php-fpm.modules"},
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
		render(edit(`nginx.version \` + secret)),
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
