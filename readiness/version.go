package readiness

import (
	"errors"
	"strconv"
	"strings"
)

// Version is a parsed Debian-style version: [epoch:]upstream[-revision].
// Plain tool versions ("1.24.0", "6.00") are versions with epoch 0 and no
// revision.
type Version struct {
	Epoch    int
	Upstream string
	Revision string
}

// ErrVersionSyntax is returned (wrapped) by ParseVersion for malformed input.
var ErrVersionSyntax = errors.New("readiness: invalid version")

// ParseVersion parses a Debian package version such as
// "1:10.11.8-0ubuntu0.24.04.1" or a plain upstream version such as "8.3.6".
// The upstream part must start with a digit, as Debian policy requires.
func ParseVersion(s string) (Version, error) {
	var v Version
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 256 {
		return v, ErrVersionSyntax
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e := s[:i]
		if e == "" || len(e) > 9 {
			return v, ErrVersionSyntax
		}
		for _, r := range e {
			if r < '0' || r > '9' {
				return v, ErrVersionSyntax
			}
			v.Epoch = v.Epoch*10 + int(r-'0')
		}
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Revision = s[i+1:]
		s = s[:i]
		if v.Revision == "" || !validVersionChars(v.Revision, false) {
			return Version{}, ErrVersionSyntax
		}
	}
	if s == "" || s[0] < '0' || s[0] > '9' || !validVersionChars(s, true) {
		return Version{}, ErrVersionSyntax
	}
	v.Upstream = s
	return v, nil
}

func validVersionChars(s string, upstream bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '.', c == '+', c == '~':
		case c == '-' && upstream:
		case c == ':' && upstream:
		default:
			return false
		}
	}
	return true
}

// String renders the version in Debian form.
func (v Version) String() string {
	var b strings.Builder
	if v.Epoch != 0 {
		b.WriteString(strconv.Itoa(v.Epoch))
		b.WriteByte(':')
	}
	b.WriteString(v.Upstream)
	if v.Revision != "" {
		b.WriteByte('-')
		b.WriteString(v.Revision)
	}
	return b.String()
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w, by
// dpkg's rules: epoch numerically, then upstream and revision with
// dpkg's algorithm (digits numerically, '~' before anything, letters before
// other characters).
func (v Version) Compare(w Version) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if c := compareFragment(v.Upstream, w.Upstream); c != 0 {
		return c
	}
	return compareFragment(v.Revision, w.Revision)
}

// CompareVersions parses and compares two versions. Malformed input is an
// error, never a guess.
func CompareVersions(a, b string) (int, error) {
	va, err := ParseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// order is dpkg's weight of a non-digit character.
func order(c byte) int {
	switch {
	case c == '~':
		return -1
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	case c == 0:
		return 0
	default:
		return int(c) + 256
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func compareFragment(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		// Non-digit prefix, compared character by character.
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			var ca, cb byte
			if i < len(a) && !isDigit(a[i]) {
				ca = a[i]
			}
			if j < len(b) && !isDigit(b[j]) {
				cb = b[j]
			}
			if oa, ob := order(ca), order(cb); oa != ob {
				if oa < ob {
					return -1
				}
				return 1
			}
			if ca != 0 {
				i++
			}
			if cb != 0 {
				j++
			}
		}
		// Digit run, compared numerically without overflow: skip leading
		// zeros, then longer is larger, then lexical.
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		si, sj := i, j
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		da, db := a[si:i], b[sj:j]
		if len(da) != len(db) {
			if len(da) < len(db) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(da, db); c != 0 {
			return c
		}
	}
	return 0
}
