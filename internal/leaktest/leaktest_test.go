package leaktest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}

func TestCheckPassesWhenGoroutinesEnd(t *testing.T) {
	before := Take()
	done := make(chan struct{})
	go func() { <-done }()
	close(done)
	r := &recorder{TB: t}
	Check(r, before)
	if r.failed {
		t.Fatalf("Check failed after the goroutine ended: %s", r.msg)
	}
}

// leaky is named so the failure message can be checked for its stack.
func leaky(stop, exited chan struct{}) { <-stop; close(exited) }

// checkWithLeak starts a leaky goroutine, runs Check against before on a
// recorder, stops the goroutine, and fails t unless Check failed.
func checkWithLeak(t *testing.T, before Snapshot) *recorder {
	t.Helper()
	stop := make(chan struct{})
	exited := make(chan struct{})
	go leaky(stop, exited)
	r := &recorder{TB: t}
	Check(r, before)
	close(stop)
	<-exited
	if !r.failed {
		t.Fatal("Check passed with a goroutine still running")
	}
	return r
}

func TestCheckFailsOnALeak(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the full leaktest.Wait")
	}
	r := checkWithLeak(t, Take())
	if !strings.Contains(r.msg, "leaktest.leaky") {
		t.Errorf("the failure does not show the leaked goroutine's stack:\n%s", r.msg)
	}
}

// A goroutine that was running at the snapshot and ends meanwhile must
// not hide one started since: the count would be equal, the ids are not.
func TestCheckFailsOnALeakWhenAnOlderGoroutineEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the full leaktest.Wait")
	}
	older := make(chan struct{})
	var olderDone sync.WaitGroup
	olderDone.Add(1)
	go func() { defer olderDone.Done(); <-older }()
	before := Take()
	close(older)
	olderDone.Wait()
	checkWithLeak(t, before)
}

// Goroutines the testing package starts for other tests (a subtest's
// runner here) are not the checked code's leaks.
func TestCheckIgnoresTestRunners(t *testing.T) {
	before := Take()
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan struct{})
	go func() { // this goroutine is the test's own: it must be counted
		defer close(done)
		t.Run("parked", func(t *testing.T) {
			close(started)
			<-release
		})
	}()
	<-started

	runners := 0
	for _, g := range goroutines() {
		if !before[g.id] && ownedByTesting(g.stack) {
			runners++
		}
	}
	left := since(before)
	close(release)
	<-done

	if runners != 1 {
		t.Errorf("got %d new test runners while the subtest ran, want 1", runners)
	}
	if len(left) != 1 || !strings.Contains(string(left[0].stack), "TestCheckIgnoresTestRunners.func") {
		t.Errorf("got %d goroutines counted, want only the one calling t.Run", len(left))
	}
	r := &recorder{TB: t}
	Check(r, before)
	if r.failed {
		t.Fatalf("Check failed after every goroutine ended: %s", r.msg)
	}
}

func TestGoroutinesParsesIDs(t *testing.T) {
	gs := goroutines()
	if len(gs) == 0 {
		t.Fatal("no goroutines parsed")
	}
	if !strings.Contains(string(gs[0].stack), "TestGoroutinesParsesIDs") {
		t.Errorf("the first goroutine is not the caller's:\n%s", gs[0].stack)
	}
	seen := map[uint64]bool{}
	for _, g := range gs {
		if g.id == 0 || seen[g.id] {
			t.Errorf("goroutine id %d is zero or repeated", g.id)
		}
		seen[g.id] = true
	}
}
