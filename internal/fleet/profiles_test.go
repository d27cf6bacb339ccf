package fleet_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/readiness"
)

// asUser runs a command as the fleet's user inside the node, stderr
// included: how the node itself answers, not how the probe reads it.
func asUser(cmd string) string {
	return "su -s /bin/sh " + fleet.User + " -c '" + cmd + "' </dev/null 2>&1"
}

// profileCases say, per profile, how to read the node's real state (fact,
// run inside the node as root) and the primary reason that state must
// give. The fact's output must contain state before the probe's report is
// compared: the expectation rests on what the node is, not on a table.
var profileCases = []struct {
	profile   string
	fact      string
	state     string
	want      readiness.Code
	component string
}{
	// is-active --quiet with several units succeeds when any is active:
	// each is asked on its own.
	{"ready", "for u in nginx php8.2-fpm mariadb redis-server fail2ban ssh; do systemctl is-active --quiet $u || exit; done; echo all-active", "all-active", "", ""},
	{"sudo-password", asUser("sudo -n -v"), "a password is required", readiness.CodeSudoPasswordRequired, ""},
	{"not-in-sudoers", asUser("sudo -n -v"), "may not run sudo on", readiness.CodeSudoNotPermitted, ""},
	{"sudo-requiretty", asUser("sudo -n true"), "must have a tty", readiness.CodeSudoTTYRequired, ""},
	{"nginx-stopped", "systemctl is-active nginx", "inactive", readiness.CodeRuntimeServiceInactive, readiness.ComponentNginx},
	{"php-fpm-stopped", "systemctl is-active php8.2-fpm", "inactive", readiness.CodeRuntimeServiceInactive, readiness.ComponentPHPFPM},
	{"mariadb-stopped", "systemctl is-active mariadb", "inactive", readiness.CodeRuntimeServiceInactive, readiness.ComponentMariaDB},
	{"redis-stopped", "systemctl is-active redis-server", "inactive", readiness.CodeRuntimeServiceInactive, readiness.ComponentRedis},
	// The baseline policy requires fail2ban running, not only installed.
	{"fail2ban-stopped", "systemctl is-active fail2ban", "inactive", readiness.CodeRuntimeServiceInactive, readiness.ComponentFail2ban},
	{"nginx-failed", "systemctl is-active nginx", "failed", readiness.CodeRuntimeServiceInactive, readiness.ComponentNginx},
	{"redis-masked", "systemctl is-enabled redis-server", "masked", readiness.CodeRuntimeServiceInactive, readiness.ComponentRedis},
	{"redis-activating", "systemctl show -p ActiveState,SubState redis-server", "ActiveState=activating\nSubState=auto-restart", readiness.CodeRuntimeServiceInactive, readiness.ComponentRedis},
	{"redis-not-found", "systemctl show -p LoadState redis-server", "LoadState=not-found", readiness.CodeRuntimeServiceInactive, readiness.ComponentRedis},
	{"redis-condition-failed", "systemctl is-enabled redis-server; systemctl list-units --all --plain --no-legend redis-server.service", "enabled\nredis-server.service loaded inactive dead", readiness.CodeRuntimeServiceInactive, readiness.ComponentRedis},
	{"php-redis-missing", "php-fpm8.2 -m | grep -cx redis", "0", readiness.CodeRuntimeExtensionMissing, readiness.ComponentPHPFPM},
	{"wp-cli-missing", "command -v wp || echo absent", "absent", readiness.CodeRuntimeComponentMissing, readiness.ComponentWPCLI},
	{"sudo-missing", "command -v sudo || echo absent", "absent", readiness.CodeSudoMissing, ""},
	{"unzip-missing", "command -v unzip || echo absent", "absent", readiness.CodeRuntimeComponentMissing, readiness.ComponentUnzip},
	{"nologin", "getent passwd " + fleet.User, ":/usr/sbin/nologin", readiness.CodeSSHExecRejected, ""},
	{"noisy-bashrc", "head -n1 /home/" + fleet.User + "/.bashrc", "echo \"Welcome to", readiness.CodeProbeOutputInvalid, ""},
	{"port-2222", "cat /etc/ssh/sshd_config.d/port.conf", "Port 2222", "", ""},
}

