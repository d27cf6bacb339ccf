package realhost

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// policy is the baseline, admitting Debian 12 as well (the fleet's
// nodes), as an operator would with -allow-os debian-12.
var policy = readiness.Baseline().WithAllowedOS(readiness.OSRelease{ID: "debian", VersionID: "12"})

// probeTimeout bounds one probe: generous, because a probe starts every
// runtime tool (fail2ban-client is Python, mariadbd loads its plugins) on
// a machine busy with parallel tests and other fleets under -race.
const probeTimeout = 60 * time.Second

var prober = &probe.Prober{Client: &sshexec.Client{Timeout: probeTimeout}}

// target reaches node n as the fleet's user with the fleet's key and n's
// pinned host key, or as account a (on nodeUsers) when a is not nil.
func target(t testing.TB, n fleet.Node, a *account) sshexec.Target {
	t.Helper()
	tg, err := n.Target()
	require.NoError(t, err)
	if a != nil {
		tg.User, tg.Signers = a.Name, []ssh.Signer{a.Signer}
	}
	return tg
}

// evaluate probes tg once and evaluates the observation for site_create.
func evaluate(t testing.TB, nodeID string, tg sshexec.Target) (readiness.Observation, readiness.Report) {
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

// mustRead reads what the machine behind sh is.
func mustRead(t testing.TB, sh shell) machine {
	t.Helper()
	m, err := readMachine(context.Background(), sh)
	require.NoError(t, err)
	return m
}

// mustSudo is what sudo must say to user on the machine behind sh.
func mustSudo(t testing.TB, sh shell, user string) readiness.SudoOutcome {
	t.Helper()
	want, listed, err := sudoExpectation(context.Background(), sh, user)
	require.NoError(t, err, listed)
	return want
}

// checkReport compares the report's reasons with what the node is, and
// its primary reason and state with the first of them.
func checkReport(t testing.TB, rep readiness.Report, want []reason) {
	t.Helper()
	if diff := cmp.Diff(want, reasonsOf(rep)); diff != "" {
		t.Errorf("reasons (-want from the node +got from the probe):\n%s", diff)
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

// checkInventory compares the report's inventory, component by
// component, with what m says: installed, version, unit and its state.
func checkInventory(t testing.TB, rep readiness.Report, m machine) {
	t.Helper()
	inv := rep.Inventory
	require.NotNil(t, inv)
	if inv.OS != m.OS || inv.Systemd != m.Systemd {
		t.Errorf("got os %v systemd %v, want %v %v", inv.OS, inv.Systemd, m.OS, m.Systemd)
	}
	got := map[string]readiness.InventoryComponent{}
	for _, c := range inv.Components {
		got[c.Name] = c
	}
	for name, mc := range m.Components {
		c := got[name]
		if c.Installed != mc.Installed {
			t.Errorf("%s: got installed %v, want %v (dpkg: package %q, path %q)", name, c.Installed, mc.Installed, mc.Package, mc.Path)
			continue
		}
		if mc.Installed && mc.Version != "" {
			cmpv, err := readiness.CompareVersions(c.Version, mc.Version)
			if err != nil || cmpv != 0 {
				t.Errorf("%s: got version %q, want %q (dpkg-query -W %s)", name, c.Version, mc.Version, mc.Package)
			}
		}
		wantUnit, wantService := "", readiness.ServiceState("")
		if m.Systemd && mc.Installed {
			wantUnit, wantService = mc.Unit, mc.Service
		}
		if c.Unit != wantUnit || c.Service != wantService {
			t.Errorf("%s: got unit %q service %q, want %q %q (systemctl show)", name, c.Unit, c.Service, wantUnit, wantService)
		}
	}
	if gotRedis := slices.Contains(inv.PHPExtensions, "redis"); gotRedis != m.PHPRedis {
		t.Errorf("got redis loaded %v, want %v (php-fpm -m)", gotRedis, m.PHPRedis)
	}
}

// TestNopasswdUser probes nodes as the fleet's user, whose sudo is
// NOPASSWD: the report must say what the node is, component by
// component, on the ready node and on one with services down.
func TestNopasswdUser(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	for _, name := range []string{nodeReady, nodeServices} {
		t.Run(name, func(t *testing.T) {
			n := f.node(t, name)
			t.Parallel()
			m := mustRead(t, inNode(n))
			sudo := mustSudo(t, inNode(n), fleet.User)
			require.Equal(t, readiness.SudoOK, sudo, "the fleet's user has NOPASSWD sudo on every node")
			obs, rep := evaluate(t, name, target(t, n, nil))
			require.Nil(t, obs.Transport, "transport failure")
			require.NotNil(t, obs.Facts)
			t.Logf("node: %+v", m)
			t.Logf("report: %s", rep.Summary())
			checkReport(t, rep, m.expectedReasons(policy, sudo))
			checkInventory(t, rep, m)
		})
	}
}

// TestServices: each service check is what the unit's state is under the
// node's systemd (systemctl show): active passes, anything else (inactive,
// failed, masked) fails with the state observed. The nodes run systemd;
// a host without it (service_manager_unavailable) is the fake's
// (sshtest.NoSystemdProfile).
func TestServices(t *testing.T) {
	f := requireFixture(t)
	t.Parallel()
	for _, name := range []string{nodeReady, nodeServices} {
		t.Run(name, func(t *testing.T) {
			n := f.node(t, name)
			t.Parallel()
			m := mustRead(t, inNode(n))
			require.True(t, m.Systemd, "systemd is PID 1 on a fleet node")
			_, rep := evaluate(t, name, target(t, n, nil))
			states := map[readiness.ServiceState]bool{}
			for _, r := range policy.Components {
				if !r.Service {
					continue
				}
				mc := m.Components[r.Component]
				states[mc.Service] = true
				var want readiness.Check
				switch {
				case !mc.Installed:
					want = readiness.Check{Status: readiness.CheckSkipped, BlockedBy: readiness.CodeRuntimeComponentMissing}
				case mc.Service == "active":
					want = readiness.Check{Status: readiness.CheckPass, Observed: "active"}
				default:
					want = readiness.Check{Status: readiness.CheckFail, Code: readiness.CodeRuntimeServiceInactive, Observed: string(mc.Service)}
				}
				want.Name, want.Prerequisite, want.Component, want.Required = "service", readiness.PrereqRuntime, r.Component, "active"
				i := slices.IndexFunc(rep.Checks, func(c readiness.Check) bool { return c.Name == "service" && c.Component == r.Component })
				if i < 0 {
					t.Errorf("%s: no service check", r.Component)
					continue
				}
				if diff := cmp.Diff(want, rep.Checks[i]); diff != "" {
					t.Errorf("%s service check (-want from systemctl show +got):\n%s", r.Component, diff)
				}
			}
			t.Logf("unit states on %s: %v", name, states)
		})
	}
}

// TestSudoPolicies probes a node as users with the sudo policies found
// in the field. What each user may do comes from the node's root's
// `sudo -l -U`.
func TestSudoPolicies(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeUsers)
	t.Parallel()
	for _, r := range []role{roleNopasswd, rolePassword, roleNoSudo, roleTTY, roleLimited, roleNoAuth} {
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			a := f.accounts[r]
			want, listed, err := sudoExpectation(context.Background(), inNode(n), a.Name)
			require.NoError(t, err, listed)
			m := mustRead(t, inNode(n))
			obs, rep := evaluate(t, "realhost-"+string(r), target(t, n, &a))
			require.Nil(t, obs.Transport, "transport failure")
			if obs.Facts.Sudo != want {
				t.Errorf("got sudo %q, want %q; sudo -l -U says:\n%s", obs.Facts.Sudo, want, listed)
			}
			checkReport(t, rep, m.expectedReasons(policy, want))
		})
	}
}

