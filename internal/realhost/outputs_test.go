package realhost

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// rawRun runs script under /bin/sh on the node the way the probe does
// (exec /bin/sh -s, script on stdin) and returns what the node printed.
func rawRun(t *testing.T, tg sshexec.Target, script string) *sshexec.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	c := &sshexec.Client{Timeout: probeTimeout}
	res, err := c.Run(ctx, tg, "exec /bin/sh -s", []byte("LC_ALL=C; export LC_ALL\n"+script))
	require.NoError(t, err)
	return res
}

// TestRealOutputs checks that the real tools print, over a real SSH
// session without a terminal, exactly what the fake node (sshtest) is
// documented to reproduce, and logs the version lines (they vary by
// distribution and release).
func TestRealOutputs(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()

	t.Run("sudo", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			role   role
			exit   int
			stderr string
		}{
			{roleNopasswd, 0, ""},
			{rolePassword, 1, "sudo: a password is required\n"},
			{roleNoSudo, 1, "sudo: a password is required\n"},
			{roleTTY, 1, "sudo: sorry, you must have a tty to run sudo\n"},
			{roleLimited, 1, "sudo: a password is required\n"},
			{roleNoAuth, 1, "Sorry, user " + f.accounts[roleNoAuth].Name + " is not allowed to execute '/usr/bin/true' as root on " + shortHostname(t) + ".\n"},
		} {
			res := rawRun(t, f.target(f.accounts[c.role], nil), "sudo -n true </dev/null\n")
			t.Logf("%s: sudo -n true: exit %d, stderr %q", c.role, res.ExitStatus, res.Stderr)
			if res.ExitStatus != c.exit || string(res.Stderr) != c.stderr || len(res.Stdout) != 0 {
				t.Errorf("%s: got exit %d stdout %q stderr %q, want exit %d stderr %q",
					c.role, res.ExitStatus, res.Stdout, res.Stderr, c.exit, c.stderr)
			}
		}
	})

	t.Run("nologin", func(t *testing.T) {
		t.Parallel()
		res := rawRun(t, f.target(f.accounts[roleNologin], nil), "echo reached\n")
		t.Logf("nologin: exit %d, stdout %q, stderr %q", res.ExitStatus, res.Stdout, res.Stderr)
		if res.ExitStatus != 1 || string(res.Stdout) != "This account is currently not available.\n" || len(res.Stderr) != 0 {
			t.Errorf("got exit %d stdout %q stderr %q, want exit 1 and nologin's message on stdout",
				res.ExitStatus, res.Stdout, res.Stderr)
		}
	})

	t.Run("systemctl", func(t *testing.T) {
		t.Parallel()
		h := mustReadHost(t)
		if h.Systemd {
			t.Skip("systemd runs here: systemctl answers")
		}
		res := rawRun(t, f.target(f.accounts[roleNopasswd], nil), "systemctl is-active nginx </dev/null\n")
		t.Logf("systemctl without systemd: exit %d, stdout %q, stderr %q", res.ExitStatus, res.Stdout, res.Stderr)
		const want = "System has not been booted with systemd as init system (PID 1). Can't operate.\n" +
			"Failed to connect to bus: Host is down\n"
		if res.ExitStatus != 1 || len(res.Stdout) != 0 || string(res.Stderr) != want {
			t.Errorf("got exit %d stdout %q stderr %q, want exit 1 and stderr %q", res.ExitStatus, res.Stdout, res.Stderr, want)
		}
	})

	t.Run("versions", func(t *testing.T) {
		t.Parallel()
		res := rawRun(t, f.target(f.accounts[roleNopasswd], nil), `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for c in "nginx -v" "mariadbd --version" "redis-server --version" "fail2ban-client --version" \
	"rsync --version" "unzip -v" "curl --version" "wp --version"; do
	set -- $c
	p=$(command -v "$1") || { printf '%s: missing\n' "$1"; continue; }
	printf '%s: %s\n' "$c" "$("$p" "$2" 2>&1 </dev/null | { IFS= read -r l; printf '%s' "$l"; })"
done
for f in /usr/sbin/php-fpm[0-9]*; do
	[ -x "$f" ] || continue
	printf '%s -v: %s\n' "$f" "$("$f" -v 2>&1 </dev/null | { IFS= read -r l; printf '%s' "$l"; })"
done
`)
		for line := range strings.SplitSeq(strings.TrimSpace(string(res.Stdout)), "\n") {
			t.Log(line)
		}
		require.Equal(t, 0, res.ExitStatus)
	})
}

// shortHostname is the host name as sudo prints it (without -with-fqdn
// resolution: up to the first dot).
func shortHostname(t *testing.T) string {
	h, err := os.Hostname()
	require.NoError(t, err)
	h, _, _ = strings.Cut(h, ".")
	return h
}
