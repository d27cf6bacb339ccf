package readiness

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// TransportSSH is the only transport: every node, the control plane's own
// host included, is probed over SSH.
const TransportSSH = "ssh"

// Evaluate turns an observation into a Report under policy p. It is pure and
// deterministic: the same observation and policy give a byte-identical
// JSON report. The primary reason is the most upstream blocking failure;
// checks that were not observed are skipped and name the code that kept
// them from being observed; checks that were observed are reported
// whatever failed upstream. No check is pass unless it was observed: a
// failure decided before anything was dialed (ssh_credentials_unavailable),
// a transport code outside the SSH chain, or an observation with neither
// facts nor a failure leaves every step of the chain before the failing one
// skipped, not pass.
func Evaluate(obs Observation, p Policy, op Operation) Report {
	e := evaluator{obs: obs, p: p}
	e.run()
	r := Report{
		NodeID:     obs.NodeID,
		Operation:  string(op),
		CheckedAt:  obs.CheckedAt.UTC(),
		DurationMS: obs.Duration.Milliseconds(),
		Transport:  TransportSSH,
		Reasons:    e.reasons,
		Checks:     e.checks,
	}
	if obs.Facts != nil {
		r.Inventory = inventoryOf(obs.Facts)
	}
	if r.Reasons == nil {
		r.Reasons = []Reason{}
	}
	sort.SliceStable(r.Reasons, func(i, j int) bool {
		a, b := r.Reasons[i], r.Reasons[j]
		if ra, rb := a.Prerequisite.rank(), b.Prerequisite.rank(); ra != rb {
			return ra < rb
		}
		if ia, ib := registryIndex[a.Code], registryIndex[b.Code]; ia != ib {
			return ia < ib
		}
		return a.Component < b.Component
	})
	r.State = StateReady
	for _, x := range r.Reasons {
		if x.Severity != SeverityBlocking {
			continue
		}
		info, _ := Lookup(x.Code)
		if r.PrimaryReason == "" {
			r.PrimaryReason = x.Code
			r.State = info.State
		}
	}
	return r
}

type evaluator struct {
	obs     Observation
	p       Policy
	reasons []Reason
	checks  []Check
	// blocked, once set, skips every later check of the SSH chain.
	blocked Code
}

func (e *evaluator) fail(name string, pr Prerequisite, component string, c Code, observed, required string) {
	rsn := newReason(c, e.p, component, observed, required, e.obs.User)
	if component != "" {
		rsn.Remediation = e.componentRemediation(c, component, rsn.Remediation)
	}
	e.reasons = append(e.reasons, rsn)
	status := CheckFail
	if rsn.Severity == SeverityWarning {
		status = CheckWarn
	}
	e.checks = append(e.checks, Check{Name: name, Prerequisite: pr, Component: component, Status: status, Code: c, Observed: observed, Required: required})
}

func (e *evaluator) pass(name string, pr Prerequisite, component, observed, required string) {
	e.checks = append(e.checks, Check{Name: name, Prerequisite: pr, Component: component, Status: CheckPass, Observed: observed, Required: required})
}

func (e *evaluator) skip(name string, pr Prerequisite, component string, by Code, required string) {
	e.checks = append(e.checks, Check{Name: name, Prerequisite: pr, Component: component, Status: CheckSkipped, BlockedBy: by, Required: required})
}

// chain is the SSH round trip, upstream first, with the codes that fail
// each step. A code of a step is found only once every step before it
// held, except the codes in undialed.
var chain = []struct {
	name  string
	pr    Prerequisite
	codes []Code
}{
	{"tcp", PrereqTCP, []Code{CodeSSHHostUnresolvable, CodeSSHUnreachable, CodeSSHBannedSuspected}},
	{"ssh_handshake", PrereqSSHHandshake, []Code{CodeSSHHandshakeFailed, CodeSSHConnectionDropped}},
	{"host_key", PrereqHostKey, []Code{CodeSSHHostKeyUnknown, CodeSSHHostKeyMismatch, CodeSSHHostCertInvalid}},
	{"auth", PrereqAuth, []Code{CodeSSHAuthFailed, CodeSSHCredentialsUnavailable}},
	{"exec", PrereqExec, []Code{CodeSSHExecRejected, CodeProbeTimeout, CodeProbeInterrupted, CodeProbeOutputInvalid}},
}

// undialed are the chain codes decided on the control plane's side before
// the node is dialed: the control plane could not load or use its client
// keys. They fail at their own step (auth, whose client half they are),
// and no step before it was observed.
var undialed = []Code{CodeSSHCredentialsUnavailable}

