package preflight

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

// chooseFixture is a gate over nodes a..e; b and d are ready, the others
// are refused for distinct reasons.
func chooseFixture(t *testing.T, edit func(c *Config)) *fixture {
	t.Helper()
	f := newFixture(t, edit)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		f.nodes.Put(activeNode(id))
	}
	f.prober.set("a", factsObs(sudoPassword))
	f.prober.set("c", transportObs(readiness.CodeSSHAuthFailed))
	f.prober.set("e", transportObs(readiness.CodeSSHUnreachable))
	return f
}

func primaries(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.NodeID+":"+string(d.Report.PrimaryReason))
	}
	return out
}

func TestChoose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		candidates []string
		wantNode   string
		wantAdmit  bool
		wantCode   readiness.Code
		wantCands  []string // the refusal's candidates
	}{
		{"first admitted in the host's order", []string{"a", "b", "d"}, "b", true, "", nil},
		{"order is the host's", []string{"d", "b"}, "d", true, "", nil},
		{"none admitted carries every reason", []string{"a", "c", "e"}, "a", false, readiness.CodeSudoPasswordRequired,
			[]string{"a:sudo_password_required", "c:ssh_auth_failed", "e:ssh_unreachable"}},
		{"one refused candidate", []string{"c"}, "c", false, readiness.CodeSSHAuthFailed, []string{"c:ssh_auth_failed"}},
		{"unknown candidates are passed over", []string{"gone", "a", "d"}, "d", true, "", nil},
		{"no candidate", nil, "", false, readiness.CodeNoCandidateNode, nil},
		{"only unknown candidates", []string{"gone", "gone2"}, "", false, readiness.CodeNoCandidateNode, nil},
		{"a single unknown candidate", []string{"gone"}, "", false, readiness.CodeNoCandidateNode, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := chooseFixture(t, nil)
			d, err := f.gate.Choose(ctx, readiness.OperationSiteCreate, tt.candidates)
			require.NoError(t, err)
			if d.NodeID != tt.wantNode || d.Admit != tt.wantAdmit || d.Report.PrimaryReason != tt.wantCode {
				t.Fatalf("got node %q admit=%v primary=%q, want node %q admit=%v primary=%q",
					d.NodeID, d.Admit, d.Report.PrimaryReason, tt.wantNode, tt.wantAdmit, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantCands, primaries(d.Candidates)); diff != "" {
				t.Fatalf("candidates (-want +got):\n%s", diff)
			}
			if d.Admit != (d.Err() == nil) {
				t.Fatalf("got Err() %v for admit=%v", d.Err(), d.Admit)
			}
			for _, id := range tt.candidates {
				if n := f.prober.count(id); n > 1 {
					t.Fatalf("candidate %s probed %d times, want at most once", id, n)
				}
			}
		})
	}
}

func TestChooseNoCandidateIsRefusedInWarnMode(t *testing.T) {
	t.Parallel()
	var seen []Decision
	f := chooseFixture(t, func(c *Config) {
		c.Mode = ModeWarn
		c.Observer = func(d Decision) { seen = append(seen, d) }
	})
	d, err := f.gate.Choose(ctx, readiness.OperationSiteCreate, nil)
	require.NoError(t, err)
	require.False(t, d.Admit, "nothing to admit")
	require.Equal(t, readiness.StateNotReady, d.Report.State)
	require.Len(t, seen, 1, "the observer sees the refusal")
	require.Equal(t, readiness.CodeNoCandidateNode, seen[0].Report.PrimaryReason)

	// Warn mode admits a not-ready candidate, as Check does.
	d, err = f.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"a"})
	require.NoError(t, err)
	require.True(t, d.Admit && d.WouldRefuse, "warn mode admits and records")
}

func TestChooseSharesProbesWithChecks(t *testing.T) {
	t.Parallel()
	f := chooseFixture(t, nil)
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "a")
	require.NoError(t, err)
	for range 3 {
		d, err := f.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"a", "c", "b"})
		require.NoError(t, err)
		require.Equal(t, "b", d.NodeID)
	}
	for _, id := range []string{"a", "c", "b"} {
		require.Equal(t, 1, f.prober.count(id), "node %s: one probe, from cache afterwards", id)
	}
}

func TestChooseManyCandidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var ids []string
	for i := range 40 {
		id := "n" + string(rune('A'+i))
		f.nodes.Put(activeNode(id))
		if i != 33 {
			f.prober.set(id, factsObs(sudoPassword))
		}
		ids = append(ids, id)
	}
	d, err := f.gate.Choose(ctx, readiness.OperationSiteCreate, ids)
	require.NoError(t, err)
	require.Equal(t, ids[33], d.NodeID, "the only ready one, past the window")
	require.True(t, d.Admit)
}

func TestChooseErrors(t *testing.T) {
	t.Parallel()
	f := chooseFixture(t, nil)
	_, err := f.gate.Choose(ctx, "", []string{"a"})
	require.Error(t, err)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.gate.Choose(cctx, readiness.OperationSiteCreate, []string{"a", "b"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestDecisionErr(t *testing.T) {
	t.Parallel()
	f := chooseFixture(t, nil)
	d, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "a")
	require.NoError(t, err)
	var re *RefusedError
	require.True(t, errors.As(d.Err(), &re))
	require.Equal(t, "a", re.Decision.NodeID)
	require.Equal(t, "preflight: node a is not ready for site_create: not_ready: sudo_password_required", d.Err().Error())

	d, err = f.gate.Choose(ctx, readiness.OperationEnvCreate, nil)
	require.NoError(t, err)
	require.Equal(t, "preflight: no node for env_create: not_ready: no_candidate_node", d.Err().Error())

	d, err = f.gate.Check(ctx, readiness.OperationSiteCreate, "b")
	require.NoError(t, err)
	require.NoError(t, d.Err())
}

// TestChoosePrefersReadyToWarned: in warn mode a not-ready candidate is
// admitted only when no candidate is ready.
func TestChoosePrefersReadyToWarned(t *testing.T) {
	t.Parallel()
	f := chooseFixture(t, func(c *Config) { c.Mode = ModeWarn })
	d, err := f.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"a", "c", "d"})
	require.NoError(t, err)
	require.Equal(t, "d", d.NodeID, "the ready candidate, not the first warn-mode admission")
	require.False(t, d.WouldRefuse)

	d, err = f.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"c", "a"})
	require.NoError(t, err)
	require.Equal(t, "c", d.NodeID, "none ready: the first warn-mode admission")
	require.True(t, d.Admit && d.WouldRefuse)
}

// TestChooseDoesNotWaitForAbandonedProbes: once a candidate is admitted,
// Choose returns without waiting for the probes of later candidates it
// had started; those finish under the gate.
func TestChooseDoesNotWaitForAbandonedProbes(t *testing.T) {
	t.Parallel()
	f := chooseFixture(t, nil)
	_, err := f.gate.Check(ctx, readiness.OperationSiteCreate, "b") // warm: b is ready
	require.NoError(t, err)
	f.prober.mu.Lock()
	f.prober.tokens = make(chan struct{}) // every new probe now hangs until released
	f.prober.mu.Unlock()
	done := make(chan Decision, 1)
	go func() {
		d, _ := f.gate.Choose(ctx, readiness.OperationSiteCreate, []string{"b", "c", "d"})
		done <- d
	}()
	select {
	case d := <-done:
		require.Equal(t, "b", d.NodeID)
	case <-time.After(10 * time.Second):
		t.Fatal("Choose waited for the probes of candidates it no longer needed")
	}
	close(f.prober.tokens) // let the abandoned probes finish before Close
}
