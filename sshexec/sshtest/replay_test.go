package sshtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
)

// counted appends a line to $HOME/runs each time it really runs, then
// prints its stdin, a line on stderr, and exits 3.
const counted = `echo run >>"$HOME/runs"; cat; echo oops >&2; exit 3`

// runCount makes each command runs sends unique, so replay never answers it.
var runCount atomic.Int64

// runs is how many times counted really ran on n.
func runs(t *testing.T, n *Node) int {
	t.Helper()
	got := run(t, n, fmt.Sprintf(`cat "$HOME/runs" 2>/dev/null || true # %d`, runCount.Add(1)))
	require.NoError(t, got.err)
	return strings.Count(got.stdout, "run\n")
}

func TestReplay(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	n.SetReplay(true)
	c := dial(t, n)

	first := runOn(t, c, counted, "hello\n")
	require.Equal(t, "hello\n", first.stdout)
	require.Equal(t, "oops\n", first.stderr)
	require.Equal(t, 3, first.code())
	require.Equal(t, 1, runs(t, n))

	again := runOn(t, c, counted, "hello\n")
	if again.stdout != first.stdout || again.stderr != first.stderr || again.code() != first.code() {
		t.Errorf("replayed %q %q exit %d, want %q %q exit %d", again.stdout, again.stderr, again.code(), first.stdout, first.stderr, first.code())
	}
	require.Equal(t, 1, runs(t, n), "a replayed exec must not run")

	execs := n.Execs()
	last := execs[len(execs)-2] // the replayed one; runs() came after it
	require.Equal(t, counted, last.Command)
	require.Equal(t, len("hello\n"), last.StdinBytes)
	require.Equal(t, sha256.Sum256([]byte("hello\n")), last.StdinSHA256)

	// Other stdin, a new profile generation, replay restarted or off:
	// each runs for real once.
	require.Equal(t, "bye\n", runOn(t, c, counted, "bye\n").stdout)
	require.Equal(t, 2, runs(t, n))
	n.SetProfile(ReadyProfile())
	runOn(t, dial(t, n), counted, "hello\n")
	require.Equal(t, 3, runs(t, n))
	n.SetReplay(true)
	runOn(t, dial(t, n), counted, "hello\n")
	require.Equal(t, 4, runs(t, n))
	n.SetReplay(false)
	runOn(t, dial(t, n), counted, "hello\n")
	runOn(t, dial(t, n), counted, "hello\n")
	require.Equal(t, 6, runs(t, n), "with replay off every exec runs")
}

func TestReplayNotKept(t *testing.T) {
	t.Parallel()
	n := NewNodeT(t, ReadyProfile())
	n.SetReplay(true)
	c := dial(t, n)
	// Killed by a signal: not kept.
	for range 2 {
		got := runOn(t, c, `echo run >>"$HOME/runs"; kill -TERM $$`, "")
		require.Error(t, got.err)
	}
	require.Equal(t, 2, runs(t, n))
	// Stdin past ReplayLimit: runs each time, and gets all of it.
	big := strings.Repeat("x", ReplayLimit+10)
	for range 2 {
		got := runOn(t, c, `echo run >>"$HOME/runs"; wc -c`, big)
		require.NoError(t, got.err)
		require.Equal(t, strconv.Itoa(len(big)), strings.TrimSpace(got.stdout))
	}
	require.Equal(t, 4, runs(t, n))
}

// TestReplayProbe: a probe answered from the record gives the report the
// real run gave, in one connection and one exec each time.
func TestReplayProbe(t *testing.T) {
	t.Parallel()
	for _, p := range []Profile{ReadyProfile(), MissingComponentProfile(readiness.ComponentPHPFPM), SudoPasswordProfile()} {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			plain := NewNodeT(t, p)
			replay := NewNodeT(t, p)
			replay.SetReplay(true)
			var pr probe.Prober
			ctx := context.Background()
			observe := func(n *Node) readiness.Observation {
				o := pr.Observe(ctx, "n", n.Target())
				o.CheckedAt, o.Duration = time.Time{}, 0
				return o
			}
			want := observe(plain)
			require.NotNil(t, want.Facts)
			for i := range 3 {
				got := observe(replay)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("observation %d differs from the real run (-want +got):\n%s", i, d)
				}
			}
			require.Equal(t, 3, replay.Connections())
			require.Len(t, replay.Execs(), 3)
		})
	}
}
