package sshexec_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

func TestRunResults(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	tests := []struct {
		name       string
		cmd        string
		stdin      []byte
		wantStdout string
		wantStderr string
		wantStatus int
		wantSignal string
		maxOutput  int
	}{
		{name: "true", cmd: "true"},
		{name: "stdin to stdout", cmd: "cat", stdin: []byte("hello\n"), wantStdout: "hello\n"},
		{name: "nonzero exit is a result", cmd: "exit 3", wantStderr: "failing\n", wantStatus: 3},
		{name: "exit by signal is a result", cmd: "signal", wantStatus: 128 + 9, wantSignal: "KILL"},
		{name: "stdin not read", cmd: "ignore-stdin", stdin: bytes.Repeat([]byte("y"), 1<<20)},
		{name: "stdin past the channel window, not read", cmd: "ignore-stdin", stdin: bytes.Repeat([]byte("y"), 5<<20)},
		{name: "stdin past the channel window", cmd: "cat", stdin: bytes.Repeat([]byte("z"), 3<<20), wantStdout: strings.Repeat("z", 3<<20), maxOutput: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := sshexec.Client{MaxOutput: tt.maxOutput}
			res, err := c.Run(context.Background(), srv.target(), tt.cmd, tt.stdin)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := string(res.Stdout); got != tt.wantStdout {
				t.Errorf("got stdout %q, want %q", got, tt.wantStdout)
			}
			if got := string(res.Stderr); got != tt.wantStderr {
				t.Errorf("got stderr %q, want %q", got, tt.wantStderr)
			}
			if res.ExitStatus != tt.wantStatus || res.ExitSignal != tt.wantSignal {
				t.Errorf("got exit %d signal %q, want %d %q", res.ExitStatus, res.ExitSignal, tt.wantStatus, tt.wantSignal)
			}
			if res.StdoutTruncated || res.StderrTruncated {
				t.Errorf("got truncated %v/%v, want false", res.StdoutTruncated, res.StderrTruncated)
			}
			if res.HostKey == nil || !bytes.Equal(res.HostKey.Marshal(), srv.hostKeys[0].PublicKey().Marshal()) {
				t.Errorf("got host key %v, want the server's", res.HostKey)
			}
			if res.HostKeyLearned {
				t.Error("got HostKeyLearned true for a pinned key, want false")
			}
		})
	}
}

// closedPort returns a 127.0.0.1 port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

type faultCase struct {
	name      string
	fault     fault
	cmd       string
	stdin     []byte
	client    sshexec.Client
	ctxTO     time.Duration // 0: no context deadline
	target    func(sshexec.Target) sshexec.Target
	wantCode  readiness.Code
	wantPhase sshexec.Phase
	wantIs    error
	// bound is the deadline the Run must honor (plus one second).
	bound time.Duration
}

