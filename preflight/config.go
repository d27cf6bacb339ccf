package preflight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// Prober observes one node over SSH. *probe.Prober satisfies it.
// Observe must not panic and must return by ctx's deadline; the gate
// recovers a panic anyway (see the package doc).
type Prober interface {
	Observe(ctx context.Context, nodeID string, t sshexec.Target) readiness.Observation
}

// Mode says what the gate does with a node that is not ready.
type Mode string

const (
	// ModeEnforce refuses the operation. It is the default.
	ModeEnforce Mode = "enforce"
	// ModeWarn admits the operation and records the refusal it would
	// have made (Decision.WouldRefuse, Decision.Waived): the rollback
	// lever for checks that turn out to be too strict.
	ModeWarn Mode = "warn"
)

// Defaults of the zero Config fields.
const (
	DefaultReadyTTL            = 60 * time.Second
	DefaultFailTTL             = 10 * time.Second
	DefaultProbeTimeout        = 10 * time.Second
	DefaultStaleAfter          = 10 * time.Minute
	DefaultMaxConcurrentProbes = 16
	DefaultAuthFailBackoff     = 2 * time.Minute
	DefaultAuthFailBackoffMax  = 10 * time.Minute
)

// ErrInvalidConfig is wrapped by New's errors.
var ErrInvalidConfig = errors.New("preflight: invalid config")

