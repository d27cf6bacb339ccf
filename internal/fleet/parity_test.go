package fleet_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// fakeFor is sshtest's nearest stand-in for a fleet profile: its Debian 12
// profile changed the way the fleet's profile changes the node. ok is
// false when the fake has no way to say it.
func fakeFor(profile string) (p sshtest.Profile, ok bool) {
	p = sshtest.DebianProfile()
	p.Hostname = profile
	service := func(name string, s readiness.ServiceState) {
		c := p.Components[name]
		c.Service = s
		p.Components[name] = c
	}
	switch profile {
	case "ready", "port-2222":
	case "sudo-password":
		p.Sudo = sshtest.SudoPassword
	case "not-in-sudoers":
		p.Sudo = sshtest.SudoNotPermitted
	case "sudo-requiretty":
		p.Sudo = sshtest.SudoRequireTTY
	case "nginx-stopped":
		service(readiness.ComponentNginx, "inactive")
	case "php-fpm-stopped":
		service(readiness.ComponentPHPFPM, "inactive")
	case "mariadb-stopped":
		service(readiness.ComponentMariaDB, "inactive")
	case "redis-stopped", "redis-condition-failed":
		service(readiness.ComponentRedis, "inactive")
	case "fail2ban-stopped":
		service(readiness.ComponentFail2ban, "inactive")
	case "wp-cli-missing":
		delete(p.Components, readiness.ComponentWPCLI)
	case "sudo-missing":
		p.Sudo = sshtest.SudoMissing
	case "nginx-failed":
		service(readiness.ComponentNginx, "failed")
	case "redis-masked":
		service(readiness.ComponentRedis, "masked")
	case "redis-activating":
		service(readiness.ComponentRedis, "activating")
	case "redis-not-found":
		service(readiness.ComponentRedis, "not-found")
	case "php-redis-missing":
		var exts []string
		for _, e := range p.PHPExtensions {
			if e != "redis" && e != "igbinary" {
				exts = append(exts, e)
			}
		}
		p.PHPExtensions = exts
	case "unzip-missing":
		delete(p.Components, readiness.ComponentUnzip)
	case "nologin":
		p.Shell = sshtest.ShellNologin
	case "noisy-bashrc":
		p.ShellStartupOutput = "Welcome to noisy-bashrc!\n"
	case "booting", "cloud-init-running", "cloud-init-done", "degraded", "dpkg-locked", "disk-low", "reboot-required":
		p.Health = healthFake(profile)
	default:
		return p, false
	}
	return p, true
}

// comparable is what the fake must get right: the reasons with their
// remediation, and per component whether it is installed and its unit's
// state.
type comparable struct {
	Primary    readiness.Code
	Reasons    []reasonView
	Components map[string]componentView
}

type reasonView struct {
	Code        readiness.Code
	Component   string
	Remediation string
}

type componentView struct {
	Installed bool
	Unit      string
	Service   readiness.ServiceState
}

func view(r readiness.Report) comparable {
	v := comparable{Primary: r.PrimaryReason, Components: map[string]componentView{}}
	for _, x := range r.Reasons {
		v.Reasons = append(v.Reasons, reasonView{x.Code, x.Component, x.Remediation})
	}
	if r.Inventory != nil {
		for _, c := range r.Inventory.Components {
			v.Components[c.Name] = componentView{c.Installed, c.Unit, c.Service}
		}
	}
	return v
}

// testFakeParity probes each node and sshtest's stand-in for its profile
// and logs where they differ: the fake's errors, which issue 10 asks to
// fix in the fake. It reports; it does not fail.
func testFakeParity(t *testing.T, f *fleet.Fleet) {
	for _, n := range f.Nodes() {
		fp, ok := fakeFor(n.Name)
		if !ok {
			t.Logf("%s: the fake has no such profile", n.Name)
			continue
		}
		_, real := evaluate(t, n)
		fake := sshtest.NewNodeT(t, fp)
		_, fakeRep := evaluateTarget(t, "fake-"+n.Name, sshexec.Target{
			Host: "127.0.0.1", Port: fake.Port(), User: "pressluft",
			Signers: []ssh.Signer{fake.ClientSigner()}, HostKeys: sshexec.PinnedHostKeys(fake.HostKey()),
		})
		if d := cmp.Diff(view(real), view(fakeRep)); d != "" {
			t.Logf("FAKE DIFFERS %s (-node +fake):\n%s", n.Name, d)
		} else {
			t.Logf("fake agrees: %s (%s)", n.Name, real.Summary())
		}
	}
}
