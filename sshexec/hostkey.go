package sshexec

// HostKeyPolicy decides whether a node's host key is trusted.
// Implementations live in this package (PinnedHostKeys, KnownHostsFile,
// AcceptNew); there is no policy that accepts any key.
type HostKeyPolicy interface {
	policy() // placeholder; helper A replaces this file
}
