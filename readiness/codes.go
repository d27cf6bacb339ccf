package readiness

// Code is a stable, snake_case reason code. Codes are append-only: a code,
// once published, is never renamed, removed or given another meaning.
type Code string

// The reason codes, in registry order. See Registry for the metadata.
const (
	CodeNodeAcquiring             Code = "node_acquiring"
	CodeNodeProvisioning          Code = "node_provisioning"
	CodeNodeDecommissioned        Code = "node_decommissioned"
	CodeNodeNeverProbed           Code = "node_never_probed"
	CodeReadinessStale            Code = "readiness_stale"
	CodeNodeAddressMissing        Code = "node_address_missing"
	CodeSSHHostUnresolvable       Code = "ssh_host_unresolvable"
	CodeSSHUnreachable            Code = "ssh_unreachable"
	CodeSSHHandshakeFailed        Code = "ssh_handshake_failed"
	CodeSSHHostKeyUnknown         Code = "ssh_host_key_unknown"
	CodeSSHHostKeyMismatch        Code = "ssh_host_key_mismatch"
	CodeSSHAuthFailed             Code = "ssh_auth_failed"
	CodeSSHExecRejected           Code = "ssh_exec_rejected"
	CodeProbeTimeout              Code = "probe_timeout"
	CodeProbeInterrupted          Code = "probe_interrupted"
	CodeProbeOutputInvalid        Code = "probe_output_invalid"
	CodeSudoMissing               Code = "sudo_missing"
	CodeSudoPasswordRequired      Code = "sudo_password_required"
	CodeSudoNotPermitted          Code = "sudo_not_permitted"
	CodeSudoTTYRequired           Code = "sudo_tty_required"
	CodeOSUnsupported             Code = "os_unsupported"
	CodeServiceManagerUnavailable Code = "service_manager_unavailable"
	CodeRuntimeComponentMissing   Code = "runtime_component_missing"
	CodeRuntimeVersionUnsupported Code = "runtime_version_unsupported"
	CodeRuntimeExtensionMissing   Code = "runtime_extension_missing"
	CodeRuntimeServiceInactive    Code = "runtime_service_inactive"
	CodeNodeConfigInvalid         Code = "node_config_invalid"
	CodeSSHCredentialsUnavailable Code = "ssh_credentials_unavailable"
	CodeSudoFailed                Code = "sudo_failed"
	CodeNoCandidateNode           Code = "no_candidate_node"
	CodeSSHHostCertInvalid        Code = "ssh_host_cert_invalid"
	CodeSSHConnectionDropped      Code = "ssh_connection_dropped"
	CodeSSHBannedSuspected        Code = "ssh_banned_suspected"
	CodeNodeBooting               Code = "node_booting"
	CodeSystemDegraded            Code = "system_degraded"
	CodePackageManagerBusy        Code = "package_manager_busy"
	CodeDiskSpaceLow              Code = "disk_space_low"
	CodeRebootRequired            Code = "reboot_required"
)

// Prerequisite names one node in the ordered prerequisite graph. A
// prerequisite can only be observed when every prerequisite before it in
// Prerequisites holds, except boot, privilege, platform, runtime and
// health, which are observed side by side once the probe has run.
type Prerequisite string

// The prerequisites, upstream first.
const (
	PrereqLifecycle    Prerequisite = "lifecycle"
	PrereqAddress      Prerequisite = "address"
	PrereqTCP          Prerequisite = "tcp"
	PrereqSSHHandshake Prerequisite = "ssh_handshake"
	PrereqHostKey      Prerequisite = "host_key"
	PrereqAuth         Prerequisite = "auth"
	PrereqExec         Prerequisite = "exec"
	// PrereqBoot: the node has finished booting (systemd, cloud-init).
	// It ranks before privilege: sudoers, packages and services of a node
	// still in its first boot may be the boot's unfinished work.
	PrereqBoot      Prerequisite = "boot"
	PrereqPrivilege Prerequisite = "privilege"
	PrereqPlatform  Prerequisite = "platform"
	PrereqRuntime   Prerequisite = "runtime"
	// PrereqHealth: the node's system is in a state jobs can run in: no
	// failed units, the package manager free, room on the filesystems
	// jobs write to, no pending reboot.
	PrereqHealth Prerequisite = "health"
)

// Prerequisites lists every prerequisite, upstream first.
func Prerequisites() []Prerequisite {
	return []Prerequisite{
		PrereqLifecycle, PrereqAddress, PrereqTCP, PrereqSSHHandshake,
		PrereqHostKey, PrereqAuth, PrereqExec, PrereqBoot, PrereqPrivilege,
		PrereqPlatform, PrereqRuntime, PrereqHealth,
	}
}

// rank orders prerequisites upstream first; unknown ones sort last.
func (p Prerequisite) rank() int {
	for i, q := range Prerequisites() {
		if p == q {
			return i
		}
	}
	return len(Prerequisites())
}

// Severity says whether a reason blocks work.
type Severity string

const (
	// SeverityBlocking reasons make a node not ready (or pending).
	SeverityBlocking Severity = "blocking"
	// SeverityWarning reasons are reported but do not block work.
	SeverityWarning Severity = "warning"
)

// CodeInfo is the registry entry for one reason code.
type CodeInfo struct {
	Code         Code         `json:"code"`
	Prerequisite Prerequisite `json:"prerequisite"`
	// State is the state a blocking reason of this code puts a node in:
	// StateNotReady, StatePending or StateUnknown.
	State       State    `json:"state"`
	Severity    Severity `json:"severity"`
	Retryable   bool     `json:"retryable"`
	Message     string   `json:"message"`
	Remediation string   `json:"remediation"`
}
