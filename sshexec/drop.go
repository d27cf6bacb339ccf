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
	head [len(maxStartupsLine)]byte
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
	return c.n == 0 || strings.HasPrefix(got, "SSH-") || strings.HasPrefix("SSH-", got) ||
		strings.HasPrefix(maxStartupsLine, got)
}

// isDrop reports whether err is the peer closing or resetting the
// connection (not a timeout, not a protocol error).
func isDrop(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}
