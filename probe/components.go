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
	// first group is the version.
	version *regexp.Regexp
}

// ver is the version number pattern: two or three dotted numbers.
const ver = `(\d{1,6}\.\d{1,6}(?:\.\d{1,6})?)`

var components = []component{
	{
		name: readiness.ComponentNginx, service: true,
		unit:    regexp.MustCompile(`^nginx$`),
		version: regexp.MustCompile(`^nginx version: nginx/` + ver),
	},
	{
		name: readiness.ComponentPHPFPM, service: true,
		unit:    regexp.MustCompile(`^php\d{1,3}\.\d{1,3}-fpm$`),
		version: regexp.MustCompile(`^PHP ` + ver),
	},
	{
		name: readiness.ComponentMariaDB, service: true,
		unit:    regexp.MustCompile(`^mariadb$`),
		version: regexp.MustCompile(`\sVer ` + ver + `-MariaDB`),
	},
	{
		name: readiness.ComponentRedis, service: true,
		unit:    regexp.MustCompile(`^redis-server$`),
		version: regexp.MustCompile(`^Redis server v=` + ver),
	},
	{
		name:    readiness.ComponentWPCLI,
		version: regexp.MustCompile(`^WP-CLI ` + ver),
	},
	{
		name: readiness.ComponentFail2ban, service: true,
		unit:    regexp.MustCompile(`^fail2ban$`),
		version: regexp.MustCompile(`^Fail2Ban v` + ver),
	},
	{
		name:    readiness.ComponentRsync,
		version: regexp.MustCompile(`^rsync +version +v?` + ver),
	},
	{
		name:    readiness.ComponentUnzip,
		version: regexp.MustCompile(`^UnZip ` + ver),
	},
	{
		name:    readiness.ComponentCurl,
		version: regexp.MustCompile(`^curl ` + ver),
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

// servicePattern is what `systemctl is-active` prints: one state word.
var servicePattern = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)

// serviceState returns the state word systemctl printed, or "" (not
// observed) when it printed nothing or something else.
func serviceState(out string) readiness.ServiceState {
	out = strings.TrimSpace(out)
	if !servicePattern.MatchString(out) {
		return ""
	}
	return readiness.ServiceState(out)
}

// sudoOutcome classifies `sudo -n true` by its exit status and the
// messages sudo prints (in the C locale the script sets).
func sudoOutcome(exit int, stderr string) readiness.SudoOutcome {
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
