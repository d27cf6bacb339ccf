package fleet_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

func newSigner(t *testing.T) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

// testClientSide probes the ready node with what the control plane gets
// wrong, not the node: a key the node does not authorize (once: the
// node's fail2ban bans after five) and a pinned host key that is not the
// node's.
func testClientSide(t *testing.T, f *fleet.Fleet) {
	n, ok := f.Node("ready")
	require.True(t, ok)
	tg, err := n.Target()
	require.NoError(t, err)
	wrongKey := tg
	wrongKey.Signers = []ssh.Signer{newSigner(t)}
	changedHost := tg
	changedHost.HostKeys = sshexec.PinnedHostKeys(newSigner(t).PublicKey())
	for _, c := range []struct {
		name string
		tg   sshexec.Target
		want readiness.Code
	}{
		{"wrong-client-key", wrongKey, readiness.CodeSSHAuthFailed},
		{"changed-host-key", changedHost, readiness.CodeSSHHostKeyMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, rep := evaluateTarget(t, c.name, c.tg)
			if rep.PrimaryReason != c.want {
				t.Errorf("got %s, want %s", rep.Summary(), c.want)
			}
		})
	}
	// The node still answers the right key: one failure is not a ban.
	_, rep := evaluate(t, n)
	require.Equal(t, readiness.Code(""), rep.PrimaryReason, "after the failures: %s", rep.Summary())
}
