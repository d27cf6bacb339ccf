package main

import (
	"context"
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
				SSHPort: 2222, SSHUser: "pressluft", Status: c.status})
			require.NoError(t, err)
			got, err := nodes.Node(ctx, id)
			require.NoError(t, err)
			want := preflight.Node{ID: id, Name: "n-" + c.status, Lifecycle: c.want, Host: "192.0.2.1", Port: 2222, User: "pressluft"}
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
