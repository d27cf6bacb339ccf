package fleet_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
)

func hostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return k
}

// The -nodes file is the example server's format, one entry per node in
// order, each pinning the node's own host key; it needs no root and no
// fleet. (examples/devserver's fleet test loads one with the server's own
// loader.)
func TestWriteNodesFile(t *testing.T) {
	t.Parallel()
	k1, k2 := hostKey(t), hostKey(t)
	nodes := []fleet.Node{
		{Name: "ready", Addr: "10.216.1.2", Port: 22, User: fleet.User, HostKey: k1, ClientKeyFile: "/run/pressluft-fleet-3/client_ed25519"},
		{Name: "port-2222", Addr: "10.216.2.2", Port: 2222, User: fleet.User, HostKey: k2, ClientKeyFile: "/run/pressluft-fleet-3/client_ed25519"},
	}
	path := filepath.Join(t.TempDir(), fleet.NodesFileName)
	require.NoError(t, os.WriteFile(path, []byte("stale"), 0o644))
	require.NoError(t, fleet.WriteNodesFile(path, nodes))

	fi, err := os.Stat(path)
	require.NoError(t, err)
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	want := []map[string]any{
		{"name": "ready", "host": "10.216.1.2", "port": 22.0, "user": "pressluft",
			"identity_file": "/run/pressluft-fleet-3/client_ed25519", "host_key": authorized(k1)},
		{"name": "port-2222", "host": "10.216.2.2", "port": 2222.0, "user": "pressluft",
			"identity_file": "/run/pressluft-fleet-3/client_ed25519", "host_key": authorized(k2)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("nodes file (-want +got):\n%s", d)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}

func TestWriteNodesFileRefuses(t *testing.T) {
	t.Parallel()
	good := fleet.Node{Name: "ready", Addr: "10.216.1.2", Port: 22, User: fleet.User, HostKey: hostKey(t), ClientKeyFile: "/k"}
	for name, nodes := range map[string][]fleet.Node{
		"no nodes":    nil,
		"no host key": {func() fleet.Node { n := good; n.HostKey = nil; return n }()},
		"no address":  {good, func() fleet.Node { n := good; n.Name, n.Addr = "b", ""; return n }()},
		"no key file": {func() fleet.Node { n := good; n.ClientKeyFile = ""; return n }()},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), fleet.NodesFileName)
			require.Error(t, fleet.WriteNodesFile(path, nodes))
			_, err := os.Stat(path)
			require.ErrorIs(t, err, os.ErrNotExist, "nothing is written")
		})
	}
}

func TestNodesFilePath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  fleet.Config
		want string
	}{
		{fleet.Config{Instance: 3}, "/run/pressluft-fleet-3/nodes.json"},
		{fleet.Config{Instance: 3, StateDir: "/run/x"}, "/run/x/nodes.json"},
	} {
		if got := fleet.NodesFilePath(tt.cfg); got != tt.want {
			t.Errorf("NodesFilePath(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func authorized(k ssh.PublicKey) string {
	b := ssh.MarshalAuthorizedKey(k)
	return string(b[:len(b)-1])
}
