// Package leaktest checks that code under test leaves no goroutine behind:
// take a Snapshot before, and Check after everything was closed.
//
// It compares goroutines by id, not by count: a count is fooled both ways
// by goroutines that were already ending when the snapshot was taken (a
// finished test's runner, a closed connection's reader), which can hide a
// leak or report one that is not there. Goroutine ids are never reused.
package leaktest

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Wait is how long Check waits for goroutines that are already ending
// (a closed connection's reader, a timer's callback) to finish.
const Wait = 3 * time.Second

// A Snapshot is the set of goroutines running when it was taken.
type Snapshot map[uint64]bool

// Take returns the goroutines running now.
func Take() Snapshot {
	s := Snapshot{}
	for _, g := range goroutines() {
		s[g.id] = true
	}
	return s
}

// Check polls for up to Wait until every goroutine started since before
// has ended, and otherwise fails t with the stack of each one still
// running. Goroutines of the testing package itself (other tests'
// runners) are not counted: they are not the code under test's.
func Check(t testing.TB, before Snapshot) {
	t.Helper()
	left := since(before)
	for deadline := time.Now().Add(Wait); len(left) > 0 && time.Now().Before(deadline); left = since(before) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(left) > 0 {
		var b bytes.Buffer
		for _, g := range left {
			b.Write(g.stack)
			b.WriteString("\n\n")
		}
		t.Errorf("%d goroutines started since the snapshot are still running:\n%s", len(left), b.Bytes())
	}
}

type goroutine struct {
	id    uint64
	stack []byte
}

// since returns the goroutines not in before, other than the caller's
// own and the testing package's.
func since(before Snapshot) []goroutine {
	var left []goroutine
	for i, g := range goroutines() {
		if i == 0 || before[g.id] || ownedByTesting(g.stack) {
			continue // the first stack runtime.Stack writes is the caller's
		}
		left = append(left, g)
	}
	return left
}

// ownedByTesting reports whether a goroutine is a test runner: started
// by the testing package to run a test, so it belongs to a test that is
// not the one checking.
func ownedByTesting(stack []byte) bool {
	i := bytes.LastIndex(stack, []byte("\ncreated by "))
	if i < 0 {
		return false
	}
	creator := stack[i+len("\ncreated by "):]
	return bytes.HasPrefix(creator, []byte("testing."))
}

// goroutines returns every goroutine's id and stack, the caller's first.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		// Each block starts "goroutine 17 [chan receive]:".
		rest, ok := bytes.CutPrefix(block, []byte("goroutine "))
		if !ok {
			continue
		}
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			continue
		}
		id, err := strconv.ParseUint(string(rest[:end]), 10, 64)
		if err != nil {
			continue
		}
		gs = append(gs, goroutine{id: id, stack: block})
	}
	return gs
}
