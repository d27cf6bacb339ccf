package readiness

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func readyFacts() *Facts {
	return &Facts{
		ScriptVersion: 1,
		OS:            OSRelease{ID: "ubuntu", VersionID: "24.04"},
		Systemd:       true,
		Sudo:          SudoOK,
		Components: map[string]ComponentFacts{
			ComponentNginx:    {Installed: true, Version: "1.24.0", Unit: "nginx", Service: "active"},
			ComponentPHPFPM:   {Installed: true, Version: "8.3.6", Unit: "php8.3-fpm", Service: "active"},
			ComponentMariaDB:  {Installed: true, Version: "10.11.8", Unit: "mariadb", Service: "active"},
			ComponentRedis:    {Installed: true, Version: "7.0.15", Unit: "redis-server", Service: "active"},
			ComponentWPCLI:    {Installed: true, Version: "2.10.0"},
			ComponentFail2ban: {Installed: true, Version: "1.0.2", Unit: "fail2ban", Service: "active"},
			ComponentRsync:    {Installed: true, Version: "3.2.7"},
			ComponentUnzip:    {Installed: true, Version: "6.00"},
			ComponentCurl:     {Installed: true, Version: "8.5.0"},
		},
		PHPExtensions: []string{"core", "mysqli", "redis"},
		Health:        healthyHealth(),
	}
}

func probed(f *Facts) Observation {
	return Observation{NodeID: "n1", User: "pressluft", HasAddress: true, Probed: true, CheckedAt: t0, Duration: 42 * time.Millisecond, Facts: f}
}

func transport(c Code) Observation {
	o := probed(nil)
	o.Transport = &TransportFailure{Code: c, Detail: "detail"}
	return o
}

// reachedAt is transport(c) having got to step at of the SSH chain.
func reachedAt(c Code, at Prerequisite) Observation {
	o := transport(c)
	o.Transport.Reached = at
	return o
}

func mutate(fn func(f *Facts)) *Facts {
	f := readyFacts()
	fn(f)
	return f
}

type rc struct {
	Code      Code
	Component string
	Severity  Severity
}

func reasonsOf(r Report) []rc {
	var out []rc
	for _, x := range r.Reasons {
		out = append(out, rc{x.Code, x.Component, x.Severity})
	}
	return out
}

