package probe

import (
	"regexp"
	"strings"
	"testing"
)

// iniPattern is the specification iniExtension implements by hand.
var iniPattern = regexp.MustCompile(`^(?:\d{1,4}-)?([A-Za-z0-9](?:[A-Za-z0-9_.+-]{0,61}[A-Za-z0-9_])?)\.ini$`)

var iniCases = []string{
	"20-redis.ini", "10-opcache.ini", "redis.ini", "20-igbinary.ini", "2020-foo.ini", "12345-foo.ini",
	"1-a-.ini", "12-.ini", "-redis.ini", "20-.ini", "20--redis.ini", "20-redis_.ini", "20-redis-.ini",
	"20-re dis.ini", "20-redis.ini.bak", ".ini", "ini", "", "a.ini", "_a.ini", "a_.ini", "a-.ini", "9.ini",
	"20-x.ini", "20-20-x.ini", "1234-5678.ini", "1234-", "20-redis.INI", "20-Redis.ini", "20-redis\r.ini",
	"20-r.e.d+is.ini", "0-a.ini", "00000-a.ini", "12ab-c.ini", "20-é.ini",
	strings.Repeat("a", 63) + ".ini", strings.Repeat("a", 64) + ".ini", "20-" + strings.Repeat("b", 63) + ".ini",
	"20-" + strings.Repeat("b", 64) + ".ini", "1234-" + strings.Repeat("c", 58) + ".ini",
}

func checkIniExtension(t *testing.T, name string) {
	t.Helper()
	var want string
	m := iniPattern.FindStringSubmatch(name)
	if m != nil {
		want = m[1]
	}
	got, ok := iniExtension(name)
	if ok != (m != nil) || got != want {
		t.Errorf("iniExtension(%q) = %q, %v; the pattern says %q, %v", name, got, ok, want, m != nil)
	}
}

func TestIniExtensionMatchesPattern(t *testing.T) {
	t.Parallel()
	for _, c := range iniCases {
		checkIniExtension(t, c)
	}
}

func FuzzIniExtension(f *testing.F) {
	for _, c := range iniCases {
		f.Add(c)
	}
	f.Fuzz(checkIniExtension)
}
