package readiness

// registry is the append-only list of reason codes. New codes go at the
// end; nothing here is ever removed or renamed. docs/error-codes.md and the
// OpenAPI enum are checked against this list by tests.
var registry = []CodeInfo{
	{
		Code: CodeNodeAcquiring, Prerequisite: PrereqLifecycle, State: StatePending,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The provider is still acquiring this node.",
		Remediation: "Wait for provider acquisition to finish; readiness is probed automatically once the node is handed over. If it stays here, check the provider's console for a failed or stuck server.",
	},
	{
		Code: CodeNodeProvisioning, Prerequisite: PrereqLifecycle, State: StatePending,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The node is still being provisioned.",
		Remediation: "Wait for provisioning to finish; readiness is probed automatically afterwards. If it stays here, open the node's provisioning job and its error.",
	},
	{
		Code: CodeNodeDecommissioned, Prerequisite: PrereqLifecycle, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node is decommissioned and takes no new work.",
		Remediation: "Choose another node for this site or environment.",
	},
	{
		Code: CodeNodeNeverProbed, Prerequisite: PrereqLifecycle, State: StateUnknown,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The node's readiness has not been checked yet.",
		Remediation: "Run a readiness check (Re-check now, or POST /api/nodes/{id}/readiness/refresh).",
	},
	{
		Code: CodeReadinessStale, Prerequisite: PrereqLifecycle, State: StateUnknown,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The last readiness check is too old to rely on.",
		Remediation: "Run a readiness check (Re-check now, or POST /api/nodes/{id}/readiness/refresh).",
	},
	{
		Code: CodeNodeAddressMissing, Prerequisite: PrereqAddress, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node has no hostname or IP address to connect to.",
		Remediation: "Set the node's hostname or public IP address in the control plane.",
	},
	{
		Code: CodeSSHHostUnresolvable, Prerequisite: PrereqTCP, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The node's hostname does not resolve.",
		Remediation: "Check the DNS record for the node's hostname (dig +short HOSTNAME), or use its IP address instead.",
	},
	{
		Code: CodeSSHUnreachable, Prerequisite: PrereqTCP, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "No TCP connection to the node's SSH port.",
		Remediation: "Check that the node is running, that sshd listens on the configured port (sudo systemctl status ssh), and that the firewall allows it (sudo ufw allow 22/tcp).",
	},
	{
		Code: CodeSSHHandshakeFailed, Prerequisite: PrereqSSHHandshake, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The SSH handshake with the node failed.",
		Remediation: "Check that the port is served by OpenSSH and not another service, and that sshd is healthy (sudo journalctl -u ssh).",
	},
	{
		Code: CodeSSHHostKeyUnknown, Prerequisite: PrereqHostKey, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node's SSH host key is not known to the control plane.",
		Remediation: "Verify the key fingerprint on the node's console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pin it, or check once with accept-new to record it.",
	},
	{
		Code: CodeSSHHostKeyMismatch, Prerequisite: PrereqHostKey, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node presented a different SSH host key than the one pinned.",
		Remediation: "Do not proceed until you know why the key changed. If the node was rebuilt, verify the new fingerprint on its console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and replace the pinned key; otherwise treat it as a possible interception.",
	},
	{
		Code: CodeSSHAuthFailed, Prerequisite: PrereqAuth, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node refused the control plane's SSH key.",
		Remediation: "Add the control plane's public key to ~/.ssh/authorized_keys of the SSH user on the node (mode 600, directory 700), and check that the user name is right.",
	},
	{
		Code: CodeSSHExecRejected, Prerequisite: PrereqExec, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node accepted the login but refused to run commands.",
		Remediation: "Give the SSH user a login shell (sudo usermod -s /bin/bash USER) and check that sshd_config does not force a command or deny sessions for it.",
	},
	{
		Code: CodeProbeTimeout, Prerequisite: PrereqExec, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The readiness probe did not finish within its deadline.",
		Remediation: "Check the node's load and disk (uptime; df -h) and whether a command hangs (sudo -n true; systemctl is-active nginx), then re-check.",
	},
	{
		Code: CodeProbeInterrupted, Prerequisite: PrereqExec, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The connection was lost while the readiness probe ran.",
		Remediation: "Check the network path and sshd on the node (sudo journalctl -u ssh), then re-check.",
	},
	{
		Code: CodeProbeOutputInvalid, Prerequisite: PrereqExec, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The readiness probe's output could not be read.",
		Remediation: "Check that the SSH user's shell startup files (~/.bashrc, ~/.profile) print nothing for non-interactive sessions and that /bin/sh is a POSIX shell.",
	},
	{
		Code: CodeSudoMissing, Prerequisite: PrereqPrivilege, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "sudo is not installed on the node.",
		Remediation: "Install sudo as root: apt-get install -y sudo; then allow the SSH user: echo 'USER ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/pressluft && chmod 440 /etc/sudoers.d/pressluft.",
	},
	{
		Code: CodeSudoPasswordRequired, Prerequisite: PrereqPrivilege, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "sudo asks the SSH user for a password: sudoers allows the user, but not without one.",
		Remediation: "Allow passwordless sudo for the SSH user: echo 'USER ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft && sudo chmod 440 /etc/sudoers.d/pressluft && sudo visudo -c.",
	},
	{
		Code: CodeSudoNotPermitted, Prerequisite: PrereqPrivilege, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "sudoers does not allow the SSH user to run every command as root: the user is not in sudoers, or may run only some commands.",
		Remediation: "Allow the SSH user all commands without a password: echo 'USER ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft && sudo chmod 440 /etc/sudoers.d/pressluft && sudo visudo -c.",
	},
	{
		Code: CodeSudoTTYRequired, Prerequisite: PrereqPrivilege, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "sudo requires a terminal (Defaults requiretty), which automation does not have.",
		Remediation: "Exempt the SSH user: echo 'Defaults:USER !requiretty' | sudo tee /etc/sudoers.d/pressluft-tty && sudo chmod 440 /etc/sudoers.d/pressluft-tty && sudo visudo -c.",
	},
	{
		Code: CodeOSUnsupported, Prerequisite: PrereqPlatform, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node runs an operating system that is not supported.",
		Remediation: "Rebuild the node on Ubuntu 24.04 LTS, or allow this OS in the readiness policy if you have verified the stack on it.",
	},
	{
		Code: CodeServiceManagerUnavailable, Prerequisite: PrereqPlatform, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "systemd is not running on the node, so service state cannot be checked or managed.",
		Remediation: "Run the node on a systemd-booted Ubuntu 24.04 host (not a container without an init system).",
	},
	{
		Code: CodeRuntimeComponentMissing, Prerequisite: PrereqRuntime, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "A required runtime component is not installed.",
		Remediation: "Install the component's package (sudo apt-get install -y PACKAGE) or re-run provisioning for the node.",
	},
	{
		Code: CodeRuntimeVersionUnsupported, Prerequisite: PrereqRuntime, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "A runtime component is older than the minimum version.",
		Remediation: "Upgrade the component (sudo apt-get update && sudo apt-get install --only-upgrade -y PACKAGE) or rebuild the node on Ubuntu 24.04.",
	},
	{
		Code: CodeRuntimeExtensionMissing, Prerequisite: PrereqRuntime, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "A required PHP extension is not loaded by php-fpm.",
		Remediation: "Install the extension (sudo apt-get install -y php-redis) and restart php-fpm.",
	},
	{
		Code: CodeRuntimeServiceInactive, Prerequisite: PrereqRuntime, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "A required service is not running.",
		Remediation: "Start and enable the service (sudo systemctl enable --now UNIT; a masked unit needs sudo systemctl unmask UNIT first) and check its log (sudo journalctl -u UNIT) if it does not stay up.",
	},
	{
		Code: CodeNodeConfigInvalid, Prerequisite: PrereqAddress, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node record's SSH settings are invalid (user or port).",
		Remediation: "Set the node's SSH user and a port between 1 and 65535 in the control plane.",
	},
	{
		Code: CodeSSHCredentialsUnavailable, Prerequisite: PrereqAuth, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The control plane has no usable SSH key for this node.",
		Remediation: "Configure the node's SSH private key in the control plane (or start an SSH agent with the key loaded for the CLI), then re-check.",
	},
	{
		Code: CodeSudoFailed, Prerequisite: PrereqPrivilege, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "sudo refused for a reason it did not state in a way the probe recognises.",
		Remediation: "Log in as USER and run sudo -n true to see sudo's own message. Common causes: a syntax error in sudoers (sudo visudo -c), a locked or expired account (sudo passwd -S USER; sudo chage -l USER), or a PAM account failure (sudo journalctl -t sudo).",
	},
	{
		Code: CodeNoCandidateNode, Prerequisite: PrereqLifecycle, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "There is no node this operation could run on.",
		Remediation: "Add a node for this operation (or wait for one the provider is acquiring to become ready), then retry.",
	},
	{
		Code: CodeSSHHostCertInvalid, Prerequisite: PrereqHostKey, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "The node's SSH host certificate is not valid for it (expired or not yet valid, issued for another host name, revoked, not a host certificate, or not signed by a trusted CA).",
		Remediation: "Re-sign the node's host key with the fleet CA for the host name the control plane connects to: sudo ssh-keygen -s CA_KEY -I ID -h -n HOSTNAME -V +52w /etc/ssh/ssh_host_ed25519_key.pub; on the node, add HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub to /etc/ssh/sshd_config; then restart ssh (sudo systemctl restart ssh) and re-check. If the CA itself is revoked, sign with the new CA and update the @cert-authority line in the control plane's known_hosts.",
	},
	{
		Code: CodeSSHConnectionDropped, Prerequisite: PrereqSSHHandshake, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The node's sshd closed the connection before the SSH handshake, twice in a row. The handshake itself is not known to be broken: sshd does this when its limit on unauthenticated connections (MaxStartups, default 10:30:100) is reached, for example during an SSH scan of the node.",
		Remediation: "Re-check in a minute; this usually passes on its own. If it persists, look for the drops in the node's log (sudo journalctl -u ssh | grep -i 'drop connection\\|MaxStartups'), count the connections to sshd (sudo ss -tn state established sport = :22), and raise MaxStartups in /etc/ssh/sshd_config (e.g. MaxStartups 30:30:100, then sudo systemctl reload ssh) or rate-limit the scanner.",
	},
	{
		Code: CodeSSHBannedSuspected, Prerequisite: PrereqTCP, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The node answered recently but stopped answering right after SSH authentication failures: its fail2ban (or another intrusion blocker) may have banned the control plane's IP address.",
		Remediation: "Fix the key first (see ssh_auth_failed), then lift the ban from the node's console or another address: sudo fail2ban-client set sshd unbanip CONTROL_PLANE_IP. The control plane's IP is the source address the node sees (on the control plane: ip route get NODE_IP, the src field; behind NAT, curl -s https://ifconfig.me); sudo fail2ban-client status sshd lists the banned addresses. Bans survive reboots (fail2ban's database); to stop future bans, add the IP to ignoreip in /etc/fail2ban/jail.local.",
	},
	{
		Code: CodeNodeBooting, Prerequisite: PrereqBoot, State: StatePending,
		Severity: SeverityBlocking, Retryable: true,
		Message:     "The node is still booting: systemd has not finished starting its units, or cloud-init has not finished its first-boot work (packages, users, files).",
		Remediation: "Wait for the boot to finish and re-check in a minute; on the node, watch it (cloud-init status --wait; systemctl is-system-running --wait). If it stays here, list the jobs holding boot back (systemctl list-jobs) and read cloud-init's log (sudo cloud-init status --long; sudo tail -n 50 /var/log/cloud-init-output.log).",
	},
	{
		Code: CodeSystemDegraded, Prerequisite: PrereqHealth, State: StateNotReady,
		Severity: SeverityWarning, Retryable: false,
		Message:     "systemd reports the system as degraded: at least one unit has failed.",
		Remediation: "List the failed units (systemctl --failed), read why each failed (sudo journalctl -u UNIT -n 50), fix or disable it, then clear the state (sudo systemctl reset-failed UNIT).",
	},
	{
		Code: CodePackageManagerBusy, Prerequisite: PrereqHealth, State: StateNotReady,
		Severity: SeverityWarning, Retryable: true,
		Message:     "The package manager is busy: another process holds the dpkg lock (apt, unattended-upgrades or cloud-init installing packages), so a job that installs packages would wait or fail.",
		Remediation: "Wait for it to finish and re-check; see what holds the lock (sudo lsof /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock; ps -o pid,etime,args -p PID). Never delete the lock files. If the holder is gone but dpkg was interrupted, finish its work: sudo dpkg --configure -a.",
	},
	{
		Code: CodeDiskSpaceLow, Prerequisite: PrereqHealth, State: StateNotReady,
		Severity: SeverityBlocking, Retryable: false,
		Message:     "A filesystem jobs write to (the root, MariaDB's data directory or the site root) has too little free space or too few free inodes.",
		Remediation: "Free space on that filesystem (sudo du -xh -d1 PATH | sort -h | tail; sudo apt-get clean; sudo journalctl --vacuum-size=200M) or grow its volume (df -h PATH; sudo growpart DISK PART && sudo resize2fs DEVICE), then re-check. Too few inodes: find the directories with the most files (sudo du -x --inodes -d2 PATH | sort -n | tail).",
	},
	{
		Code: CodeRebootRequired, Prerequisite: PrereqHealth, State: StateNotReady,
		Severity: SeverityWarning, Retryable: false,
		Message:     "The node needs a reboot: installed updates (a new kernel or core libraries) take effect only after one (/run/reboot-required).",
		Remediation: "Reboot the node when no job runs on it: sudo reboot. The packages that asked for it are listed in /run/reboot-required.pkgs.",
	},
}

// Registry returns a copy of every reason code with its metadata, in
// registry (append) order.
func Registry() []CodeInfo {
	return append([]CodeInfo(nil), registry...)
}

var registryIndex = func() map[Code]int {
	m := make(map[Code]int, len(registry))
	for i, c := range registry {
		m[c.Code] = i
	}
	return m
}()

// Lookup returns the registry entry of a code.
func Lookup(c Code) (CodeInfo, bool) {
	i, ok := registryIndex[c]
	if !ok {
		return CodeInfo{}, false
	}
	return registry[i], true
}

// Known reports whether c is a registered code.
func (c Code) Known() bool {
	_, ok := registryIndex[c]
	return ok
}