// checkOf finds a check by name and component.
func checkOf(t *testing.T, r Report, name, component string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name && c.Component == component {
			return c
		}
	}
	t.Fatalf("no check %s/%s in %+v", name, component, r.Checks)
	return Check{}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	b := func(c Code, comp string) rc { return rc{c, comp, SeverityBlocking} }
	tests := []struct {
		name    string
		obs     Observation
		policy  Policy
		op      Operation
		state   State
		reasons []rc
		// checks maps "name/component" to the wanted status and blocker.
		checks map[[2]string]Check
	}{
		{
			name: "ready", obs: probed(readyFacts()), policy: Baseline(), state: StateReady,
			checks: map[[2]string]Check{
				{"sudo", ""}:              {Status: CheckPass},
				{"version", "mariadb"}:    {Status: CheckPass},
				{"extension", "php-fpm"}:  {Status: CheckPass},
				{"service", "redis"}:      {Status: CheckPass},
				{"service_manager", ""}:   {Status: CheckPass},
				{"installed", "wp-cli"}:   {Status: CheckPass},
				{"installed", "fail2ban"}: {Status: CheckPass},
			},
		},
		{
			name: "acquiring is pending and not probed", obs: Observation{NodeID: "n1", Lifecycle: LifecycleAcquiring, HasAddress: false},
			policy: Baseline(), state: StatePending, reasons: []rc{b(CodeNodeAcquiring, "")},
			checks: map[[2]string]Check{
				{"address", ""}:         {Status: CheckSkipped, BlockedBy: CodeNodeAcquiring},
				{"tcp", ""}:             {Status: CheckSkipped, BlockedBy: CodeNodeAcquiring},
				{"sudo", ""}:            {Status: CheckSkipped, BlockedBy: CodeNodeAcquiring},
				{"installed", "nginx"}:  {Status: CheckSkipped, BlockedBy: CodeNodeAcquiring},
				{"service", "php-fpm"}:  {Status: CheckSkipped, BlockedBy: CodeNodeAcquiring},
				{"service_manager", ""}: {Status: CheckSkipped, BlockedBy: CodeNodeAcquiring},
			},
		},
		{
			name: "provisioning is pending", obs: Observation{NodeID: "n1", Lifecycle: LifecycleProvisioning, HasAddress: true},
			policy: Baseline(), state: StatePending, reasons: []rc{b(CodeNodeProvisioning, "")},
		},
		{
			name: "decommissioned", obs: Observation{NodeID: "n1", Lifecycle: LifecycleDecommissioned, HasAddress: true},
			policy: Baseline(), state: StateNotReady, reasons: []rc{b(CodeNodeDecommissioned, "")},
		},
		{
			name: "no address", obs: Observation{NodeID: "n1"}, policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeNodeAddressMissing, "")},
			checks:  map[[2]string]Check{{"auth", ""}: {Status: CheckSkipped, BlockedBy: CodeNodeAddressMissing}},
		},
		{
			name: "never probed is unknown", obs: Observation{NodeID: "n1", HasAddress: true}, policy: Baseline(), state: StateUnknown,
			reasons: []rc{b(CodeNodeNeverProbed, "")},
		},
		{
			name: "unreachable", obs: transport(CodeSSHUnreachable), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeSSHUnreachable, "")},
			checks: map[[2]string]Check{
				{"address", ""}:        {Status: CheckPass},
				{"tcp", ""}:            {Status: CheckFail, Code: CodeSSHUnreachable, Observed: "detail"},
				{"ssh_handshake", ""}:  {Status: CheckSkipped, BlockedBy: CodeSSHUnreachable},
				{"installed", "nginx"}: {Status: CheckSkipped, BlockedBy: CodeSSHUnreachable},
			},
		},
		{
			name: "host key mismatch", obs: transport(CodeSSHHostKeyMismatch), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeSSHHostKeyMismatch, "")},
			checks: map[[2]string]Check{
				{"ssh_handshake", ""}: {Status: CheckPass},
				{"host_key", ""}:      {Status: CheckFail, Code: CodeSSHHostKeyMismatch, Observed: "detail"},
				{"auth", ""}:          {Status: CheckSkipped, BlockedBy: CodeSSHHostKeyMismatch},
			},
		},
		{
			name: "invalid host certificate fails at host_key", obs: transport(CodeSSHHostCertInvalid), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeSSHHostCertInvalid, "")},
			checks: map[[2]string]Check{
				{"ssh_handshake", ""}: {Status: CheckPass},
				{"host_key", ""}:      {Status: CheckFail, Code: CodeSSHHostCertInvalid, Observed: "detail"},
				{"auth", ""}:          {Status: CheckSkipped, BlockedBy: CodeSSHHostCertInvalid},
			},
		},
		{
			name: "invalid node config fails at address", obs: transport(CodeNodeConfigInvalid), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeNodeConfigInvalid, "")},
			checks:  map[[2]string]Check{{"address", ""}: {Status: CheckFail, Code: CodeNodeConfigInvalid, Observed: "detail"}, {"tcp", ""}: {Status: CheckSkipped, BlockedBy: CodeNodeConfigInvalid}},
		},
		{
			name: "no usable key fails at auth", obs: transport(CodeSSHCredentialsUnavailable), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeSSHCredentialsUnavailable, "")},
			checks: map[[2]string]Check{
				{"tcp", ""}:      {Status: CheckSkipped, BlockedBy: CodeSSHCredentialsUnavailable},
				{"host_key", ""}: {Status: CheckSkipped, BlockedBy: CodeSSHCredentialsUnavailable},
				{"auth", ""}:     {Status: CheckFail, Code: CodeSSHCredentialsUnavailable, Observed: "detail"},
				{"exec", ""}:     {Status: CheckSkipped, BlockedBy: CodeSSHCredentialsUnavailable},
			},
		},
		{
			name: "interrupted in the handshake: only tcp was observed", obs: reachedAt(CodeProbeInterrupted, PrereqSSHHandshake), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeProbeInterrupted, "")},
			checks: map[[2]string]Check{
				{"tcp", ""}:           {Status: CheckPass},
				{"ssh_handshake", ""}: {Status: CheckSkipped, BlockedBy: CodeProbeInterrupted},
				{"auth", ""}:          {Status: CheckSkipped, BlockedBy: CodeProbeInterrupted},
				{"exec", ""}:          {Status: CheckFail, Code: CodeProbeInterrupted, Observed: "detail"},
			},
		},
		{
			name: "Reached past the code's step changes nothing", obs: reachedAt(CodeSSHAuthFailed, PrereqExec), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeSSHAuthFailed, "")},
			checks: map[[2]string]Check{
				{"host_key", ""}: {Status: CheckPass},
				{"auth", ""}:     {Status: CheckFail, Code: CodeSSHAuthFailed, Observed: "detail"},
				{"exec", ""}:     {Status: CheckSkipped, BlockedBy: CodeSSHAuthFailed},
			},
		},
		{
			name: "code outside the chain after exec started", obs: reachedAt(CodeReadinessStale, PrereqExec), policy: Baseline(), state: StateUnknown,
			reasons: []rc{b(CodeReadinessStale, "")},
			checks: map[[2]string]Check{
				{"tcp", ""}:  {Status: CheckPass},
				{"auth", ""}: {Status: CheckPass},
				{"exec", ""}: {Status: CheckFail, Code: CodeReadinessStale, Observed: "detail"},
			},
		},
		{
			name: "probe timeout", obs: transport(CodeProbeTimeout), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeProbeTimeout, "")},
			checks:  map[[2]string]Check{{"auth", ""}: {Status: CheckPass}, {"exec", ""}: {Status: CheckFail, Code: CodeProbeTimeout, Observed: "detail"}},
		},
		{
			name: "no facts and no failure is never a pass", obs: probed(nil), policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeProbeOutputInvalid, "")},
		},
		{
			name: "cascade: root cause first, observed checks still reported",
			obs: probed(mutate(func(f *Facts) {
				f.Sudo = SudoPasswordRequired
				f.OS = OSRelease{ID: "debian", VersionID: "12"}
				delete(f.Components, ComponentPHPFPM)
				f.Components[ComponentMariaDB] = ComponentFacts{Installed: true, Version: "10.6.18", Unit: "mariadb", Service: "active"}
			})),
			policy: Baseline(), state: StateNotReady,
			reasons: []rc{
				b(CodeSudoPasswordRequired, ""), b(CodeOSUnsupported, ""),
				b(CodeRuntimeComponentMissing, "php-fpm"), b(CodeRuntimeVersionUnsupported, "mariadb"),
			},
			checks: map[[2]string]Check{
				{"os", ""}:                {Status: CheckFail, Code: CodeOSUnsupported, Observed: "debian-12", Required: "ubuntu-24.04"},
				{"installed", "php-fpm"}:  {Status: CheckFail, Code: CodeRuntimeComponentMissing, Observed: "missing", Required: "installed"},
				{"extension", "php-fpm"}:  {Status: CheckSkipped, BlockedBy: CodeRuntimeComponentMissing, Required: "redis"},
				{"service", "php-fpm"}:    {Status: CheckSkipped, BlockedBy: CodeRuntimeComponentMissing, Required: "active"},
				{"version", "mariadb"}:    {Status: CheckFail, Code: CodeRuntimeVersionUnsupported, Observed: "10.6.18", Required: ">= 10.11"},
				{"installed", "fail2ban"}: {Status: CheckPass, Observed: "installed", Required: "installed"},
			},
		},
		{
			name:   "no systemd",
			obs:    probed(mutate(func(f *Facts) { f.Systemd = false })),
			policy: Baseline(), state: StateNotReady, reasons: []rc{b(CodeServiceManagerUnavailable, "")},
			checks: map[[2]string]Check{
				{"service", "nginx"}:  {Status: CheckSkipped, BlockedBy: CodeServiceManagerUnavailable, Required: "active"},
				{"version", "nginx"}:  {Status: CheckPass, Observed: "1.24.0", Required: ">= 1.22"},
				{"installed", "curl"}: {Status: CheckPass, Observed: "installed", Required: "installed"},
			},
		},
		{
			name: "inactive service, missing extension, unreadable version",
			obs: probed(mutate(func(f *Facts) {
				f.Components[ComponentNginx] = ComponentFacts{Installed: true, Version: "1.24.0", Unit: "nginx", Service: "failed"}
				f.Components[ComponentRedis] = ComponentFacts{Installed: true, Version: "", Unit: "redis-server", Service: "active"}
				f.PHPExtensions = []string{"core"}
			})),
			policy: Baseline(), state: StateNotReady,
			reasons: []rc{b(CodeRuntimeVersionUnsupported, "redis"), b(CodeRuntimeExtensionMissing, "php-fpm"), b(CodeRuntimeServiceInactive, "nginx")},
		},
		{
			name: "sudo messages map to their codes",
			obs:  probed(mutate(func(f *Facts) { f.Sudo = SudoTTYRequired })), policy: Baseline(),
			state: StateNotReady, reasons: []rc{b(CodeSudoTTYRequired, "")},
		},
		{
			name: "unrecognised sudo failure is said, not guessed", obs: probed(mutate(func(f *Facts) { f.Sudo = SudoFailed })), policy: Baseline(),
			state: StateNotReady, reasons: []rc{b(CodeSudoFailed, "")},
		},
		{
			name: "sudo missing", obs: probed(mutate(func(f *Facts) { f.Sudo = SudoMissing })), policy: Baseline(),
			state: StateNotReady, reasons: []rc{b(CodeSudoMissing, "")},
		},
		{
			name: "sudo not permitted", obs: probed(mutate(func(f *Facts) { f.Sudo = SudoNotPermitted })), policy: Baseline(),
			state: StateNotReady, reasons: []rc{b(CodeSudoNotPermitted, "")},
		},
		{
			name:   "downgraded code warns and admits",
			obs:    probed(mutate(func(f *Facts) { delete(f.Components, ComponentFail2ban) })),
			policy: Baseline().WithSeverity(CodeRuntimeComponentMissing, SeverityWarning),
			state:  StateReady, reasons: []rc{{CodeRuntimeComponentMissing, "fail2ban", SeverityWarning}},
			checks: map[[2]string]Check{{"installed", "fail2ban"}: {Status: CheckWarn, Code: CodeRuntimeComponentMissing, Observed: "missing", Required: "installed"}},
		},
		{
			name:   "env_create does not need fail2ban",
			obs:    probed(mutate(func(f *Facts) { delete(f.Components, ComponentFail2ban) })),
			policy: PolicyFor(OperationEnvCreate), op: OperationEnvCreate, state: StateReady,
		},
		{
			name:   "site_create needs fail2ban",
			obs:    probed(mutate(func(f *Facts) { delete(f.Components, ComponentFail2ban) })),
			policy: PolicyFor(OperationSiteCreate), op: OperationSiteCreate, state: StateNotReady,
			reasons: []rc{b(CodeRuntimeComponentMissing, "fail2ban")},
		},
		{
			name:   "another OS allowed",
			obs:    probed(mutate(func(f *Facts) { f.OS = OSRelease{ID: "debian", VersionID: "12"} })),
			policy: Baseline().WithAllowedOS(OSRelease{ID: "debian", VersionID: "12"}), state: StateReady,
		},
		{
			name:   "raised minimum version",
			obs:    probed(readyFacts()),
			policy: Baseline().WithMinVersion(ComponentNginx, "1.26"), state: StateNotReady,
			reasons: []rc{b(CodeRuntimeVersionUnsupported, "nginx")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Evaluate(tt.obs, tt.policy, tt.op)
			if r.State != tt.state {
				t.Errorf("state = %s, want %s (%s)", r.State, tt.state, r.Summary())
			}
			if diff := cmp.Diff(tt.reasons, reasonsOf(r)); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			wantPrimary := Code("")
			for _, x := range tt.reasons {
				if x.Severity == SeverityBlocking {
					wantPrimary = x.Code
					break
				}
			}
			if r.PrimaryReason != wantPrimary {
				t.Errorf("primary = %q, want %q", r.PrimaryReason, wantPrimary)
			}
			for k, want := range tt.checks {
				got := checkOf(t, r, k[0], k[1])
				want.Name, want.Component, want.Prerequisite = got.Name, got.Component, got.Prerequisite
				// Observed and Required are asserted where the case names them.
				if want.Observed == "" {
					want.Observed = got.Observed
				}
				if want.Required == "" {
					want.Required = got.Required
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("check %v (-want +got):\n%s", k, diff)
				}
			}
			if r.Transport != TransportSSH {
				t.Errorf("transport = %q, want ssh", r.Transport)
			}
			for _, x := range r.Reasons {
				if x.Remediation == "" || x.Message == "" {
					t.Errorf("reason %s has empty message or remediation", x.Code)
				}
			}
		})
	}
}

