package sshexec

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Defaults for a zero Client.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultMaxOutput        = 64 << 10
)

// Client runs one command on a node per call. The zero value is ready to
// use; a Client holds no connections, so there is nothing to close, and it
// is safe for concurrent use as long as its fields are not changed.
type Client struct {
	// Timeout bounds a whole Run, from dialing to the command's exit
	// status. Zero means DefaultTimeout (10s). A shorter context
	// deadline wins.
	Timeout time.Duration
	// HandshakeTimeout bounds the SSH handshake, from TCP connect to the
	// end of authentication. Zero means min(Timeout, DefaultHandshakeTimeout),
	// i.e. 5s. It never extends the Run's deadline.
	HandshakeTimeout time.Duration
	// MaxOutput caps the bytes kept from each of stdout and stderr; the
	// rest is read and discarded. Zero means DefaultMaxOutput (64 KiB).
	MaxOutput int
	// Logger receives one debug record per Run (target, phase, code,
	// timings; never output or keys). Nil means no logging.
	Logger *slog.Logger
}

// Timing says how long each step of a successful Run took.
type Timing struct {
	// Dial covers DNS and TCP connect (and asking the agent for keys).
	Dial time.Duration
	// Handshake covers version exchange, key exchange, host key check
	// and authentication.
	Handshake time.Duration
	// Exec covers opening the session, the command, and reading its
	// output to the end.
	Exec time.Duration
	// Retry covers a first connection the node dropped before the SSH
	// handshake and the randomized wait before the second (see Run);
	// Dial and Handshake are then the second connection's. Zero when
	// the first connection served.
	Retry time.Duration
}

// Result is a command that ran to completion on the node. A non-zero
// exit status or a death by signal is a Result, not an error.
type Result struct {
	// Stdout and Stderr are the command's output, each cut at
	// Client.MaxOutput bytes.
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated are set when output was cut.
	StdoutTruncated, StderrTruncated bool
	// ExitStatus is the command's exit status. For a command killed by a
	// signal without an exit status it is 128 plus the signal number (as
	// a shell reports it).
	ExitStatus int
	// ExitSignal is the signal name without "SIG" ("KILL", "TERM") when
	// the command died by a signal, else empty.
	ExitSignal string
	// HostKey is the host key the node presented and the policy accepted.
	HostKey ssh.PublicKey
	// HostKeyLearned is set when an AcceptNew policy accepted HostKey as
	// a previously unknown key.
	HostKeyLearned bool
	// Connections is how many TCP connections the Run made: 1, or 2 when
	// the node dropped the first before the SSH handshake.
	Connections int
	Timing      Timing
}

// Run connects to t, runs cmd once (no PTY) with stdin as its standard
// input (closed after it; Run only reads it, so one slice may serve many
// concurrent Runs), and waits for its exit status. It uses one TCP
// connection and one session, and closes both before returning.
//
// # Pre-auth drops
//
// A node whose sshd closes or resets the connection before its SSH banner
// or during key exchange (what OpenSSH does to connections past
// MaxStartups, default 10:30:100, e.g. while the node is being scanned)
// is dialed once more, after a random wait of 250ms to 1s, within the same
// deadline; Result.Connections and Timing.Retry say so. A second drop,
// one with no time left for the wait, or a second connection that runs
// out of time is readiness.CodeSSHConnectionDropped.
// Nothing else is retried: not a timeout, not a host key failure, not an
// authentication failure (each of which a node's fail2ban counts), and
// not a drop after the host key was verified.
//
// Run returns within its deadline (the earlier of ctx's and Timeout) plus
// a small margin, whatever the node does: when the deadline passes or ctx
// is canceled, the connection is closed under the blocked call.
//
// On error the Result is nil and the error is an *Error (see CodeOf):
// an invalid t wraps ErrInvalidTarget and dials nothing; an unusable agent
// wraps ErrAgentUnavailable; a canceled ctx wraps context.Canceled; a
// deadline wraps context.DeadlineExceeded. The host key policy's persist
// callback runs synchronously during the handshake and is not interrupted
// by the deadline, so it must return promptly.
func (c *Client) Run(ctx context.Context, t Target, cmd string, stdin []byte) (*Result, error) {
	r := &run{cfg: c.withDefaults(), t: t, cmd: cmd, stdin: stdin}
	r.port = t.Port
	if r.port == 0 {
		r.port = 22
	}
	if err := validateTarget(t, r.port); err != nil {
		r.log(err)
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	r.deadline, _ = ctx.Deadline()
	r.budget = r.deadline.Sub(start)

	// The watcher closes every connection when ctx ends, which unblocks
	// whatever Run is waiting for. Run waits for it before returning.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			r.conns.closeAll()
		case <-stop:
		}
	}()
	res, err := r.do(ctx)
	close(stop)
	wg.Wait()
	r.conns.closeAll()
	r.log(err)
	return res, err
}

