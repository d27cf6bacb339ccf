package sshtest

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/stretchr/testify/require"
)

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestStubs checks that each tool prints its real first line on the real
// stream.
func TestStubs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		profile    Profile
		cmd        string
		wantStdout string // first line
		wantStderr string // first line
		wantCode   int
	}{
		{"nginx", ReadyProfile(), "nginx -v", "", "nginx version: nginx/1.24.0 (Ubuntu)", 0},
		{"nginx debian", DebianProfile(), "nginx -v", "", "nginx version: nginx/1.22.1", 0},
		{"php-fpm", ReadyProfile(), "php-fpm8.3 -v", "PHP 8.3.6 (fpm-fcgi) (built: Apr 15 2024 19:21:47)", "", 0},
		{"php-fpm old", OldVersionsProfile(), "php-fpm7.4 -v", "PHP 7.4.3 (fpm-fcgi) (built: Apr 15 2024 19:21:47)", "", 0},
		{"php-fpm debian", DebianProfile(), "php-fpm8.2 -v", "PHP 8.2.28 (fpm-fcgi) (built: Apr 15 2024 19:21:47)", "", 0},
		{"mariadbd", ReadyProfile(), "mariadbd --version",
			"/usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)", "", 0},
		{"mariadbd debian", DebianProfile(), "mariadbd --version",
			"/usr/sbin/mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)", "", 0},
		{"redis-server", ReadyProfile(), "redis-server --version",
			"Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=d81b8ff71cfb150e", "", 0},
		{"wp", ReadyProfile(), "wp --version", "WP-CLI 2.10.0", "", 0},
		{"fail2ban-client", ReadyProfile(), "fail2ban-client --version", "Fail2Ban v1.0.2", "", 0},
		{"rsync", ReadyProfile(), "rsync --version", "rsync  version 3.2.7  protocol version 31", "", 0},
		{"unzip", ReadyProfile(), "unzip -v", "UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.", "", 0},
		{"curl", ReadyProfile(), "curl --version", "curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0 OpenSSL/3.0.13 zlib/1.3 brotli/1.1.0 zstd/1.5.5 libidn2/2.3.7 libpsl/0.21.2 (+libidn2/2.3.7) libssh/0.10.6/openssl/zlib nghttp2/1.59.0 librtmp/2.3 OpenLDAP/2.6.7", "", 0},
		{"nginx missing", MissingComponentProfile(readiness.ComponentNginx), "command -v nginx || exit 9", "", "", 9},
		{"php-fpm missing", MissingComponentProfile(readiness.ComponentPHPFPM), "command -v php-fpm8.3 || exit 9", "", "", 9},
		{"paths", ReadyProfile(), `for c in sudo systemctl dpkg-query nginx php-fpm8.3 mariadbd redis-server wp fail2ban-client rsync unzip curl; do p=$(command -v $c); printf '%s ' "${p#"$R"}"; done`,
			"/usr/bin/sudo /usr/bin/systemctl /usr/bin/dpkg-query /usr/sbin/nginx /usr/sbin/php-fpm8.3 /usr/sbin/mariadbd /usr/bin/redis-server /usr/local/bin/wp /usr/bin/fail2ban-client /usr/bin/rsync /usr/bin/unzip /usr/bin/curl ", "", 0},
		{"unpackaged nginx", UnpackagedNginxProfile(), `p=$(command -v nginx); printf '%s\n' "${p#"$R"}"; nginx -v`,
			"/usr/local/sbin/nginx", "nginx version: nginx/1.27.3", 0},
		{"no dpkg without a Debian os-release", Profile{OS: OS{Raw: "ID=alpine\n"}}, "command -v dpkg-query || exit 9", "", "", 9},
		{"no other utilities", ReadyProfile(), "command -v cat || command -v sed || command -v awk || exit 9", "", "", 9},
		{"real grep", ReadyProfile(), `p=$(command -v grep); printf '%s\n' "${p#"$R"}"; printf 'a\nb\n' | grep -c b`, "/usr/bin/grep", "", 0},
		{"unsupported invocation", ReadyProfile(), "nginx -t", "", "sshtest: the nginx stub does not simulate: -t", 2},
		{"systemd dir", ReadyProfile(), `test -d "$R/run/systemd/system"`, "", "", 0},
		{"no systemd dir", NoSystemdProfile(), `test -d "$R/run/systemd/system"`, "", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := NewNodeT(t, tt.profile)
			got := run(t, n, probePath+tt.cmd)
			if firstLine(got.stdout) != tt.wantStdout || firstLine(got.stderr) != tt.wantStderr || got.code() != tt.wantCode {
				t.Errorf("got stdout %q stderr %q exit %d (err %v), want %q %q exit %d",
					got.stdout, got.stderr, got.code(), got.err, tt.wantStdout, tt.wantStderr, tt.wantCode)
			}
		})
	}
}