// failedStep returns the index in chain of the step tf fails and how many
// steps before it were observed to hold: those before the code's step, or
// before tf.Reached when the round trip stopped earlier. A code outside the
// chain fails at exec, where the chain ends, with nothing before it
// observed unless tf.Reached says how far the round trip got.
func failedStep(tf *TransportFailure) (at, held int) {
	at, held = len(chain)-1, 0
	for i, step := range chain {
		if slices.Contains(step.codes, tf.Code) {
			at, held = i, i
			break
		}
	}
	if tf.Reached != "" {
		reached := 0 // a value that names no step of the chain claims nothing
		for i, step := range chain {
			if step.pr == tf.Reached {
				reached = i
			}
		}
		// No step from the failing one on passes, whatever Reached says.
		held = min(reached, at)
	}
	if slices.Contains(undialed, tf.Code) {
		held = 0
	}
	return at, held
}

func (e *evaluator) run() {
	o := e.obs
	// Lifecycle: only an active node is probed.
	switch o.Lifecycle {
	case LifecycleAcquiring:
		e.fail("lifecycle", PrereqLifecycle, "", CodeNodeAcquiring, string(o.Lifecycle), string(LifecycleActive))
	case LifecycleProvisioning:
		e.fail("lifecycle", PrereqLifecycle, "", CodeNodeProvisioning, string(o.Lifecycle), string(LifecycleActive))
	case LifecycleDecommissioned:
		e.fail("lifecycle", PrereqLifecycle, "", CodeNodeDecommissioned, string(o.Lifecycle), string(LifecycleActive))
	default:
		e.pass("lifecycle", PrereqLifecycle, "", string(LifecycleActive), string(LifecycleActive))
	}
	if len(e.reasons) > 0 {
		e.blocked = e.reasons[0].Code
	} else if !o.HasAddress {
		e.fail("address", PrereqAddress, "", CodeNodeAddressMissing, "", "hostname or IP address")
		e.blocked = CodeNodeAddressMissing
	} else if o.Transport != nil && o.Transport.Code == CodeNodeConfigInvalid {
		e.fail("address", PrereqAddress, "", CodeNodeConfigInvalid, o.Transport.Detail, "SSH user and port")
		e.blocked = CodeNodeConfigInvalid
	} else {
		e.pass("address", PrereqAddress, "", "", "")
		if !o.Probed {
			e.fail("probe", PrereqLifecycle, "", CodeNodeNeverProbed, "", "")
			e.blocked = CodeNodeNeverProbed
		}
	}
	if e.blocked != "" && e.checks[len(e.checks)-1].Name == "lifecycle" {
		e.skip("address", PrereqAddress, "", e.blocked, "")
	}

	// The SSH round trip: the steps before the failing one that were
	// observed pass, the others are skipped, blocked by the failure. An
	// observation that claims success but carries no facts shows nothing
	// of the round trip: it is unreadable output, and no step passes.
	tf := o.Transport
	at, held := len(chain), len(chain)
	if tf == nil && o.Facts == nil {
		tf = &TransportFailure{Code: CodeProbeOutputInvalid, Detail: "no probe facts"}
		at, held = len(chain)-1, 0
	} else if tf != nil {
		at, held = failedStep(tf)
		if !tf.Code.Known() {
			// A code this version does not know (a newer or broken
			// prober) must not fail open: no registry entry would make
			// it blocking. It is reported where the chain ends.
			tf = &TransportFailure{Code: CodeProbeOutputInvalid, Detail: "unknown failure code " + strconvQuote(string(tf.Code))}
		}
	}
	for i, step := range chain {
		switch {
		case e.blocked != "":
			e.skip(step.name, step.pr, "", e.blocked, "")
		case i == at:
			e.fail(step.name, step.pr, "", tf.Code, tf.Detail, "")
			e.blocked = tf.Code
		case i < held:
			e.pass(step.name, step.pr, "", "", "")
		default:
			e.skip(step.name, step.pr, "", tf.Code, "")
		}
	}

	e.boot()
	e.privilege()
	e.platform()
	e.runtime()
	e.systemHealth()
}

