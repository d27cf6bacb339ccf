// Package leaktest checks that code under test leaves no goroutine behind:
// take a Snapshot before, and Check after everything was closed.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// Wait is how long Check waits for goroutines that are already ending
// (a closed connection's reader, a timer's callback) to finish.
const Wait = 3 * time.Second

// Snapshot returns the number of goroutines now.
func Snapshot() int { return runtime.NumGoroutine() }

// Check polls for up to Wait until no more goroutines run than before,
// and otherwise fails t with the count and every goroutine's stack.
func Check(t testing.TB, before int) {
	t.Helper()
	now := runtime.NumGoroutine()
	for deadline := time.Now().Add(Wait); now > before && time.Now().Before(deadline); now = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	if now > before {
		buf := make([]byte, 1<<20)
		t.Errorf("got %d goroutines, want at most %d (the count before)\n%s", now, before, buf[:runtime.Stack(buf, true)])
	}
}
