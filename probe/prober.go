package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// Prober observes nodes by running the probe script over SSH. The zero
// value is ready to use. A Prober holds no connections and is safe for
// concurrent use as long as its fields are not changed.
type Prober struct {
	// Client runs the script. Nil means a zero sshexec.Client: a 10s
	// timeout for the whole round trip and 64 KiB of output at most.
	Client *sshexec.Client
	// Now reads the clock for Observation.CheckedAt and Duration. Nil
	// means time.Now.
	Now func() time.Time
}

// Observe runs the probe on one node and says what it saw. It makes
// one SSH connection with one exec request (Command, with Script on
// stdin) and does not retry; retries and caching belong to the caller.
// The one exception is sshexec's: a connection the node's sshd drops
// before the handshake (MaxStartups) is dialed once more, within the
// same deadline, and a second drop is ssh_connection_dropped.
//
// The Observation always has NodeID, User (t.User), CheckedAt (when the
// round trip started) and Duration. Then exactly one of:
//   - Probed=false, HasAddress=false: t.Host is empty; nothing was dialed.
//   - Probed=false: the probe could not be attempted for a reason on the
//     control plane's side (an invalid Target, an unusable SSH agent, a
//     host key that could not be recorded); nothing is said about the node.
//   - Transport set: the round trip stopped at the phase its Code names,
//     and Reached is the step of the SSH chain it had got to (PrereqTCP
//     when nothing was dialed: no usable key, no host key policy, a
//     context that ended first).
//     A login shell that refuses commands (nologin) is ssh_exec_rejected;
//     a script killed by a signal is probe_interrupted; output over the
//     client's cap or that Parse rejects is probe_output_invalid.
//   - Facts set: the script ran to completion and its output parsed.
//
// Detail never holds the node's output.
func (p *Prober) Observe(ctx context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	var client *sshexec.Client
	now := time.Now
	if p != nil {
		client = p.Client
		if p.Now != nil {
			now = p.Now
		}
	}
	if client == nil {
		client = &sshexec.Client{}
	}
	start := now()
	obs := readiness.Observation{
		NodeID: nodeID, User: t.User, CheckedAt: start,
		HasAddress: t.Host != "", Probed: t.Host != "",
	}
	if t.Host == "" {
		return obs
	}
	res, err := client.Run(ctx, t, Command, scriptBytes)
	obs.Duration = now().Sub(start)
	if err != nil {
		obs.Transport = transportFailure(err)
		return obs
	}
	obs.Facts, obs.Transport = interpret(res)
	return obs
}

// transportFailure classifies a failed Run. sshexec gives every failure a
// code, local ones included (no usable key, an invalid node record), so
// the report names it; anything else is reported as an interrupted probe.
// Reached is the step of the SSH chain the Run's phase was in, so a Run
// stopped before the step its code names (canceled while dialing, a
// target without a host key policy) claims no step it did not observe.
func transportFailure(err error) *readiness.TransportFailure {
	var e *sshexec.Error
	if !errors.As(err, &e) || e.Code == "" {
		return &readiness.TransportFailure{Code: readiness.CodeProbeInterrupted, Detail: "the ssh round trip failed", Reached: readiness.PrereqTCP}
	}
	reached, ok := reachedBy[e.Phase]
	if !ok {
		reached = readiness.PrereqTCP
	}
	return &readiness.TransportFailure{Code: e.Code, Detail: e.Detail, Reached: reached}
}

// reachedBy is the step of the SSH chain each phase of a Run is in.
// PhaseConfig is before any I/O, and DNS and dial are the tcp step.
var reachedBy = map[sshexec.Phase]readiness.Prerequisite{
	sshexec.PhaseConfig:    readiness.PrereqTCP,
	sshexec.PhaseDNS:       readiness.PrereqTCP,
	sshexec.PhaseDial:      readiness.PrereqTCP,
	sshexec.PhaseHandshake: readiness.PrereqSSHHandshake,
	sshexec.PhaseHostKey:   readiness.PrereqHostKey,
	sshexec.PhaseAuth:      readiness.PrereqAuth,
	sshexec.PhaseSession:   readiness.PrereqExec,
	sshexec.PhaseExec:      readiness.PrereqExec,
	sshexec.PhaseWait:      readiness.PrereqExec,
}

// signalName is what a signal name the node reports must look like to be
// repeated in a Detail.
var signalName = regexp.MustCompile(`^[A-Z0-9]{1,16}$`)

// interpret turns a completed run of the script into facts or a failure.
func interpret(res *sshexec.Result) (*readiness.Facts, *readiness.TransportFailure) {
	fail := func(code readiness.Code, detail string) (*readiness.Facts, *readiness.TransportFailure) {
		return nil, &readiness.TransportFailure{Code: code, Detail: detail, Reached: readiness.PrereqExec}
	}
	switch {
	case res.ExitSignal != "":
		sig := "a signal"
		if signalName.MatchString(res.ExitSignal) {
			sig = "signal " + res.ExitSignal
		}
		return fail(readiness.CodeProbeInterrupted, "the probe was killed by "+sig)
	case res.StdoutTruncated:
		return fail(readiness.CodeProbeOutputInvalid, "the probe's output exceeds the client's limit")
	case res.ExitStatus != 0 && !bytes.Contains(res.Stdout, []byte("pressluft-probe ")):
		return fail(readiness.CodeSSHExecRejected,
			fmt.Sprintf("the login shell did not run the probe (exit status %d)", res.ExitStatus))
	}
	facts, err := Parse(res.Stdout)
	if err != nil {
		var oe *OutputError
		detail := "the probe's output is invalid"
		if errors.As(err, &oe) {
			detail = oe.detail()
		}
		return fail(readiness.CodeProbeOutputInvalid, detail)
	}
	return facts, nil
}
