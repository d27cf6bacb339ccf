package realhost

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
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

// TestRealOutputs checks that the real tools of a node print, over a real
// SSH session without a terminal, exactly what the fake node (sshtest) is
// documented to reproduce, and logs the version lines.
func TestRealOutputs(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()

	t.Run("sudo", func(t *testing.T) {
		n := f.node(t, nodeUsers)
		t.Parallel()
		host, err := inNode(n)(context.Background(), "hostname")
		require.NoError(t, err)
		host, _, _ = strings.Cut(strings.TrimSpace(host), ".") // sudo prints the short name
		name := func(r role) string { return f.accounts[r].Name }
		for _, c := range []struct {
			role   role
			cmd    string
			exit   int
			stderr string
		}{
			{roleNopasswd, "sudo -n true", 0, ""},
			{rolePassword, "sudo -n true", 1, "sudo: a password is required\n"},
			{roleNoSudo, "sudo -n true", 1, "sudo: a password is required\n"},
			{roleTTY, "sudo -n true", 1, "sudo: sorry, you must have a tty to run sudo\n"},
			{roleLimited, "sudo -n true", 1, "sudo: a password is required\n"},
			{roleNoAuth, "sudo -n true", 1, "Sorry, user " + name(roleNoAuth) + " is not allowed to execute '/usr/bin/true' as root on " + host + ".\n"},
			// What the probe asks only after `sudo -n true` failed.
			{roleNopasswd, "sudo -n -v", 0, ""},
			{rolePassword, "sudo -n -v", 1, "sudo: a password is required\n"},
			{roleNoSudo, "sudo -n -v", 1, "Sorry, user " + name(roleNoSudo) + " may not run sudo on " + host + ".\n"},
			{roleLimited, "sudo -n -v", 0, ""},
			{roleNoAuth, "sudo -n -v", 0, ""},
		} {
			a := f.accounts[c.role]
			res := rawRun(t, target(t, n, &a), c.cmd+" </dev/null\n")
			t.Logf("%s: %s: exit %d, stderr %q", c.role, c.cmd, res.ExitStatus, res.Stderr)
			if res.ExitStatus != c.exit || string(res.Stderr) != c.stderr || len(res.Stdout) != 0 {
				t.Errorf("%s: %s: got exit %d stdout %q stderr %q, want exit %d stderr %q",
					c.role, c.cmd, res.ExitStatus, res.Stdout, res.Stderr, c.exit, c.stderr)
			}
		}
	})

	t.Run("nologin", func(t *testing.T) {
		n := f.node(t, nodeUsers)
		t.Parallel()
		a := f.accounts[roleNologin]
		res := rawRun(t, target(t, n, &a), "echo reached\n")
		t.Logf("nologin: exit %d, stdout %q, stderr %q", res.ExitStatus, res.Stdout, res.Stderr)
		if res.ExitStatus != 1 || string(res.Stdout) != "This account is currently not available.\n" || len(res.Stderr) != 0 {
			t.Errorf("got exit %d stdout %q stderr %q, want exit 1 and nologin's message on stdout",
				res.ExitStatus, res.Stdout, res.Stderr)
		}
	})

	// The probe's one `systemctl show` for every unit, as the node's
	// systemd prints it for active, inactive, failed and masked units,
	// byte for byte against sshtest's stub given the same states.
	t.Run("systemctl", func(t *testing.T) {
		n := f.node(t, nodeServices)
		t.Parallel()
		m := mustRead(t, inNode(n))
		fake := sshtest.DebianProfile()
		var units []string
		for _, name := range []string{readiness.ComponentNginx, readiness.ComponentPHPFPM, readiness.ComponentMariaDB, readiness.ComponentRedis, readiness.ComponentFail2ban} {
			mc := m.Components[name]
			require.True(t, mc.Installed, "%s is installed on %s", name, n.Name)
			units = append(units, mc.Unit)
			c := fake.Components[name]
			c.Service = mc.Service
			fake.Components[name] = c
		}
		// The fake's root is under $PRESSLUFT_PROBE_ROOT; a node has none.
		cmd := `"${PRESSLUFT_PROBE_ROOT-}"/usr/bin/systemctl show -p LoadState,ActiveState ` + strings.Join(units, " ") + " </dev/null\n"
		real := rawRun(t, target(t, n, nil), cmd)
		fn := sshtest.NewNodeT(t, fake)
		sim := rawRun(t, fn.Target(), cmd)
		t.Logf("%s: exit %d, stdout:\n%s", cmd, real.ExitStatus, real.Stdout)
		require.Equal(t, string(real.Stdout), string(sim.Stdout), "stdout: real (node) vs fake")
		require.Equal(t, string(real.Stderr), string(sim.Stderr), "stderr: real (node) vs fake")
		require.Equal(t, real.ExitStatus, sim.ExitStatus, "exit: real (node) vs fake")
	})

	t.Run("versions", func(t *testing.T) {
		n := f.node(t, nodeReady)
		t.Parallel()
		res := rawRun(t, target(t, n, nil), `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
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
