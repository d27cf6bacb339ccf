package faults

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// geometry is where the phases of one probe round trip fall in the byte
// streams, measured on a clean run through a recording proxy: the key
// exchange ends (NEWKEYS) at kexServer/kexClient, and the node sends
// totalServer bytes in all. Offsets past NEWKEYS are encrypted, but the
// sizes are stable: after the key exchange the node sends the auth
// replies, then the channel replies, then the probe's output (about 2 KB),
// then a tail of about 150 bytes (exit status, EOF, close).
type geometry struct {
	kexServer, kexClient int64
	totalServer          int64
	stdinBytes           int64 // the script the client uploads
}

func measure(t *testing.T) geometry {
	t.Helper()
	n := sshtest.NewNode(sshtest.ReadyProfile())
	defer n.Close()
	p, err := New(Config{Upstream: n.Addr(), Record: true})
	require.NoError(t, err)
	tg := n.Target()
	tg.Port = p.Port()
	rep := observe(context.Background(), tg, 10*time.Second)
	require.Equal(t, readiness.StateReady, rep.State, "the clean run through the proxy")
	require.NoError(t, p.Close())
	s, c := p.Transcript(FromServer), p.Transcript(FromClient)
	g := geometry{
		kexServer: int64(kexEnd(s)), kexClient: int64(kexEnd(c)),
		totalServer: int64(len(s)), stdinBytes: int64(len(probe.Script())),
	}
	require.Positive(t, g.kexServer, "NEWKEYS in the node's stream")
	require.Positive(t, g.kexClient, "NEWKEYS in the client's stream")
	// Mid output must be past the auth and channel replies.
	require.Greater(t, g.totalServer-600, g.kexServer+400, "geometry %+v", g)
	return g
}

func observe(ctx context.Context, tg sshexec.Target, timeout time.Duration) readiness.Report {
	pr := &probe.Prober{Client: &sshexec.Client{Timeout: timeout}}
	obs := pr.Observe(ctx, "node-1", tg)
	return readiness.Evaluate(obs, readiness.PolicyFor(readiness.OperationSiteCreate), readiness.OperationSiteCreate)
}

