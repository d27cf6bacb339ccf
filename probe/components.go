package probe

import (
	"regexp"
	"slices"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// component is one runtime component the script checks, in script order.
type component struct {
	// name is the readiness component name and the script's record prefix.
	name string
	// service is true when the component runs as a systemd unit.
	service bool
	// unit matches the unit name the script checks.
	unit *regexp.Regexp
	// version finds the version in one line of the tool's own output; its
	// first group is the version. Nil: the script never runs the tool
	// (wp-cli starts PHP), so only a package can tell its version.
	version *regexp.Regexp
	// packages matches the names of the Debian packages that install the
	// tool, as the script looks for them in dpkg's status file. php-fpm's package is
	// also checked against the binary's version (php8.3-fpm).
	packages *regexp.Regexp
}

// ver is the version number pattern: two or three dotted numbers.
const ver = `(\d{1,6}\.\d{1,6}(?:\.\d{1,6})?)`

var components = []component{
	{
		name: readiness.ComponentNginx, service: true,
		unit:     regexp.MustCompile(`^nginx$`),
		version:  regexp.MustCompile(`^nginx version: nginx/` + ver),
		packages: regexp.MustCompile(`^nginx(?:-core|-full|-light|-extras)?$`),
	},
	{
		name: readiness.ComponentPHPFPM, service: true,
		unit:     regexp.MustCompile(`^php\d{1,3}\.\d{1,3}-fpm$`),
		version:  regexp.MustCompile(`^PHP ` + ver),
		packages: regexp.MustCompile(`^php\d{1,3}\.\d{1,3}-fpm$`),
	},
	{
		name: readiness.ComponentMariaDB, service: true,
		unit:     regexp.MustCompile(`^mariadb$`),
		version:  regexp.MustCompile(`\sVer ` + ver + `-MariaDB`),
		packages: regexp.MustCompile(`^mariadb-server(?:-core[a-z0-9.+-]*)?$`),
	},
	{
		name: readiness.ComponentRedis, service: true,
		unit:     regexp.MustCompile(`^redis-server$`),
		version:  regexp.MustCompile(`^Redis server v=` + ver),
		packages: regexp.MustCompile(`^redis-server$`),
	},
	{
		name:     readiness.ComponentWPCLI,
		packages: regexp.MustCompile(`^wp-cli$`),
	},
	{
		name: readiness.ComponentFail2ban, service: true,
		unit:     regexp.MustCompile(`^fail2ban$`),
		version:  regexp.MustCompile(`^Fail2Ban v` + ver),
		packages: regexp.MustCompile(`^fail2ban$`),
	},
	{
		name:     readiness.ComponentRsync,
		version:  regexp.MustCompile(`^rsync +version +v?` + ver),
		packages: regexp.MustCompile(`^rsync$`),
	},
	{
		name:     readiness.ComponentUnzip,
		version:  regexp.MustCompile(`^UnZip ` + ver),
		packages: regexp.MustCompile(`^unzip$`),
	},
	{
		name:     readiness.ComponentCurl,
		version:  regexp.MustCompile(`^curl ` + ver),
		packages: regexp.MustCompile(`^curl$`),
	},
}

// findVersion returns the version in the first line of out that re
// matches, or "" when no line does: the tool is there, its output is not
// what we know.
func findVersion(re *regexp.Regexp, out string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if m := re.FindStringSubmatch(strings.TrimSuffix(line, "\r")); m != nil {
			return m[1]
		}
	}
	return ""
}

// upstreamPattern is the leading version number of a Debian upstream
// version: "10.11.8" of "10.11.8", "3.2.7" of "3.2.7+dfsg". What follows it
// must not continue a number.
var upstreamPattern = regexp.MustCompile(`^(\d{1,6}(?:\.\d{1,6}){0,3})(?:$|[^0-9.])`)

// packageVersion reads the version of an installed package, e.g.
// "1:10.11.8-0ubuntu0.24.04.1": the upstream number without epoch and
// revision ("10.11.8"), or "" when its upstream part does not start with
// one. ok is false when v is no Debian version at all.
func packageVersion(v string) (upstream string, ok bool) {
	pv, err := readiness.ParseVersion(v)
	if err != nil || pv.Upstream == "" || strings.TrimSpace(v) != v {
		return "", false
	}
	if m := upstreamPattern.FindStringSubmatch(pv.Upstream); m != nil {
		return m[1], true
	}
	return "", true
}

