package sshexec_test

import (
	"runtime"
	"testing"
	"time"
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
	var now int
	for deadline := time.Now().Add(2 * time.Second); ; {
		now = runtime.NumGoroutine()
		if now <= before || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now > before {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("got %d goroutines after the fault cases, want at most %d\n%s", now, before, buf)
	}
}
