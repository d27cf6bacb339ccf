package realhost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// policy is the baseline, admitting Debian 12 as well (this package's CI
// host), as an operator would with -allow-os debian-12.
var policy = readiness.Baseline().WithAllowedOS(readiness.OSRelease{ID: "debian", VersionID: "12"})

// probeTimeout bounds one probe: generous, because a probe starts every
// runtime tool (fail2ban-client is Python, mariadbd loads its plugins) on
// a machine busy with parallel tests under -race.
const probeTimeout = 60 * time.Second

var prober = &probe.Prober{Client: &sshexec.Client{Timeout: probeTimeout}}

// target reaches account a through sshd s (the fixture's by default).
func (f *fixture) target(a account, s *sshd) sshexec.Target {
	if s == nil {
		s = f.sshd
	}
	return sshexec.Target{
		Host:     "127.0.0.1",
		Port:     s.Port,
		User:     a.Name,
		Signers:  []ssh.Signer{a.Signer},
		HostKeys: sshexec.PinnedHostKeys(s.HostKey),
	}
}

// evaluate probes t once and evaluates the observation for site_create.
func evaluate(t *testing.T, nodeID string, tg sshexec.Target) (readiness.Observation, readiness.Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout+5*time.Second)
	defer cancel()
	obs := prober.Observe(ctx, nodeID, tg)
	return obs, readiness.Evaluate(obs, policy, readiness.OperationSiteCreate)
}

func reasonsOf(r readiness.Report) []reason {
	var rs []reason
	for _, x := range r.Reasons {
		rs = append(rs, reason{x.Code, x.Component})
	}
	return rs
}

func mustReadHost(t *testing.T) host {
	t.Helper()
	h, err := readHost(context.Background())
	require.NoError(t, err)
	return h
}

// checkReport compares the report's reasons with what the host is, and
// its primary reason and state with the first of them.
func checkReport(t *testing.T, rep readiness.Report, want []reason) {
	t.Helper()
	if diff := cmp.Diff(want, reasonsOf(rep)); diff != "" {
		t.Errorf("reasons (-want from the host +got from the probe):\n%s", diff)
	}
	wantPrimary, wantState := readiness.Code(""), readiness.StateReady
	if len(want) > 0 {
		wantPrimary = want[0].Code
		info, _ := readiness.Lookup(wantPrimary)
		wantState = info.State
	}
	if rep.PrimaryReason != wantPrimary || rep.State != wantState {
		t.Errorf("got %s/%s, want %s/%s", rep.State, rep.PrimaryReason, wantState, wantPrimary)
	}
}

// TestNopasswdUser probes the host as a user with passwordless sudo: the
// report must say what the host is, component by component.
func TestNopasswdUser(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	h := mustReadHost(t)
	obs, rep := evaluate(t, "realhost-nopasswd", f.target(f.accounts[roleNopasswd], nil))
	require.Nil(t, obs.Transport, "transport failure")
	require.NotNil(t, obs.Facts)
	t.Logf("host: %+v", h)
	t.Logf("report: %s", rep.Summary())

	checkReport(t, rep, h.expectedReasons(policy, readiness.SudoOK))

	inv := rep.Inventory
	require.NotNil(t, inv)
	if inv.OS != h.OS || inv.Systemd != h.Systemd {
		t.Errorf("got os %v systemd %v, want %v %v", inv.OS, inv.Systemd, h.OS, h.Systemd)
	}
	got := map[string]readiness.InventoryComponent{}
	for _, c := range inv.Components {
		got[c.Name] = c
	}
	for name, hc := range h.Components {
		c := got[name]
		if c.Installed != hc.Installed {
			t.Errorf("%s: got installed %v, want %v (dpkg: package %q)", name, c.Installed, hc.Installed, hc.Package)
			continue
		}
		if hc.Installed && hc.Version != "" {
			cmpv, err := readiness.CompareVersions(c.Version, hc.Version)
			if err != nil || cmpv != 0 {
				t.Errorf("%s: got version %q, want %q (dpkg-query -W %s)", name, c.Version, hc.Version, hc.Package)
			}
		}
		wantUnit, wantService := "", readiness.ServiceState("")
		if h.Systemd && hc.Installed {
			wantUnit, wantService = hc.Unit, hc.Service
		}
		if c.Unit != wantUnit || c.Service != wantService {
			t.Errorf("%s: got unit %q service %q, want %q %q", name, c.Unit, c.Service, wantUnit, wantService)
		}
	}
	if gotRedis := slices.Contains(inv.PHPExtensions, "redis"); gotRedis != h.PHPRedis {
		t.Errorf("got redis loaded %v, want %v (php-fpm -m)", gotRedis, h.PHPRedis)
	}
	if h.Components[readiness.ComponentPHPFPM].Installed && h.PHPRedis {
		t.Logf("php-fpm %s loads redis", h.Components[readiness.ComponentPHPFPM].Version)
	}
}

