package probe

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/readiness"
)

// MaxOutput is the most probe output, in bytes, that Parse accepts. A real
// report is a few kilobytes.
const MaxOutput = 64 << 10

// header is the first line of a version-3 report.
const header = "pressluft-probe 3"

// ErrOutputInvalid is wrapped by every error Parse returns.
var ErrOutputInvalid = errors.New("probe: output invalid")

// OutputError says why Parse rejected probe output. Its message holds a
// line number and a reason from a fixed list, never the output itself, so
// it is safe to log and to show to operators.
type OutputError struct {
	// Line is the 1-based line the fault is on; 0 when it is not on one
	// line (truncated output, a missing record).
	Line int
	// Reason says what is wrong, e.g. "unknown record key".
	Reason string
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("%v: %s", ErrOutputInvalid, e.detail())
}

// detail is the message without its prefix: "line 7: unknown record key".
func (e *OutputError) detail() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return e.Reason
}

// Unwrap returns ErrOutputInvalid.
func (e *OutputError) Unwrap() error { return ErrOutputInvalid }

func invalid(line int, reason string) error {
	return &OutputError{Line: line, Reason: reason}
}

// knownKeys is every record key a version-3 report may hold.
var knownKeys = func() map[string]bool {
	keys := map[string]bool{
		"os.id": true, "os.version_id": true, "systemd": true,
		"sudo.path": true, "sudo.exit": true, "sudo.stderr": true,
		"sudo.validate_exit": true, "sudo.validate_stderr": true,
		readiness.ComponentPHPFPM + ".conf_d":  true,
		readiness.ComponentPHPFPM + ".modules": true,
	}
	for _, k := range healthKeys {
		keys[k] = true
	}
	for _, c := range components {
		keys[c.name+".path"] = true
		keys[c.name+".package"] = true
		if c.version != nil {
			keys[c.name+".version"] = true
		}
		if c.service {
			keys[c.name+".unit"] = true
			keys[c.name+".active"] = true
			keys[c.name+".load"] = true
		}
	}
	return keys
}()

// record is one parsed "KEY VALUE" line.
type record struct {
	line  int
	key   string
	value string // unescaped
	used  bool
}

// report is the records of one output, checked for form but not meaning.
type report struct {
	records []*record
	byKey   map[string]*record
}

// need returns the value of a record that must be present, and marks the
// record used.
func (r *report) need(key string) (string, error) {
	rec, ok := r.byKey[key]
	if !ok {
		return "", invalid(0, "missing record "+key)
	}
	rec.used = true
	return rec.value, nil
}

// Parse reads the output of the probe script strictly: a header for
// ScriptVersion, records with known keys, each once, exactly the records
// the report's own answers call for, and a trailer that counts them. It
// returns the facts, or a nil *Facts and an error wrapping ErrOutputInvalid
// (an *OutputError) for anything else: output that is truncated, too long
// (over MaxOutput), preceded or followed by other text, or malformed.
//
// A tool that is installed but prints a version Parse does not recognise
// is reported as installed with an empty version, not as an error.
func Parse(stdout []byte) (*readiness.Facts, error) {
	r, err := split(stdout)
	if err != nil {
		return nil, err
	}
	f, err := r.facts()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// split checks the framing of the output and splits it into records.
func split(out []byte) (*report, error) {
	switch {
	case len(out) == 0:
		return nil, invalid(0, "empty output")
	case len(out) > MaxOutput:
		return nil, invalid(0, fmt.Sprintf("output exceeds %d bytes", MaxOutput))
	case out[len(out)-1] != '\n':
		return nil, invalid(0, "output does not end with a newline (truncated)")
	}
	lines := bytes.Split(out[:len(out)-1], []byte("\n"))
	if string(lines[0]) != header {
		if bytes.HasPrefix(lines[0], []byte("pressluft-probe ")) {
			return nil, invalid(1, "unsupported script version")
		}
		return nil, invalid(1, "missing header")
	}
	r := &report{byKey: map[string]*record{}}
	for i := 1; i < len(lines); i++ {
		n, line := i+1, lines[i]
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, invalid(n, "NUL byte")
		}
		k, v, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return nil, invalid(n, "malformed record: no space after the key")
		}
		key := string(k)
		if key == "end" {
			if i != len(lines)-1 {
				return nil, invalid(n+1, "data after the trailer")
			}
			if !isCount(v) || string(v) != strconv.Itoa(len(r.records)) {
				return nil, invalid(n, "trailer count does not match the records")
			}
			return r, nil
		}
		if !knownKeys[key] {
			return nil, invalid(n, "unknown record key")
		}
		if _, dup := r.byKey[key]; dup {
			return nil, invalid(n, "duplicate record "+key)
		}
		val, ok := unescape(v)
		if !ok {
			return nil, invalid(n, "malformed escape in record "+key)
		}
		rec := &record{line: n, key: key, value: val}
		r.records = append(r.records, rec)
		r.byKey[key] = rec
	}
	return nil, invalid(0, "missing trailer (truncated)")
}

// isCount reports whether b is a decimal count without leading zeros.
func isCount(b []byte) bool {
	if len(b) == 0 || len(b) > 6 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unescape undoes the script's escaping: \\ is a backslash, \n a newline;
// any other backslash is malformed.
func unescape(b []byte) (string, bool) {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b), true
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			sb.WriteByte(b[i])
			continue
		}
		i++
		if i == len(b) {
			return "", false
		}
		switch b[i] {
		case '\\':
			sb.WriteByte('\\')
		case 'n':
			sb.WriteByte('\n')
		default:
			return "", false
		}
	}
	return sb.String(), true
}