// TestNologinShell: a user whose login shell is /usr/sbin/nologin cannot
// run the probe; sshd accepts the key and nologin refuses the command.
func TestNologinShell(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeUsers)
	t.Parallel()
	a := f.accounts[roleNologin]
	line, err := inNode(n)(context.Background(), "getent passwd "+a.Name)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(strings.TrimSpace(line), ":/usr/sbin/nologin"), "passwd: %s", line)

	obs, rep := evaluate(t, "realhost-nologin", target(t, n, &a))
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
	n := f.node(t, nodeUsers)
	t.Parallel()
	a := f.accounts[roleNoisy]
	first, err := inNode(n)(context.Background(), "head -n1 /home/"+a.Name+"/.bashrc")
	require.NoError(t, err)
	require.Contains(t, first, "echo", "the node's .bashrc starts with the greeting")
	obs, rep := evaluate(t, "realhost-noisy", target(t, n, &a))
	require.NotNil(t, obs.Transport, "a greeting before the header must not parse")
	if obs.Transport.Code != readiness.CodeProbeOutputInvalid {
		t.Errorf("got %s (%s), want %s", obs.Transport.Code, obs.Transport.Detail, readiness.CodeProbeOutputInvalid)
	}
	checkReport(t, rep, []reason{{Code: readiness.CodeProbeOutputInvalid}})
}

