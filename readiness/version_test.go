package readiness

import (
	"errors"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1.24.0", "1.22", 1},
		{"1.18.0", "1.22", -1},
		{"1.22", "1.22", 0},
		{"1.22.0", "1.22", 1},
		{"2.10.0", "2.9", 1},
		{"8.3.6", "8.2", 1},
		{"7.4.33", "8.2", -1},
		{"10.11.8", "10.11", 1},
		{"10.6.18", "10.11", -1},
		{"1:10.11.8-0ubuntu0.24.04.1", "10.11", 1},
		{"1:10.11.8-0ubuntu0.24.04.1", "1:10.11.8-0ubuntu0.24.04.2", -1},
		{"10.11.8-0ubuntu0.24.04.1", "10.11.8", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1},
		{"1.0+dfsg", "1.0", 1},
		{"7.0.15", "7.0", 1},
		{"6.00", "6.0", 0},
		{"007", "7", 0},
		{"99999999999999999999999", "99999999999999999999998", 1},
		{"1.24.0-2ubuntu7", "1.24.0-2ubuntu10", -1},
		{"2:1.0", "1:9.9", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			got, err := CompareVersions(tt.a, tt.b)
			if err != nil {
				t.Fatalf("CompareVersions(%q, %q): %v", tt.a, tt.b, err)
			}
			if got != tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			back, _ := CompareVersions(tt.b, tt.a)
			if back != -tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d (antisymmetry)", tt.b, tt.a, back, -tt.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	good := map[string]Version{
		"1:10.11.8-0ubuntu0.24.04.1": {Epoch: 1, Upstream: "10.11.8", Revision: "0ubuntu0.24.04.1"},
		"1.24.0":                     {Upstream: "1.24.0"},
		"10.11.8-MariaDB-0ubuntu0":   {Upstream: "10.11.8-MariaDB", Revision: "0ubuntu0"},
	}
	for in, want := range good {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("ParseVersion(%q).String() = %q", in, got.String())
		}
	}
	for _, in := range []string{"", "abc", ":1.0", "x:1.0", "1.0-", "1.0-a b", "v1.0", "1.0/2", "1234567890:1", "1.0\x00"} {
		if _, err := ParseVersion(in); !errors.Is(err, ErrVersionSyntax) {
			t.Errorf("ParseVersion(%q) error = %v, want ErrVersionSyntax", in, err)
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	f.Add("1:10.11.8-0ubuntu0.24.04.1", "10.11")
	f.Add("1.0~rc1", "1.0")
	f.Add("7.0.15", "007.0.15")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := CompareVersions(a, b)
		ba, errB := CompareVersions(b, a)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("asymmetric errors: %v / %v", errA, errB)
		}
		if errA == nil && ab != -ba {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		if errA == nil {
			if aa, _ := CompareVersions(a, a); aa != 0 {
				t.Fatalf("Compare(%q,%q)=%d, want 0", a, a, aa)
			}
		}
	})
}
