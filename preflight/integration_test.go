package preflight_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// fleet is a gate with the real Prober over sshtest nodes.
type fleet struct {
	nodes *preflight.MemoryNodes
	creds *preflight.MemoryCredentials
}

func (f *fleet) add(t *testing.T, id string, p sshtest.Profile, pin bool) *sshtest.Node {
	t.Helper()
	n := sshtest.NewNodeT(t, p)
	f.nodes.Put(preflight.Node{ID: id, Name: id, Host: "127.0.0.1", Port: n.Port(), User: sshtest.DefaultUser, IsLocal: true})
	f.creds.SetSigners(id, n.ClientSigner())
	if pin {
		f.creds.PinHostKeys(id, n.HostKey())
	}
	return n
}

func newFleetGate(t *testing.T, acceptNew bool) (*preflight.Gate, *fleet) {
	t.Helper()
	f := &fleet{nodes: preflight.NewMemoryNodes(), creds: preflight.NewMemoryCredentials()}
	f.creds.SetAcceptNew(acceptNew)
	g, err := preflight.New(preflight.Config{
		Nodes: f.nodes, Credentials: f.creds, Prober: &probe.Prober{},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g, f
}

func TestGateWithRealProber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		profile   sshtest.Profile
		pin       bool
		acceptNew bool
		wantAdmit bool
		wantCode  readiness.Code
	}{
		{"ready", sshtest.ReadyProfile(), true, false, true, ""},
		{"sudo password", sshtest.SudoPasswordProfile(), true, false, false, readiness.CodeSudoPasswordRequired},
		{"nginx missing", sshtest.MissingComponentProfile(readiness.ComponentNginx), true, false, false, readiness.CodeRuntimeComponentMissing},
		{"host key unknown fails closed", sshtest.ReadyProfile(), false, false, false, readiness.CodeSSHHostKeyUnknown},
		{"host key learned with accept-new", sshtest.ReadyProfile(), false, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, f := newFleetGate(t, tt.acceptNew)
			node := f.add(t, "n1", tt.profile, tt.pin)
			d, err := g.Check(context.Background(), readiness.OperationSiteCreate, "n1")
			require.NoError(t, err)
			if d.Admit != tt.wantAdmit || d.Report.PrimaryReason != tt.wantCode {
				t.Fatalf("got admit=%v primary=%q (%s), want admit=%v primary=%q", d.Admit, d.Report.PrimaryReason, d.Report.Summary(), tt.wantAdmit, tt.wantCode)
			}
			if tt.acceptNew {
				learned := f.creds.Learned("n1")
				require.Len(t, learned, 1)
				require.Equal(t, ssh.FingerprintSHA256(node.HostKey()), ssh.FingerprintSHA256(learned[0]))
			}
		})
	}
}

func TestGateCoalescesRealProbes(t *testing.T) {
	t.Parallel()
	g, f := newFleetGate(t, false)
	node := f.add(t, "n1", sshtest.ReadyProfile(), true)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			d, err := g.Check(context.Background(), readiness.OperationSiteCreate, "n1")
			if err != nil || !d.Admit {
				t.Errorf("got admit=%v err=%v, want admitted", d.Admit, err)
			}
		})
	}
	wg.Wait()
	if got := node.Connections(); got != 1 {
		t.Fatalf("got %d SSH connections, want 1", got)
	}

	// The node breaks; a refresh sees it at once.
	node.SetProfile(sshtest.SudoPasswordProfile())
	r, err := g.Refresh(context.Background(), "n1")
	require.NoError(t, err)
	if r.PrimaryReason != readiness.CodeSudoPasswordRequired {
		t.Fatalf("after refresh: got %q, want sudo_password_required", r.PrimaryReason)
	}
	st, _ := g.Status("n1")
	if st.State != readiness.StateNotReady || st.PreviousState != readiness.StateReady {
		t.Fatalf("got status %+v, want not_ready after ready", st)
	}
	if got := node.Connections(); got != 2 {
		t.Fatalf("got %d SSH connections, want 2", got)
	}
}
