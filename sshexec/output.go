package sshexec

import (
	"errors"
	"io"
	"slices"
)

// cappedBuffer keeps the first max bytes written to it and discards the
// rest, recording that it did. Write never fails, so the SSH channel keeps
// draining (a failing writer would stop the copy and stall the session
// once the window fills). Each buffer has a single writer goroutine; it is
// read only after that goroutine is done.
type cappedBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
		if len(p) > room {
			b.truncated = true
		}
	} else if len(p) > 0 {
		b.truncated = true
	}
	return len(p), nil
}

// ReadFrom drains r to EOF, keeping the first max bytes as Write would.
// io.Copy prefers it to Write, so a stream lands in buf directly instead
// of passing through a 32 KiB copy buffer allocated for every stream of
// every Run; past max it reads into a small scratch slice and drops that.
func (b *cappedBuffer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	var scratch []byte
	for {
		var p []byte
		if room := b.max - len(b.buf); room > 0 {
			if len(b.buf) == cap(b.buf) {
				b.buf = slices.Grow(b.buf, min(room, max(512, cap(b.buf))))
			}
			p = b.buf[len(b.buf):min(cap(b.buf), b.max)]
		} else {
			if scratch == nil {
				scratch = make([]byte, 4096)
			}
			p = scratch
		}
		n, err := r.Read(p)
		total += int64(n)
		if len(b.buf) < b.max {
			b.buf = b.buf[:len(b.buf)+n]
		} else if n > 0 {
			b.truncated = true
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