func (e *evaluator) privilege() {
	if e.p.SkipSudo {
		return
	}
	if e.blocked != "" {
		e.skip("sudo", PrereqPrivilege, "", e.blocked, "passwordless sudo")
		return
	}
	const req = "passwordless sudo"
	switch e.obs.Facts.Sudo {
	case SudoOK:
		e.pass("sudo", PrereqPrivilege, "", string(SudoOK), req)
	case SudoMissing:
		e.fail("sudo", PrereqPrivilege, "", CodeSudoMissing, string(SudoMissing), req)
	case SudoTTYRequired:
		e.fail("sudo", PrereqPrivilege, "", CodeSudoTTYRequired, string(SudoTTYRequired), req)
	case SudoNotPermitted:
		e.fail("sudo", PrereqPrivilege, "", CodeSudoNotPermitted, string(SudoNotPermitted), req)
	case SudoPasswordRequired:
		e.fail("sudo", PrereqPrivilege, "", CodeSudoPasswordRequired, string(SudoPasswordRequired), req)
	default: // SudoFailed, or an outcome this version does not know
		e.fail("sudo", PrereqPrivilege, "", CodeSudoFailed, string(e.obs.Facts.Sudo), req)
	}
}

func (e *evaluator) platform() {
	var allowed []string
	for _, o := range e.p.AllowedOS {
		allowed = append(allowed, o.String())
	}
	required := strings.Join(allowed, " or ")
	if e.blocked != "" {
		e.skip("os", PrereqPlatform, "", e.blocked, required)
		if e.needsSystemd() {
			e.skip("service_manager", PrereqPlatform, "", e.blocked, "systemd")
		}
		return
	}
	f := e.obs.Facts
	if len(e.p.AllowedOS) == 0 || slices.Contains(e.p.AllowedOS, f.OS) {
		e.pass("os", PrereqPlatform, "", f.OS.String(), required)
	} else {
		e.fail("os", PrereqPlatform, "", CodeOSUnsupported, f.OS.String(), required)
	}
	if e.needsSystemd() {
		if f.Systemd {
			e.pass("service_manager", PrereqPlatform, "", "systemd", "systemd")
		} else {
			e.fail("service_manager", PrereqPlatform, "", CodeServiceManagerUnavailable, "none", "systemd")
		}
	}
}

func (e *evaluator) needsSystemd() bool {
	for _, r := range e.p.Components {
		if r.Service {
			return true
		}
	}
	return false
}

func (e *evaluator) runtime() {
	for _, r := range e.p.Components {
		minReq := ""
		if r.MinVersion != "" {
			minReq = ">= " + r.MinVersion
		}
		if e.blocked != "" {
			e.skip("installed", PrereqRuntime, r.Component, e.blocked, "installed")
			if r.MinVersion != "" {
				e.skip("version", PrereqRuntime, r.Component, e.blocked, minReq)
			}
			for _, x := range r.Extensions {
				e.skip("extension", PrereqRuntime, r.Component, e.blocked, x)
			}
			if r.Service {
				e.skip("service", PrereqRuntime, r.Component, e.blocked, "active")
			}
			continue
		}
		c := e.obs.Facts.Components[r.Component]
		if !c.Installed {
			e.fail("installed", PrereqRuntime, r.Component, CodeRuntimeComponentMissing, "missing", "installed")
			if r.MinVersion != "" {
				e.skip("version", PrereqRuntime, r.Component, CodeRuntimeComponentMissing, minReq)
			}
			for _, x := range r.Extensions {
				e.skip("extension", PrereqRuntime, r.Component, CodeRuntimeComponentMissing, x)
			}
			if r.Service {
				e.skip("service", PrereqRuntime, r.Component, CodeRuntimeComponentMissing, "active")
			}
			continue
		}
		e.pass("installed", PrereqRuntime, r.Component, "installed", "installed")
		if r.MinVersion != "" {
			e.version(r, c, minReq)
		}
		for _, x := range r.Extensions {
			if slices.Contains(e.obs.Facts.PHPExtensions, strings.ToLower(x)) {
				e.pass("extension", PrereqRuntime, r.Component, x, x)
			} else {
				e.fail("extension", PrereqRuntime, r.Component, CodeRuntimeExtensionMissing, x+" not loaded", x)
			}
		}
		if r.Service {
			switch {
			case !e.obs.Facts.Systemd:
				e.skip("service", PrereqRuntime, r.Component, CodeServiceManagerUnavailable, "active")
			case c.Service == "active":
				e.pass("service", PrereqRuntime, r.Component, "active", "active")
			default:
				obs := string(c.Service)
				if obs == "" {
					obs = "unknown"
				}
				e.fail("service", PrereqRuntime, r.Component, CodeRuntimeServiceInactive, obs, "active")
			}
		}
	}
}

