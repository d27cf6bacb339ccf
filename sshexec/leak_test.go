package sshexec_test

import (
	"runtime"
	"testing"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
)

// TestNoGoroutineLeak runs every fault case in sequence and checks that
// the goroutine count returns to where it was. It is not parallel, so
// other tests' goroutines are parked and stable meanwhile.
func TestNoGoroutineLeak(t *testing.T) {
	cases := faultCases(t)
	before := runtime.NumGoroutine()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runFaultCase(t, tc) })
	}
	leaktest.Check(t, before)
}