func faultCases(t *testing.T) []faultCase {
	otherKey := newEd25519Signer(t).PublicKey()
	return []faultCase{
		{name: "refused", fault: faultNone, cmd: "true",
			target:   func(tg sshexec.Target) sshexec.Target { tg.Port = closedPort(t); return tg },
			wantCode: readiness.CodeSSHUnreachable, wantPhase: sshexec.PhaseDial, bound: sshexec.DefaultTimeout},
		{name: "silent after accept", fault: faultSilent, cmd: "true",
			client:   sshexec.Client{Timeout: 5 * time.Second, HandshakeTimeout: 500 * time.Millisecond},
			wantCode: readiness.CodeSSHHandshakeFailed, wantPhase: sshexec.PhaseHandshake, bound: 500 * time.Millisecond},
		{name: "silent, whole-call timeout", fault: faultSilent, cmd: "true",
			client:   sshexec.Client{Timeout: 700 * time.Millisecond},
			wantCode: readiness.CodeSSHHandshakeFailed, wantPhase: sshexec.PhaseHandshake, bound: 700 * time.Millisecond},
		{name: "silent, context deadline", fault: faultSilent, cmd: "true", ctxTO: 600 * time.Millisecond,
			wantCode: readiness.CodeSSHHandshakeFailed, wantPhase: sshexec.PhaseHandshake,
			wantIs: context.DeadlineExceeded, bound: 600 * time.Millisecond},
		{name: "garbage banner kept open", fault: faultGarbage, cmd: "true",
			client:   sshexec.Client{Timeout: 2 * time.Second, HandshakeTimeout: 500 * time.Millisecond},
			wantCode: readiness.CodeSSHHandshakeFailed, wantPhase: sshexec.PhaseHandshake, bound: 500 * time.Millisecond},
		{name: "garbage banner then close", fault: faultGarbageClose, cmd: "true",
			client:   sshexec.Client{Timeout: 2 * time.Second},
			wantCode: readiness.CodeSSHHandshakeFailed, wantPhase: sshexec.PhaseHandshake, bound: 2 * time.Second},
		{name: "slow handshake", fault: faultSlowHandshake, cmd: "true",
			client:   sshexec.Client{Timeout: 3 * time.Second, HandshakeTimeout: 500 * time.Millisecond},
			wantCode: readiness.CodeSSHHandshakeFailed, wantPhase: sshexec.PhaseHandshake, bound: 500 * time.Millisecond},
		{name: "unknown host key", fault: faultNone, cmd: "true",
			target:   func(tg sshexec.Target) sshexec.Target { tg.HostKeys = sshexec.PinnedHostKeys(); return tg },
			wantCode: readiness.CodeSSHHostKeyUnknown, wantPhase: sshexec.PhaseHostKey, bound: sshexec.DefaultTimeout},
		{name: "host key mismatch", fault: faultNone, cmd: "true",
			target:   func(tg sshexec.Target) sshexec.Target { tg.HostKeys = sshexec.PinnedHostKeys(otherKey); return tg },
			wantCode: readiness.CodeSSHHostKeyMismatch, wantPhase: sshexec.PhaseHostKey, bound: sshexec.DefaultTimeout},
		{name: "auth rejected", fault: faultAuthReject, cmd: "true",
			wantCode: readiness.CodeSSHAuthFailed, wantPhase: sshexec.PhaseAuth, bound: sshexec.DefaultTimeout},
		{name: "session rejected", fault: faultRejectSession, cmd: "true",
			wantCode: readiness.CodeSSHExecRejected, wantPhase: sshexec.PhaseSession, bound: sshexec.DefaultTimeout},
		{name: "exec rejected", fault: faultRejectExec, cmd: "true",
			wantCode: readiness.CodeSSHExecRejected, wantPhase: sshexec.PhaseExec, bound: sshexec.DefaultTimeout},
		{name: "hang after exec", fault: faultNone, cmd: "hang",
			client:   sshexec.Client{Timeout: 800 * time.Millisecond},
			wantCode: readiness.CodeProbeTimeout, wantPhase: sshexec.PhaseWait,
			wantIs: context.DeadlineExceeded, bound: 800 * time.Millisecond},
		{name: "hang after exec, context deadline", fault: faultNone, cmd: "hang", ctxTO: 800 * time.Millisecond,
			wantCode: readiness.CodeProbeTimeout, wantPhase: sshexec.PhaseWait,
			wantIs: context.DeadlineExceeded, bound: 800 * time.Millisecond},
		{name: "stdin never read, command never ends", fault: faultNone, cmd: "hang-no-read", stdin: bytes.Repeat([]byte("s"), 5<<20),
			client:   sshexec.Client{Timeout: 800 * time.Millisecond},
			wantCode: readiness.CodeProbeTimeout, wantPhase: sshexec.PhaseWait,
			wantIs: context.DeadlineExceeded, bound: 800 * time.Millisecond},
		{name: "flood past deadline", fault: faultNone, cmd: "flood 2000000000",
			client:   sshexec.Client{Timeout: 800 * time.Millisecond},
			wantCode: readiness.CodeProbeTimeout, wantPhase: sshexec.PhaseWait, bound: 800 * time.Millisecond},
		{name: "connection dropped mid-output", fault: faultNone, cmd: "drop",
			wantCode: readiness.CodeProbeInterrupted, wantPhase: sshexec.PhaseWait, bound: sshexec.DefaultTimeout},
		{name: "channel closed without exit status", fault: faultNone, cmd: "close",
			wantCode: readiness.CodeProbeInterrupted, wantPhase: sshexec.PhaseWait, bound: sshexec.DefaultTimeout},
	}
}