// inventoryServices are unit states a report's inventory must show where
// the primary reason does not name them.
var inventoryServices = map[string]struct {
	component string
	state     readiness.ServiceState
}{
	"redis-masked":    {readiness.ComponentRedis, "masked"},
	"redis-not-found": {readiness.ComponentRedis, "not-found"},
}

// remedies are what the first reason's remediation must say for a
// profile: the fix that works in the node's real state.
var remedies = map[string]string{
	"redis-stopped":    "sudo systemctl enable --now redis-server",
	"redis-masked":     "sudo systemctl unmask redis-server && sudo systemctl enable --now redis-server",
	"nginx-failed":     "sudo journalctl -u nginx",
	"redis-activating": "sudo journalctl -u redis-server",
	"redis-not-found":  "sudo apt-get install --reinstall -y redis-server",
}

// knownGaps are profiles where the SDK's report is known to differ from
// the node's real state: what issue 10 asks to fix in the probe (and in
// sshtest's fake, which agrees with the probe, not with the node). A case
// whose report is the gap's skips and says so; once fixed it passes, and
// any third answer fails.
var knownGaps = map[string]struct {
	got readiness.Code
	why string
}{}

// TestProfiles boots one node per profile and probes each with the real
// prober over sshexec with its pinned host key: the primary reason must be
// what the node's state gives.
func TestProfiles(t *testing.T) {
	requireFleet(t)
	f := upFleet(t, fleet.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	for _, c := range profileCases {
		t.Run(c.profile, func(t *testing.T) {
			n, fact := nodeShowing(t, f, c.profile, c.fact, c.state)
			obs, rep := evaluate(t, n)
			t.Logf("%s: %s", c.profile, rep.Summary())
			if obs.Transport != nil {
				t.Logf("transport: %s: %s; node's sshd journal:\n%s", obs.Transport.Code, obs.Transport.Detail, tail(sshdJournal(t, n), 25))
			}
			if g, ok := knownGaps[c.profile]; ok && rep.PrimaryReason == g.got && g.got != c.want {
				t.Skipf("known gap: got %s, want %s from the node's state (%q): %s", g.got, c.want, fact, g.why)
			}
			if rep.PrimaryReason != c.want {
				t.Errorf("got primary reason %q, want %q (node: %q)", rep.PrimaryReason, c.want, fact)
			}
			if c.component != "" && (len(rep.Reasons) == 0 || rep.Reasons[0].Component != c.component) {
				t.Errorf("got reasons %+v, want the first for component %s", rep.Reasons, c.component)
			}
			if want, ok := remedies[c.profile]; ok && (len(rep.Reasons) == 0 || !strings.Contains(rep.Reasons[0].Remediation, want)) {
				t.Errorf("got reasons %+v, want the first's remediation to contain %q", rep.Reasons, want)
			}
			if want, ok := inventoryServices[c.profile]; ok {
				var got readiness.ServiceState
				if rep.Inventory != nil {
					for _, ic := range rep.Inventory.Components {
						if ic.Name == want.component {
							got = ic.Service
						}
					}
				}
				if got != want.state {
					t.Errorf("inventory: got %s service %q, want %q", want.component, got, want.state)
				}
			}
			if c.want == "" && rep.State != readiness.StateReady {
				t.Errorf("got state %s, want %s", rep.State, readiness.StateReady)
			}
		})
	}
	t.Run("one-connection-one-exec", func(t *testing.T) {
		n, ok := f.Node("ready")
		if !ok {
			t.Fatal("no ready node")
		}
		testOneConnection(t, n)
	})
	t.Run("sudo-validates-only-on-failure", func(t *testing.T) {
		n, ok := f.Node("not-in-sudoers")
		if !ok {
			t.Fatal("no not-in-sudoers node")
		}
		testSudoValidates(t, n)
	})
	t.Run("unit-query", func(t *testing.T) { testUnitQuery(t, f) })
	t.Run("fake-parity", func(t *testing.T) { testFakeParity(t, f) })
	t.Run("client-side", func(t *testing.T) { testClientSide(t, f) })
}
