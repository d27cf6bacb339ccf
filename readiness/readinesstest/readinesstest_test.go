package readinesstest_test

import (
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/readiness/readinesstest"
)

func TestReadyFactsAreReady(t *testing.T) {
	r := readiness.Evaluate(readinesstest.Observed("n", time.Unix(0, 0), readinesstest.ReadyFacts()), readiness.Baseline(), readiness.OperationSiteCreate)
	if r.State != readiness.StateReady {
		t.Fatalf("state = %s, want ready (%s)", r.State, r.Summary())
	}
	f := readinesstest.Facts(func(f *readiness.Facts) { f.Sudo = readiness.SudoMissing })
	if readinesstest.ReadyFacts().Sudo != readiness.SudoOK || f.Sudo != readiness.SudoMissing {
		t.Fatal("Facts must change a fresh copy only")
	}
}