func TestPHPModules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		profile   Profile
		wantRedis bool
	}{{ReadyProfile(), true}, {NoPHPRedisProfile(), false}} {
		t.Run(tt.profile.Name, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+"php-fpm8.3 -m")
			require.NoError(t, got.err)
			lines := strings.Split(got.stdout, "\n")
			require.Equal(t, "[PHP Modules]", lines[0])
			require.Equal(t, []string{"", "[Zend Modules]", "Zend OPcache", "", ""}, lines[len(lines)-5:])
			mods := lines[1 : len(lines)-5]
			require.Contains(t, mods, "Core")
			require.Contains(t, mods, "mysqli")
			require.Equal(t, tt.wantRedis, strings.Contains(got.stdout, "\nredis\n"))
		})
	}
}

// TestDpkgStatus runs the real grep, as the probe script does, over the
// status file of a node's root: stanzas in name order, the Version field
// within the first lines of each, config-files kept with their version.
func TestDpkgStatus(t *testing.T) {
	t.Parallel()
	const grep = `grep -A15 -E '^Package: (nginx|unzip|mariadb-server-core[a-z0-9.+-]*)$' "$R/var/lib/dpkg/status"`
	tests := []struct {
		name       string
		profile    Profile
		cmd        string
		wantStdout string
		wantCode   int
	}{
		{"stanzas", ReadyProfile(), grep, `Package: mariadb-server-core
Status: install ok installed
Priority: optional
Section: database
Installed-Size: 803
Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>
Architecture: amd64
Version: 1:10.11.8-0ubuntu0.24.04.1
Depends: libc6 (>= 2.34), libssl3t64 (>= 3.0.0)
Description: mariadb-server-core, as sshtest simulates it
 This stanza was written by sshtest; no such package is installed.

Package: nginx
Status: install ok installed
Priority: optional
Section: httpd
Installed-Size: 285
Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>
Architecture: amd64
Version: 1.24.0-2ubuntu7.1
Depends: libc6 (>= 2.34), libssl3t64 (>= 3.0.0)
Description: nginx, as sshtest simulates it
 This stanza was written by sshtest; no such package is installed.

Package: php8.3-fpm
Status: install ok installed
Priority: optional
Section: php
--
Package: unzip
Status: install ok installed
Priority: optional
Section: utils
Installed-Size: 285
Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>
Architecture: amd64
Version: 6.0-28ubuntu4
Depends: libc6 (>= 2.34), libssl3t64 (>= 3.0.0)
Description: unzip, as sshtest simulates it
 This stanza was written by sshtest; no such package is installed.
`, 0},
		{"config files", UnpackagedNginxProfile(), `grep -A1 -E '^Package: nginx$' "$R/var/lib/dpkg/status"`,
			"Package: nginx\nStatus: deinstall ok config-files\n", 0},
		{"old mariadb", OldVersionsProfile(), `grep -A7 -E '^Package: mariadb-server-core[a-z0-9.+-]*$' "$R/var/lib/dpkg/status" | grep -E '^(Package|Version):'`,
			"Package: mariadb-server-core-10.6\nVersion: 1:10.6.18-0ubuntu0.22.04.1\n", 0},
		{"not Debian", Profile{OS: OS{Raw: "ID=alpine\n"}}, `test -e "$R/var/lib/dpkg/status"`, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+"LC_ALL=C; "+tt.cmd)
			if got.stdout != tt.wantStdout || got.stderr != "" || got.code() != tt.wantCode {
				t.Errorf("got %q %q exit %d, want %q \"\" exit %d", got.stdout, got.stderr, got.code(), tt.wantStdout, tt.wantCode)
			}
		})
	}
}

// dpkgFormat is the format the probe script asks dpkg-query for.
const dpkgFormat = `'${db:Status-Status} ${Package} ${Version}\n'`

