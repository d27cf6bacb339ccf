package leaktest

import (
	"fmt"
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
	before := Snapshot()
	done := make(chan struct{})
	go func() { <-done }()
	close(done)
	r := &recorder{TB: t}
	Check(r, before)
	if r.failed {
		t.Fatalf("Check failed after the goroutine ended: %s", r.msg)
	}
}

func TestCheckFailsOnALeak(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the full leaktest.Wait")
	}
	before := Snapshot()
	stop := make(chan struct{})
	exited := make(chan struct{})
	go func() { <-stop; close(exited) }()
	r := &recorder{TB: t}
	Check(r, before)
	close(stop)
	<-exited
	if !r.failed {
		t.Fatal("Check passed with a goroutine still running")
	}
}
