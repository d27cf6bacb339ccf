package preflight

import (
	"fmt"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// banWindow is how long after the node last answered (refusing the
// control plane's key) a lost TCP connection is still blamed on a ban.
// fail2ban's bans last 10 minutes by default, longer with
// bantime.increment, and survive reboots.
const banWindow = 24 * time.Hour

// UnbanCommand is the command, run on the node, that lifts a fail2ban
// ban of the control plane from the sshd jail. CONTROL_PLANE_IP is the
// source address the node sees: on the control plane, the src of
// `ip route get NODE_IP` (behind NAT, the public address).
const UnbanCommand = "sudo fail2ban-client set sshd unbanip CONTROL_PLANE_IP"

// authHoldLocked is how long the entry's last observation is reused
// however old FailTTL says it is: the auth-failure backoff while the node
// refuses the control plane's key (or seems to have banned it), else 0.
// e.mu must be held.
func (e *entry) authHoldLocked(c *Config) time.Duration {
	if !e.hasObs || e.authFails == 0 || e.obs.Transport == nil {
		return 0
	}
	switch e.obs.Transport.Code {
	case readiness.CodeSSHAuthFailed, readiness.CodeSSHBannedSuspected:
	default:
		return 0
	}
	d := c.AuthFailBackoff
	for i := 1; i < e.authFails && d < c.AuthFailBackoffMax; i++ {
		d *= 2
	}
	return min(d, c.AuthFailBackoffMax)
}

// heldLocked reports whether the node's last observation, of target,
// is still within its auth-failure backoff at now. e.mu must be held.
func (e *entry) heldLocked(c *Config, target targetKey, now time.Time) bool {
	return e.hasObs && e.target == target && now.Sub(e.at) < e.authHoldLocked(c)
}

// noteLocked updates the entry's memory of the node with a new
// observation of n, taken at now, before it is recorded, and returns the
// observation the gate reports: an ssh_unreachable that comes right after
// auth failures from a node that answered within banWindow becomes
// ssh_banned_suspected. e.mu must be held.
func (e *entry) noteLocked(n Node, obs readiness.Observation, now time.Time) readiness.Observation {
	if e.target != n.target() {
		e.authFails, e.contactAt = 0, time.Time{}
	}
	var code readiness.Code
	if obs.Transport != nil {
		code = obs.Transport.Code
	}
	switch {
	case code == readiness.CodeSSHAuthFailed:
		e.authFails++
		e.contactAt = now
	case code == readiness.CodeSSHUnreachable && e.authFails > 0 && now.Sub(e.contactAt) <= banWindow:
		tf := *obs.Transport
		tf.Code = readiness.CodeSSHBannedSuspected
		tf.Reached = readiness.PrereqTCP
		tf.Detail = fmt.Sprintf("no TCP connection (%s) right after %d refused logins from a node that answered %s ago: "+
			"its fail2ban may have banned the control plane; fix the key, then on the node run %s",
			obs.Transport.Detail, e.authFails, now.Sub(e.contactAt).Round(time.Second), UnbanCommand)
		obs.Transport = &tf
	default:
		e.authFails = 0
		if contacted(obs) {
			e.contactAt = now
		}
	}
	return obs
}

// contacted reports whether a probe reached the node's sshd.
func contacted(obs readiness.Observation) bool {
	if !obs.Probed {
		return false
	}
	if obs.Transport == nil {
		return true
	}
	switch obs.Transport.Code {
	case readiness.CodeSSHUnreachable, readiness.CodeSSHHostUnresolvable, readiness.CodeSSHCredentialsUnavailable,
		readiness.CodeNodeConfigInvalid, readiness.CodeSSHBannedSuspected:
		return false
	}
	return true
}