// TestDpkgQuery checks the stub against what the real dpkg-query prints:
// packages in name order, each once, whatever the order and overlap of
// the patterns; unmatched patterns reported on stderr after the output,
// with exit status 1.
func TestDpkgQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		profile    Profile
		args       string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{"probe query", ReadyProfile(), "-W --showformat=" + dpkgFormat +
			" nginx nginx-core nginx-full nginx-light nginx-extras php8.3-fpm 'mariadb-server-core*' mariadb-server redis-server wp-cli fail2ban rsync unzip curl",
			"installed curl 8.5.0-2ubuntu10.6\ninstalled fail2ban 1.0.2-3ubuntu0.1\ninstalled mariadb-server-core 1:10.11.8-0ubuntu0.24.04.1\n" +
				"installed nginx 1.24.0-2ubuntu7.1\ninstalled php8.3-fpm 8.3.6-0ubuntu0.24.04.5\ninstalled redis-server 5:7.0.15-1build2\n" +
				"installed rsync 3.2.7-1ubuntu1\ninstalled unzip 6.0-28ubuntu4\n",
			"dpkg-query: no packages found matching nginx-core\ndpkg-query: no packages found matching nginx-full\n" +
				"dpkg-query: no packages found matching nginx-light\ndpkg-query: no packages found matching nginx-extras\n" +
				"dpkg-query: no packages found matching mariadb-server\ndpkg-query: no packages found matching wp-cli\n", 1},
		{"all found", ReadyProfile(), "-W -f=" + dpkgFormat + " unzip nginx", "installed nginx 1.24.0-2ubuntu7.1\ninstalled unzip 6.0-28ubuntu4\n", "", 0},
		{"each package once", ReadyProfile(), "--show --showformat='${Package}\\n' 'r*' rsync '*sync'", "redis-server\nrsync\n", "", 0},
		{"default format", DebianProfile(), "-W 'php*'", "php8.2-fpm\t8.2.28-1~deb12u1\n", "", 0},
		{"separate format and other fields", ReadyProfile(), "-W -f '${db:Status-Abbrev}|${binary:Package}|${Architecture}|\\\\\\t$x\\n' curl",
			"ii |curl||\\\t$x\n", "", 0},
		{"old mariadb by glob", OldVersionsProfile(), "-W -f=" + dpkgFormat + " 'mariadb-server-core*'",
			"installed mariadb-server-core-10.6 1:10.6.18-0ubuntu0.22.04.1\n", "", 0},
		{"config files only", UnpackagedNginxProfile(), "-W -f='${db:Status-Abbrev}${db:Status-Status} ${Package} ${Version}\\n' nginx",
			"rc config-files nginx 1.24.0-2ubuntu7.1\n", "", 0},
		{"nothing found", ReadyProfile(), "-W nosuch", "", "dpkg-query: no packages found matching nosuch\n", 1},
		{"list not simulated", ReadyProfile(), "-l", "", "sshtest: the dpkg-query stub does not simulate: -l\n", 2},
		{"no patterns not simulated", ReadyProfile(), "-W", "", "sshtest: the dpkg-query stub does not simulate: -W\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+"dpkg-query "+tt.args)
			if got.stdout != tt.wantStdout || got.stderr != tt.wantStderr || got.code() != tt.wantCode {
				t.Errorf("got %q %q exit %d, want %q %q exit %d", got.stdout, got.stderr, got.code(), tt.wantStdout, tt.wantStderr, tt.wantCode)
			}
		})
	}
}

func TestPHPConfD(t *testing.T) {
	t.Parallel()
	list := `for f in "$R"/etc/php/*/fpm/conf.d/*.ini; do [ -e "$f" ] && printf '%s\n' "${f#"$R"}"; done`
	for _, tt := range []struct {
		profile Profile
		want    []string // some of the files
		without []string
	}{
		{ReadyProfile(), []string{"/etc/php/8.3/fpm/conf.d/10-opcache.ini", "/etc/php/8.3/fpm/conf.d/20-redis.ini", "/etc/php/8.3/fpm/conf.d/20-mysqli.ini"},
			[]string{"/etc/php/8.3/fpm/conf.d/20-core.ini"}},
		{NoPHPRedisProfile(), []string{"/etc/php/8.3/fpm/conf.d/20-igbinary.ini"}, []string{"/etc/php/8.3/fpm/conf.d/20-redis.ini"}},
		{DebianProfile(), []string{"/etc/php/8.2/fpm/conf.d/20-redis.ini"}, nil},
		{MissingComponentProfile(readiness.ComponentPHPFPM), nil, []string{"/etc/php/8.3/fpm/conf.d/20-redis.ini"}},
	} {
		t.Run(tt.profile.Name, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+list)
			lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
			for _, w := range tt.want {
				require.Contains(t, lines, w)
			}
			for _, w := range tt.without {
				require.NotContains(t, lines, w)
			}
			require.Len(t, tt.profile.PHPConfD(), len(slices.DeleteFunc(lines, func(l string) bool { return l == "" })))
		})
	}
	got := run(t, NewNodeT(t, ReadyProfile()), probePath+`while IFS= read -r l; do printf '%s\n' "$l"; done < "$R/etc/php/8.3/fpm/conf.d/10-opcache.ini"`)
	require.Equal(t, "; configuration for php opcache module\n; priority=10\nzend_extension=opcache.so\n", got.stdout)
}

