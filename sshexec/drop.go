package sshexec

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
)

// headConn remembers the first bytes the node sent, so that a connection
// closed in the handshake can be told apart: closed before any byte or
// after an SSH banner (sshd dropping it) or after something else (not
// sshd on that port).
type headConn struct {
	net.Conn
	mu   sync.Mutex
	n    int
	head [4]byte
}

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

// beforeOrInSSH reports whether the node had sent nothing, or the start
// of an SSH banner ("SSH-"), when the connection ended.
func (c *headConn) beforeOrInSSH() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n == 0 || string(c.head[:c.n]) == "SSH-"[:c.n]
}

// isDrop reports whether err is the peer closing or resetting the
// connection (not a timeout, not a protocol error).
func isDrop(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}