// TestServicesWithoutSystemd: a service that is installed is checked
// against its unit when systemd runs; without systemd (a container) the
// service checks cannot be observed and are skipped, blocked by
// service_manager_unavailable. This host decides which branch runs.
func TestServicesWithoutSystemd(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	h := mustReadHost(t)
	_, rep := evaluate(t, "realhost-services", f.target(f.accounts[roleNopasswd], nil))
	t.Logf("systemd running: %v", h.Systemd)
	for _, r := range policy.Components {
		if !r.Service {
			continue
		}
		hc := h.Components[r.Component]
		var want readiness.Check
		switch {
		case !hc.Installed:
			want = readiness.Check{Status: readiness.CheckSkipped, BlockedBy: readiness.CodeRuntimeComponentMissing}
		case !h.Systemd:
			want = readiness.Check{Status: readiness.CheckSkipped, BlockedBy: readiness.CodeServiceManagerUnavailable}
		case hc.Service == "active":
			want = readiness.Check{Status: readiness.CheckPass, Observed: "active"}
		default:
			want = readiness.Check{Status: readiness.CheckFail, Code: readiness.CodeRuntimeServiceInactive, Observed: string(hc.Service)}
		}
		want.Name, want.Prerequisite, want.Component, want.Required = "service", readiness.PrereqRuntime, r.Component, "active"
		i := slices.IndexFunc(rep.Checks, func(c readiness.Check) bool { return c.Name == "service" && c.Component == r.Component })
		if i < 0 {
			t.Errorf("%s: no service check", r.Component)
			continue
		}
		if diff := cmp.Diff(want, rep.Checks[i]); diff != "" {
			t.Errorf("%s service check (-want +got):\n%s", r.Component, diff)
		}
	}
}

// TestSudoPolicies probes the host as users with the sudo policies found
// in the field. What each user may do comes from root's `sudo -l -U`.
func TestSudoPolicies(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	for _, r := range []role{roleNopasswd, rolePassword, roleNoSudo, roleTTY, roleLimited, roleNoAuth} {
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			a := f.accounts[r]
			want, listed, err := sudoExpectation(context.Background(), a.Name)
			require.NoError(t, err, listed)
			h := mustReadHost(t)
			obs, rep := evaluate(t, "realhost-"+string(r), f.target(a, nil))
			require.Nil(t, obs.Transport, "transport failure")
			if obs.Facts.Sudo != want {
				t.Errorf("got sudo %q, want %q; sudo -l -U says:\n%s", obs.Facts.Sudo, want, listed)
			}
			checkReport(t, rep, h.expectedReasons(policy, want))
		})
	}
}

// TestNologinShell: a user whose login shell is /usr/sbin/nologin cannot
// run the probe; sshd accepts the key and nologin refuses the command.
func TestNologinShell(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	a := f.accounts[roleNologin]
	line, err := lookupUser(a.Name)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(line, ":/usr/sbin/nologin"), "passwd: %s", line)

	obs, rep := evaluate(t, "realhost-nologin", f.target(a, nil))
	require.NotNil(t, obs.Transport)
	if obs.Transport.Code != readiness.CodeSSHExecRejected {
		t.Errorf("got %s (%s), want %s", obs.Transport.Code, obs.Transport.Detail, readiness.CodeSSHExecRejected)
	}
	checkReport(t, rep, []reason{{Code: readiness.CodeSSHExecRejected}})
}

// TestNoisyStartupFile: bash sources ~/.bashrc for commands sshd runs
// (Debian builds bash with SSH_SOURCE_BASHRC), so a .bashrc that prints
// before its interactive check lands in front of the probe's header.
func TestNoisyStartupFile(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	obs, rep := evaluate(t, "realhost-noisy", f.target(f.accounts[roleNoisy], nil))
	require.NotNil(t, obs.Transport, "a greeting before the header must not parse")
	if obs.Transport.Code != readiness.CodeProbeOutputInvalid {
		t.Errorf("got %s (%s), want %s", obs.Transport.Code, obs.Transport.Detail, readiness.CodeProbeOutputInvalid)
	}
	checkReport(t, rep, []reason{{Code: readiness.CodeProbeOutputInvalid}})
}

// TestLocalNode probes the control plane's own host by SSH to "localhost",
// resolved like any host name, exactly as a remote node: the report equals
// the one for 127.0.0.1, with a pinned key and with a known_hosts file.
func TestLocalNode(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	a := f.accounts[roleNopasswd]
	_, viaIP := evaluate(t, "local", f.target(a, nil))

	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[localhost]:%d %s", f.sshd.Port, ssh.MarshalAuthorizedKey(f.sshd.HostKey))
	require.NoError(t, os.WriteFile(knownHosts, []byte(line), 0o600))
	fromFile, err := sshexec.KnownHostsFile(knownHosts)
	require.NoError(t, err)

	for name, keys := range map[string]sshexec.HostKeyPolicy{
		"pinned":      sshexec.PinnedHostKeys(f.sshd.HostKey),
		"known_hosts": fromFile,
	} {
		t.Run(name, func(t *testing.T) {
			tg := f.target(a, nil)
			tg.Host, tg.HostKeys = "localhost", keys
			obs, rep := evaluate(t, "local", tg)
			require.Nil(t, obs.Transport, "transport failure")
			ignore := cmp.FilterPath(func(p cmp.Path) bool {
				s := p.String()
				return s == "CheckedAt" || s == "DurationMS"
			}, cmp.Ignore())
			if diff := cmp.Diff(viaIP, rep, ignore); diff != "" {
				t.Errorf("localhost report differs from 127.0.0.1 (-ip +localhost):\n%s", diff)
			}
		})
	}
}

