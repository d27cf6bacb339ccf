package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/readiness"
)

// sshdJournal is the node's own sshd log (LogLevel VERBOSE), from its
// journal.
func sshdJournal(t *testing.T, n fleet.Node) string {
	return inNode(t, n, "journalctl --no-pager -o cat -u ssh.service")
}

func countLines(log string, subs ...string) int {
	c := 0
	for _, l := range strings.Split(log, "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			c++
		}
	}
	return c
}

// testOneConnection evaluates n three times and counts, in the node's
// sshd journal, one TCP connection, one authentication and one exec
// session per evaluation.
func testOneConnection(t *testing.T, n fleet.Node) {
	const evals = 3
	kinds := []struct {
		what string
		subs []string
	}{
		{"TCP connections", []string{"Connection from " + n.HostAddr + " port"}},
		{"authentications", []string{"Accepted publickey for " + fleet.User + " "}},
		{"sessions", []string{"Starting session: "}},
		{"exec sessions", []string{"Starting session: command for " + fleet.User + " "}},
	}
	before := sshdJournal(t, n)
	sudoBefore := sudoJournal(t, n)
	closed := countLines(before, "Closing connection to "+n.HostAddr+" port")
	for i := range evals {
		obs, _ := evaluate(t, n)
		require.Nil(t, obs.Transport, "transport failure")
		deadline := time.Now().Add(15 * time.Second)
		for countLines(sshdJournal(t, n), "Closing connection to "+n.HostAddr+" port") < closed+i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("sshd never logged the end of evaluation %d; journal:\n%s", i+1, sshdJournal(t, n))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	after := sshdJournal(t, n)
	for _, k := range kinds {
		if got := countLines(after, k.subs...) - countLines(before, k.subs...); got != evals {
			t.Errorf("%s: got %d in %d evaluations, want %d; journal:\n%s", k.what, got, evals, evals, after)
		}
	}
	// sudo's own log: one `sudo -n true` per evaluation and, on the
	// happy path, no `sudo -n -v`.
	sudoAfter := sudoJournal(t, n)
	for cmd, want := range map[string]int{"COMMAND=/usr/bin/true": evals, "COMMAND=validate": 0} {
		if got := countLines(sudoAfter, cmd) - countLines(sudoBefore, cmd); got != want {
			t.Errorf("sudo %s: got %d in %d evaluations, want %d; sudo's journal:\n%s", cmd, got, evals, want, tail(sudoAfter, 20))
		}
	}
}

// sudoJournal is what sudo logged on the node (one line per command).
func sudoJournal(t *testing.T, n fleet.Node) string {
	return inNode(t, n, "journalctl --no-pager -o cat -t sudo")
}

// testSudoValidates evaluates n, whose user is not in sudoers, once: sudo
// logs one `sudo -n -v` ("command not allowed"; sudo 1.9.13 logs nothing
// of the `sudo -n true` that said "a password is required").
func testSudoValidates(t *testing.T, n fleet.Node) {
	before := sudoJournal(t, n)
	_, rep := evaluate(t, n)
	require.Equal(t, readiness.CodeSudoNotPermitted, rep.PrimaryReason)
	deadline := time.Now().Add(10 * time.Second)
	for countLines(sudoJournal(t, n), "COMMAND=validate") == countLines(before, "COMMAND=validate") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	after := sudoJournal(t, n)
	if got := countLines(after, "COMMAND=validate") - countLines(before, "COMMAND=validate"); got != 1 {
		t.Errorf("sudo -v: got %d in one evaluation, want 1; sudo's journal:\n%s", got, tail(after, 20))
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
