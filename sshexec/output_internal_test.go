package sshexec

import (
	"errors"
	"io"
	"runtime"
	"strings"
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

// chunks is a reader that returns one chunk per Read (split further when
// p is shorter), then err.
type chunks struct {
	parts []string
	err   error
}

func (c *chunks) Read(p []byte) (int, error) {
	for len(c.parts) > 0 && c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	if len(c.parts) == 0 {
		return 0, c.err
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	return n, nil
}

// TestCappedBufferReadFrom: io.Copy into a cappedBuffer (which uses
// ReadFrom) keeps exactly what Write would have kept, for every split of
// the stream, and reports the reader's errors but not its EOF.
func TestCappedBufferReadFrom(t *testing.T) {
	t.Parallel()
	stream := strings.Repeat("0123456789abcdef", 300) // 4800 bytes
	for _, max := range []int{1, 5, 511, 512, 513, 1024, 4799, 4800, 4801, 1 << 20} {
		for _, size := range []int{1, 7, 512, 1000, 4096, 5000} {
			var parts []string
			for rest := stream; rest != ""; {
				n := min(size, len(rest))
				parts = append(parts, rest[:n])
				rest = rest[n:]
			}
			want := &cappedBuffer{max: max}
			for _, p := range parts {
				want.Write([]byte(p))
			}
			got := &cappedBuffer{max: max}
			n, err := io.Copy(got, &chunks{parts: parts, err: io.EOF})
			if err != nil || n != int64(len(stream)) {
				t.Fatalf("max %d, chunks of %d: io.Copy = %d, %v; want %d, nil", max, size, n, err, len(stream))
			}
			if string(got.buf) != string(want.buf) || got.truncated != want.truncated || len(got.buf) > max {
				t.Errorf("max %d, chunks of %d: got %d bytes truncated %v, want %d bytes truncated %v",
					max, size, len(got.buf), got.truncated, len(want.buf), want.truncated)
			}
		}
	}

	boom := errors.New("connection lost")
	b := &cappedBuffer{max: 4}
	n, err := b.ReadFrom(&chunks{parts: []string{"abc", "def"}, err: boom})
	if n != 6 || !errors.Is(err, boom) || string(b.buf) != "abcd" || !b.truncated {
		t.Errorf("got %d, %v, %q, truncated %v; want 6, the reader's error, \"abcd\", true", n, err, b.buf, b.truncated)
	}
}

// TestCappedBufferReadFromAllocs: draining a small stream allocates about
// the bytes kept, not a 32 KiB copy buffer per stream as io.Copy into a
// plain Writer does. Not parallel: it reads the process's allocation count.
func TestCappedBufferReadFromAllocs(t *testing.T) {
	out := strings.Repeat("x", 300)
	const runs = 200
	perRun := func(dst func() io.Writer) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			io.Copy(dst(), &chunks{parts: []string{out}, err: io.EOF})
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	plain := perRun(func() io.Writer { return &struct{ io.Writer }{io.Discard} })
	capped := perRun(func() io.Writer { return &cappedBuffer{max: DefaultMaxOutput} })
	if plain < 32<<10 {
		t.Fatalf("io.Copy into a plain Writer allocated %d bytes a run; expected its 32 KiB buffer (the baseline of this test)", plain)
	}
	if capped > 4<<10 {
		t.Errorf("io.Copy into a cappedBuffer allocated %d bytes a run, want at most 4 KiB (plain Writer: %d)", capped, plain)
	}
}