// TestEvaluateUnobservedIsNeverPass writes out, for every failure that
// stops a readiness check before the SSH round trip observed anything, the
// report's checks up to exec: only what the control plane's own record
// shows (lifecycle, address) may pass, the failing check fails, and every
// step of the chain the round trip did not observe is skipped, blocked by
// the failure. Every later check is skipped, blocked by it too.
func TestEvaluateUnobservedIsNeverPass(t *testing.T) {
	t.Parallel()
	pass := func(name string) Check { return Check{Name: name, Status: CheckPass} }
	fail := func(name string, c Code) Check { return Check{Name: name, Status: CheckFail, Code: c} }
	skip := func(name string, c Code) Check { return Check{Name: name, Status: CheckSkipped, BlockedBy: c} }
	chainSkipped := func(c Code) []Check {
		return []Check{skip("tcp", c), skip("ssh_handshake", c), skip("host_key", c), skip("auth", c), skip("exec", c)}
	}
	// As preflight's gate builds them: the gate sets HasAddress and
	// Probed for every node it hands to the Prober, whatever came back.
	gate := func(c Code, detail string) Observation {
		o := probed(nil)
		o.Transport = &TransportFailure{Code: c, Detail: detail}
		return o
	}
	const cred = CodeSSHCredentialsUnavailable
	tests := []struct {
		name    string
		obs     Observation
		state   State // "" leaves the state unasserted
		primary Code
		// checks are the wanted checks up to and including exec, in
		// report order.
		checks []Check
	}{
		{
			name: "credentials unavailable: no client key", obs: gate(cred, "no client key is configured for the node"),
			state: StateNotReady, primary: cred,
			checks: []Check{pass("lifecycle"), pass("address"), skip("tcp", cred), skip("ssh_handshake", cred), skip("host_key", cred), fail("auth", cred), skip("exec", cred)},
		},
		{
			name: "credentials unavailable: keys could not be loaded", obs: gate(cred, "the node's client keys could not be loaded"),
			state: StateNotReady, primary: cred,
			checks: []Check{pass("lifecycle"), pass("address"), skip("tcp", cred), skip("ssh_handshake", cred), skip("host_key", cred), fail("auth", cred), skip("exec", cred)},
		},
		{
			name: "credentials unavailable: agent holds no key", obs: gate(cred, "no client keys: the ssh agent holds none"),
			state: StateNotReady, primary: cred,
			checks: []Check{pass("lifecycle"), pass("address"), skip("tcp", cred), skip("ssh_handshake", cred), skip("host_key", cred), fail("auth", cred), skip("exec", cred)},
		},
		{
			name: "node config invalid", obs: Observation{NodeID: "n1", HasAddress: true, Transport: &TransportFailure{Code: CodeNodeConfigInvalid, Detail: "empty SSH user"}},
			state: StateNotReady, primary: CodeNodeConfigInvalid,
			checks: append([]Check{pass("lifecycle"), fail("address", CodeNodeConfigInvalid)}, chainSkipped(CodeNodeConfigInvalid)...),
		},
		{
			name: "never probed", obs: Observation{NodeID: "n1", HasAddress: true},
			state: StateUnknown, primary: CodeNodeNeverProbed,
			checks: append([]Check{pass("lifecycle"), pass("address"), fail("probe", CodeNodeNeverProbed)}, chainSkipped(CodeNodeNeverProbed)...),
		},
		{
			name: "not probed although a transport failure is set", obs: Observation{NodeID: "n1", HasAddress: true, Transport: &TransportFailure{Code: CodeSSHAuthFailed}},
			state: StateUnknown, primary: CodeNodeNeverProbed,
			checks: append([]Check{pass("lifecycle"), pass("address"), fail("probe", CodeNodeNeverProbed)}, chainSkipped(CodeNodeNeverProbed)...),
		},
		{
			name: "not probed although facts are set", obs: Observation{NodeID: "n1", HasAddress: true, Facts: readyFacts()},
			state: StateUnknown, primary: CodeNodeNeverProbed,
			checks: append([]Check{pass("lifecycle"), pass("address"), fail("probe", CodeNodeNeverProbed)}, chainSkipped(CodeNodeNeverProbed)...),
		},
		{
			name: "address missing", obs: Observation{NodeID: "n1", Probed: true, Transport: &TransportFailure{Code: CodeSSHUnreachable}},
			state: StateNotReady, primary: CodeNodeAddressMissing,
			checks: append([]Check{pass("lifecycle"), fail("address", CodeNodeAddressMissing)}, chainSkipped(CodeNodeAddressMissing)...),
		},
		{
			name: "acquiring", obs: Observation{NodeID: "n1", Lifecycle: LifecycleAcquiring},
			state: StatePending, primary: CodeNodeAcquiring,
			checks: append([]Check{fail("lifecycle", CodeNodeAcquiring), skip("address", CodeNodeAcquiring)}, chainSkipped(CodeNodeAcquiring)...),
		},
		{
			name: "provisioning with an address", obs: Observation{NodeID: "n1", Lifecycle: LifecycleProvisioning, HasAddress: true},
			state: StatePending, primary: CodeNodeProvisioning,
			checks: append([]Check{fail("lifecycle", CodeNodeProvisioning), skip("address", CodeNodeProvisioning)}, chainSkipped(CodeNodeProvisioning)...),
		},
		{
			name: "decommissioned with facts from an earlier probe", obs: func() Observation {
				o := probed(readyFacts())
				o.Lifecycle = LifecycleDecommissioned
				return o
			}(),
			state: StateNotReady, primary: CodeNodeDecommissioned,
			checks: append([]Check{fail("lifecycle", CodeNodeDecommissioned), skip("address", CodeNodeDecommissioned)}, chainSkipped(CodeNodeDecommissioned)...),
		},
		{
			name: "no facts and no failure", obs: probed(nil),
			state: StateNotReady, primary: CodeProbeOutputInvalid,
			checks: []Check{
				pass("lifecycle"), pass("address"),
				skip("tcp", CodeProbeOutputInvalid), skip("ssh_handshake", CodeProbeOutputInvalid), skip("host_key", CodeProbeOutputInvalid), skip("auth", CodeProbeOutputInvalid),
				fail("exec", CodeProbeOutputInvalid),
			},
		},
		{
			// sshexec's code for a target without a host; outside the
			// chain, it says nothing of how far the round trip got.
			name: "registered code outside the chain", obs: gate(CodeNodeAddressMissing, "empty host"),
			state: StateNotReady, primary: CodeNodeAddressMissing,
			checks: []Check{
				pass("lifecycle"), pass("address"),
				skip("tcp", CodeNodeAddressMissing), skip("ssh_handshake", CodeNodeAddressMissing), skip("host_key", CodeNodeAddressMissing), skip("auth", CodeNodeAddressMissing),
				fail("exec", CodeNodeAddressMissing),
			},
		},
		{
			// sshexec's code for a target without a host key policy,
			// decided before dialing.
			name: "host key unknown before dialing", obs: reachedAt(CodeSSHHostKeyUnknown, PrereqTCP),
			state: StateNotReady, primary: CodeSSHHostKeyUnknown,
			checks: []Check{
				pass("lifecycle"), pass("address"),
				skip("tcp", CodeSSHHostKeyUnknown), skip("ssh_handshake", CodeSSHHostKeyUnknown), fail("host_key", CodeSSHHostKeyUnknown),
				skip("auth", CodeSSHHostKeyUnknown), skip("exec", CodeSSHHostKeyUnknown),
			},
		},
		{
			name: "canceled before dialing", obs: reachedAt(CodeProbeInterrupted, PrereqTCP),
			state: StateNotReady, primary: CodeProbeInterrupted,
			checks: []Check{
				pass("lifecycle"), pass("address"),
				skip("tcp", CodeProbeInterrupted), skip("ssh_handshake", CodeProbeInterrupted), skip("host_key", CodeProbeInterrupted), skip("auth", CodeProbeInterrupted),
				fail("exec", CodeProbeInterrupted),
			},
		},
		{
			name: "credentials unavailable whatever Reached claims", obs: reachedAt(cred, PrereqExec),
			state: StateNotReady, primary: cred,
			checks: []Check{pass("lifecycle"), pass("address"), skip("tcp", cred), skip("ssh_handshake", cred), skip("host_key", cred), fail("auth", cred), skip("exec", cred)},
		},
		{
			name: "Reached naming no step of the chain claims nothing", obs: reachedAt(CodeSSHAuthFailed, PrereqPrivilege),
			state: StateNotReady, primary: CodeSSHAuthFailed,
			checks: []Check{pass("lifecycle"), pass("address"), skip("tcp", CodeSSHAuthFailed), skip("ssh_handshake", CodeSSHAuthFailed), skip("host_key", CodeSSHAuthFailed), fail("auth", CodeSSHAuthFailed), skip("exec", CodeSSHAuthFailed)},
		},
		{
			// A code this version does not know fails closed, as
			// unreadable probe output, never ready.
			name: "unknown code", obs: gate("vendor_specific", "x"),
			state: StateNotReady, primary: CodeProbeOutputInvalid,
			checks: []Check{
				pass("lifecycle"), pass("address"),
				skip("tcp", CodeProbeOutputInvalid), skip("ssh_handshake", CodeProbeOutputInvalid), skip("host_key", CodeProbeOutputInvalid), skip("auth", CodeProbeOutputInvalid),
				fail("exec", CodeProbeOutputInvalid),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Evaluate(tt.obs, Baseline(), OperationSiteCreate)
			if tt.state != "" && r.State != tt.state {
				t.Errorf("state: got %s, want %s (%s)", r.State, tt.state, r.Summary())
			}
			if tt.state != "" && r.PrimaryReason != tt.primary {
				t.Errorf("primary reason: got %q, want %q", r.PrimaryReason, tt.primary)
			}
			if len(r.Checks) < len(tt.checks) {
				t.Fatalf("got %d checks, want at least %d: %+v", len(r.Checks), len(tt.checks), r.Checks)
			}
			var got []Check
			for _, c := range r.Checks[:len(tt.checks)] {
				got = append(got, Check{Name: c.Name, Status: c.Status, Code: c.Code, BlockedBy: c.BlockedBy})
			}
			if diff := cmp.Diff(tt.checks, got); diff != "" {
				t.Errorf("checks up to exec (-want +got):\n%s", diff)
			}
			blocker := tt.checks[len(tt.checks)-1].Code
			if blocker == "" {
				blocker = tt.checks[len(tt.checks)-1].BlockedBy
			}
			for _, c := range r.Checks[len(tt.checks):] {
				if c.Status != CheckSkipped || c.BlockedBy != blocker {
					t.Errorf("check %s/%s: got %s blocked by %q, want skipped blocked by %s", c.Name, c.Component, c.Status, c.BlockedBy, blocker)
				}
			}
			for _, c := range r.Checks {
				if c.Status == CheckPass && c.Name != "lifecycle" && c.Name != "address" {
					t.Errorf("check %s/%s passes, but nothing of the node was observed", c.Name, c.Component)
				}
			}
		})
	}
}