func (c *Client) withDefaults() Client {
	var cfg Client
	if c != nil {
		cfg = *c
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = min(cfg.Timeout, DefaultHandshakeTimeout)
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	return cfg
}

// run is the state of one Run call.
type run struct {
	cfg      Client
	t        Target
	port     int
	cmd      string
	stdin    []byte
	deadline time.Time
	budget   time.Duration
	conns    closer
	res      Result
}

func (r *run) do(ctx context.Context) (*Result, error) {
	if r.stopped(ctx) {
		return nil, r.ctxErr(ctx, PhaseDial, nil)
	}
	t0 := time.Now()
	signers := slices.Clone(r.t.Signers)
	if r.t.UseAgent {
		as, err := agentSigners(ctx, &r.conns, r.t.AgentKeys)
		if err != nil {
			if r.stopped(ctx) {
				return nil, r.ctxErr(ctx, PhaseConfig, err)
			}
			return nil, err
		}
		signers = append(signers, as...)
	}
	if len(signers) == 0 {
		return nil, &Error{Phase: PhaseConfig, Code: readiness.CodeSSHCredentialsUnavailable, Detail: "no client keys: the ssh agent holds none", Err: ErrAgentUnavailable}
	}

	addr := net.JoinHostPort(r.t.Host, strconv.Itoa(r.port))
	client, conn, err := r.connect(ctx, addr, signers, t0)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || !e.dropped {
			return nil, err
		}
		r.res.Timing.Retry = time.Since(t0)
		wait := retryWait()
		if !time.Now().Add(wait).Before(r.deadline) {
			return nil, dropErr(e, "the node's sshd closed the connection before the ssh handshake (a connection limit such as MaxStartups, or a scan in progress); no time was left to retry")
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, r.ctxErr(ctx, PhaseDial, err)
		}
		t1 := time.Now()
		r.res.Timing.Retry = t1.Sub(t0)
		first := e
		client, conn, err = r.connect(ctx, addr, signers, t1)
		switch {
		case errors.As(err, &e) && e.dropped:
			return nil, dropErr(e, "the node's sshd closed the connection before the ssh handshake twice (a connection limit such as MaxStartups, or a scan in progress)")
		case err != nil && errors.Is(err, context.DeadlineExceeded):
			// The wait left the second connection too little time: what
			// is known of the node is that it dropped the first.
			return nil, dropErr(first, "the node's sshd closed the connection before the ssh handshake (a connection limit such as MaxStartups, or a scan in progress); the retry ran out of time")
		case err != nil:
			return nil, err
		}
	}
	defer func() {
		_ = client.Close()
		_ = client.Wait()
	}()
	// From here the Run's own deadline bounds every read and write.
	_ = conn.SetDeadline(r.deadline)
	return r.exec(ctx, client)
}

// connect dials addr and runs the SSH handshake on the connection; t0 is
// when the attempt began (for Timing.Dial). A connection the node dropped
// before the handshake is an *Error with dropped set.
func (r *run) connect(ctx context.Context, addr string, signers []ssh.Signer, t0 time.Time) (*ssh.Client, net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	r.res.Timing.Dial = time.Since(t0)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) {
			r.res.Connections++ // accepted, then reset before connect returned
		}
		return nil, nil, r.dialErr(ctx, err)
	}
	r.res.Connections++
	if !r.conns.add(conn) {
		return nil, nil, r.ctxErr(ctx, PhaseDial, nil)
	}
	hc := &headConn{Conn: conn}
	client, err := r.handshake(ctx, hc, addr, signers)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return client, conn, nil
}

