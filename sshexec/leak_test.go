package sshexec_test

import (
	"testing"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
)

// TestNoGoroutineLeak runs every fault case in sequence and checks that
// every goroutine they started has ended. It is not parallel, so other
// tests' goroutines are parked and stable meanwhile.
func TestNoGoroutineLeak(t *testing.T) {
	cases := faultCases(t)
	before := leaktest.Take()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runFaultCase(t, tc) })
	}
	leaktest.Check(t, before)
}