func TestSudo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		profile    Profile
		cmd        string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{ReadyProfile(), "sudo -n true", "", "", 0},
		{ReadyProfile(), "sudo -n systemctl is-active nginx", "active\n", "", 0},
		{ReadyProfile(), "sudo -n nosuchtool", "", "sudo: nosuchtool: command not found\n", 1},
		{SudoPasswordProfile(), "sudo -n true", "", "sudo: a password is required\n", 1},
		// What sudo 1.9.13 printed on the fleet's Debian 12 nodes.
		{ReadyProfile(), "sudo -n -v", "", "", 0},
		{SudoPasswordProfile(), "sudo -n -v", "", "sudo: a password is required\n", 1},
		{SudoNotPermittedProfile(), "sudo -n true", "", "sudo: a password is required\n", 1},
		{SudoNotPermittedProfile(), "sudo -n nginx -v", "", "sudo: a password is required\n", 1},
		{SudoNotPermittedProfile(), "sudo -n -v", "", "Sorry, user pressluft may not run sudo on node-1.\n", 1},
		{SudoRequireTTYProfile(), "sudo -n true", "", "sudo: sorry, you must have a tty to run sudo\n", 1},
		{SudoRequireTTYProfile(), "sudo -n -v", "", "sudo: sorry, you must have a tty to run sudo\n", 1},
		{SudoMissingProfile(), "command -v sudo || exit 9", "", "", 9},
	}
	for _, tt := range tests {
		t.Run(tt.profile.Name+"/"+tt.cmd, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+tt.cmd)
			if got.stdout != tt.wantStdout || got.stderr != tt.wantStderr || got.code() != tt.wantCode {
				t.Errorf("got %q %q exit %d, want %q %q exit %d", got.stdout, got.stderr, got.code(), tt.wantStdout, tt.wantStderr, tt.wantCode)
			}
		})
	}
}