func TestEvaluateRemediationIsSpecific(t *testing.T) {
	t.Parallel()
	r := Evaluate(probed(mutate(func(f *Facts) {
		f.Sudo = SudoPasswordRequired
		f.Components[ComponentPHPFPM] = ComponentFacts{Installed: true, Version: "8.3.6", Unit: "php8.3-fpm", Service: "inactive"}
		delete(f.Components, ComponentRsync)
	})), Baseline(), OperationSiteCreate)
	want := map[Code]string{
		CodeSudoPasswordRequired:    "echo 'pressluft ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft",
		CodeRuntimeServiceInactive:  "sudo systemctl enable --now php8.3-fpm",
		CodeRuntimeComponentMissing: "sudo apt-get install -y rsync",
	}
	for _, x := range r.Reasons {
		if w, ok := want[x.Code]; ok {
			if !bytes.Contains([]byte(x.Remediation), []byte(w)) {
				t.Errorf("%s remediation = %q, want it to contain %q", x.Code, x.Remediation, w)
			}
			delete(want, x.Code)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing reasons: %v", want)
	}
}

// TestServiceRemediationByState: each unit state gets the fix that works
// for it (a masked unit cannot be started before it is unmasked).
func TestServiceRemediationByState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state ServiceState
		want  []string
	}{
		{"inactive", []string{"sudo systemctl enable --now redis-server"}},
		{"masked", []string{"sudo systemctl unmask redis-server && sudo systemctl enable --now redis-server"}},
		{"failed", []string{"sudo journalctl -u redis-server", "sudo systemctl restart redis-server"}},
		{"activating", []string{"re-check", "sudo journalctl -u redis-server", "sudo systemctl restart redis-server"}},
		{"not-found", []string{"sudo apt-get install --reinstall -y redis-server", "sudo systemctl enable --now redis-server"}},
		{"bad-setting", []string{"sudo systemctl status redis-server", "daemon-reload"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			t.Parallel()
			r := Evaluate(probed(mutate(func(f *Facts) {
				c := f.Components[ComponentRedis]
				c.Service = tt.state
				f.Components[ComponentRedis] = c
			})), Baseline(), OperationSiteCreate)
			if len(r.Reasons) != 1 || r.Reasons[0].Code != CodeRuntimeServiceInactive {
				t.Fatalf("got reasons %+v, want one runtime_service_inactive", r.Reasons)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Reasons[0].Remediation, w) {
					t.Errorf("got remediation %q, want it to contain %q", r.Reasons[0].Remediation, w)
				}
			}
		})
	}
}