// Config configures a Gate. New copies it; the gate never changes it, and
// changing the caller's copy (or its CodeModes map) afterwards has no
// effect.
type Config struct {
	// Nodes looks up node records. Required.
	Nodes NodeSource
	// Credentials supplies each node's client keys and host-key policy:
	// FileCredentials for key files named by the node records. Required.
	Credentials Credentials
	// Prober runs the probe. Required; *probe.Prober in production.
	Prober Prober

	// Policy returns the policy an operation is checked against; nil
	// means readiness.PolicyFor. It is called when an observation is
	// first evaluated for an operation, not on every Check, so a changed
	// policy takes effect with the next probe (within ReadyTTL). It is
	// called with a per-node lock held: it must be quick and must not
	// call the Gate.
	Policy func(readiness.Operation) readiness.Policy
	// DefaultOperation is the operation whose policy decides a node's
	// own state: Report, Refresh, Status and the Monitor. ""
	// means readiness.OperationSiteCreate, the strictest.
	DefaultOperation readiness.Operation

	// Mode is what happens to a node that is not ready; "" means
	// ModeEnforce. ModeWarn admits every blocking reason except the
	// lifecycle codes node_acquiring, node_provisioning and
	// node_decommissioned, which come from the control plane's own
	// records rather than from a check; CodeModes can still name them.
	Mode Mode
	// CodeModes overrides Mode per reason code: a node whose blocking
	// reasons are all in warn mode is admitted with the reasons recorded;
	// one enforced blocking reason refuses. nil means none.
	CodeModes map[readiness.Code]Mode

	// ReadyTTL is how long an observation that makes a node ready for an
	// operation is reused for that operation; 0 means DefaultReadyTTL.
	ReadyTTL time.Duration
	// FailTTL is how long an observation that does not make a node ready
	// is reused, so failures are re-probed sooner; 0 means
	// DefaultFailTTL.
	FailTTL time.Duration
	// AuthFailBackoff is how long a refusal for ssh_auth_failed (or
	// ssh_banned_suspected) is reused instead of FailTTL: by Check,
	// Choose and the Monitor alike, so that neither create retries nor
	// monitor ticks add failed logins to the node's fail2ban. It doubles
	// with each consecutive auth failure, up to AuthFailBackoffMax; any
	// other outcome resets it, and Refresh still probes at once. 0 means
	// DefaultAuthFailBackoff (2m). With the defaults the gate's own
	// probes land at 0, 2, 6, 14, 24, 34... minutes: at most 3 failed
	// logins in any 10 minutes, under fail2ban's default maxretry 5 in
	// findtime 10m (a FailTTL of 10s doubling would fit 6).
	AuthFailBackoff time.Duration
	// AuthFailBackoffMax caps AuthFailBackoff's doubling; 0 means
	// DefaultAuthFailBackoffMax (10m).
	AuthFailBackoffMax time.Duration
	// StaleAfter is the age past which Report marks the last result
	// stale (readiness_stale); 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// ProbeTimeout bounds one probe, from when it gets a probe slot; 0
	// means DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// MaxConcurrentProbes bounds the probes running at once across the
	// fleet; 0 means DefaultMaxConcurrentProbes.
	MaxConcurrentProbes int

	// Observer, if not nil, is called synchronously once per Check
	// decision, after the decision is made and before Check returns. Keep
	// it cheap (a counter, a log line, a buffered channel send); a panic
	// in it is recovered and logged. The Decision's Report is shared:
	// treat it as read-only.
	Observer func(Decision)
	// ProbeObserver, if not nil, is called synchronously once per probe
	// the gate runs (for Check, Choose, Refresh and the Monitor alike),
	// when the probe has finished and before the callers waiting for it
	// are woken: the place to time probes, since one probe can serve
	// many Checks and a Check's Duration includes queueing. Keep it
	// cheap; a panic in it is recovered and logged. A probe interrupted
	// by Close is not reported.
	ProbeObserver func(ProbeEvent)
	// Memory, if not nil, keeps each node's last observation and
	// auth-failure history across restarts of the control plane (see
	// MemoryStore): loaded once per node when the gate first needs it,
	// saved after every probe, so that a restarted gate reuses a fresh
	// report, keeps a node that refused its key in backoff and still
	// suspects a ban. nil means the gate remembers in memory only, and a
	// restart forgets.
	Memory MemoryStore
	// Logger receives probe panics, failed credential look-ups and
	// failed or unusable Memory loads and saves; nil
	// means no logging. Nothing logged holds keys or remote output.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// withDefaults returns a validated, defaulted copy of c.
func (c Config) withDefaults() (Config, error) {
	if c.Nodes == nil {
		return c, fmt.Errorf("%w: Nodes is required", ErrInvalidConfig)
	}
	if c.Credentials == nil {
		return c, fmt.Errorf("%w: Credentials is required", ErrInvalidConfig)
	}
	if c.Prober == nil {
		return c, fmt.Errorf("%w: Prober is required", ErrInvalidConfig)
	}
	if c.Policy == nil {
		c.Policy = readiness.PolicyFor
	}
	if c.DefaultOperation == "" {
		c.DefaultOperation = readiness.OperationSiteCreate
	}
	if c.Mode == "" {
		c.Mode = ModeEnforce
	}
	if !validMode(c.Mode) {
		return c, fmt.Errorf("%w: unknown mode %q", ErrInvalidConfig, c.Mode)
	}
	c.CodeModes = maps.Clone(c.CodeModes)
	for code, m := range c.CodeModes {
		if _, ok := readiness.Lookup(code); !ok {
			return c, fmt.Errorf("%w: CodeModes: unknown code %q", ErrInvalidConfig, code)
		}
		if !validMode(m) {
			return c, fmt.Errorf("%w: CodeModes: code %q: unknown mode %q", ErrInvalidConfig, code, m)
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReadyTTL", &c.ReadyTTL, DefaultReadyTTL},
		{"FailTTL", &c.FailTTL, DefaultFailTTL},
		{"StaleAfter", &c.StaleAfter, DefaultStaleAfter},
		{"ProbeTimeout", &c.ProbeTimeout, DefaultProbeTimeout},
		{"AuthFailBackoff", &c.AuthFailBackoff, DefaultAuthFailBackoff},
		{"AuthFailBackoffMax", &c.AuthFailBackoffMax, DefaultAuthFailBackoffMax},
	} {
		if *d.v < 0 {
			return c, fmt.Errorf("%w: %s is negative", ErrInvalidConfig, d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.AuthFailBackoffMax < c.AuthFailBackoff {
		c.AuthFailBackoffMax = c.AuthFailBackoff
	}
	if c.MaxConcurrentProbes < 0 {
		return c, fmt.Errorf("%w: MaxConcurrentProbes is negative", ErrInvalidConfig)
	}
	if c.MaxConcurrentProbes == 0 {
		c.MaxConcurrentProbes = DefaultMaxConcurrentProbes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

func validMode(m Mode) bool { return m == ModeEnforce || m == ModeWarn }

// modeOf is the effective mode of a blocking reason code.
func (c *Config) modeOf(code readiness.Code) Mode {
	if m, ok := c.CodeModes[code]; ok {
		return m
	}
	switch code {
	case readiness.CodeNodeAcquiring, readiness.CodeNodeProvisioning, readiness.CodeNodeDecommissioned:
		return ModeEnforce
	}
	return c.Mode
}