// retryWait is the random wait before the second connection, 250ms to 1s,
// so that clients dropped together do not come back together.
func retryWait() time.Duration {
	return 250*time.Millisecond + rand.N(750*time.Millisecond)
}

// dropErr is the final error of a Run whose connection the node dropped.
func dropErr(e *Error, detail string) *Error {
	return &Error{Phase: PhaseHandshake, Code: readiness.CodeSSHConnectionDropped, Detail: detail, Err: e.Err}
}

func (r *run) handshake(ctx context.Context, conn *headConn, addr string, signers []ssh.Signer) (*ssh.Client, error) {
	hk := newHostKeyCheck(r.t.HostKeys, r.t.Host, r.port)
	algos := hk.algorithms()
	config := &ssh.ClientConfig{
		User:              r.t.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: algos,
	}
	// When the Run's deadline comes first it governs, and a timeout is
	// classified by r.stopped as the Run's.
	hsDeadline := time.Now().Add(r.cfg.HandshakeTimeout)
	if r.deadline.Before(hsDeadline) {
		hsDeadline = r.deadline
	}
	_ = conn.SetDeadline(hsDeadline)
	t0 := time.Now()
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	r.res.Timing.Handshake = time.Since(t0)
	key, learned, hkErr := hk.result()
	r.res.HostKey, r.res.HostKeyLearned = key, learned
	if err == nil {
		return ssh.NewClient(sc, chans, reqs), nil
	}

	// Classify. Past a verified host key, the handshake is in auth.
	phase := PhaseHandshake
	if key != nil {
		phase = PhaseAuth
	}
	var negErr *ssh.AlgorithmNegotiationError
	var netErr net.Error
	switch {
	case hkErr != nil:
		// err wraps hkErr; return a copy so callers cannot alter ours.
		e := *hkErr
		return nil, &e
	case r.stopped(ctx):
		return nil, r.ctxErr(ctx, phase, err)
	case errors.As(err, &negErr) && negErr.What == "host key" && len(algos) > 0:
		return nil, &Error{Phase: PhaseHostKey, Code: readiness.CodeSSHHostKeyMismatch,
			Detail: "node offers no host key of the pinned type", Err: err}
	case errors.As(err, &netErr) && netErr.Timeout():
		d := "no ssh handshake within " + r.cfg.HandshakeTimeout.String()
		if phase == PhaseAuth {
			d = "authentication did not finish within " + r.cfg.HandshakeTimeout.String()
		}
		return nil, &Error{Phase: phase, Code: readiness.CodeSSHHandshakeFailed, Detail: d, Err: err}
	case phase == PhaseAuth && isAuthFailure(err):
		return nil, &Error{Phase: PhaseAuth, Code: readiness.CodeSSHAuthFailed,
			Detail: "the node rejected every client key", Err: err}
	case phase == PhaseAuth:
		return nil, &Error{Phase: PhaseAuth, Code: readiness.CodeSSHHandshakeFailed,
			Detail: "connection lost during authentication", Err: err}
	case isDrop(err) && conn.beforeOrInSSH():
		// Closed or reset before the banner, or after an SSH banner
		// during key exchange: sshd past MaxStartups. Run retries.
		return nil, &Error{Phase: PhaseHandshake, Code: readiness.CodeSSHConnectionDropped,
			Detail: "the node's sshd closed the connection before the ssh handshake", Err: err, dropped: true}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &Error{Phase: PhaseHandshake, Code: readiness.CodeSSHHandshakeFailed,
			Detail: "connection closed during the ssh handshake", Err: err}
	default:
		return nil, &Error{Phase: PhaseHandshake, Code: readiness.CodeSSHHandshakeFailed,
			Detail: "ssh handshake failed", Err: err}
	}
}