func TestSystemctl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		profile    Profile
		cmd        string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{"active", ReadyProfile(), "systemctl is-active nginx", "active\n", "", 0},
		{"php unit", ReadyProfile(), "systemctl is-active php8.3-fpm", "active\n", "", 0},
		{"service suffix", ReadyProfile(), "systemctl is-active redis-server.service", "active\n", "", 0},
		{"quiet", ReadyProfile(), "systemctl is-active --quiet mariadb", "", "", 0},
		{"inactive", ServiceInactiveProfile("mariadb"), "systemctl is-active mariadb", "inactive\n", "", 3},
		{"failed", ServiceStateProfile("nginx", "failed"), "systemctl is-active nginx", "failed\n", "", 3},
		// What systemd 252 printed on the fleet's Debian 12 nodes.
		{"unknown unit", ReadyProfile(), "systemctl is-active apache2", "inactive\n", "", 3},
		{"missing component", MissingComponentProfile("redis"), "systemctl is-active redis-server", "inactive\n", "", 3},
		{"masked is inactive", ServiceStateProfile("redis", "masked"), "systemctl is-active redis-server", "inactive\n", "", 3},
		{"one active", ServiceStateProfile("redis", "masked"), "systemctl is-active nginx redis-server", "active\ninactive\n", "", 0},
		{"show", ServiceStateProfile("redis", "masked"), "systemctl show -p LoadState,ActiveState,SubState,UnitFileState nginx redis-server nosuch",
			"LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n\n" +
				"LoadState=masked\nActiveState=inactive\nSubState=dead\nUnitFileState=masked\n\n" +
				"LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n", "", 0},
		{"show in systemd's order", ServiceStateProfile("nginx", "failed"), "systemctl show -p ActiveState,LoadState nginx",
			"LoadState=loaded\nActiveState=failed\n", "", 0},
		{"show activating", ServiceStateProfile("redis", "activating"), "systemctl show -p LoadState,ActiveState,SubState redis-server",
			"LoadState=loaded\nActiveState=activating\nSubState=auto-restart\n", "", 0},
		// list-units lists what systemd has in memory, sorted, padded to
		// the widest line printed: neither a stopped and disabled unit
		// nor a missing one, nor a pattern without ".service".
		{"list-units", ServiceStateProfile("redis", "masked"), "systemctl list-units --all --plain --no-legend --full nginx.service php8.3-fpm.service mariadb.service redis-server.service fail2ban.service nosuch.service",
			"fail2ban.service     loaded active   running Fail2Ban Service\n" +
				"mariadb.service      loaded active   running MariaDB 10.11.8 database server\n" +
				"nginx.service        loaded active   running A high performance web server and a reverse proxy server\n" +
				"php8.3-fpm.service   loaded active   running The PHP 8.3 FastCGI Process Manager\n" +
				"redis-server.service masked inactive dead    redis-server.service\n", "", 0},
		{"list-units activating", ServiceStateProfile("redis", "activating"), "systemctl list-units --all --plain --no-legend --full redis-server.service nginx.service",
			"nginx.service        loaded active     running      A high performance web server and a reverse proxy server\n" +
				"redis-server.service loaded activating auto-restart Advanced key-value store\n", "", 0},
		{"list-units not in memory", ServiceInactiveProfile("nginx"), "systemctl list-units --all --plain --no-legend --full nginx.service redis.service fail2ban",
			"", "", 0},
		{"list-units mariadb disabled", ServiceInactiveProfile("mariadb"), "systemctl list-units --all --plain --no-legend --full mariadb.service",
			"mariadb.service loaded inactive dead MariaDB 10.11.8 database server\n", "", 0},
		{"list-units failed", ServiceStateProfile("nginx", "failed"), "systemctl list-units --state=failed --plain --no-legend --no-pager",
			"nginx.service loaded failed failed A high performance web server and a reverse proxy server\n", "", 0},
		{"list-units without --all", ServiceStateProfile("redis", "masked"), "systemctl list-units --plain --no-legend --full redis-server.service fail2ban.service",
			"fail2ban.service loaded active running Fail2Ban Service\n", "", 0},
		{"no systemd", NoSystemdProfile(), "systemctl is-active nginx", "",
			"System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+tt.cmd)
			if got.stdout != tt.wantStdout || got.stderr != tt.wantStderr || got.code() != tt.wantCode {
				t.Errorf("got %q %q exit %d, want %q %q exit %d", got.stdout, got.stderr, got.code(), tt.wantStdout, tt.wantStderr, tt.wantCode)
			}
		})
	}
}

func TestOSRelease(t *testing.T) {
	t.Parallel()
	read := `while IFS= read -r l; do printf '%s\n' "$l"; done < "$R/etc/os-release"`
	tests := []struct {
		name    string
		profile Profile
		want    []string // lines that must appear
	}{
		{"ubuntu", ReadyProfile(), []string{`PRETTY_NAME="Ubuntu 24.04.1 LTS"`, `NAME="Ubuntu"`, `VERSION_ID="24.04"`,
			`VERSION="24.04.1 LTS (Noble Numbat)"`, `ID=ubuntu`, `ID_LIKE=debian`, `VERSION_CODENAME=noble`}},
		{"debian", DebianProfile(), []string{`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`, `VERSION_ID="12"`, `ID=debian`}},
		{"raw", Profile{OS: OS{Raw: "ID=alpine\nVERSION_ID=3.20.0\n"}}, []string{"ID=alpine", "VERSION_ID=3.20.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, NewNodeT(t, tt.profile), probePath+read)
			require.NoError(t, got.err)
			lines := strings.Split(got.stdout, "\n")
			for _, w := range tt.want {
				require.Contains(t, lines, w)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		t.Parallel()
		got := run(t, NewNodeT(t, Profile{}), probePath+`test -e "$R/etc/os-release"`)
		require.Equal(t, 1, got.code())
	})
}

func TestProfiles(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, p := range Profiles() {
		require.NotEmpty(t, p.Name)
		require.False(t, seen[p.Name], "duplicate profile %q", p.Name)
		seen[p.Name] = true
		got, ok := ProfileByName(p.Name)
		require.True(t, ok)
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("ProfileByName(%q) mismatch (-want +got):\n%s", p.Name, diff)
		}
	}
	for _, name := range []string{"ready", "sudo-missing", "sudo-password", "php-fpm-missing", "mariadb-old", "nginx-inactive", "hang-after-exec"} {
		require.True(t, seen[name], "missing profile %q", name)
	}
	// Fresh values: mutating one does not change the next.
	p := ReadyProfile()
	p.Components["nginx"] = Component{Version: "0"}
	require.Equal(t, "1.24.0", ReadyProfile().Components["nginx"].Version)
}
