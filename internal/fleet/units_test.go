package fleet_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// serviceUnits are the fleet's service components, by the probe's record
// names, and their units.
var serviceUnits = []struct{ component, unit string }{
	{"nginx", "nginx"}, {"php-fpm", "php8.2-fpm"}, {"mariadb", "mariadb"},
	{"redis", "redis-server"}, {"fail2ban", "fail2ban"},
}

// listUnits is the probe's query of the units' state, as the script runs
// it.
const listUnits = "systemctl list-units --all --plain --no-legend --full nginx.service php8.2-fpm.service mariadb.service redis-server.service fail2ban.service"

// notInMemory are, per profile, the units systemd does not keep in memory
// (stopped and disabled with nothing referencing them, or missing), which
// list-units therefore does not list and the script asks of show: the
// profiles that take the fallback. Every other unit must be listed; a
// disabled mariadb is (mariadb.socket, enabled and listening, triggers
// it).
var notInMemory = map[string][]string{
	"nginx-stopped":    {"nginx"},
	"php-fpm-stopped":  {"php8.2-fpm"},
	"redis-stopped":    {"redis-server"},
	"fail2ban-stopped": {"fail2ban"},
	"redis-not-found":  {"redis-server"},
}

// fakeListDiffers are profiles whose list-units sshtest's fake cannot
// print: its "inactive" unit is stopped and disabled, never in memory.
var fakeListDiffers = map[string]string{
	"redis-condition-failed": "the fake has no inactive unit in systemd's memory",
}

// mariadbDescription is the part of a list-units line that names the
// node's MariaDB version, which moves with Debian's updates.
var mariadbDescription = regexp.MustCompile(`MariaDB \S+ database server`)

// testUnitQuery checks, on every node, that the script's unit records are
// what `systemctl show -p LoadState,ActiveState` says of each unit in the
// node, that list-units lists exactly the units systemd has in memory
// (the rest take the fallback), that every listed line's LOAD and ACTIVE
// are show's, and that sshtest's fake prints what the node prints.
func testUnitQuery(t *testing.T, f *fleet.Fleet) {
	script := "cat >/tmp/pressluft-probe.sh <<'PRESSLUFT_PROBE_EOF'\n" + string(probe.Script()) + "PRESSLUFT_PROBE_EOF\n"
	for _, n := range f.Nodes() {
		t.Run(n.Name, func(t *testing.T) {
			shown := map[string]string{}
			for _, u := range serviceUnits {
				out := inNode(t, n, "systemctl show -p LoadState,ActiveState "+u.unit)
				load, active, ok := showState(out)
				if !ok {
					t.Fatalf("systemctl show %s gave %q", u.unit, out)
				}
				shown[u.unit] = load + " " + active
			}

			// What list-units lists, as the fleet's user (as the probe
			// runs it), each line's first three fields.
			list := inNode(t, n, asUser(listUnits))
			listed := map[string]string{}
			for _, l := range strings.Split(list, "\n") {
				fs := strings.Fields(l)
				if len(fs) < 3 {
					continue
				}
				listed[strings.TrimSuffix(fs[0], ".service")] = fs[1] + " " + fs[2]
			}
			var unlisted []string
			for _, u := range serviceUnits {
				got, ok := listed[u.unit]
				if !ok {
					unlisted = append(unlisted, u.unit)
				} else if got != shown[u.unit] {
					t.Errorf("%s: list-units says %q, show %q", u.unit, got, shown[u.unit])
				}
			}
			if want := notInMemory[n.Name]; !slices.Equal(unlisted, want) {
				t.Errorf("list-units left out %v, want %v:\n%s", unlisted, want, list)
			}

			// The script's records, run in the node as the fleet's user.
			inNode(t, n, script)
			out := inNode(t, n, asUser("/bin/sh -s </tmp/pressluft-probe.sh"))
			rec := map[string]string{}
			for _, l := range strings.Split(out, "\n") {
				if k, v, ok := strings.Cut(l, " "); ok {
					rec[k] = v
				}
			}
			for _, u := range serviceUnits {
				if got := rec[u.component+".load"] + " " + rec[u.component+".active"]; rec[u.component+".unit"] != u.unit || got != shown[u.unit] {
					t.Errorf("%s: script's records say unit %q, %q; show says %q", u.component, rec[u.component+".unit"], got, shown[u.unit])
				}
			}
			t.Logf("show: %v; not listed: %v", shown, unlisted)

			// sshtest's fake lists what the node lists.
			fp, ok := fakeFor(n.Name)
			if !ok {
				t.Logf("%s: the fake has no such profile", n.Name)
				return
			}
			if why, ok := fakeListDiffers[n.Name]; ok {
				t.Logf("%s: fake's list-units not compared: %s", n.Name, why)
				return
			}
			// The login shell is not what is compared.
			fp.Shell, fp.ShellStartupOutput = sshtest.DebianProfile().Shell, ""
			fake := sshtest.NewNodeT(t, fp)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := (&sshexec.Client{}).Run(ctx, sshexec.Target{
				Host: "127.0.0.1", Port: fake.Port(), User: "pressluft",
				Signers: []ssh.Signer{fake.ClientSigner()}, HostKeys: sshexec.PinnedHostKeys(fake.HostKey()),
			}, `PATH=$PRESSLUFT_PROBE_ROOT/usr/bin; `+listUnits, nil)
			if err != nil {
				t.Fatalf("fake: %v", err)
			}
			norm := func(s string) string {
				return mariadbDescription.ReplaceAllString(strings.TrimSpace(s), "MariaDB VERSION database server")
			}
			if got, want := norm(string(res.Stdout)), norm(list); got != want {
				t.Errorf("fake's list-units:\n%s\nwant the node's:\n%s", got, want)
			}
		})
	}
}

// showState reads LoadState and ActiveState from `systemctl show -p
// LoadState,ActiveState UNIT`.
func showState(out string) (load, active string, ok bool) {
	for _, l := range strings.Split(out, "\n") {
		if v, found := strings.CutPrefix(l, "LoadState="); found {
			load = v
		}
		if v, found := strings.CutPrefix(l, "ActiveState="); found {
			active = v
		}
	}
	return load, active, load != "" && active != ""
}
