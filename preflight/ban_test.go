package preflight

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// A node that refuses the control plane's key is re-probed with backoff:
// Check and Choose reuse the refusal for 2m, 4m, 8m, then 10m (not every
// FailTTL), so the gate adds at most 3 failed logins to the node's
// fail2ban in any 10 minutes; Refresh still probes at once, and any other
// outcome resets the backoff.
func TestAuthFailBackoff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
	check := func() Decision {
		t.Helper()
		d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
		require.NoError(t, err)
		require.Equal(t, readiness.CodeSSHAuthFailed, d.Report.PrimaryReason)
		return d
	}
	check()
	require.Equal(t, 1, f.prober.count("n1"))

	// Probe times, in minutes after the first, for Checks every 10s.
	var probes []time.Duration
	start := f.clock.Now()
	for i := 0; i < 6*40; i++ { // 40 minutes
		f.clock.Advance(10 * time.Second)
		before := f.prober.count("n1")
		d := check()
		if f.prober.count("n1") != before {
			probes = append(probes, f.clock.Now().Sub(start))
			require.False(t, d.Cached)
		} else {
			require.True(t, d.Cached, "a refusal within the backoff is the cached one")
		}
	}
	want := []time.Duration{2 * time.Minute, 6 * time.Minute, 14 * time.Minute, 24 * time.Minute, 34 * time.Minute}
	require.Equal(t, want, probes, "probes at 2m, then doubling to the 10m cap")
	// At most 3 probes in any 10 minutes (the first one at 0 included).
	all := append([]time.Duration{0}, probes...)
	for i := range all {
		n := 0
		for _, p := range all[i:] {
			if p-all[i] < 10*time.Minute {
				n++
			}
		}
		require.LessOrEqual(t, n, 3, "probes in the 10 minutes from %v", all[i])
	}

	// Choose reuses the refusal as Check does.
	before := f.prober.count("n1")
	d, err := f.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"n1"})
	require.NoError(t, err)
	require.False(t, d.Admit)
	require.Equal(t, before, f.prober.count("n1"), "Choose within the backoff does not probe")

	// Refresh probes; once the key is fixed, the node is ready and the
	// backoff starts over.
	r, err := f.gate.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, before+1, f.prober.count("n1"), "Refresh probes at once")
	require.Equal(t, readiness.CodeSSHAuthFailed, r.PrimaryReason)
	f.prober.set("n1", readyObs())
	r, err = f.gate.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.True(t, r.Ready())
	f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
	_, err = f.gate.Refresh(ctx, "n1")
	require.NoError(t, err)
	n := f.prober.count("n1")
	f.clock.Advance(2*time.Minute - time.Second)
	check()
	require.Equal(t, n, f.prober.count("n1"))
	f.clock.Advance(time.Second)
	check()
	require.Equal(t, n+1, f.prober.count("n1"), "after a success the backoff is 2m again")
}

// Other failures keep FailTTL.
func TestFailTTLUnchangedForOtherFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.prober.set("n1", transportObs(readiness.CodeSSHUnreachable))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	f.clock.Advance(DefaultFailTTL)
	_, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)
	require.Equal(t, 2, f.prober.count("n1"))
}

// The Monitor skips a node within its auth-failure backoff, while it
// keeps probing the others.
func TestMonitorRespectsAuthFailBackoff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.nodes.Put(activeNode("n2"))
	f.prober.set("n1", transportObs(readiness.CodeSSHAuthFailed))
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
	require.NoError(t, err)

	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.gate.Monitor(mctx, 5*time.Millisecond, 0) }()
	waitFor(t, "five monitor rounds", func() bool { return f.prober.count("n2") >= 5 })
	require.Equal(t, 1, f.prober.count("n1"), "the monitor does not probe a node in backoff")

	f.clock.Advance(DefaultAuthFailBackoff)
	waitFor(t, "the monitor to probe n1 after its backoff", func() bool { return f.prober.count("n1") == 2 })
	n2 := f.prober.count("n2")
	waitFor(t, "five more rounds", func() bool { return f.prober.count("n2") >= n2+5 })
	require.Equal(t, 2, f.prober.count("n1"), "and then waits the doubled backoff")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// A node that refused the key and then stops answering may have banned
// the control plane: the reason says so, with the command that lifts the
// ban. Without auth failures just before, or long after the node last
// answered, no TCP connection is ssh_unreachable as before.
func TestBanSuspected(t *testing.T) {
	t.Parallel()
	unreachable := readiness.Observation{Transport: &readiness.TransportFailure{
		Code: readiness.CodeSSHUnreachable, Detail: "tcp connect timed out", Reached: readiness.PrereqTCP}}
	tests := []struct {
		name    string
		before  []readiness.Observation
		advance time.Duration
		want    readiness.Code
	}{
		{"after auth failures", []readiness.Observation{transportObs(readiness.CodeSSHAuthFailed), transportObs(readiness.CodeSSHAuthFailed)}, time.Minute, readiness.CodeSSHBannedSuspected},
		{"never answered", nil, time.Minute, readiness.CodeSSHUnreachable},
		{"after a ready probe", []readiness.Observation{readyObs()}, time.Minute, readiness.CodeSSHUnreachable},
		{"auth failure, then another failure", []readiness.Observation{transportObs(readiness.CodeSSHAuthFailed), transportObs(readiness.CodeSudoMissing)}, time.Minute, readiness.CodeSSHUnreachable},
		{"a day after the node answered", []readiness.Observation{transportObs(readiness.CodeSSHAuthFailed)}, 25 * time.Hour, readiness.CodeSSHUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			for _, o := range tt.before {
				f.prober.set("n1", o)
				_, err := f.gate.Refresh(ctx, "n1")
				require.NoError(t, err)
			}
			f.clock.Advance(tt.advance)
			f.prober.set("n1", unreachable)
			r, err := f.gate.Refresh(ctx, "n1")
			require.NoError(t, err)
			require.Equal(t, tt.want, r.PrimaryReason, "reasons: %+v", r.Reasons)
			if tt.want != readiness.CodeSSHBannedSuspected {
				return
			}
			require.Equal(t, readiness.StateNotReady, r.State)
			var detail, remediation string
			for _, c := range r.Checks {
				if c.Code == readiness.CodeSSHBannedSuspected {
					detail = c.Observed
				}
			}
			for _, x := range r.Reasons {
				if x.Code == readiness.CodeSSHBannedSuspected {
					remediation = x.Remediation
				}
			}
			require.Contains(t, detail, "sudo fail2ban-client set sshd unbanip CONTROL_PLANE_IP")
			require.Contains(t, detail, "2 refused logins")
			require.Contains(t, remediation, "sudo fail2ban-client set sshd unbanip CONTROL_PLANE_IP")
			require.Contains(t, remediation, "ip route get NODE_IP")

			// The suspicion holds the node in backoff too (a banned node
			// gains nothing from being dialed), and lasts while it does
			// not answer.
			n := f.prober.count("n1")
			f.clock.Advance(DefaultFailTTL)
			d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			require.True(t, d.Cached)
			require.Equal(t, n, f.prober.count("n1"))
			r, err = f.gate.Refresh(ctx, "n1")
			require.NoError(t, err)
			require.Equal(t, readiness.CodeSSHBannedSuspected, r.PrimaryReason)
			require.False(t, strings.Contains(r.Summary(), "No TCP connection to the node's SSH port"), r.Summary())
		})
	}
}
