package sshtest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// handshake dials n and runs the SSH handshake with a deadline.
func handshake(n *Node, deadline time.Duration) (*ssh.Client, error) {
	conn, err := net.DialTimeout("tcp", n.Addr(), deadline)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(deadline))
	c, chans, reqs, err := ssh.NewClientConn(conn, n.Addr(), n.ClientConfig())
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func TestHandshakeFaults(t *testing.T) {
	t.Parallel()
	slow := FaultProfile(FaultSlowHandshake)
	slow.FaultDelay = 300 * time.Millisecond
	tests := []struct {
		name    string
		profile Profile
		check   func(t *testing.T, err error, took time.Duration)
	}{
		{"refuse-tcp", FaultProfile(FaultRefuseTCP), func(t *testing.T, err error, _ time.Duration) {
			require.ErrorIs(t, err, syscall.ECONNREFUSED)
		}},
		{"silent", FaultProfile(FaultSilent), func(t *testing.T, err error, _ time.Duration) {
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			require.True(t, ne.Timeout(), "got %v, want a timeout", err)
		}},
		{"garbage-banner", FaultProfile(FaultGarbageBanner), func(t *testing.T, err error, _ time.Duration) {
			require.Error(t, err)
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "got timeout %v, want the handshake to fail on the garbage", err)
		}},
		{"slow-handshake", slow, func(t *testing.T, err error, took time.Duration) {
			require.NoError(t, err)
			require.GreaterOrEqual(t, took, 300*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := NewNodeT(t, tt.profile)
			start := time.Now()
			c, err := handshake(n, time.Second)
			took := time.Since(start)
			if c != nil {
				c.Close()
			}
			tt.check(t, err, took)
			if tt.profile.Fault == FaultRefuseTCP {
				require.Zero(t, n.Connections())
			} else {
				require.Equal(t, 1, n.Connections())
			}
		})
	}
}

func TestExecFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault Fault
		cmd   string
		check func(t *testing.T, stdout []byte, err error)
	}{
		{"drop-mid-output", FaultDropMidOutput, "printf abcdefgh; printf oops >&2", func(t *testing.T, stdout []byte, err error) {
			require.Equal(t, "abcd", string(stdout))
			var missing *ssh.ExitMissingError
			require.ErrorAs(t, err, &missing)
		}},
		{"flood", FaultFlood, "true", func(t *testing.T, stdout []byte, err error) {
			require.NoError(t, err)
			require.Len(t, stdout, FloodBytes)
		}},
		{"exit-no-status", FaultExitNoStatus, "printf hi; exit 3", func(t *testing.T, stdout []byte, err error) {
			require.Equal(t, "hi", string(stdout))
			var missing *ssh.ExitMissingError
			require.ErrorAs(t, err, &missing)
		}},
		{"exit-signal", FaultExitSignal, "printf hi", func(t *testing.T, stdout []byte, err error) {
			require.Equal(t, "hi", string(stdout))
			var ee *ssh.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, "KILL", ee.Signal())
		}},
		{"none: exit status", FaultNone, "printf hi; exit 3", func(t *testing.T, stdout []byte, err error) {
			require.Equal(t, "hi", string(stdout))
			var ee *ssh.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, 3, ee.ExitStatus())
		}},
		{"none: killed by signal", FaultNone, "kill -TERM $$", func(t *testing.T, stdout []byte, err error) {
			var ee *ssh.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, "TERM", ee.Signal())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := NewNodeT(t, FaultProfile(tt.fault))
			c := dial(t, n)
			s, err := c.NewSession()
			require.NoError(t, err)
			defer s.Close()
			var out bytes.Buffer
			s.Stdout = &out
			done := make(chan error, 1)
			go func() { done <- s.Run(tt.cmd) }()
			select {
			case err := <-done:
				tt.check(t, out.Bytes(), err)
			case <-time.After(10 * time.Second):
				t.Fatal("session did not end within 10s")
			}
		})
	}
}

func TestHangAfterExec(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, FaultProfile(FaultHangAfterExec))
	c := dial(t, n)
	s, err := c.NewSession()
	require.NoError(t, err)
	out, err := s.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, s.Start("printf hi"), "the exec request is accepted")
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("got session end %v, want a hang", err)
	case <-time.After(300 * time.Millisecond):
	}
	c.Close() // what a client deadline does
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end within 5s of closing the client")
	}
	b, _ := io.ReadAll(out)
	require.Empty(t, b)
	require.Len(t, n.Execs(), 1)
}