// iniExtension returns the extension an ini file in php's conf.d loads,
// by its name in the Debian layout: an optional priority of one to four
// digits and a dash, the extension, ".ini" ("20-redis.ini" is "redis").
// The extension is 1 to 63 characters of [A-Za-z0-9_.+-] that start with
// a letter or digit and end with one or "_"; a priority is taken whenever
// what follows it is such a name. It is the regular expression
//
//	^(?:\d{1,4}-)?([A-Za-z0-9](?:[A-Za-z0-9_.+-]{0,61}[A-Za-z0-9_])?)\.ini$
//
// by hand (a test holds them equal): it runs for every line of conf.d in
// every evaluation, and a backtracking match was a quarter of the parse.
func iniExtension(name string) (string, bool) {
	base, ok := strings.CutSuffix(name, ".ini")
	if !ok {
		return "", false
	}
	if i := strings.IndexByte(base, '-'); i >= 1 && i <= 4 && allDigits(base[:i]) && iniName(base[i+1:]) {
		return base[i+1:], true
	}
	if iniName(base) {
		return base, true
	}
	return "", false
}

// iniName reports whether s is an extension name as iniExtension takes it.
func iniName(s string) bool {
	if len(s) == 0 || len(s) > 63 || !isAlnum(s[0]) {
		return false
	}
	if last := s[len(s)-1]; len(s) > 1 && !isAlnum(last) && last != '_' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseConfD reads the ini file names of php-fpm's conf.d, one per line,
// and returns the extensions they load ("20-redis.ini" is "redis"),
// lowercased, without duplicates, sorted. Names that do not look like
// that are skipped. It returns nil when there are none.
func parseConfD(out string) []string {
	var exts []string
	for line := range strings.SplitSeq(out, "\n") {
		ext, ok := iniExtension(line)
		if !ok {
			continue
		}
		exts = append(exts, strings.ToLower(ext))
	}
	slices.Sort(exts)
	return slices.Compact(exts)
}

// modulePattern is what a PHP module name looks like in `php-fpm -m`.
var modulePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$`)

// parseModules reads `php-fpm -m` output: the lines under "[PHP Modules]"
// and "[Zend Modules]", lowercased, without duplicates, sorted. Lines
// before the first section (warnings) and lines that are no module name
// are skipped. It returns nil when there are none.
func parseModules(out string) []string {
	in := false
	seen := map[string]bool{}
	var mods []string
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "[PHP Modules]" || line == "[Zend Modules]":
			in = true
			continue
		case strings.HasPrefix(line, "["):
			in = false
			continue
		case !in || !modulePattern.MatchString(line):
			continue
		}
		m := strings.ToLower(line)
		if !seen[m] {
			seen[m] = true
			mods = append(mods, m)
		}
	}
	slices.Sort(mods)
	return mods
}

// servicePattern is what systemd prints for a unit's LoadState or
// ActiveState: one state word.
var servicePattern = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)

// serviceState returns a unit's ActiveState when it is loaded, and its
// LoadState otherwise ("masked", "not-found", "bad-setting", "error"):
// systemd calls a masked or missing unit inactive, which would send the
// operator to a start that cannot work. It is "" (not observed) when
// systemctl printed nothing or something else.
func serviceState(load, active string) readiness.ServiceState {
	load, active = strings.TrimSpace(load), strings.TrimSpace(active)
	if !servicePattern.MatchString(load) || !servicePattern.MatchString(active) {
		return ""
	}
	if load != "loaded" {
		return readiness.ServiceState(load)
	}
	return readiness.ServiceState(active)
}

// sudoOutcome classifies a failed `sudo -n true` by its exit status and
// the messages sudo prints (in the C locale the script sets), with what
// `sudo -n -v` then said. sudo 1.9 answers `-n true` with "a password is
// required" both for a user who needs one and for a user outside sudoers;
// only `-n -v` tells the second ("may not run sudo"), and succeeds for a
// user who may run some commands without a password but not this one.
func sudoOutcome(exit int, stderr string, vexit int, vstderr string) readiness.SudoOutcome {
	o := sudoMessage(exit, stderr)
	if o != readiness.SudoPasswordRequired {
		return o
	}
	switch {
	case vexit == 0, sudoMessage(vexit, vstderr) == readiness.SudoNotPermitted:
		return readiness.SudoNotPermitted
	}
	return o
}

// sudoMessage classifies one sudo command by its exit status and stderr.
func sudoMessage(exit int, stderr string) readiness.SudoOutcome {
	switch {
	case exit == 0:
		return readiness.SudoOK
	case strings.Contains(stderr, "a password is required"):
		return readiness.SudoPasswordRequired
	case strings.Contains(stderr, "must have a tty"):
		return readiness.SudoTTYRequired
	case strings.Contains(stderr, "is not allowed to execute"),
		strings.Contains(stderr, "may not run sudo"):
		return readiness.SudoNotPermitted
	default:
		// sudo failed for a reason it did not name in a way we know
		// (broken sudoers, PAM account failure, ...). Say so rather
		// than guess which.
		return readiness.SudoFailed
	}
}
