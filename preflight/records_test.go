package preflight

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

type hostRecord struct{ id, ip string }

func TestRecords(t *testing.T) {
	t.Parallel()
	errMissing := errors.New("host: no such row")
	errDown := errors.New("host: database is down")
	rows := []hostRecord{{"b", "10.0.0.2"}, {"a", "10.0.0.1"}}
	down := false
	src := Records[hostRecord]{
		Get: func(_ context.Context, id string) (hostRecord, error) {
			if down {
				return hostRecord{}, errDown
			}
			for _, r := range rows {
				if r.id == id {
					return r, nil
				}
			}
			return hostRecord{}, errMissing
		},
		List:     func(context.Context) ([]hostRecord, error) { return rows, nil },
		Convert:  func(r hostRecord) Node { return Node{ID: r.id, Host: r.ip, User: "pressluft"} },
		NotFound: errMissing,
	}
	n, err := src.Node(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, Node{ID: "a", Host: "10.0.0.1", User: "pressluft"}, n)

	_, err = src.Node(ctx, "zz")
	require.ErrorIs(t, err, ErrNodeNotFound)

	down = true
	_, err = src.Node(ctx, "a")
	require.ErrorIs(t, err, errDown)
	require.NotErrorIs(t, err, ErrNodeNotFound, "an outage is not an unknown node")

	all, err := src.Nodes(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a"}, []string{all[0].ID, all[1].ID}, "the host's order")

	_, err = Records[hostRecord]{}.Node(ctx, "a")
	require.ErrorIs(t, err, errRecordsIncomplete)
	_, err = Records[hostRecord]{}.Nodes(ctx)
	require.ErrorIs(t, err, errRecordsIncomplete)

	// Through the gate: an unknown id is ErrNodeNotFound.
	down = false
	g, err := New(Config{Nodes: src, Credentials: NewMemoryCredentials(newSigner(t)), Prober: newFakeProber()})
	require.NoError(t, err)
	defer g.Close()
	_, err = g.Check(ctx, "site_create", "zz")
	require.ErrorIs(t, err, ErrNodeNotFound)
}
