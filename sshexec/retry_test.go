package sshexec_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// A connection sshd drops before the handshake (MaxStartups) is dialed
// once more; anything else is not.
func TestRunRetriesPreAuthDrop(t *testing.T) {
	t.Parallel()
	drop := func(f sshtest.Fault, times int) sshtest.Profile {
		p := sshtest.FaultProfile(f)
		p.FaultConnections = times
		return p
	}
	rejected := sshtest.AuthRejectedProfile()
	rejected.Fault, rejected.FaultConnections = sshtest.FaultDropBeforeBanner, 1
	tests := []struct {
		name      string
		profile   sshtest.Profile
		wantCode  readiness.Code // "" means the command ran
		wantConns int
	}{
		{"drop before banner once", drop(sshtest.FaultDropBeforeBanner, 1), "", 2},
		{"reset before banner once", drop(sshtest.FaultResetBeforeBanner, 1), "", 2},
		{"drop in kex once", drop(sshtest.FaultDropInKex, 1), "", 2},
		{"drop before banner twice", drop(sshtest.FaultDropBeforeBanner, 2), readiness.CodeSSHConnectionDropped, 2},
		{"reset before banner always", drop(sshtest.FaultResetBeforeBanner, 0), readiness.CodeSSHConnectionDropped, 2},
		{"drop in kex always", drop(sshtest.FaultDropInKex, 0), readiness.CodeSSHConnectionDropped, 2},
		{"auth failure is not retried", sshtest.AuthRejectedProfile(), readiness.CodeSSHAuthFailed, 1},
		{"auth failure after a drop is not retried again", rejected, readiness.CodeSSHAuthFailed, 2},
		{"garbage banner is not retried", sshtest.FaultProfile(sshtest.FaultGarbageBanner), readiness.CodeSSHHandshakeFailed, 1},
		{"silent peer is not retried", sshtest.FaultProfile(sshtest.FaultSilent), readiness.CodeSSHHandshakeFailed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := sshtest.NewNodeT(t, tt.profile)
			c := &sshexec.Client{Timeout: 10 * time.Second}
			res, err := c.Run(context.Background(), n.Target(), "true", nil)
			if got := sshexec.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code: got %q, want %q (err %v)", got, tt.wantCode, err)
			}
			if got := n.Connections(); got != tt.wantConns {
				t.Errorf("node connections: got %d, want %d", got, tt.wantConns)
			}
			if err != nil {
				return
			}
			if res.Connections != tt.wantConns {
				t.Errorf("Result.Connections: got %d, want %d", res.Connections, tt.wantConns)
			}
			if tt.wantConns == 2 && res.Timing.Retry < 250*time.Millisecond {
				t.Errorf("Timing.Retry: got %v, want at least the 250ms wait", res.Timing.Retry)
			}
			if tt.wantConns == 1 && res.Timing.Retry != 0 {
				t.Errorf("Timing.Retry: got %v, want 0", res.Timing.Retry)
			}
		})
	}
}

// The second drop's error says what happened, not that the handshake is
// broken.
func TestRunDroppedTwiceDetail(t *testing.T) {
	t.Parallel()
	n := sshtest.NewNodeT(t, sshtest.FaultProfile(sshtest.FaultDropBeforeBanner))
	_, err := (&sshexec.Client{Timeout: 5 * time.Second}).Run(context.Background(), n.Target(), "true", nil)
	var e *sshexec.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *sshexec.Error", err)
	}
	if e.Phase != sshexec.PhaseHandshake || e.Code != readiness.CodeSSHConnectionDropped {
		t.Errorf("got phase %q code %q, want handshake ssh_connection_dropped", e.Phase, e.Code)
	}
	const want = "the node's sshd closed the connection before the ssh handshake twice (a connection limit such as MaxStartups, or a scan in progress)"
	if e.Detail != want {
		t.Errorf("detail: got %q, want %q", e.Detail, want)
	}
}

// The retry stays inside the Run's deadline: with no time for the wait,
// there is no second connection.
func TestRunRetryWithinDeadline(t *testing.T) {
	t.Parallel()
	for _, timeout := range []time.Duration{200 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond} {
		t.Run(timeout.String(), func(t *testing.T) {
			t.Parallel()
			n := sshtest.NewNodeT(t, sshtest.FaultProfile(sshtest.FaultDropBeforeBanner))
			start := time.Now()
			_, err := (&sshexec.Client{Timeout: timeout}).Run(context.Background(), n.Target(), "true", nil)
			elapsed := time.Since(start)
			if got := sshexec.CodeOf(err); got != readiness.CodeSSHConnectionDropped {
				t.Fatalf("code: got %q, want ssh_connection_dropped (err %v)", got, err)
			}
			if elapsed > timeout+200*time.Millisecond {
				t.Errorf("Run took %v, want within its %v deadline", elapsed, timeout)
			}
			if timeout <= 250*time.Millisecond && n.Connections() != 1 {
				t.Errorf("connections: got %d, want 1 (no time for the wait)", n.Connections())
			}
		})
	}
}

// A context canceled during the wait ends the Run at once.
func TestRunRetryWaitCanceled(t *testing.T) {
	t.Parallel()
	n := sshtest.NewNodeT(t, sshtest.FaultProfile(sshtest.FaultDropBeforeBanner))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := (&sshexec.Client{Timeout: 5 * time.Second}).Run(ctx, n.Target(), "true", nil)
	if got := sshexec.CodeOf(err); got != readiness.CodeProbeInterrupted {
		t.Fatalf("code: got %q, want probe_interrupted (err %v)", got, err)
	}
	if n.Connections() != 1 {
		t.Errorf("connections: got %d, want 1", n.Connections())
	}
}
