package sshtest

import (
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// Target returns what sshexec needs to reach the node: host 127.0.0.1,
// the node's port, DefaultUser, the node's client signer, and a policy
// pinning the node's host key. Each call returns a fresh value.
func (n *Node) Target() sshexec.Target {
	return sshexec.Target{
		Host:     "127.0.0.1",
		Port:     n.Port(),
		User:     DefaultUser,
		Signers:  []ssh.Signer{n.clientSigner},
		HostKeys: sshexec.PinnedHostKeys(n.HostKey()),
	}
}
