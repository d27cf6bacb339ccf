package fleet_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflighttest"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// The nodes of the fail2ban and MaxStartups tests: real fail2ban in its
// aggressive sshd mode (a connection closed before authentication counts
// as a failure too) and in its default mode, and an sshd that allows one
// unauthenticated connection at a time.
var banProfiles = []fleet.Profile{
	{Name: "f2b-aggressive", Doc: "fail2ban's sshd jail in aggressive mode (maxretry 5, findtime 10m)",
		Setup: "printf '[sshd]\\nmode = aggressive\\nmaxretry = 5\\nfindtime = 10m\\nbantime = 10m\\n' >/etc/fail2ban/jail.d/zz-aggressive.conf"},
	{Name: "f2b-default", Doc: "fail2ban's sshd jail as Debian ships it (normal mode, maxretry 5)"},
	{Name: "maxstartups-1", Doc: "sshd drops every unauthenticated connection past the first (MaxStartups 1)",
		Setup: "echo 'MaxStartups 1' >/etc/ssh/sshd_config.d/maxstartups.conf"},
}

// TestBan boots the nodes above and proves, on real sshd and fail2ban,
// that the gate never gets the control plane banned, that a real ban is
// reported as one, and that a MaxStartups drop is retried. Opt-in like
// the package's other tests.
func TestBan(t *testing.T) {
	requireFleet(t)
	f := upFleet(t, fleet.Config{Profiles: banProfiles, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	node := func(name string) fleet.Node {
		n, ok := f.Node(name)
		require.True(t, ok, "no node %s", name)
		return n
	}
	// What another process (scripts/fleet.sh status) sees of this fleet:
	// the same nodes, in Config order, with the address the node sees the
	// control plane connect from (the ban's subject).
	st, err := fleet.Status(withInstance(fleet.Config{}))
	require.NoError(t, err)
	require.Len(t, st, len(banProfiles))
	for i, n := range st {
		require.Equal(t, banProfiles[i].Name, n.Name)
		require.Equal(t, node(n.Name).HostAddr, n.HostAddr)
		require.Equal(t, node(n.Name).Leader, n.Leader)
	}
	t.Run("default-never-banned", func(t *testing.T) { testNeverBanned(t, node("f2b-default")) })
	t.Run("aggressive-never-banned", func(t *testing.T) { testNeverBanned(t, node("f2b-aggressive")) })
	// In the jail's normal mode, two minutes of wrong-key logins (one every
	// 0.5s) were never banned on this fleet (the sshd filter's publickey
	// option defaults to nofail); aggressive mode bans them within seconds.
	t.Run("real-ban-reported", func(t *testing.T) { testBanReported(t, node("f2b-aggressive")) })
	t.Run("maxstartups-retried", func(t *testing.T) { testMaxStartups(t, node("maxstartups-1")) })
}

// banGate is a gate over one fleet node, with a clock the test moves and
// credentials it can swap between the node's key and a wrong one.
type banGate struct {
	gate  *preflight.Gate
	creds *preflight.MemoryCredentials
	right ssh.Signer
	clock *preflighttest.Clock
}

func newBanGate(t *testing.T, n fleet.Node) *banGate {
	t.Helper()
	tg, err := n.Target()
	require.NoError(t, err)
	b := &banGate{creds: preflight.NewMemoryCredentials(newSigner(t)), right: tg.Signers[0], clock: preflighttest.NewClock(time.Now())}
	b.creds.PinHostKeys(n.Name, n.HostKey)
	b.gate, err = preflight.New(preflight.Config{
		Nodes:        preflight.NewMemoryNodes(preflight.Node{ID: n.Name, Name: n.Name, Host: n.Addr, Port: n.Port, User: n.User}),
		Credentials:  b.creds,
		Prober:       &probe.Prober{Client: &sshexec.Client{Timeout: 15 * time.Second}},
		Policy:       func(readiness.Operation) readiness.Policy { return policy },
		ProbeTimeout: 20 * time.Second,
		Now:          b.clock.Now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.gate.Close() })
	return b
}

// banned reports whether the node's sshd jail has banned the control
// plane's address, from fail2ban itself.
func banned(t *testing.T, n fleet.Node) bool {
	return strings.Contains(inNode(t, n, "fail2ban-client status sshd"), n.HostAddr)
}

// unban lifts a ban with the command the reason gives, so that no ban
// outlives the test (bans survive reboots in fail2ban's database).
func unban(t *testing.T, n fleet.Node) {
	inNode(t, n, strings.ReplaceAll(preflight.UnbanCommand, "CONTROL_PLANE_IP", n.HostAddr))
}

// testNeverBanned: ten minutes of create requests every 10s (on the
// gate's clock) with a key the node refuses, plus the Monitor's rounds,
// make three failed logins, and fail2ban in aggressive mode bans nothing:
// with the right key the node is ready straight after.
func testNeverBanned(t *testing.T, n fleet.Node) {
	t.Cleanup(func() { unban(t, n) })
	require.False(t, banned(t, n), "banned before the test")
	b := newBanGate(t, n)
	ctx := context.Background()
	before := sshdJournal(t, n)
	for range 60 {
		d, err := b.gate.Check(ctx, readiness.OperationSiteCreate, n.Name)
		require.NoError(t, err)
		require.Equal(t, readiness.CodeSSHAuthFailed, d.Report.PrimaryReason, "%s", d.Report.Summary())
		b.clock.Advance(10 * time.Second)
	}
	mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_ = b.gate.Monitor(mctx, 100*time.Millisecond, 0) // within the backoff: no probe
	cancel()
	after := sshdJournal(t, n)
	conns := countLines(after, "Connection from "+n.HostAddr+" port") - countLines(before, "Connection from "+n.HostAddr+" port")
	require.Equal(t, 3, conns, "connections the gate made; journal:\n%s", tail(after, 40))

	// Give fail2ban time to read the journal, then ask it.
	time.Sleep(5 * time.Second)
	require.False(t, banned(t, n), "fail2ban banned the control plane:\n%s", inNode(t, n, "fail2ban-client status sshd"))

	b.creds.SetSigners(n.Name, b.right)
	r, err := b.gate.Refresh(ctx, n.Name)
	require.NoError(t, err)
	require.True(t, r.Ready(), "with the right key: %s", r.Summary())
}

// testBanReported: after the gate saw the node refuse a key, a real ban
// by fail2ban (wrong-key logins from elsewhere in the control plane, here
// sshexec directly, until the jail bans) makes the next probe
// ssh_banned_suspected, not ssh_unreachable, and the command in it lifts
// the ban.
func testBanReported(t *testing.T, n fleet.Node) {
	t.Cleanup(func() { unban(t, n) })
	require.False(t, banned(t, n), "banned before the test")
	b := newBanGate(t, n)
	ctx := context.Background()
	r, err := b.gate.Refresh(ctx, n.Name)
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHAuthFailed, r.PrimaryReason, "%s", r.Summary())

	tg, err := n.Target()
	require.NoError(t, err)
	tg.Signers = []ssh.Signer{newSigner(t)}
	client := &sshexec.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for !banned(t, n) {
		require.True(t, time.Now().Before(deadline), "fail2ban never banned the control plane:\n%s\n%s",
			inNode(t, n, "fail2ban-client status sshd"), tail(sshdJournal(t, n), 40))
		_, _ = client.Run(ctx, tg, "true", nil)
		time.Sleep(500 * time.Millisecond)
	}

	b.clock.Advance(preflight.DefaultAuthFailBackoff)
	r, err = b.gate.Refresh(ctx, n.Name)
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSSHBannedSuspected, r.PrimaryReason, "%s", r.Summary())
	var observed string
	for _, c := range r.Checks {
		if c.Code == readiness.CodeSSHBannedSuspected {
			observed = c.Observed
		}
	}
	require.Contains(t, observed, preflight.UnbanCommand)

	unban(t, n)
	require.False(t, banned(t, n), "the unban command did not lift the ban")
	b.creds.SetSigners(n.Name, b.right)
	r, err = b.gate.Refresh(ctx, n.Name)
	require.NoError(t, err)
	require.True(t, r.Ready(), "after the unban, with the right key: %s", r.Summary())
}

