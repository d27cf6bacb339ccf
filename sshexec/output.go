package sshexec

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
