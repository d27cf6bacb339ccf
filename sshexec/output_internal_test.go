package sshexec

import (
	"testing"
)

func TestCappedBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		max           int
		writes        []string
		want          string
		wantTruncated bool
	}{
		{"under", 10, []string{"abc", "def"}, "abcdef", false},
		{"exact", 6, []string{"abc", "def"}, "abcdef", false},
		{"over in one write", 4, []string{"abcdef"}, "abcd", true},
		{"over across writes", 4, []string{"abc", "def", "ghi"}, "abcd", true},
		{"empty writes after full", 3, []string{"abc", "", ""}, "abc", false},
		{"full then more", 3, []string{"abc", "d"}, "abc", true},
	}
	for _, tt := range tests {
		b := &cappedBuffer{max: tt.max}
		for _, w := range tt.writes {
			n, err := b.Write([]byte(w))
			if n != len(w) || err != nil {
				t.Fatalf("%s: Write(%q) = %d, %v; want %d, nil (never stall the copy)", tt.name, w, n, err, len(w))
			}
		}
		if got := string(b.buf); got != tt.want || b.truncated != tt.wantTruncated {
			t.Errorf("%s: got %q truncated %v, want %q %v", tt.name, got, b.truncated, tt.want, tt.wantTruncated)
		}
	}
}