func runFaultCase(t *testing.T, tc faultCase) {
	srv := newTestServer(t, tc.fault)
	tg := srv.target()
	if tc.target != nil {
		tg = tc.target(tg)
	}
	ctx := context.Background()
	if tc.ctxTO > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tc.ctxTO)
		defer cancel()
	}
	start := time.Now()
	res, err := tc.client.Run(ctx, tg, tc.cmd, tc.stdin)
	elapsed := time.Since(start)
	srv.Close()
	if elapsed > tc.bound+time.Second {
		t.Errorf("returned after %v, want within %v + 1s", elapsed, tc.bound)
	}
	if res != nil {
		t.Errorf("got result %+v, want nil", res)
	}
	var e *sshexec.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *sshexec.Error", err, err)
	}
	if e.Code != tc.wantCode || e.Phase != tc.wantPhase {
		t.Errorf("got code %q phase %q, want %q %q (err: %v)", e.Code, e.Phase, tc.wantCode, tc.wantPhase, err)
	}
	if got := sshexec.CodeOf(err); got != tc.wantCode {
		t.Errorf("got CodeOf %q, want %q", got, tc.wantCode)
	}
	if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
		t.Errorf("got error %v, want it to wrap %v", err, tc.wantIs)
	}
	if e.Detail == "" || strings.Contains(e.Detail, "partial output") || strings.Contains(e.Detail, "flood") {
		t.Errorf("got detail %q, want a non-empty operator-safe detail", e.Detail)
	}
}

func TestRunFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range faultCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFaultCase(t, tc)
		})
	}
}

func TestRunHostKeyFingerprint(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	want := ssh.FingerprintSHA256(srv.hostKeys[0].PublicKey())
	for _, policy := range []sshexec.HostKeyPolicy{
		sshexec.PinnedHostKeys(),
		sshexec.PinnedHostKeys(newEd25519Signer(t).PublicKey()),
	} {
		tg := srv.target()
		tg.HostKeys = policy
		_, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
		var e *sshexec.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want *sshexec.Error", err)
		}
		if e.Fingerprint != want {
			t.Errorf("got fingerprint %q, want %q", e.Fingerprint, want)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got message %q, want it to name %s", err, want)
		}
	}
}

func TestRunCanceled(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := new(sshexec.Client).Run(ctx, srv.target(), "hang", nil)
	if elapsed := time.Since(start); elapsed > 300*time.Millisecond+time.Second {
		t.Errorf("returned after %v, want within 1.3s", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want it to wrap context.Canceled", err)
	}
	if got := sshexec.CodeOf(err); got != readiness.CodeProbeInterrupted {
		t.Errorf("got code %q, want %q", got, readiness.CodeProbeInterrupted)
	}
}

func TestRunAlreadyCanceled(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := new(sshexec.Client).Run(ctx, srv.target(), "true", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("got %d connections, want 0", n)
	}
}

func TestRunUnresolvable(t *testing.T) {
	t.Parallel()
	tg := sshexec.Target{
		Host: "no-such-host.invalid", User: "probe",
		Signers:  []ssh.Signer{testClientSigner(t)},
		HostKeys: sshexec.PinnedHostKeys(),
	}
	c := sshexec.Client{Timeout: 3 * time.Second}
	start := time.Now()
	_, err := c.Run(context.Background(), tg, "true", nil)
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("returned after %v, want within 4s", elapsed)
	}
	var e *sshexec.Error
	if !errors.As(err, &e) || e.Code != readiness.CodeSSHHostUnresolvable || e.Phase != sshexec.PhaseDNS {
		t.Errorf("got %v, want code %q in phase dns", err, readiness.CodeSSHHostUnresolvable)
	}
}

