package preflight

import (
	"fmt"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// ProbeEvent describes one finished probe, for Config.ProbeObserver.
type ProbeEvent struct {
	NodeID string
	// Duration is the observation's Duration: the Prober's own
	// measurement of the round trip, or, if it set none, the gate's from
	// when the probe got its fleet slot (queueing for a slot excluded).
	Duration time.Duration
	// Failure is the transport failure's code (ssh_unreachable,
	// ssh_auth_failed, ...), or "" when the round trip completed and
	// facts were read, ready or not. ssh_credentials_unavailable means
	// the node was not dialed at all.
	Failure readiness.Code
}

func probeEvent(obs readiness.Observation) ProbeEvent {
	ev := ProbeEvent{NodeID: obs.NodeID, Duration: obs.Duration}
	if obs.Transport != nil {
		ev.Failure = obs.Transport.Code
	}
	return ev
}

// notifyProbe calls the ProbeObserver, recovering a panic.
func (g *Gate) notifyProbe(ev ProbeEvent) {
	if g.cfg.ProbeObserver == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			g.cfg.Logger.Error("preflight: probe observer panicked", "node", ev.NodeID, "panic", truncate(fmt.Sprint(v), 200))
		}
	}()
	g.cfg.ProbeObserver(ev)
}