// TestReportGolden pins the JSON schema and proves determinism: the same
// observation evaluated twice gives byte-identical JSON.
func TestReportGolden(t *testing.T) {
	t.Parallel()
	obs := probed(mutate(func(f *Facts) {
		f.Sudo = SudoPasswordRequired
		delete(f.Components, ComponentPHPFPM)
		f.Components[ComponentNginx] = ComponentFacts{Installed: true, Version: "1.24.0", Unit: "nginx", Service: "inactive"}
	}))
	var outs [][]byte
	for i := 0; i < 3; i++ {
		// Rebuild the map each time so map iteration order varies.
		o := obs
		f := *obs.Facts
		f.Components = map[string]ComponentFacts{}
		for k, v := range obs.Facts.Components {
			f.Components[k] = v
		}
		o.Facts = &f
		b, err := json.MarshalIndent(Evaluate(o, Baseline(), OperationSiteCreate), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Fatalf("evaluation %d differs from the first:\n%s", i, cmp.Diff(string(outs[0]), string(outs[i])))
		}
	}
	golden := filepath.Join("testdata", "report_not_ready.json")
	if *update {
		if err := os.WriteFile(golden, append(outs[0], '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run go test ./readiness -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(outs[0])+"\n"); diff != "" {
		t.Errorf("report JSON differs from %s (-want +got):\n%s", golden, diff)
	}
}

func TestReportStaleAndRetryable(t *testing.T) {
	t.Parallel()
	ready := Evaluate(probed(readyFacts()), Baseline(), "")
	s := ready.Stale()
	if s.State != StateUnknown || s.PrimaryReason != CodeReadinessStale || ready.State != StateReady {
		t.Fatalf("Stale: got %s/%s (orig %s), want unknown/readiness_stale (orig ready)", s.State, s.PrimaryReason, ready.State)
	}
	if !s.Retryable() {
		t.Errorf("stale report should be retryable")
	}
	if Evaluate(transport(CodeSSHUnreachable), Baseline(), "").Retryable() != true {
		t.Errorf("unreachable should be retryable")
	}
	if Evaluate(transport(CodeSSHHostKeyMismatch), Baseline(), "").Retryable() {
		t.Errorf("host key mismatch must not be retryable")
	}
	if ready.Retryable() {
		t.Errorf("a ready report has nothing to retry")
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	if err := Baseline().Validate(); err != nil {
		t.Fatalf("Baseline().Validate() = %v", err)
	}
	bad := map[string]Policy{
		"dup":             Baseline().WithComponent(Requirement{Component: "x"}).WithComponent(Requirement{Component: "y"}),
		"bad min":         Baseline().WithMinVersion(ComponentNginx, "latest"),
		"unknown code":    Baseline().WithSeverity("nope", SeverityWarning),
		"bad severity":    Baseline().WithSeverity(CodeSudoMissing, "meh"),
		"transport warn":  Baseline().WithSeverity(CodeSSHHostKeyMismatch, SeverityWarning),
		"ext on nginx":    Baseline().WithComponent(Requirement{Component: ComponentNginx, Extensions: []string{"redis"}}),
		"empty component": Baseline().WithComponent(Requirement{}),
	}
	bad["dup"] = Policy{Components: []Requirement{{Component: "x"}, {Component: "x"}}}
	for name, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want error", name)
		}
	}
	// With... never mutates the receiver.
	base := Baseline()
	_ = base.WithMinVersion(ComponentNginx, "9").WithoutComponent(ComponentCurl).WithSeverity(CodeSudoMissing, SeverityWarning)
	if diff := cmp.Diff(Baseline(), base); diff != "" {
		t.Errorf("policy mutated (-want +got):\n%s", diff)
	}
}

func TestParseOSRelease(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]OSRelease{"debian-12": {"debian", "12"}, "ubuntu-24.04": {"ubuntu", "24.04"}, "opensuse-leap-15.5": {"opensuse-leap", "15.5"}} {
		got, err := ParseOSRelease(in)
		if err != nil || got != want {
			t.Errorf("ParseOSRelease(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "debian", "-12", "debian-"} {
		if _, err := ParseOSRelease(in); err == nil {
			t.Errorf("ParseOSRelease(%q) = nil error", in)
		}
	}
}