func TestRunOutputCap(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	tests := []struct {
		name    string
		client  sshexec.Client
		flood   string
		wantLen int
	}{
		{name: "explicit cap", client: sshexec.Client{MaxOutput: 1000}, flood: "flood 4194304", wantLen: 1000},
		{name: "default cap", flood: "flood 1048576", wantLen: sshexec.DefaultMaxOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := tt.client.Run(context.Background(), srv.target(), tt.flood, nil)
			if err != nil {
				t.Fatalf("got %v, want nil: the flood must be drained to its exit status", err)
			}
			if len(res.Stdout) != tt.wantLen || len(res.Stderr) != tt.wantLen {
				t.Errorf("got %d/%d bytes, want %d each", len(res.Stdout), len(res.Stderr), tt.wantLen)
			}
			if !res.StdoutTruncated || !res.StderrTruncated {
				t.Errorf("got truncated %v/%v, want true/true", res.StdoutTruncated, res.StderrTruncated)
			}
		})
	}
}

func TestRunInvalidTarget(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	valid := srv.target()
	tests := []struct {
		name   string
		mutate func(*sshexec.Target)
		code   readiness.Code
	}{
		{"empty host", func(tg *sshexec.Target) { tg.Host = "" }, readiness.CodeNodeAddressMissing},
		{"host with port", func(tg *sshexec.Target) { tg.Host = "127.0.0.1:22" }, readiness.CodeNodeConfigInvalid},
		{"bracketed host", func(tg *sshexec.Target) { tg.Host = "[::1]" }, readiness.CodeNodeConfigInvalid},
		{"empty user", func(tg *sshexec.Target) { tg.User = "" }, readiness.CodeNodeConfigInvalid},
		{"negative port", func(tg *sshexec.Target) { tg.Port = -1 }, readiness.CodeNodeConfigInvalid},
		{"port too large", func(tg *sshexec.Target) { tg.Port = 65536 }, readiness.CodeNodeConfigInvalid},
		{"nil host keys", func(tg *sshexec.Target) { tg.HostKeys = nil }, readiness.CodeSSHHostKeyUnknown},
		{"no signers, no agent", func(tg *sshexec.Target) { tg.Signers = nil }, readiness.CodeSSHCredentialsUnavailable},
		{"nil signer", func(tg *sshexec.Target) { tg.Signers = []ssh.Signer{nil} }, readiness.CodeSSHCredentialsUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := valid
			tt.mutate(&tg)
			res, err := new(sshexec.Client).Run(context.Background(), tg, "true", nil)
			if !errors.Is(err, sshexec.ErrInvalidTarget) {
				t.Errorf("got %v, want ErrInvalidTarget", err)
			}
			var e *sshexec.Error
			if !errors.As(err, &e) || e.Phase != sshexec.PhaseConfig || e.Code != tt.code {
				t.Errorf("got %#v, want a config-phase *Error with code %s", err, tt.code)
			}
			if res != nil {
				t.Errorf("got result %+v, want nil", res)
			}
		})
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("got %d connections, want 0: an invalid target must not be dialed", n)
	}
}

func TestNilClient(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	var c *sshexec.Client
	if _, err := c.Run(context.Background(), srv.target(), "true", nil); err != nil {
		t.Errorf("got %v, want nil: a nil *Client uses the defaults", err)
	}
}

func BenchmarkRunTrue(b *testing.B) {
	srv := newTestServer(b, faultNone)
	tg := srv.target()
	var c sshexec.Client
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Run(ctx, tg, "true", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLoggerNeverSeesOutput(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, faultNone)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := sshexec.Client{Logger: logger}
	if _, err := c.Run(context.Background(), srv.target(), "cat", []byte("TOPSECRET-OUTPUT")); err != nil {
		t.Fatal(err)
	}
	tg := srv.target()
	tg.HostKeys = sshexec.PinnedHostKeys()
	if _, err := c.Run(context.Background(), tg, "cat", []byte("TOPSECRET-OUTPUT")); err == nil {
		t.Fatal("got nil error for an unknown host key, want an error")
	}
	mu.Lock()
	defer mu.Unlock()
	logs := buf.String()
	if strings.Count(logs, "\n") != 2 {
		t.Errorf("got logs %q, want one record per Run", logs)
	}
	if strings.Contains(logs, "TOPSECRET") || strings.Contains(logs, "PRIVATE KEY") {
		t.Errorf("got logs %q, want no remote output or keys", logs)
	}
	if !strings.Contains(logs, "code=ssh_host_key_unknown") {
		t.Errorf("got logs %q, want the failure's code", logs)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