// stopped reports whether ctx ended or the Run's deadline passed. The
// deadline is also set on the connection, whose i/o timeout can be seen
// before ctx's timer has fired.
func (r *run) stopped(ctx context.Context) bool {
	return ctx.Err() != nil || !time.Now().Before(r.deadline)
}

// isAuthFailure recognizes x/crypto's authentication failures, which are
// untyped, and a server that disconnects during authentication (OpenSSH
// does after MaxAuthTries).
func isAuthFailure(err error) bool {
	s := err.Error()
	for _, m := range []string{"unable to authenticate", "too many authentication", "ssh: disconnect"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func (r *run) exec(ctx context.Context, client *ssh.Client) (*Result, error) {
	t0 := time.Now()
	defer func() { r.res.Timing.Exec = time.Since(t0) }()
	sess, err := client.NewSession()
	if err != nil {
		var oce *ssh.OpenChannelError
		switch {
		case r.stopped(ctx):
			return nil, r.ctxErr(ctx, PhaseSession, err)
		case errors.As(err, &oce):
			return nil, &Error{Phase: PhaseSession, Code: readiness.CodeSSHExecRejected,
				Detail: "the node refused to open a session", Err: err}
		default:
			return nil, &Error{Phase: PhaseSession, Code: readiness.CodeProbeInterrupted,
				Detail: "connection lost while opening a session", Err: err}
		}
	}
	defer sess.Close()
	stdout := &cappedBuffer{max: r.cfg.MaxOutput}
	stderr := &cappedBuffer{max: r.cfg.MaxOutput}
	sess.Stdout, sess.Stderr = stdout, stderr
	// Stdin goes straight to the channel: a Session.Stdin reader would
	// cost a pipe, a goroutine and a 32 KiB copy buffer per Run. Without
	// stdin, x/crypto sends EOF at Start.
	var stdin io.WriteCloser
	if len(r.stdin) > 0 {
		if stdin, err = sess.StdinPipe(); err != nil {
			return nil, &Error{Phase: PhaseSession, Code: readiness.CodeProbeInterrupted,
				Detail: "could not set up the command's stdin", Err: err}
		}
	}
	if err := sess.Start(r.cmd); err != nil {
		switch {
		case r.stopped(ctx):
			return nil, r.ctxErr(ctx, PhaseExec, err)
		case errors.Is(err, io.EOF):
			return nil, &Error{Phase: PhaseExec, Code: readiness.CodeProbeInterrupted,
				Detail: "connection lost while starting the command", Err: err}
		default:
			// x/crypto reports a refused exec request with an untyped
			// error naming the command; Err keeps it, Detail does not.
			return nil, &Error{Phase: PhaseExec, Code: readiness.CodeSSHExecRejected,
				Detail: "the node refused to run the command", Err: err}
		}
	}
	if stdin != nil {
		// A command that exits without reading all of it makes Write
		// fail; Wait below says how the command ended. A peer that never
		// opens its window blocks Write until the watcher closes the
		// connection at the deadline.
		_, _ = stdin.Write(r.stdin)
		_ = stdin.Close()
	}
	werr := sess.Wait()
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case werr == nil:
	case errors.As(werr, &exitErr):
		r.res.ExitStatus = exitErr.ExitStatus()
		r.res.ExitSignal = exitErr.Signal()
	case r.stopped(ctx):
		return nil, r.ctxErr(ctx, PhaseWait, werr)
	case errors.As(werr, &missing):
		return nil, &Error{Phase: PhaseWait, Code: readiness.CodeProbeInterrupted,
			Detail: "the command ended without an exit status (connection lost?)", Err: werr}
	default:
		return nil, &Error{Phase: PhaseWait, Code: readiness.CodeProbeInterrupted,
			Detail: "the command's session failed", Err: werr}
	}
	res := r.res
	res.Stdout, res.StdoutTruncated = stdout.buf, stdout.truncated
	res.Stderr, res.StderrTruncated = stderr.buf, stderr.truncated
	if res.Stdout == nil {
		res.Stdout = []byte{}
	}
	if res.Stderr == nil {
		res.Stderr = []byte{}
	}
	res.Timing.Exec = time.Since(t0)
	return &res, nil
}