func (e *evaluator) version(r Requirement, c ComponentFacts, minReq string) {
	if c.Version == "" {
		e.fail("version", PrereqRuntime, r.Component, CodeRuntimeVersionUnsupported, "unrecognized", minReq)
		return
	}
	cmp, err := CompareVersions(c.Version, r.MinVersion)
	switch {
	case err != nil:
		e.fail("version", PrereqRuntime, r.Component, CodeRuntimeVersionUnsupported, "unrecognized", minReq)
	case cmp < 0:
		e.fail("version", PrereqRuntime, r.Component, CodeRuntimeVersionUnsupported, c.Version, minReq)
	default:
		e.pass("version", PrereqRuntime, r.Component, c.Version, minReq)
	}
}

// componentRemediation makes a runtime code's remediation specific to the
// component: its install command and its systemd unit.
func (e *evaluator) componentRemediation(c Code, component, generic string) string {
	var req Requirement
	for _, r := range e.p.Components {
		if r.Component == component {
			req = r
		}
	}
	unit := component
	if e.obs.Facts != nil {
		if u := e.obs.Facts.Components[component].Unit; u != "" {
			unit = u
		}
	}
	switch c {
	case CodeRuntimeComponentMissing:
		if req.Install != "" {
			return "Install " + component + ": " + req.Install + " (or re-run provisioning for the node)."
		}
	case CodeRuntimeVersionUnsupported:
		if req.Install != "" {
			return "Upgrade " + component + " to " + req.MinVersion + " or later: sudo apt-get update && " + req.Install + ". On Ubuntu releases older than 24.04, rebuild the node on 24.04."
		}
	case CodeRuntimeExtensionMissing:
		return "Install the PHP extension for php-fpm and restart it: sudo apt-get install -y php-redis && sudo systemctl restart " + unit + "."
	case CodeRuntimeServiceInactive:
		return serviceRemediation(component, unit, e.obs.Facts)
	}
	return generic
}

// unitPackages are the Debian and Ubuntu packages that ship a component's
// unit file (dpkg -S on Debian 12); php-fpm's is its unit's name
// (php8.3-fpm).
var unitPackages = map[string]string{
	ComponentNginx:    "nginx-common",
	ComponentMariaDB:  "mariadb-server",
	ComponentRedis:    "redis-server",
	ComponentFail2ban: "fail2ban",
}

// serviceRemediation is the fix for a unit that is not active, chosen by
// the state it is in: a masked unit must be unmasked before it can start,
// a failed or crash-looping one needs its cause fixed, a missing one its
// package.
func serviceRemediation(component, unit string, f *Facts) string {
	var state ServiceState
	if f != nil {
		state = f.Components[component].Service
	}
	journal := "sudo journalctl -u " + unit + " -n 50"
	switch state {
	case "masked":
		return "The unit is masked, so it cannot start: sudo systemctl unmask " + unit + " && sudo systemctl enable --now " + unit + "."
	case "failed":
		return "The service failed: read why with " + journal + ", fix the cause, then sudo systemctl restart " + unit + "."
	case "activating":
		return "The service is still starting, or restarting after a crash: re-check in a minute; if it stays activating, read " + journal + ", fix the cause, then sudo systemctl restart " + unit + "."
	case "not-found":
		pkg := unitPackages[component]
		if pkg == "" {
			pkg = unit
		}
		return "The unit " + unit + " does not exist though " + component + " is installed: reinstall the package that ships it: sudo apt-get install --reinstall -y " + pkg + ", then sudo systemctl enable --now " + unit + "."
	case "bad-setting", "error":
		return "The unit file does not load: sudo systemctl status " + unit + " says why; fix it, then sudo systemctl daemon-reload && sudo systemctl enable --now " + unit + "."
	}
	return "Start and enable the service: sudo systemctl enable --now " + unit + "; if it does not stay up, read " + journal + "."
}

func inventoryOf(f *Facts) *Inventory {
	inv := &Inventory{OS: f.OS, Systemd: f.Systemd, Components: []InventoryComponent{}, PHPExtensions: []string{}}
	names := make([]string, 0, len(f.Components))
	for n := range f.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := f.Components[n]
		inv.Components = append(inv.Components, InventoryComponent{Name: n, Installed: c.Installed, Version: c.Version, Package: c.Package, Unit: c.Unit, Service: c.Service})
	}
	inv.PHPExtensions = append(inv.PHPExtensions, f.PHPExtensions...)
	sort.Strings(inv.PHPExtensions)
	return inv
}

// strconvQuote quotes s for a detail, at most 64 bytes of it.
func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}
