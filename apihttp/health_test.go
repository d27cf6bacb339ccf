package apihttp_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
)

// TestRefusalOfABootingNode: a node still booting is refused with
// Retry-After, even when what cloud-init has yet to install is missing; a
// full site root is refused without it.
func TestRefusalOfABootingNode(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	eval := func(fn func(f *readiness.Facts)) readiness.Report {
		f := readinesstest.Facts(fn)
		return readiness.Evaluate(readinesstest.Observed("n1", at, f), readiness.Baseline(), readiness.OperationSiteCreate)
	}
	for _, tt := range []struct {
		name  string
		rep   readiness.Report
		retry string
	}{
		{"booting", eval(func(f *readiness.Facts) { f.Health.SystemState = "starting" }), apihttp.RetryAfterSeconds},
		{"booting, nginx not installed yet", eval(func(f *readiness.Facts) {
			f.Health.CloudInit = readiness.CloudInitRunning
			f.Components[readiness.ComponentNginx] = readiness.ComponentFacts{}
		}), apihttp.RetryAfterSeconds},
		{"site root full", eval(func(f *readiness.Facts) { f.Health.Disks[2].FreeBytes = 0 }), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.False(t, tt.rep.Ready())
			rec := httptest.NewRecorder()
			apihttp.WriteRefusal(rec, preflight.Decision{NodeID: "n1", Report: tt.rep})
			require.Equal(t, 409, rec.Code)
			require.Equal(t, tt.retry, rec.Header().Get("Retry-After"), "%s", tt.rep.Summary())
		})
	}
}
