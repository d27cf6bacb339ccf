package sshexec

import (
	"errors"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Phase names the step of a Run at which it stopped.
type Phase string

// The phases of a Run, in order. PhaseConfig errors happen before any
// network I/O.
const (
	PhaseConfig    Phase = "config"
	PhaseDNS       Phase = "dns"
	PhaseDial      Phase = "dial"
	PhaseHandshake Phase = "handshake"
	PhaseHostKey   Phase = "hostkey"
	PhaseAuth      Phase = "auth"
	PhaseSession   Phase = "session"
	PhaseExec      Phase = "exec"
	PhaseWait      Phase = "wait"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrInvalidTarget: the Target is incomplete or malformed; nothing
	// was dialed.
	ErrInvalidTarget = errors.New("sshexec: invalid target")
	// ErrAgentUnavailable: Target.UseAgent is set but the SSH agent at
	// $SSH_AUTH_SOCK could not be used (unset, unreachable, or holding no
	// keys). This is a local configuration problem, not the node's.
	ErrAgentUnavailable = errors.New("sshexec: ssh agent unavailable")
	// ErrPassphraseRequired: the private key is encrypted and no
	// passphrase was given.
	ErrPassphraseRequired = errors.New("sshexec: key is passphrase-protected")
	// ErrWrongPassphrase: the passphrase does not decrypt the private key.
	ErrWrongPassphrase = errors.New("sshexec: wrong passphrase for private key")
)

// Error is a failed Run, classified by phase and readiness code.
//
// Code is set for every failure, local ones included (PhaseConfig: an
// invalid target or an unusable agent; a persist callback that failed), so
// a readiness report always names what went wrong. A Run canceled by its caller has Code
// readiness.CodeProbeInterrupted and Err wrapping context.Canceled; a Run
// that ran out of time wraps context.DeadlineExceeded.
type Error struct {
	Phase Phase
	Code  readiness.Code
	// Detail is a short operator-safe description: it never holds remote
	// output, key material or passwords.
	Detail string
	// Fingerprint is the SHA256 fingerprint of the host key the node
	// presented, set for the host-key codes when a key was seen.
	Fingerprint string
	// Err is the underlying error, for debugging. Its text may come from
	// the network peer; show Detail to operators instead.
	Err error

	// dropped marks a first connection the node dropped before the
	// handshake, which Run retries.
	dropped bool
}

// Error returns "sshexec: PHASE: DETAIL[: ERR]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sshexec: ")
	b.WriteString(string(e.Phase))
	b.WriteString(": ")
	b.WriteString(e.Detail)
	if e.Fingerprint != "" {
		b.WriteString(" (")
		b.WriteString(e.Fingerprint)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the readiness code of err, or "" when err is nil, is not
// (and does not wrap) an *Error, or is a local failure without a code.
func CodeOf(err error) readiness.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
