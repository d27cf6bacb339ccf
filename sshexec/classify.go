package sshexec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// validateTarget checks t before any I/O; port is t.Port defaulted.
func validateTarget(t Target, port int) error {
	bad := func(code readiness.Code, detail string) error {
		return &Error{Phase: PhaseConfig, Code: code, Detail: detail, Err: ErrInvalidTarget}
	}
	switch {
	case t.Host == "":
		return bad(readiness.CodeNodeAddressMissing, "empty host")
	case CheckHost(t.Host) != nil:
		return bad(readiness.CodeNodeConfigInvalid, "host must be a bare hostname or IP address (no port, brackets, user or shell characters)")
	case t.User == "":
		return bad(readiness.CodeNodeConfigInvalid, "empty user")
	case port < 1 || port > 65535:
		return bad(readiness.CodeNodeConfigInvalid, fmt.Sprintf("port %d out of range", t.Port))
	case t.HostKeys == nil:
		return bad(readiness.CodeSSHHostKeyUnknown, "no host key policy: no key is pinned for this node")
	case len(t.Signers) == 0 && !t.UseAgent:
		return bad(readiness.CodeSSHCredentialsUnavailable, "no client keys and no agent")
	}
	for _, s := range t.Signers {
		if s == nil {
			return bad(readiness.CodeSSHCredentialsUnavailable, "nil signer")
		}
	}
	return nil
}

// ctxErr classifies a Run stopped by its context in phase.
func (r *run) ctxErr(ctx context.Context, phase Phase, cause error) *Error {
	cerr := ctx.Err()
	if cerr == nil {
		// The deadline passed but ctx's timer has not fired yet.
		cerr = context.DeadlineExceeded
	}
	wrap := func(detail string, code readiness.Code) *Error {
		err := cerr
		if cause != nil {
			err = fmt.Errorf("%w (%w)", cerr, cause)
		}
		return &Error{Phase: phase, Code: code, Detail: detail, Err: err}
	}
	if errors.Is(cerr, context.Canceled) {
		return wrap("canceled by the caller", readiness.CodeProbeInterrupted)
	}
	budget := r.budget.Round(time.Millisecond).String()
	switch phase {
	case PhaseConfig:
		return wrap("the ssh agent did not answer within "+budget, readiness.CodeSSHCredentialsUnavailable)
	case PhaseDNS:
		return wrap("dns lookup did not finish within "+budget, readiness.CodeSSHHostUnresolvable)
	case PhaseDial:
		return wrap("tcp connect did not finish within "+budget, readiness.CodeSSHUnreachable)
	case PhaseHandshake, PhaseHostKey:
		return wrap("no ssh handshake within "+budget, readiness.CodeSSHHandshakeFailed)
	case PhaseAuth:
		return wrap("authentication did not finish within "+budget, readiness.CodeSSHHandshakeFailed)
	default:
		return wrap("the command did not finish within "+budget, readiness.CodeProbeTimeout)
	}
}

// dialErr classifies a failed DNS lookup or TCP connect.
func (r *run) dialErr(ctx context.Context, err error) *Error {
	var dnsErr *net.DNSError
	if errors.Is(ctx.Err(), context.Canceled) {
		return r.ctxErr(ctx, PhaseDial, err)
	}
	if errors.As(err, &dnsErr) {
		d := "dns lookup failed"
		switch {
		case dnsErr.IsNotFound:
			d = "host name not found"
		case dnsErr.IsTimeout:
			d = "dns lookup timed out"
		}
		return &Error{Phase: PhaseDNS, Code: readiness.CodeSSHHostUnresolvable, Detail: d, Err: err}
	}
	if r.stopped(ctx) {
		return r.ctxErr(ctx, PhaseDial, err)
	}
	if errors.Is(err, syscall.ECONNRESET) {
		// The node accepted the connection and reset it before connect
		// returned: dropped before the banner, not unreachable.
		return &Error{Phase: PhaseHandshake, Code: readiness.CodeSSHConnectionDropped,
			Detail: "the node's sshd closed the connection before the ssh handshake", Err: err, dropped: true}
	}
	var netErr net.Error
	d := "tcp connect failed"
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		d = "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		d = "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		d = "network unreachable"
	case errors.As(err, &netErr) && netErr.Timeout():
		d = "tcp connect timed out"
	}
	return &Error{Phase: PhaseDial, Code: readiness.CodeSSHUnreachable, Detail: d, Err: err}
}

// log writes the Run's one debug record.
func (r *run) log(err error) {
	l := r.cfg.Logger
	if l == nil {
		return
	}
	attrs := []any{
		"host", r.t.Host, "port", r.port, "user", r.t.User,
		"dial", r.res.Timing.Dial, "handshake", r.res.Timing.Handshake, "exec", r.res.Timing.Exec,
	}
	var e *Error
	if errors.As(err, &e) {
		attrs = append(attrs, "phase", string(e.Phase), "code", string(e.Code), "detail", e.Detail)
		if e.Fingerprint != "" {
			attrs = append(attrs, "host_key", e.Fingerprint)
		}
		l.Debug("sshexec: run failed", attrs...)
		return
	}
	attrs = append(attrs, "exit_status", r.res.ExitStatus)
	if r.res.HostKeyLearned {
		attrs = append(attrs, "host_key_learned", true)
	}
	l.Debug("sshexec: run", attrs...)
}