// TestOneConnectionOneExec counts, in the log of an sshd of its own, the
// connections, authentications and sessions of three evaluations.
func TestOneConnectionOneExec(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	s := f.startSSHDT(t, 0, f.hostKey)
	a := f.accounts[roleCounted]
	const n = 3
	for i := range n {
		obs, _ := evaluate(t, "counted", f.target(a, s))
		require.Nil(t, obs.Transport, "transport failure")
		// The report is back; wait for sshd to log the end of the
		// connection before counting.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := waitCount(ctx, s, i+1, "Closing connection to 127.0.0.1 port")
		cancel()
		require.NoError(t, err)
	}
	for _, c := range []struct {
		what string
		subs []string
	}{
		{"TCP connections", []string{"Connection from 127.0.0.1 port"}},
		{"authentications", []string{"Accepted publickey for " + a.Name + " "}},
		{"sessions", []string{"Starting session: "}},
		{"exec sessions", []string{"Starting session: command for " + a.Name + " "}},
	} {
		if got := s.count(c.subs...); got != n {
			t.Errorf("%s: got %d, want %d; sshd log:\n%s", c.what, got, n, s.log())
		}
	}
}

// waitCount waits until n log lines contain every one of subs.
func waitCount(ctx context.Context, s *sshd, n int, subs ...string) error {
	for s.count(subs...) < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d sshd log lines with %q, want %d: %w\n%s", s.count(subs...), subs, n, ctx.Err(), s.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// TestChangedHostKey restarts an sshd on the same port with a new host
// key: the pinned key, a known_hosts file and accept-new all report
// ssh_host_key_mismatch, and the client never authenticates.
func TestChangedHostKey(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	a := f.accounts[roleNopasswd]
	first := f.startSSHDT(t, 0, f.hostKey)
	obs, _ := evaluate(t, "rekeyed", f.target(a, first))
	require.Nil(t, obs.Transport, "the first key must be accepted")
	oldKey, port := first.HostKey, first.Port
	first.stop()

	newKeyPath := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	newKey, err := newHostKey(newKeyPath)
	require.NoError(t, err)
	second := f.startSSHDT(t, port, newKeyPath)
	require.NotEqual(t, ssh.FingerprintSHA256(oldKey), ssh.FingerprintSHA256(newKey))

	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(oldKey))
	require.NoError(t, os.WriteFile(knownHosts, []byte(line), 0o600))
	fromFile, err := sshexec.KnownHostsFile(knownHosts)
	require.NoError(t, err)
	persisted := 0
	for name, keys := range map[string]sshexec.HostKeyPolicy{
		"pinned":      sshexec.PinnedHostKeys(oldKey),
		"known_hosts": fromFile,
		"accept_new": sshexec.AcceptNew(fromFile, func(string, ssh.PublicKey) error {
			persisted++
			return nil
		}),
	} {
		tg := f.target(a, second)
		tg.HostKeys = keys
		obs, rep := evaluate(t, "rekeyed", tg)
		if obs.Transport == nil || obs.Transport.Code != readiness.CodeSSHHostKeyMismatch {
			t.Errorf("%s: got %+v, want %s", name, obs.Transport, readiness.CodeSSHHostKeyMismatch)
			continue
		}
		checkReport(t, rep, []reason{{Code: readiness.CodeSSHHostKeyMismatch}})
	}
	if persisted != 0 {
		t.Errorf("accept-new persisted a changed key %d times", persisted)
	}
	if got := second.count("Accepted publickey"); got != 0 {
		t.Errorf("got %d authentications against the new key, want 0:\n%s", got, second.log())
	}
}

// TestAuthFailures: a key the user has not authorized, and a user that does
// not exist, are both ssh_auth_failed.
func TestAuthFailures(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	stranger, _, err := newSigner()
	require.NoError(t, err)
	wrongKey := f.target(f.accounts[roleNopasswd], nil)
	wrongKey.Signers = []ssh.Signer{stranger}
	noUser := f.target(f.accounts[roleNopasswd], nil)
	noUser.User = userPrefix + f.runID + "-ghost"
	for name, tg := range map[string]sshexec.Target{"wrong_key": wrongKey, "no_such_user": noUser} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			obs, rep := evaluate(t, "auth", tg)
			if obs.Transport == nil || obs.Transport.Code != readiness.CodeSSHAuthFailed {
				t.Fatalf("got %+v, want %s", obs.Transport, readiness.CodeSSHAuthFailed)
			}
			checkReport(t, rep, []reason{{Code: readiness.CodeSSHAuthFailed}})
		})
	}
}
