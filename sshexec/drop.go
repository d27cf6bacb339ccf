package sshexec

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
)

// headConn remembers the first bytes the node sent, so that a connection
// closed in the handshake can be told apart: closed before any byte,
// after sshd's own "Exceeded MaxStartups" line (OpenSSH writes it to a
// connection it drops past MaxStartups, seen on the test fleet's Debian 12
// nodes with OpenSSH 9.2), or after an SSH banner (sshd dropping it), from
// closed after something else (not sshd on that port).
type headConn struct {
	net.Conn
	mu   sync.Mutex
	n    int
	head [4]byte
}

// maxStartupsLine is what sshd sends a connection it drops past
// MaxStartups, before closing it.
const maxStartupsLine = "Exceeded MaxStartups"

func (c *headConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.n < len(c.head) {
			c.n += copy(c.head[c.n:], p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// beforeOrInSSH reports whether the node had sent nothing, sshd's
// MaxStartups line (or its start), or the start of an SSH banner
// ("SSH-"), when the connection ended.
func (c *headConn) beforeOrInSSH() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := string(c.head[:c.n])
	return got == "SSH-"[:c.n] || got == maxStartupsLine[:c.n]
}

// isDrop reports whether err is the peer closing or resetting the
// connection (not a timeout, not a protocol error).
func isDrop(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	// A reset seen first by x/crypto's writing side makes it close the
	// connection, and the handshake's read then fails with "use of closed
	// network connection" (net.ErrClosed); a close of the Run's own (its
	// deadline, its ctx) is classified before this is asked. x/crypto
	// sometimes flattens these into its own text, so errors.Is cannot
	// see them; the wording is stable.
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "use of closed network connection")
}
