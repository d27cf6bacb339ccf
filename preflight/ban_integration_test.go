package preflight_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflighttest"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// Against an sshtest node that refuses the key, ten minutes of create
// requests every 10s make 3 connections (3 failed logins, under
// fail2ban's maxretry 5), not 60. When the node then stops answering
// (fail2ban's REJECT), the reason is ssh_banned_suspected; once it is
// unbanned and the key fixed, Refresh finds it ready.
func TestGateNeverTripsFail2ban(t *testing.T) {
	t.Parallel()
	clock := preflighttest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	f := &fleet{nodes: preflight.NewMemoryNodes(), creds: preflight.NewMemoryCredentials()}
	g, err := preflight.New(preflight.Config{Nodes: f.nodes, Credentials: f.creds, Prober: &probe.Prober{}, Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	node := f.add(t, "n1", sshtest.AuthRejectedProfile(), true)
	ctx := context.Background()

	for i := 0; i < 60; i++ {
		d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
		require.NoError(t, err)
		require.Equal(t, readiness.CodeSSHAuthFailed, d.Report.PrimaryReason)
		clock.Advance(10 * time.Second)
	}
	require.Equal(t, 3, node.Connections(), "connections in 10 minutes of Checks every 10s (at 0, 2m, 6m)")

	// Banned: the node's port now rejects the control plane.
	node.SetProfile(sshtest.FaultProfile(sshtest.FaultRefuseTCP))
	r, err := g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHBannedSuspected, r.PrimaryReason, "reasons: %+v", r.Reasons)

	// Unbanned, key fixed: Refresh probes at once.
	node.SetProfile(sshtest.ReadyProfile())
	r, err = g.Refresh(ctx, "n1")
	require.NoError(t, err)
	require.True(t, r.Ready(), "reasons: %+v", r.Reasons)
}
