package sshexec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pressluft/runtime-readiness/sshexec"
)

func TestCheckHost(t *testing.T) {
	t.Parallel()
	good := []string{"127.0.0.1", "::1", "fe80::1%eth0", "2001:db8::1", "localhost", "node-1.example.com", "node-1.example.com.", "a", "my_host.internal", "x1", strings.Repeat("a", 63) + ".com"}
	for _, h := range good {
		if err := sshexec.CheckHost(h); err != nil {
			t.Errorf("CheckHost(%q) = %v, want nil", h, err)
		}
	}
	bad := []string{"", ".", "-oProxyCommand=id", "node;id", "$(id)", "`id`", "'node'", "\"node\"", "node*", "no\x00de", "node id", "node\n", "[::1]", "127.0.0.1:22", "user@host", "a/b", "a..b", "-a.b", "a-.b", "a.b-", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "aa", "nödé", "a|b", "a&&b", "${IFS}"}
	for _, h := range bad {
		err := sshexec.CheckHost(h)
		if !errors.Is(err, sshexec.ErrInvalidHost) {
			t.Errorf("CheckHost(%q) = %v, want ErrInvalidHost", h, err)
		}
	}
}

func FuzzCheckHost(f *testing.F) {
	for _, s := range []string{"node-1.example.com", "::1", "-oProxyCommand=id", "$(id)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if sshexec.CheckHost(h) != nil {
			return
		}
		// An accepted host never carries a character a shell or an ssh
		// command line would interpret.
		if strings.ContainsAny(h, " \t\r\n\x00;|&$`'\"\\()<>*?[]{}!#~@/=,") && !strings.Contains(h, ":") {
			t.Fatalf("CheckHost(%q) accepted shell characters", h)
		}
		if strings.HasPrefix(h, "-") {
			t.Fatalf("CheckHost(%q) accepted a leading '-'", h)
		}
	})
}