// testMaxStartups holds one unauthenticated connection open on a node
// with MaxStartups 1, so sshd drops the probe's connection before its
// banner. Released in time for the retry, the node is ready in one
// evaluation over two connections; held throughout, the reason is
// ssh_connection_dropped, never ssh_handshake_failed.
func testMaxStartups(t *testing.T, n fleet.Node) {
	t.Cleanup(func() { unban(t, n) }) // the held connections are pre-auth closes
	hold := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", net.JoinHostPort(n.Addr, strconv.Itoa(n.Port)), 5*time.Second)
		require.NoError(t, err)
		buf := make([]byte, 256)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(buf) // sshd's banner: the connection now counts
		require.NoError(t, err)
		return c
	}
	drops := func() int { return countLines(sshdJournal(t, n), "past MaxStartups") }

	t.Run("released-before-retry", func(t *testing.T) {
		c := hold(t)
		before := drops()
		time.AfterFunc(150*time.Millisecond, func() { c.Close() }) // before the 250ms-1s wait ends
		tg, err := n.Target()
		require.NoError(t, err)
		res, err := (&sshexec.Client{Timeout: 30 * time.Second}).Run(context.Background(), tg, "true", nil)
		require.NoError(t, err, "journal:\n%s", tail(sshdJournal(t, n), 20))
		require.Equal(t, 2, res.Connections)
		require.Equal(t, before+1, drops(), "sshd's own record of the drop")
		obs, rep := evaluate(t, n)
		require.Nil(t, obs.Transport)
		require.True(t, rep.Ready(), "%s", rep.Summary())
	})
	t.Run("held-throughout", func(t *testing.T) {
		c := hold(t)
		defer c.Close()
		before := drops()
		obs, rep := evaluate(t, n)
		require.NotNil(t, obs.Transport)
		require.Equal(t, readiness.CodeSSHConnectionDropped, rep.PrimaryReason, "%s", rep.Summary())
		require.Contains(t, obs.Transport.Detail, "MaxStartups")
		require.Equal(t, before+2, drops(), "two connections dropped; journal:\n%s", tail(sshdJournal(t, n), 20))
	})
}
