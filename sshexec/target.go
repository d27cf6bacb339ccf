package sshexec

import "golang.org/x/crypto/ssh"

// Target is everything needed to reach one node over SSH. It holds no
// secret in a printable form: signers are opaque.
type Target struct {
	// Host is a hostname or IP address (no port). Required.
	Host string
	// Port is the SSH port; zero means 22.
	Port int
	// User is the login user. Required.
	User string
	// Signers are the client keys offered, in order. When empty and
	// UseAgent is true, the SSH agent at $SSH_AUTH_SOCK is used.
	Signers []ssh.Signer
	// UseAgent adds the keys of the SSH agent at $SSH_AUTH_SOCK after
	// Signers: those AgentKeys names, or every key the agent holds when
	// AgentKeys is empty.
	UseAgent bool
	// AgentKeys restricts UseAgent to the agent keys whose public half is
	// one of these: the node's own key, so that a node is never offered
	// (and its fail2ban never counts) every key of the agent. An agent
	// holding none of them is ErrAgentUnavailable. Nil means every agent
	// key, as ssh does without IdentitiesOnly.
	AgentKeys []ssh.PublicKey
	// HostKeys verifies the node's host key. Required: a nil policy is an
	// error, never "accept anything".
	HostKeys HostKeyPolicy
}