// TestFaults drives the probe through every fault at the points in the
// stream where networks and peers break: inside the banner, mid key
// exchange, mid authentication, mid upload and mid output. Each case
// must end within its deadline plus one second with the code of the phase
// the fault hits. It is not parallel at the top level, so the goroutine
// count it checks afterwards is its own.
func TestFaults(t *testing.T) {
	before := leaktest.Take()
	g := measure(t)
	t.Logf("stream geometry: %+v", g)
	midAuth := g.kexServer + 40           // inside the first encrypted replies (service accept, auth)
	midOutput := g.totalServer - 600      // inside the probe's output, before the exit status
	midUpload := g.kexClient + 600 + 4096 // the client is sending the script

	const short = 2 * time.Second
	cases := []struct {
		name    string
		cfg     Config
		timeout time.Duration
		want    readiness.Code // "" means ready
		also    readiness.Code // a second acceptable code, for races the network decides
		refused bool           // the proxy is not listening
		conns   int            // connections the proxy must have accepted; 0 is not checked
	}{
		{name: "none", cfg: Config{}, timeout: short},
		{name: "refused", refused: true, timeout: short, want: readiness.CodeSSHUnreachable},
		{name: "black-hole", cfg: Config{Fault: BlackHole}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "delay-200ms-within-deadline", cfg: Config{Fault: Delay, Direction: BothWays, Delay: 200 * time.Millisecond}, timeout: 15 * time.Second},
		{name: "delay-200ms-past-deadline", cfg: Config{Fault: Delay, Direction: BothWays, Delay: 200 * time.Millisecond}, timeout: time.Second, want: readiness.CodeSSHHandshakeFailed},
		{name: "delay-upload-past-deadline", cfg: Config{Fault: Delay, Direction: FromClient, Delay: 900 * time.Millisecond}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "drop-in-banner", cfg: Config{Fault: Drop, After: 4}, timeout: short, want: readiness.CodeSSHConnectionDropped, conns: 2},
		{name: "drop-mid-kex", cfg: Config{Fault: Drop, After: g.kexServer / 2}, timeout: short, want: readiness.CodeSSHConnectionDropped, conns: 2},
		{name: "drop-mid-auth", cfg: Config{Fault: Drop, After: midAuth}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "drop-mid-upload", cfg: Config{Fault: Drop, Direction: FromClient, After: midUpload}, timeout: short, want: readiness.CodeProbeInterrupted},
		{name: "drop-mid-output", cfg: Config{Fault: Drop, After: midOutput}, timeout: short, want: readiness.CodeProbeInterrupted},
		// A connection closed or reset before the banner or in key
		// exchange (sshd past MaxStartups) is dialed once more. An RST
		// right after accept races the client's non-blocking connect:
		// when it lands first, connect itself fails, and that is the
		// same drop.
		{name: "reset-on-accept", cfg: Config{Fault: Reset}, timeout: short, want: readiness.CodeSSHConnectionDropped, conns: 2},
		{name: "reset-on-accept-once", cfg: Config{Fault: Reset, Connections: 1}, timeout: short, conns: 2},
		{name: "drop-in-banner-once", cfg: Config{Fault: Drop, After: 4, Connections: 1}, timeout: short, conns: 2},
		{name: "drop-mid-kex-once", cfg: Config{Fault: Drop, After: g.kexServer / 2, Connections: 1}, timeout: short, conns: 2},
		{name: "reset-after-client-banner", cfg: Config{Fault: Reset, Direction: FromClient, After: 1}, timeout: short, want: readiness.CodeSSHConnectionDropped, conns: 2},
		{name: "reset-mid-kex", cfg: Config{Fault: Reset, After: g.kexServer / 2}, timeout: short, want: readiness.CodeSSHConnectionDropped, conns: 2},
		{name: "reset-mid-auth", cfg: Config{Fault: Reset, After: midAuth}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "reset-mid-output", cfg: Config{Fault: Reset, After: midOutput}, timeout: short, want: readiness.CodeProbeInterrupted},
		{name: "garbage-from-start", cfg: Config{Fault: Garbage}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "garbage-after-banner", cfg: Config{Fault: Garbage, After: 12}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "garbage-after-kex", cfg: Config{Fault: Garbage, After: g.kexServer}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "garbage-mid-output", cfg: Config{Fault: Garbage, After: midOutput}, timeout: short, want: readiness.CodeProbeInterrupted},
		{name: "garbage-from-client-mid-upload", cfg: Config{Fault: Garbage, Direction: FromClient, After: midUpload}, timeout: short, want: readiness.CodeProbeInterrupted},
		{name: "stall-mid-kex", cfg: Config{Fault: Stall, After: g.kexServer / 2}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "stall-mid-auth", cfg: Config{Fault: Stall, After: midAuth}, timeout: short, want: readiness.CodeSSHHandshakeFailed},
		{name: "stall-mid-output", cfg: Config{Fault: Stall, After: midOutput}, timeout: short, want: readiness.CodeProbeTimeout},
		{name: "stall-mid-upload", cfg: Config{Fault: Stall, Direction: FromClient, After: midUpload}, timeout: short, want: readiness.CodeProbeTimeout},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				n := sshtest.NewNode(sshtest.ReadyProfile())
				defer n.Close()
				cfg := tc.cfg
				cfg.Upstream = n.Addr()
				p, err := New(cfg)
				require.NoError(t, err)
				defer p.Close()
				tg := n.Target()
				tg.Port = p.Port()
				if tc.refused {
					require.NoError(t, p.Close())
				}

				start := time.Now()
				rep := observe(context.Background(), tg, tc.timeout)
				elapsed := time.Since(start)

				if elapsed > tc.timeout+time.Second {
					t.Errorf("got the report after %v, want within %v + 1s", elapsed, tc.timeout)
				}
				var got readiness.Code
				if rep.State != readiness.StateReady {
					got = rep.PrimaryReason
				}
				if got != tc.want && (tc.also == "" || got != tc.also) {
					t.Errorf("got %q (state %s, reasons %+v), want %q", got, rep.State, rep.Reasons, tc.want)
				}
				if tc.conns != 0 && p.Accepted() != tc.conns {
					t.Errorf("got %d connections, want %d", p.Accepted(), tc.conns)
				}
				fs, fc := p.Relayed()
				t.Logf("%v: %s after %v; relayed %d bytes from the node, %d from the client",
					tc.cfg.Fault, got, elapsed.Round(time.Millisecond), fs, fc)
			})
		}
	})
	leaktest.Check(t, before)
}