// localHelperEnv, set, makes TestLocalNodeHelper the probe of a process
// started by TestLocalNode; its value is a JSON localRequest.
const localHelperEnv = "PRESSLUFT_REALHOST_LOCAL_NODE"

type localRequest struct {
	User, KeyFile, HostKey, KnownHosts, Out string
}

// TestLocalNode probes a node by SSH to "localhost", resolved like any
// host name, exactly as a remote node: as the control plane's own host is
// managed when it is registered as a node. The probe runs in a process of
// its own in the node's network namespace (nsenter -n; the test binary
// itself, as TestLocalNodeHelper), so localhost there is the node's
// loopback and its sshd. The report equals the one over the node's
// address, with a pinned key and with a known_hosts file naming localhost.
func TestLocalNode(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeReady)
	t.Parallel()
	_, viaAddr := evaluate(t, "local", target(t, n, nil))
	self, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	knownHosts := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize("localhost:" + strconv.Itoa(n.Port))}, n.HostKey)
	require.NoError(t, os.WriteFile(knownHosts, []byte(line+"\n"), 0o600))

	for _, keys := range []string{"pinned", "known_hosts"} {
		t.Run(keys, func(t *testing.T) {
			req := localRequest{User: n.User, KeyFile: n.ClientKeyFile, Out: filepath.Join(dir, keys+".json")}
			if keys == "pinned" {
				req.HostKey = string(ssh.MarshalAuthorizedKey(n.HostKey))
			} else {
				req.KnownHosts = knownHosts
			}
			b, err := json.Marshal(req)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 2*probeTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(n.Leader), "-n", "--",
				self, "-test.run=^TestLocalNodeHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), localHelperEnv+"="+string(b), "PRESSLUFT_FLEET=")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "helper in the node's network namespace:\n%s", out)
			raw, err := os.ReadFile(req.Out)
			require.NoError(t, err, "helper output:\n%s", out)
			var rep readiness.Report
			require.NoError(t, json.Unmarshal(raw, &rep))
			// The same trip through JSON for the report over the address.
			b, err = json.Marshal(viaAddr)
			require.NoError(t, err)
			var want readiness.Report
			require.NoError(t, json.Unmarshal(b, &want))
			// Free space moves between the two probes (the nodes' overlays
			// share the machine's disk with everything else CI writes).
			for _, r := range []*readiness.Report{&want, &rep} {
				for i, c := range r.Checks {
					if c.Name == "disk" {
						r.Checks[i].Observed = ""
					}
				}
			}
			ignore := cmp.FilterPath(func(p cmp.Path) bool {
				s := p.String()
				return s == "CheckedAt" || s == "DurationMS" || s == "NodeID"
			}, cmp.Ignore())
			require.True(t, rep.Ready(), "localhost report: %s", rep.Summary())
			if diff := cmp.Diff(want, rep, ignore); diff != "" {
				t.Errorf("localhost report differs from the one over %s (-address +localhost):\n%s", n.Addr, diff)
			}
		})
	}
}

