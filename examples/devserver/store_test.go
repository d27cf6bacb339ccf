package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

func TestNodeSourceOverSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := openStore(ctx, filepath.Join(t.TempDir(), "t.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	nodes := storeNodes{st}

	cases := []struct {
		status string
		want   readiness.Lifecycle
	}{
		{nodeAcquiring, readiness.LifecycleAcquiring},
		{nodeProvisioning, readiness.LifecycleProvisioning},
		{nodeActive, readiness.LifecycleActive},
		{nodeUnreachable, readiness.LifecycleActive}, // probed: the probe decides
		{nodeDecommissioned, readiness.LifecycleDecommissioned},
	}
	for _, c := range cases {
		t.Run(c.status, func(t *testing.T) {
			id, err := st.upsertNode(ctx, NodeRow{Name: "n-" + c.status, PublicIP: "192.0.2.1", Hostname: "n.example",
				SSHPort: 2222, SSHUser: "pressluft", Status: c.status, SSHPrivateKeyPath: "/var/lib/pressluft/keys/" + c.status})
			require.NoError(t, err)
			got, err := nodes.Node(ctx, id)
			require.NoError(t, err)
			want := preflight.Node{ID: id, Name: "n-" + c.status, Lifecycle: c.want, Host: "192.0.2.1", Port: 2222, User: "pressluft",
				KeyFile: "/var/lib/pressluft/keys/" + c.status}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("node (-want +got):\n%s", d)
			}
		})
	}
	all, err := nodes.Nodes(ctx)
	require.NoError(t, err)
	require.Len(t, all, len(cases))

	_, err = nodes.Node(ctx, newID())
	require.ErrorIs(t, err, preflight.ErrNodeNotFound)
}

func TestNewIDIsUUIDv4(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("got id %q, want a fresh version 4 UUID", id)
		}
		seen[id] = true
	}
}

// A database made before nodes had ssh_private_key_path gets the column.
func TestStoreMigratesOldDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE nodes (id TEXT PRIMARY KEY, name TEXT NOT NULL, hostname TEXT NOT NULL DEFAULT '',
		public_ip TEXT NOT NULL DEFAULT '', ssh_port INTEGER NOT NULL DEFAULT 22, ssh_user TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL, is_local INTEGER NOT NULL DEFAULT 0, last_seen_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
		INSERT INTO nodes (id, name, status, created_at, updated_at) VALUES ('n1', 'old', 'active', '', '')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	st, err := openStore(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	n, err := st.nodeRow(ctx, "n1")
	require.NoError(t, err)
	require.Empty(t, n.SSHPrivateKeyPath)
	_, err = st.upsertNode(ctx, NodeRow{Name: "old", Status: nodeActive, SSHPrivateKeyPath: "/k"})
	require.NoError(t, err)
	n, err = st.nodeRow(ctx, "n1")
	require.NoError(t, err)
	require.Equal(t, "/k", n.SSHPrivateKeyPath)
}
