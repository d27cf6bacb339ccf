package faultmatrix

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// neverDialed is the outcome of a probe that is stopped with code before
// the node is dialed.
func neverDialed(code readiness.Code) want {
	return want{state: readiness.StateNotReady, reasons: []reason{r(code)}, undialed: true}
}

// storeDown is a Credentials whose secrets store does not answer.
var storeDown = preflight.CredentialsFunc(func(context.Context, preflight.Node) (preflight.Auth, error) {
	return preflight.Auth{}, errors.New("secrets store down")
})

// TestNeverDialed probes a healthy sshtest node (the ready profile, which
// would answer) in ways where the probe is stopped on the control plane's
// side before anything is dialed: by the gate, which finds no client key
// (preflight's target), and by sshexec, which finds the target unusable or
// its context ended. The node must see no connection, and the report must
// claim no step of the SSH round trip: the code's own check fails (auth
// for ssh_credentials_unavailable), and every other step is skipped,
// blocked by it, the steps before it included.
func TestNeverDialed(t *testing.T) {
	baseline := leaktest.Take()
	client := &sshexec.Client{Timeout: timeout, HandshakeTimeout: handshakeTimeout}
	tests := []struct {
		name string
		// creds are the gate's credentials; nil probes with the Prober
		// alone, with target changed by edit.
		creds func(n *sshtest.Node) preflight.Credentials
		edit  func(t *sshexec.Target)
		// canceled probes with a context that has already ended.
		canceled bool
		// code is the wanted primary reason; "" means
		// ssh_credentials_unavailable.
		code readiness.Code
	}{
		{
			name: "gate: no client key configured",
			creds: func(n *sshtest.Node) preflight.Credentials {
				c := preflight.NewMemoryCredentials()
				c.PinHostKeys("node", n.HostKey())
				return c
			},
		},
		{
			name:  "gate: client keys could not be loaded",
			creds: func(*sshtest.Node) preflight.Credentials { return storeDown },
		},
		{
			name: "gate: a nil client key reaches sshexec",
			creds: func(n *sshtest.Node) preflight.Credentials {
				c := preflight.NewMemoryCredentials()
				c.SetSigners("node", nil)
				c.PinHostKeys("node", n.HostKey())
				return c
			},
		},
		{
			name: "prober: no client key and no agent",
			edit: func(t *sshexec.Target) { t.Signers = nil },
		},
		{
			name: "prober: a nil client key",
			edit: func(t *sshexec.Target) { t.Signers = []ssh.Signer{nil} },
		},
		{
			name: "prober: no host key policy",
			edit: func(t *sshexec.Target) { t.HostKeys = nil },
			code: readiness.CodeSSHHostKeyUnknown,
		},
		{
			name:     "prober: context ended before dialing",
			edit:     func(*sshexec.Target) {},
			canceled: true,
			code:     readiness.CodeProbeInterrupted,
		},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				node := sshtest.NewNode(sshtest.ReadyProfile())
				defer node.Close()
				prober := &probe.Prober{Client: client}
				var rep readiness.Report
				if tt.creds != nil {
					rep = refresh(t, node, tt.creds(node), prober)
				} else {
					target := node.Target()
					tt.edit(&target)
					ctx, cancel := context.WithCancel(context.Background())
					if tt.canceled {
						cancel()
					}
					obs := prober.Observe(ctx, "node", target)
					cancel()
					rep = readiness.Evaluate(obs, readiness.Baseline(), readiness.OperationSiteCreate)
				}
				code := tt.code
				if code == "" {
					code = readiness.CodeSSHCredentialsUnavailable
				}
				if rep.State != readiness.StateNotReady || rep.PrimaryReason != code {
					t.Errorf("got %s/%s, want not_ready/%s (%s)", rep.State, rep.PrimaryReason, code, rep.Summary())
				}
				if got := node.Connections(); got != 0 {
					t.Errorf("connections: got %d, want 0: the node must not be dialed", got)
				}
				checkChecks(t, rep, neverDialed(code))
			})
		}
	})
	t.Run("the profile is ready", func(t *testing.T) {
		// The same node, probed with its key and host key, is ready: the
		// cases above fail before dialing, not because of the node.
		node := sshtest.NewNode(sshtest.ReadyProfile())
		defer node.Close()
		creds := preflight.NewMemoryCredentials(node.ClientSigner())
		creds.PinHostKeys("node", node.HostKey())
		rep := refresh(t, node, creds, &probe.Prober{Client: client})
		if rep.State != readiness.StateReady || node.Connections() != 1 {
			t.Errorf("got %s after %d connections, want ready after 1 (%s)", rep.State, node.Connections(), rep.Summary())
		}
	})
	leaktest.Check(t, baseline)
}

// refresh probes node through a preflight gate, as the control plane does.
func refresh(t *testing.T, node *sshtest.Node, creds preflight.Credentials, prober *probe.Prober) readiness.Report {
	t.Helper()
	gate, err := preflight.New(preflight.Config{
		Nodes:        preflight.NewMemoryNodes(preflight.Node{ID: "node", Host: "127.0.0.1", Port: node.Port(), User: sshtest.DefaultUser}),
		Credentials:  creds,
		Prober:       prober,
		ProbeTimeout: timeout + time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	rep, err := gate.Refresh(context.Background(), "node")
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return rep
}
