package readiness

import (
	"fmt"
	"strings"
	"time"
)

// Report is the outcome of one readiness evaluation. Its JSON form is the
// schema the HTTP API serves; it never holds raw remote output or secrets.
type Report struct {
	NodeID    string `json:"node_id"`
	Operation string `json:"operation,omitempty"`
	State     State  `json:"state"`
	// PrimaryReason is the code of Reasons[0], the most upstream blocking
	// failure (the root cause); empty when the node is ready.
	PrimaryReason Code      `json:"primary_reason,omitempty"`
	CheckedAt     time.Time `json:"checked_at,omitzero"`
	DurationMS    int64     `json:"duration_ms"`
	// Transport is how the node was reached: always "ssh".
	Transport string     `json:"transport"`
	Reasons   []Reason   `json:"reasons"`
	Checks    []Check    `json:"checks"`
	Inventory *Inventory `json:"inventory,omitempty"`
}

// Reason is one failed prerequisite with what to do about it.
type Reason struct {
	Code         Code         `json:"code"`
	Prerequisite Prerequisite `json:"prerequisite"`
	Component    string       `json:"component,omitempty"`
	Message      string       `json:"message"`
	Remediation  string       `json:"remediation"`
	Severity     Severity     `json:"severity"`
	Retryable    bool         `json:"retryable"`
	Observed     string       `json:"observed,omitempty"`
	Required     string       `json:"required,omitempty"`
}

// CheckStatus is the outcome of one check.
type CheckStatus string

const (
	CheckPass    CheckStatus = "pass"
	CheckFail    CheckStatus = "fail"
	CheckWarn    CheckStatus = "warn"
	CheckSkipped CheckStatus = "skipped"
)

// Check is one observed (or unobservable) prerequisite.
type Check struct {
	// Name is the stable check name ("tcp", "sudo", "os", "installed",
	// "version", "service", "extension", ...).
	Name         string       `json:"name"`
	Prerequisite Prerequisite `json:"prerequisite"`
	Component    string       `json:"component,omitempty"`
	Status       CheckStatus  `json:"status"`
	Code         Code         `json:"code,omitempty"`
	Observed     string       `json:"observed,omitempty"`
	Required     string       `json:"required,omitempty"`
	// BlockedBy names the code that kept a skipped check from being
	// observed.
	BlockedBy Code `json:"blocked_by,omitempty"`
}

// Inventory is what the probe found on the node, whatever the policy.
type Inventory struct {
	OS            OSRelease            `json:"os"`
	Systemd       bool                 `json:"systemd"`
	Components    []InventoryComponent `json:"components"`
	PHPExtensions []string             `json:"php_extensions"`
}

// InventoryComponent is one component in an Inventory.
type InventoryComponent struct {
	Name      string       `json:"name"`
	Installed bool         `json:"installed"`
	Version   string       `json:"version,omitempty"`
	Package   string       `json:"package,omitempty"`
	Unit      string       `json:"unit,omitempty"`
	Service   ServiceState `json:"service,omitempty"`
}

// Ready reports whether the node may take work.
func (r Report) Ready() bool { return r.State == StateReady }

// Blocking returns the reasons that block work, in report order.
func (r Report) Blocking() []Reason {
	var out []Reason
	for _, x := range r.Reasons {
		if x.Severity == SeverityBlocking {
			out = append(out, x)
		}
	}
	return out
}

// Retryable reports whether every blocking reason may clear by itself
// (pending acquisition, an unreachable node), so a client may retry later.
// A pending report is always retryable: what fails downstream of a node
// still booting (node_booting) may be its first boot's unfinished work,
// such as packages cloud-init has yet to install.
func (r Report) Retryable() bool {
	if r.State == StatePending {
		return true
	}
	b := r.Blocking()
	if len(b) == 0 {
		return false
	}
	for _, x := range b {
		if !x.Retryable {
			return false
		}
	}
	return true
}

// Summary is a one-line, operator-safe description of the report, such as
// "not_ready: sudo_password_required (+2 more)".
func (r Report) Summary() string {
	b := r.Blocking()
	switch len(b) {
	case 0:
		return string(r.State)
	case 1:
		return fmt.Sprintf("%s: %s", r.State, reasonLabel(b[0]))
	default:
		return fmt.Sprintf("%s: %s (+%d more)", r.State, reasonLabel(b[0]), len(b)-1)
	}
}

func reasonLabel(x Reason) string {
	if x.Component != "" {
		return string(x.Code) + " (" + x.Component + ")"
	}
	return string(x.Code)
}

// Stale returns a copy of r marked unknown because it is older than the
// caller's freshness limit. The old reasons and checks are kept for
// context, but readiness_stale leads and blocks.
func (r Report) Stale() Report {
	s := r
	s.Reasons = append([]Reason{newReason(CodeReadinessStale, Policy{}, "", "", "", "")}, r.Reasons...)
	s.Checks = append([]Check(nil), r.Checks...)
	s.State = StateUnknown
	s.PrimaryReason = CodeReadinessStale
	return s
}

// newReason builds a reason from the registry, with remediation specific to
// the component, unit and user where those are known.
func newReason(c Code, p Policy, component, observed, required, user string) Reason {
	info, _ := Lookup(c)
	rem := info.Remediation
	if user != "" {
		rem = strings.ReplaceAll(rem, "USER", user)
	}
	return Reason{
		Code:         c,
		Prerequisite: info.Prerequisite,
		Component:    component,
		Message:      info.Message,
		Remediation:  rem,
		Severity:     p.severity(c),
		Retryable:    info.Retryable,
		Observed:     observed,
		Required:     required,
	}
}

// NoCandidate is the report of an operation that had no node to run on
// at all: not_ready with no_candidate_node, as one failed "candidates"
// check. It is blocking under every policy.
func NoCandidate(op Operation, at time.Time) Report {
	info, _ := Lookup(CodeNoCandidateNode)
	return Report{
		Operation: string(op),
		CheckedAt: at.UTC(),
		Transport: TransportSSH,
		State:     StateNotReady,
		Reasons: []Reason{{
			Code: CodeNoCandidateNode, Prerequisite: PrereqLifecycle,
			Message: info.Message, Remediation: info.Remediation,
			Severity: SeverityBlocking, Retryable: info.Retryable,
		}},
		Checks: []Check{{
			Name: "candidates", Prerequisite: PrereqLifecycle, Status: CheckFail,
			Code: CodeNoCandidateNode, Required: "at least one node",
		}},
		PrimaryReason: CodeNoCandidateNode,
	}
}
