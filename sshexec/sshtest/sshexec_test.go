package sshtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// TestSSHExecAgainstNode drives sshexec.Client against every transport
// fault and checks the readiness code it classifies the outcome as.
func TestSSHExecAgainstNode(t *testing.T) {
	t.Parallel()
	slow := sshtest.FaultProfile(sshtest.FaultSlowHandshake)
	slow.FaultDelay = 200 * time.Millisecond
	tests := []struct {
		profile  sshtest.Profile
		wantCode readiness.Code // "" means a Result
		check    func(t *testing.T, res *sshexec.Result)
	}{
		{profile: sshtest.ReadyProfile(), check: func(t *testing.T, res *sshexec.Result) {
			require.Equal(t, "hi\n", string(res.Stdout))
		}},
		{profile: sshtest.FaultProfile(sshtest.FaultRefuseTCP), wantCode: readiness.CodeSSHUnreachable},
		{profile: sshtest.FaultProfile(sshtest.FaultSilent), wantCode: readiness.CodeSSHHandshakeFailed},
		{profile: sshtest.FaultProfile(sshtest.FaultGarbageBanner), wantCode: readiness.CodeSSHHandshakeFailed},
		{profile: slow, check: func(t *testing.T, res *sshexec.Result) {
			require.Equal(t, "hi\n", string(res.Stdout))
		}},
		{profile: sshtest.AuthRejectedProfile(), wantCode: readiness.CodeSSHAuthFailed},
		{profile: sshtest.ExecRefusedProfile(), wantCode: readiness.CodeSSHExecRejected},
		{profile: sshtest.NologinProfile(), check: func(t *testing.T, res *sshexec.Result) {
			require.Equal(t, "This account is currently not available.\n", string(res.Stdout))
			require.Equal(t, 1, res.ExitStatus)
		}},
		{profile: sshtest.FaultProfile(sshtest.FaultHangAfterExec), wantCode: readiness.CodeProbeTimeout},
		{profile: sshtest.FaultProfile(sshtest.FaultDropMidOutput), wantCode: readiness.CodeProbeInterrupted},
		{profile: sshtest.FaultProfile(sshtest.FaultFlood), check: func(t *testing.T, res *sshexec.Result) {
			require.True(t, res.StdoutTruncated)
		}},
		{profile: sshtest.FaultProfile(sshtest.FaultExitNoStatus), wantCode: readiness.CodeProbeInterrupted},
		{profile: sshtest.FaultProfile(sshtest.FaultExitSignal), check: func(t *testing.T, res *sshexec.Result) {
			require.Equal(t, "KILL", res.ExitSignal)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.profile.Name, func(t *testing.T) {
			t.Parallel()
			n := sshtest.NewNodeT(t, tt.profile)
			// Short deadlines only where the case is about a deadline; the
			// rest get room for a loaded machine.
			c := sshexec.Client{Timeout: 10 * time.Second}
			if f := tt.profile.Fault; f == sshtest.FaultSilent || f == sshtest.FaultHangAfterExec {
				c = sshexec.Client{Timeout: 2 * time.Second, HandshakeTimeout: time.Second}
			}
			start := time.Now()
			res, err := c.Run(context.Background(), n.Target(), "echo hi", nil)
			require.Less(t, time.Since(start), c.Timeout+time.Second, "Run must return within its deadline plus 1s")
			if tt.wantCode != "" {
				require.Error(t, err)
				require.Equal(t, tt.wantCode, sshexec.CodeOf(err), "err: %v", err)
				return
			}
			require.NoError(t, err)
			tt.check(t, res)
		})
	}
}