// TestLocalNodeHelper is TestLocalNode's probe, run in the node's network
// namespace; without localHelperEnv it skips.
func TestLocalNodeHelper(t *testing.T) {
	v := os.Getenv(localHelperEnv)
	if v == "" {
		t.Skip("the probe TestLocalNode runs inside a node's network namespace")
	}
	var req localRequest
	require.NoError(t, json.Unmarshal([]byte(v), &req))
	signer, err := sshexec.LoadPrivateKeyFile(req.KeyFile, nil)
	require.NoError(t, err)
	tg := sshexec.Target{Host: "localhost", Port: 22, User: req.User, Signers: []ssh.Signer{signer}}
	if req.HostKey != "" {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.HostKey))
		require.NoError(t, err)
		tg.HostKeys = sshexec.PinnedHostKeys(k)
	} else {
		tg.HostKeys, err = sshexec.KnownHostsFile(req.KnownHosts)
		require.NoError(t, err)
	}
	obs, rep := evaluate(t, "local", tg)
	require.Nil(t, obs.Transport, "transport failure")
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(req.Out, b, 0o600))
}

// TestChangedHostKey gives a node a new host key, as a reinstalled
// machine has: ssh-keygen and a restart of ssh.service inside the node.
// The pinned key, a known_hosts file and accept-new all report
// ssh_host_key_mismatch, and the node's sshd never sees an
// authentication.
func TestChangedHostKey(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeRekey)
	t.Parallel()
	ctx := context.Background()
	sh := inNode(n)
	obs, _ := evaluate(t, "rekeyed", target(t, n, nil))
	require.Nil(t, obs.Transport, "the first key must be accepted")
	oldKey := n.HostKey

	_, err := sh(ctx, `set -e
rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub
ssh-keygen -q -t ed25519 -N '' -C root@`+n.Name+` -f /etc/ssh/ssh_host_ed25519_key
systemctl restart ssh.service
systemctl is-active ssh.service`)
	require.NoError(t, err)
	pub, err := sh(ctx, "cat /etc/ssh/ssh_host_ed25519_key.pub")
	require.NoError(t, err)
	newKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	require.NoError(t, err)
	require.NotEqual(t, ssh.FingerprintSHA256(oldKey), ssh.FingerprintSHA256(newKey))
	journal := func() string {
		out, err := sh(ctx, "journalctl --no-pager -o cat -u ssh.service")
		require.NoError(t, err)
		return out
	}
	accepted := strings.Count(journal(), "Accepted publickey")

	knownHostsPath := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(n.Addr + ":" + strconv.Itoa(n.Port))}, oldKey)
	require.NoError(t, os.WriteFile(knownHostsPath, []byte(line+"\n"), 0o600))
	fromFile, err := sshexec.KnownHostsFile(knownHostsPath)
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
		tg := target(t, n, nil)
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
	if got := strings.Count(journal(), "Accepted publickey") - accepted; got != 0 {
		t.Errorf("got %d authentications against the new key, want 0; the node's sshd journal:\n%s", got, journal())
	}
	// The new key is accepted when it is the one pinned.
	tg := target(t, n, nil)
	tg.HostKeys = sshexec.PinnedHostKeys(newKey)
	obs, _ = evaluate(t, "rekeyed", tg)
	require.Nil(t, obs.Transport, "the node's new key, pinned")
}

// TestAuthFailures: a key the user has not authorized, and a user that
// does not exist on the node, are both ssh_auth_failed. Two failures stay
// below the node's fail2ban limit (maxretry 5).
func TestAuthFailures(t *testing.T) {
	f := requireFixture(t)
	n := f.node(t, nodeUsers)
	t.Parallel()
	stranger, _, err := newSigner()
	require.NoError(t, err)
	a := f.accounts[roleNopasswd]
	wrongKey := target(t, n, &a)
	wrongKey.Signers = []ssh.Signer{stranger}
	noUser := target(t, n, &a)
	noUser.User = userPrefix + "ghost"
	_, err = inNode(n)(context.Background(), "! getent passwd "+noUser.User)
	require.NoError(t, err, "the node has no user %s", noUser.User)
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
