package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
)

// TestNodesShowHealth: a full site root blocks with its command, a node
// still booting is pending, and a ready node's warnings (failed unit,
// pending reboot) are listed under "Every requirement is met".
func TestNodesShowHealth(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	add := func(id, name string, fn func(hl *readiness.Health)) readiness.Report {
		f := readinesstest.ReadyFacts()
		fn(f.Health)
		r := readiness.Evaluate(readinesstest.Observed(id, now, f), readiness.Baseline(), readiness.OperationSiteCreate)
		s := contracts.NodeSummary{Id: id, Name: name, State: contracts.ReadinessState(r.State), Lifecycle: "active", LastCheckedAt: &now, Transport: "ssh"}
		if r.PrimaryReason != "" {
			code := contracts.ReasonCode(r.PrimaryReason)
			s.PrimaryReason, s.Message, s.Remediation = &code, &r.Reasons[0].Message, &r.Reasons[0].Remediation
		}
		if len(r.Reasons) > 0 {
			rs := r.Reasons
			s.Reasons = &rs
		}
		api.nodes = append(api.nodes, s)
		api.reports[id] = r
		return r
	}
	disk := add("6f9d3c4e-0000-4000-8000-000000000001", "disk-low", func(hl *readiness.Health) { hl.Disks[2].FreeBytes = 0 })
	boot := add("6f9d3c4e-0000-4000-8000-000000000002", "booting", func(hl *readiness.Health) { hl.SystemState = "starting" })
	warn := add("6f9d3c4e-0000-4000-8000-000000000003", "degraded", func(hl *readiness.Health) {
		hl.SystemState, hl.FailedUnits = "degraded", []string{"broken.service"}
		hl.RebootRequired, hl.RebootPackages = true, []string{"libc6"}
	})
	require.Equal(t, readiness.StateNotReady, disk.State)
	require.Equal(t, readiness.StatePending, boot.State)
	require.Equal(t, readiness.StateReady, warn.State)

	res := get(t, h, "/nodes")
	require.Equal(t, http.StatusOK, res.status)
	row := func(name string) string {
		i := strings.Index(res.body, `>`+name+`</span>`)
		require.GreaterOrEqual(t, i, 0, "no row for %s", name)
		j := strings.Index(res.body[i:], "</tr>")
		return res.body[i : i+j]
	}
	d := row("disk-low")
	for _, want := range []string{`data-reason-code="disk_space_low"`, "(/srv/www)", `data-command><span class="w">sudo</span> <span class="w">du</span> <span class="w">-xh</span> <span class="w">-d1</span> <span class="w">/srv</span>`} {
		require.Contains(t, d, want, "disk-low row")
	}
	b := row("booting")
	require.Contains(t, b, `data-readiness-state="pending"`)
	require.Contains(t, b, `data-reason-code="node_booting"`)
	w := row("degraded")
	for _, want := range []string{"Every requirement is met.", "data-warnings", `data-reason-code="system_degraded"`, `data-reason-code="reboot_required"`,
		"<strong>Warning:</strong>", `<span class="w">reset-failed</span> <span class="w">broken.service</span></code>`, `<span class="w">sudo</span> <span class="w">reboot</span></code>`} {
		require.Contains(t, w, want, "degraded row")
	}
}
