package sshtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// buildRoot writes the fake root of profile p for execs by user into dir:
// etc/os-release, run/systemd/system/, the tool stubs (dpkg-query and
// dpkg's status file on Debian-based profiles), php-fpm's conf.d, and
// usr/bin/grep, a link to the machine's real grep. Every stub is a
// #!/bin/sh script that uses only shell builtins.
func buildRoot(dir string, p Profile, user string) error {
	files := map[string]string{} // path relative to dir -> stub script
	if s := osRelease(p.OS); s != "" {
		if err := writeFile(dir, "etc/os-release", s, 0o644); err != nil {
			return err
		}
	}
	if p.Systemd {
		if err := os.MkdirAll(filepath.Join(dir, "run/systemd/system"), 0o755); err != nil {
			return fmt.Errorf("sshtest: root: %w", err)
		}
	}
	if p.Sudo != SudoMissing {
		files["usr/bin/sudo"] = sudoStub(dir, p, user)
	}
	files["usr/bin/systemctl"] = systemctlStub(p)
	if p.hasDpkg() {
		files["usr/bin/dpkg-query"] = DpkgQueryScript(p.Packages())
		if err := writeFile(dir, "var/lib/dpkg/status", DpkgStatus(p.Packages()), 0o644); err != nil {
			return err
		}
	}
	if err := linkGrep(dir); err != nil {
		return err
	}
	files["usr/bin/stat"] = statStub(p)
	if err := writeHealth(dir, p); err != nil {
		return err
	}
	for name, c := range p.Components {
		path, script := componentStub(p, name, c)
		if path == "" {
			continue
		}
		if c.Path != "" {
			path = strings.TrimPrefix(filepath.Clean("/"+c.Path), "/")
		}
		files[path] = script
	}
	for path, script := range files {
		if err := writeFile(dir, path, script, 0o755); err != nil {
			return err
		}
	}
	if b := p.phpBranch(); b != "" {
		confd := "etc/php/" + b + "/fpm/conf.d/"
		if err := os.MkdirAll(filepath.Join(dir, confd), 0o755); err != nil {
			return fmt.Errorf("sshtest: root: %w", err)
		}
		for _, ini := range p.PHPConfD() {
			prio, ext, _ := strings.Cut(strings.TrimSuffix(ini, ".ini"), "-")
			if err := writeFile(dir, confd+ini, iniText(prio, ext), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// linkGrep links usr/bin/grep in the root to the machine's real grep, the
// one tool of the root that is not a stub: every real host has it (it is
// Essential on Debian and Ubuntu). Without a grep on the machine the root
// has none either.
func linkGrep(dir string) error {
	for _, g := range []string{"/usr/bin/grep", "/bin/grep"} {
		if fi, err := os.Stat(g); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		path := filepath.Join(dir, "usr/bin/grep")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("sshtest: root: %w", err)
		}
		if err := os.Symlink(g, path); err != nil {
			return fmt.Errorf("sshtest: root: %w", err)
		}
		return nil
	}
	return nil
}

func writeFile(dir, rel, content string, mode os.FileMode) error {
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("sshtest: root: %w", err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return fmt.Errorf("sshtest: root: %w", err)
	}
	return nil
}

// q quotes s for sh.
func q(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printLines returns a printf builtin call printing each line; stderr
// sends them to fd 2.
func printLines(stderr bool, lines ...string) string {
	var b strings.Builder
	b.WriteString("printf '%s\\n'")
	for _, l := range lines {
		b.WriteString(" " + q(l))
	}
	if stderr {
		b.WriteString(" >&2")
	}
	return b.String()
}

// versionStub is a tool that answers the given argument forms; any other
// invocation reports that the stub does not simulate it (exit 2).
type versionCase struct {
	args   string // case pattern, e.g. "-v|--version"
	stderr bool
	lines  []string
}

func versionStub(tool string, cases ...versionCase) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# sshtest stub for " + tool + "\ncase \"$*\" in\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "%s)\n\t%s\n\texit 0 ;;\n", c.args, printLines(c.stderr, c.lines...))
	}
	fmt.Fprintf(&b, "*)\n\tprintf 'sshtest: the %s stub does not simulate: %%s\\n' \"$*\" >&2\n\texit 2 ;;\nesac\n", tool)
	return b.String()
}

func osName(id string) string {
	switch id {
	case "ubuntu":
		return "Ubuntu"
	case "debian":
		return "Debian GNU/Linux"
	case "":
		return ""
	}
	return strings.ToUpper(id[:1]) + id[1:]
}

var codenames = map[string]string{
	"ubuntu-20.04": "focal", "ubuntu-22.04": "jammy", "ubuntu-24.04": "noble",
	"debian-11": "bullseye", "debian-12": "bookworm", "debian-13": "trixie",
}

// osRelease renders etc/os-release like the distributions ship it.
func osRelease(o OS) string {
	if o.Raw != "" {
		return o.Raw
	}
	if o.ID == "" {
		return ""
	}
	pretty := o.PrettyName
	if pretty == "" {
		pretty = strings.TrimSpace(osName(o.ID) + " " + o.VersionID)
	}
	code := codenames[o.String()]
	var b strings.Builder
	fmt.Fprintf(&b, "PRETTY_NAME=%q\nNAME=%q\n", pretty, osName(o.ID))
	if o.VersionID != "" {
		fmt.Fprintf(&b, "VERSION_ID=%q\n", o.VersionID)
		version := strings.TrimPrefix(pretty, osName(o.ID)+" ")
		if code != "" && o.ID == "ubuntu" {
			version = fmt.Sprintf("%s (%s %s)", version, strings.ToUpper(code[:1])+code[1:], map[string]string{
				"focal": "Fossa", "jammy": "Jellyfish", "noble": "Numbat",
			}[code])
		}
		fmt.Fprintf(&b, "VERSION=%q\n", version)
	}
	if code != "" {
		fmt.Fprintf(&b, "VERSION_CODENAME=%s\n", code)
	}
	fmt.Fprintf(&b, "ID=%s\n", o.ID)
	switch o.ID {
	case "ubuntu":
		b.WriteString("ID_LIKE=debian\n" +
			"HOME_URL=\"https://www.ubuntu.com/\"\n" +
			"SUPPORT_URL=\"https://help.ubuntu.com/\"\n" +
			"BUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"\n" +
			"PRIVACY_POLICY_URL=\"https://www.ubuntu.com/legal/terms-and-policies/privacy-policy\"\n")
		if code != "" {
			fmt.Fprintf(&b, "UBUNTU_CODENAME=%s\n", code)
		}
		b.WriteString("LOGO=ubuntu-logo\n")
	case "debian":
		b.WriteString("HOME_URL=\"https://www.debian.org/\"\n" +
			"SUPPORT_URL=\"https://www.debian.org/support\"\n" +
			"BUG_REPORT_URL=\"https://bugs.debian.org/\"\n")
	}
	return b.String()
}

// sudoStub implements p.Sudo with what sudo 1.9.13 prints (seen on real
// Debian 12 nodes). The root path is baked in to resolve command paths.
func sudoStub(root string, p Profile, user string) string {
	password := `if [ -z "$n" ]; then
	printf '%s\n' 'sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper' >&2
fi
printf '%s\n' 'sudo: a password is required' >&2
exit 1`
	var deny, validate string
	switch p.Sudo {
	case SudoPassword:
		deny, validate = password, password
	case SudoRequireTTY:
		deny = `printf '%s\n' 'sudo: sorry, you must have a tty to run sudo' >&2
exit 1`
		validate = deny
	case SudoNotPermitted:
		// Outside sudoers, sudo asks for the password before it checks
		// the command; only validating says the user may not.
		deny = password
		validate = `printf 'Sorry, user %s may not run sudo on %s.\n' "$USR" "$HOST" >&2
exit 1`
	default:
		deny = `if ! p=$(command -v "$1" 2>/dev/null); then
	printf 'sudo: %s: command not found\n' "$1" >&2
	exit 1
fi
case $p in
*/*) exec "$@" ;;
esac
# a utility this root has only as a shell builtin (true, printf, ...)
"$@"
exit $?`
		validate = "exit 0"
	}
	return fmt.Sprintf(`#!/bin/sh
# sshtest stub for sudo, policy %s
ROOT=%s
USR=%s
HOST=%s
n=
v=
runas=root
while [ $# -gt 0 ]; do
	case $1 in
	-n|--non-interactive|-S|--stdin) n=1; shift ;;
	-v|--validate) v=1; shift ;;
	-nv|-vn) n=1; v=1; shift ;;
	-u) runas=${2-}; shift; [ $# -gt 0 ] && shift ;;
	-u*) runas=${1#-u}; shift ;;
	--) shift; break ;;
	-*) shift ;;
	*) break ;;
	esac
done
if [ -n "$v" ]; then
	if [ $# -ne 0 ]; then
		printf '%%s\n' 'usage: sudo -v [-n] [-u user]' >&2
		exit 1
	fi
%s
fi
if [ $# -eq 0 ]; then
	printf '%%s\n' 'usage: sudo [-n] [-u user] command [arg ...]' >&2
	exit 1
fi
%s
`, p.Sudo, q(root), q(user), q(p.hostname()), indent(validate), deny)
}

// indent indents every line of s by a tab.
func indent(s string) string {
	return "\t" + strings.ReplaceAll(s, "\n", "\n\t")
}

// unitProperties are the LoadState, ActiveState, SubState and
// UnitFileState systemd 252 shows for a unit in state s (seen on the
// fleet's Debian 12 nodes): masked and not-found are LoadStates, and such
// a unit is inactive; an activating unit is one restarting after a crash.
func unitProperties(s readiness.ServiceState) [4]string {
	switch s {
	case "", "not-found":
		return [4]string{"not-found", "inactive", "dead", ""}
	case "masked":
		return [4]string{"masked", "inactive", "dead", "masked"}
	case "active":
		return [4]string{"loaded", "active", "running", "enabled"}
	case "inactive":
		return [4]string{"loaded", "inactive", "dead", "disabled"}
	case "failed":
		return [4]string{"loaded", "failed", "failed", "enabled"}
	case "activating":
		return [4]string{"loaded", "activating", "auto-restart", "enabled"}
	}
	return [4]string{"loaded", string(s), string(s), "enabled"}
}

// systemctlStub answers `systemctl is-active UNIT...` and `systemctl show
// [-p PROPERTY,...] UNIT...` (LoadState, ActiveState, SubState and
// UnitFileState) from the profile, as systemd prints them.
func systemctlStub(p Profile) string {
	if !p.Systemd {
		return "#!/bin/sh\n# sshtest stub for systemctl without systemd as init\n" +
			printLines(true, "System has not been booted with systemd as init system (PID 1). Can't operate.",
				"Failed to connect to bus: Host is down") + "\nexit 1\n"
	}
	units := p.Units()
	names := make([]string, 0, len(units))
	for u := range units {
		names = append(names, u)
	}
	slices.Sort(names)
	var cases strings.Builder
	for _, u := range names {
		pr := unitProperties(units[u])
		fmt.Fprintf(&cases, "\t\t%s) set -- %s %s %s %s ;;\n", q(u), q(pr[0]), q(pr[1]), q(pr[2]), q(pr[3]))
	}
	nf := unitProperties("")
	return `#!/bin/sh
# sshtest stub for systemctl: only is-active, show, is-system-running and
# list-units --plain --no-legend are simulated
quiet=
verb=
props=LoadState,ActiveState,SubState,UnitFileState
next=
units=
for a in "$@"; do
	if [ -n "$next" ]; then props=$a; next=; continue; fi
	case $a in
	-q|--quiet) quiet=1 ;;
	-p|--property) next=1 ;;
	-p*) props=${a#-p} ;;
	--property=*) props=${a#--property=} ;;
	-*) ;;
	*) if [ -z "$verb" ]; then verb=$a; else units="$units $a"; fi ;;
	esac
done
case $verb in
is-system-running)
` + systemStateCase(p) + `
	;;
list-units)
` + listUnitsCase(p) + `
	;;
is-active|show) ;;
'') printf 'sshtest: the systemctl stub does not simulate: %s\n' "$*" >&2; exit 2 ;;
*) printf "Unknown command verb '%s'.\n" "$verb" >&2; exit 1 ;;
esac
if [ -z "$units" ]; then
	if [ "$verb" = show ]; then
		printf 'sshtest: the systemctl stub does not simulate: %s\n' "$*" >&2
		exit 2
	fi
	printf '%s\n' 'Too few arguments.' >&2
	exit 1
fi
rc=3
sep=
for u in $units; do
	case ${u%.service} in
` + cases.String() + `	*) set -- ` + q(nf[0]) + " " + q(nf[1]) + " " + q(nf[2]) + " " + q(nf[3]) + ` ;;
	esac
	if [ "$verb" = is-active ]; then
		if [ -z "$quiet" ]; then printf '%s\n' "$2"; fi
		if [ "$2" = active ]; then rc=0; fi
		continue
	fi
	rc=0
	if [ -n "$sep" ]; then printf '\n'; fi
	sep=1
	# systemd prints the properties asked for in its own order.
	case ,$props, in *,LoadState,*) printf 'LoadState=%s\n' "$1" ;; esac
	case ,$props, in *,ActiveState,*) printf 'ActiveState=%s\n' "$2" ;; esac
	case ,$props, in *,SubState,*) printf 'SubState=%s\n' "$3" ;; esac
	case ,$props, in *,UnitFileState,*) printf 'UnitFileState=%s\n' "$4" ;; esac
done
exit $rc
`
}

// distroComment is what MariaDB prints in parentheses, e.g. "Ubuntu 24.04".
func distroComment(o OS) string {
	if o.ID == "" {
		return "Source distribution"
	}
	name := osName(o.ID)
	if o.ID == "debian" {
		name = "Debian"
	}
	return strings.TrimSpace(name + " " + o.VersionID)
}

func zendVersion(php string) string {
	parts := strings.SplitN(php, ".", 3)
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	switch parts[0] {
	case "7":
		return "3." + parts[1] + ".0"
	case "8":
		return "4." + parts[1] + "." + parts[2]
	}
	return "4.0.0"
}

// componentStub returns the stub path and script of one component.
func componentStub(p Profile, name string, c Component) (string, string) {
	v := c.Version
	switch name {
	case readiness.ComponentNginx:
		line := "nginx version: nginx/" + v
		if p.OS.ID == "ubuntu" && c.Package != "" { // Ubuntu's build says so
			line += " (Ubuntu)"
		}
		return "usr/sbin/nginx", versionStub("nginx",
			versionCase{"-v", true, []string{line}},
			versionCase{"-V", true, []string{line, "built with OpenSSL 3.0.13 30 Jan 2024",
				"TLS SNI support enabled", "configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf"}})
	case readiness.ComponentPHPFPM:
		branch := p.phpBranch()
		if branch == "" {
			return "", ""
		}
		mods := slices.Clone(p.PHPExtensions)
		slices.SortFunc(mods, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		vlines := []string{
			"PHP " + v + " (fpm-fcgi) (built: Apr 15 2024 19:21:47)",
			"Copyright (c) The PHP Group",
			"Zend Engine v" + zendVersion(v) + ", Copyright (c) Zend Technologies",
		}
		zend := []string{}
		if slices.Contains(mods, "Zend OPcache") {
			vlines = append(vlines, "    with Zend OPcache v"+v+", Copyright (c), by Zend Technologies")
			zend = append(zend, "Zend OPcache")
		}
		mlines := append([]string{"[PHP Modules]"}, mods...)
		mlines = append(mlines, "", "[Zend Modules]")
		mlines = append(mlines, zend...)
		mlines = append(mlines, "")
		bin := "php-fpm" + branch
		return "usr/sbin/" + bin, versionStub(bin,
			versionCase{"-v|--version", false, vlines},
			versionCase{"-m|--modules", false, mlines})
	case readiness.ComponentMariaDB:
		line := "/usr/sbin/mariadbd  Ver " + v + " for debian-linux-gnu on x86_64 (" + distroComment(p.OS) + ")"
		return "usr/sbin/mariadbd", versionStub("mariadbd",
			versionCase{"--version|-V", false, []string{line}})
	case readiness.ComponentRedis:
		line := "Redis server v=" + v + " sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=d81b8ff71cfb150e"
		return "usr/bin/redis-server", versionStub("redis-server",
			versionCase{"--version|-v", false, []string{line}})
	case readiness.ComponentWPCLI:
		return "usr/local/bin/wp", versionStub("wp",
			versionCase{"--version", false, []string{"WP-CLI " + v}})
	case readiness.ComponentFail2ban:
		return "usr/bin/fail2ban-client", versionStub("fail2ban-client",
			versionCase{"--version", false, []string{"Fail2Ban v" + v}})
	case readiness.ComponentRsync:
		return "usr/bin/rsync", versionStub("rsync", versionCase{"--version|-V", false, []string{
			"rsync  version " + v + "  protocol version 31",
			"Copyright (C) 1996-2022 by Andrew Tridgell, Wayne Davison, and others.",
			"Web site: https://rsync.samba.org/",
			"Capabilities:",
			"    64-bit files, 64-bit inums, 64-bit timestamps, 64-bit long ints,",
			"    socketpairs, symlinks, symtimes, hardlinks, hardlink-specials,",
			"    hardlink-symlinks, IPv6, atimes, batchfiles, inplace, append, ACLs,",
			"    xattrs, optional secluded-args, iconv, prealloc, stop-at, no crtimes",
			"",
			"rsync comes with ABSOLUTELY NO WARRANTY.  This is free software, and you",
			"are welcome to redistribute it under certain conditions.  See the GNU",
			"General Public Licence for details.",
		}})
	case readiness.ComponentUnzip:
		return "usr/bin/unzip", versionStub("unzip", versionCase{"-v", false, []string{
			"UnZip " + v + " of 20 April 2009, by Debian. Original by Info-ZIP.",
			"",
			"Latest sources and executables are at ftp://ftp.info-zip.org/pub/infozip/ ;",
			"see ftp://ftp.info-zip.org/pub/infozip/UnZip.html for other sites.",
			"",
			"Compiled with gcc 13.2.0 for Unix (Linux ELF).",
		}})
	case readiness.ComponentCurl:
		return "usr/bin/curl", versionStub("curl", versionCase{"--version|-V", false, []string{
			"curl " + v + " (x86_64-pc-linux-gnu) libcurl/" + v + " OpenSSL/3.0.13 zlib/1.3 brotli/1.1.0 zstd/1.5.5 libidn2/2.3.7 libpsl/0.21.2 (+libidn2/2.3.7) libssh/0.10.6/openssl/zlib nghttp2/1.59.0 librtmp/2.3 OpenLDAP/2.6.7",
			"Release-Date: 2023-12-06, security patched: " + v + "-2ubuntu10.6",
			"Protocols: dict file ftp ftps gopher gophers http https imap imaps ldap ldaps mqtt pop3 pop3s rtmp rtsp scp sftp smb smbs smtp smtps telnet tftp",
			"Features: alt-svc AsynchDNS brotli GSS-API HSTS HTTP2 HTTPS-proxy IDN IPv6 Kerberos Largefile libz NTLM PSL SPNEGO SSL threadsafe TLS-SRP UnixSockets zstd",
		}})
	}
	return "", ""
}

// iniText is the mods-available ini file Debian's php packages ship.
func iniText(prio, ext string) string {
	directive := "extension"
	if ext == "opcache" {
		directive = "zend_extension"
	}
	return "; configuration for php " + ext + " module\n; priority=" + prio + "\n" + directive + "=" + ext + ".so\n"
}