// facts checks the records' meaning and builds the Facts.
func (r *report) facts() (*readiness.Facts, error) {
	f := &readiness.Facts{
		ScriptVersion: ScriptVersion,
		Components:    make(map[string]readiness.ComponentFacts, len(components)),
	}
	var err error
	if f.OS.ID, err = r.text("os.id"); err != nil {
		return nil, err
	}
	if f.OS.VersionID, err = r.text("os.version_id"); err != nil {
		return nil, err
	}
	switch sd, err := r.need("systemd"); {
	case err != nil:
		return nil, err
	case sd == "yes":
		f.Systemd = true
	case sd != "no":
		return nil, invalid(r.byKey["systemd"].line, "systemd is neither yes nor no")
	}
	if f.Sudo, err = r.sudo(); err != nil {
		return nil, err
	}
	for _, c := range components {
		cf, err := r.component(c, f)
		if err != nil {
			return nil, err
		}
		f.Components[c.name] = cf
	}
	if f.Health, err = r.health(f.Systemd); err != nil {
		return nil, err
	}
	for _, rec := range r.records {
		if !rec.used {
			return nil, invalid(rec.line, "unexpected record "+rec.key)
		}
	}
	return f, nil
}

// text returns a record holding printable UTF-8 text, trimmed of spaces
// and of one pair of surrounding quotes (os-release allows both, and a CR
// kept the script from removing them).
func (r *report) text(key string) (string, error) {
	v, err := r.need(key)
	if err != nil {
		return "", err
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	if len(v) > 128 || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", invalid(r.byKey[key].line, key+" is not printable text")
	}
	return v, nil
}

// path returns an executable's path record: "" (not installed) or absolute.
func (r *report) path(key string) (string, error) {
	p, err := r.need(key)
	if err == nil && p != "" && !strings.HasPrefix(p, "/") {
		err = invalid(r.byKey[key].line, key+" is not an absolute path")
	}
	return p, err
}

func (r *report) sudo() (readiness.SudoOutcome, error) {
	p, err := r.path("sudo.path")
	if err != nil || p == "" {
		return readiness.SudoMissing, err
	}
	exit, stderr, err := r.sudoRun("sudo.exit", "sudo.stderr")
	if err != nil {
		return "", err
	}
	if exit == 0 {
		return readiness.SudoOK, nil
	}
	vexit, vstderr, err := r.sudoRun("sudo.validate_exit", "sudo.validate_stderr")
	if err != nil {
		return "", err
	}
	return sudoOutcome(exit, stderr, vexit, vstderr), nil
}

// sudoRun returns the exit status and stderr of one sudo command.
func (r *report) sudoRun(exitKey, stderrKey string) (int, string, error) {
	x, err := r.need(exitKey)
	if err != nil {
		return 0, "", err
	}
	exit, cerr := strconv.Atoi(x)
	if cerr != nil || !isCount([]byte(x)) || exit > 255 {
		return 0, "", invalid(r.byKey[exitKey].line, exitKey+" is not an exit status")
	}
	stderr, err := r.need(stderrKey)
	return exit, stderr, err
}

func (r *report) component(c component, f *readiness.Facts) (readiness.ComponentFacts, error) {
	var cf readiness.ComponentFacts
	p, err := r.path(c.name + ".path")
	if err != nil || p == "" {
		return cf, err
	}
	cf.Installed = true
	// php-fpm8.3 is packaged as php8.3-fpm and runs as unit php8.3-fpm.
	phpName := ""
	if c.name == readiness.ComponentPHPFPM {
		bin := p[strings.LastIndex(p, "/")+1:]
		if v, ok := strings.CutPrefix(bin, "php-fpm"); ok {
			phpName = "php" + v + "-fpm"
		}
	}
	pkgKey := c.name + ".package"
	switch _, ok := r.byKey[pkgKey]; {
	case ok:
		line, _ := r.need(pkgKey)
		st, rest, _ := strings.Cut(line, " ")
		name, version, _ := strings.Cut(rest, " ")
		if st != "installed" || !c.packages.MatchString(name) || (phpName != "" && name != phpName) {
			return cf, invalid(r.byKey[pkgKey].line, pkgKey+" is not an installed package of "+c.name)
		}
		up, ok := packageVersion(version)
		if !ok {
			return cf, invalid(r.byKey[pkgKey].line, pkgKey+" is not a package version")
		}
		cf.Version, cf.Package = up, version
	case c.version != nil:
		out, err := r.need(c.name + ".version")
		if err != nil {
			return cf, err
		}
		cf.Version = findVersion(c.version, out)
	}
	if c.name == readiness.ComponentPHPFPM {
		if _, ok := r.byKey[c.name+".conf_d"]; ok {
			inis, _ := r.need(c.name + ".conf_d")
			f.PHPExtensions = parseConfD(inis)
		} else {
			mods, err := r.need(c.name + ".modules")
			if err != nil {
				return cf, err
			}
			f.PHPExtensions = parseModules(mods)
		}
	}
	if !c.service || !f.Systemd {
		return cf, nil
	}
	unitKey := c.name + ".unit"
	if cf.Unit, err = r.need(unitKey); err != nil {
		return cf, err
	}
	if !c.unit.MatchString(cf.Unit) {
		return cf, invalid(r.byKey[unitKey].line, unitKey+" is not the unit the script checks")
	}
	if c.name == readiness.ComponentPHPFPM && cf.Unit != phpName {
		return cf, invalid(r.byKey[unitKey].line, unitKey+" does not match php-fpm.path")
	}
	load, err := r.need(c.name + ".load")
	if err != nil {
		return cf, err
	}
	active, err := r.need(c.name + ".active")
	if err != nil {
		return cf, err
	}
	cf.Service = serviceState(load, active)
	return cf, nil
}
