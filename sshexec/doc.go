// Package sshexec runs one command on a node over SSH, with host-key
// policies that fail closed, deadlines that hold whatever the peer does,
// and failures classified into readiness reason codes.
//
// A Run dials one TCP connection, performs the SSH handshake, verifies
// the host key, authenticates with the Target's keys (and optionally the
// SSH agent), opens one session, executes one command without a PTY,
// collects its output and exit status, and closes everything:
//
//	res, err := new(sshexec.Client).Run(ctx, sshexec.Target{
//		Host:     "203.0.113.7",
//		User:     "deploy",
//		Signers:  []ssh.Signer{signer},
//		HostKeys: sshexec.PinnedHostKeys(pinned),
//	}, "exec /bin/sh -s", script)
//
// # Zero values and lifecycle
//
// The zero Client is ready to use (10s per Run, 5s handshake, 64 KiB per
// output stream, no logging) and holds no resources: nothing needs
// closing. A Run closes its connection, session and agent connection
// before it returns, and waits for every goroutine it started. Host key
// policies are immutable values, safe to share.
//
// # Cost
//
// Each Run costs one TCP connection, one key exchange, one public-key
// authentication and one session; there is no connection reuse. Output
// memory is bounded by 2 x MaxOutput per Run.
//
// # Security
//
// A Target without a HostKeyPolicy is rejected; there is no policy that
// accepts any key. PinnedHostKeys accepts exactly the given keys;
// ParseKnownHosts and KnownHostsFile read an OpenSSH known_hosts file
// strictly (a malformed line is an error, never skipped; @revoked keys
// are rejected); AcceptNew trusts a key on first use and never accepts a
// changed key. The client offers only the host key algorithms of the keys
// it knows for the host, so a node with several host keys presents the
// pinned one rather than a different type that would look like a
// mismatch. Errors and logs never contain private keys, passphrases or
// remote output; Error.Detail is safe to show to operators.
//
// # Deadlines
//
// Every Run has a deadline: the earlier of the context's and
// Client.Timeout. TCP connect uses the context; the handshake has its own
// deadline (Client.HandshakeTimeout, capped by the Run's) set on the
// connection; the command phase is bounded by the Run's deadline. When
// the context ends, a watcher closes the network connection, the only
// thing that unblocks a frozen peer, so Run returns within its deadline
// plus a small margin whether the peer is silent, sends garbage, stalls
// the handshake, hangs after exec or floods output.
//
// # Output
//
// Stdout and stderr are each kept up to Client.MaxOutput bytes; the rest
// is read and discarded (Result.StdoutTruncated, StderrTruncated), so a
// flood never stalls the session. A non-zero exit status or a death by
// signal is a Result, not an error.
//
// # Errors
//
// Run's errors are *Error values carrying the Phase where the Run
// stopped, a readiness.Code (CodeOf extracts it) and an operator-safe
// Detail:
//
//	ssh_host_unresolvable  DNS lookup failed
//	ssh_unreachable        TCP connect refused, unreachable or timed out
//	ssh_handshake_failed   no or broken SSH handshake (silent peer, garbage
//	                       banner, handshake or authentication timeout)
//	ssh_host_key_unknown   the policy knows no key for the host
//	ssh_host_key_mismatch  the node presented another (or a revoked) key;
//	                       Error.Fingerprint names it
//	ssh_host_cert_invalid  a host certificate a trusted CA did not validly
//	                       issue for the host (Error.Detail says why)
//	ssh_auth_failed        the node rejected every client key
//	ssh_exec_rejected      the node refused the session or the command
//	probe_timeout          the command did not finish before the deadline
//	probe_interrupted      connection lost mid-command (no exit status),
//	                       or the caller canceled the context
//
// Problems found before dialing carry a code too, so a report never hides
// them: an invalid Target wraps ErrInvalidTarget (nothing was dialed) with
// node_address_missing, node_config_invalid, ssh_host_key_unknown (no host
// key policy) or ssh_credentials_unavailable (no keys); an unusable agent
// wraps ErrAgentUnavailable with ssh_credentials_unavailable; an AcceptNew
// persist callback's error is ssh_host_key_unknown (the key was not pinned).
// Cancellation wraps context.Canceled and timeouts wrap
// context.DeadlineExceeded, for errors.Is. Key loading reports
// ErrPassphraseRequired and ErrWrongPassphrase.
package sshexec
