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
// policies are safe to share; all but a KnownHosts store's are immutable
// values. A KnownHosts holds no open file and needs no closing either.
//
// # Cost
//
// Each Run costs one TCP connection, one key exchange, one public-key
// authentication and one session; there is no connection reuse. A node
// that drops the first connection before its banner or in key exchange
// (sshd past MaxStartups) costs a second connection after a random wait
// of 250ms-1s, inside the same deadline (see Client.Run); nothing else is
// retried, least of all an authentication failure, which a node's
// fail2ban counts. For the same reason Target.AgentKeys restricts the
// agent to the node's own key. Output
// memory is bounded by 2 x MaxOutput per Run. A KnownHosts store adds one
// stat of its file per Run, a parse when the file changed, and, for a key
// learned, one locked rewrite of the file with two fsyncs.
//
// # Host key policies
//
// A Target without a HostKeyPolicy is rejected, and there is no policy
// that accepts any key. A control plane with no host key store of its
// own picks, per node, one of:
//
//	PinnedHostKeys(keys...)      exactly these keys (from the node record)
//	KnownHostsFile, or           an OpenSSH known_hosts file, read once,
//	  ParseKnownHosts              strictly
//	OpenKnownHosts(path):
//	  .Strict()                  what the file holds now (it is followed)
//	  .AcceptNew()               trust on first use, persisted to the file
//
// AcceptNew(known, persist) is the building block under the store's
// AcceptNew, for callers that keep keys elsewhere (a database): it never
// accepts a key that differs from known's, and persist must record the
// key durably before it returns, or a restart trusts the next key anew.
//
// The client offers only the host key algorithms of the keys it knows for
// the host, so a node with several host keys presents the pinned one
// rather than a different type that would look like a mismatch; when a
// certificate authority applies to the host, the certificate algorithms
// come first. Errors and logs never contain private keys, passphrases or
// remote output; Error.Detail is safe to show to operators.
//
// # known_hosts files
//
// The files are OpenSSH's: comments and blank lines; comma-separated host
// patterns with *, ? and !; [host]:port for ports other than 22 (a host
// on port 22 is written bare); hashed names (|1|salt|hash); and the
// markers @revoked (the key, or CA, is refused for every host) and
// @cert-authority. Names match case-insensitively against Target.Host as
// given: no DNS, no CheckHostIP. Any line that cannot be fully parsed
// makes the whole file an error naming the line, so a damaged file is
// found rather than read as "host unknown".
//
// # Host certificates
//
// A "@cert-authority PATTERNS KEY" line trusts KEY to sign host
// certificates for the hosts PATTERNS match (the same names as plain
// lines, so "*.example.com" covers port 22 only and "[*.example.com]:*"
// every port). A node presenting such a certificate is accepted with
// ssh.CertChecker's semantics: CertType is HostCert; Target.Host, exactly
// and without the port (OpenSSH checks the bare host name as principal on
// any port), is one of ValidPrincipals (an empty list is valid for no
// host, as x/crypto's CertChecker has it; OpenSSH 9.2's ssh reads it as
// valid for every host, which this package does not follow); now is inside
// [ValidAfter, ValidBefore); there are no critical options; the CA's
// signature verifies; and neither the CA nor the certified key is
// @revoked. The clock is time.Now. Each refusal has its own Detail under
// the code ssh_host_cert_invalid (expired, not yet valid, not valid for
// this host, revoked key, revoked CA, not a host certificate, not signed
// by a trusted CA, critical options, no principals, bad signature).
//
// As in OpenSSH, a certificate that fails for any reason but revocation
// leaves the plain key it certifies to the plain logic: a pinned key
// still decides (accepted if it is the certified key, a mismatch if not).
// Only where that logic would find the key unknown is the certificate's
// failure the verdict, and accept-new never learns the key of a node
// whose certificate from a trusted CA fails. Result.HostKey is the plain
// key the certificate certifies, which is what a pin names.
//
// # The known_hosts store
//
// OpenKnownHosts opens a known_hosts file as a store. A missing file is
// an empty store, created by the first key learned (mode 0600, directory
// 0700); a malformed one is an error naming the line, at open and at
// every lookup while it stays malformed (fail closed: the store never
// falls back to what it read before).
//
// The policies follow the file, whoever changes it: an operator's edit,
// another process's learn. Each lookup stats the file and re-parses it
// only when its identity (device and inode), size or modification time
// changed, or when its modification time was within two seconds of the
// last read (a change within one timestamp granule, of the same size,
// would otherwise go unseen).
//
// A learn, done during the handshake before authentication, holds the
// store's mutex (goroutines of one process) and an exclusive flock(2) on
// a sidecar lock file, PATH.lock (for a symlink, its target's), honored
// by every process using this package; the lock is not on the file
// itself because the file is replaced by rename, which would leave a
// lock on the replaced inode. The lock file is never removed.
// Waiting for another process is bounded (5s). Under the lock the file
// is read and parsed again: a key for the host recorded meanwhile by
// anyone is a mismatch (ssh_host_key_mismatch) unless it is the same
// key, and a key revoked meanwhile is refused; otherwise one line,
// "host key-type base64" (knownhosts.Line of knownhosts.Normalize, the
// host lowercased), is appended to the bytes read, every existing byte
// (comments, hashed entries, markers, line ends) kept, and the result is
// written to a temporary file in the same directory with the file's mode
// (and owner, where permitted), fsynced, renamed over the file (a
// symlink's target, keeping the link) and the directory fsynced. A
// reader sees the old file or the new one, never a part. Learning needs
// flock: on platforms without it, it fails (ssh_host_key_unknown).
// OpenSSH's ssh and ssh-keygen read the result; tools that rewrite the
// file without taking PATH.lock (ssh itself, appending a key) can race a
// learn, though never corrupt it: the loser's line is lost, not mangled.
//
// # Why not x/crypto/ssh/knownhosts
//
// The package writes lines with golang.org/x/crypto/ssh/knownhosts
// (Normalize, Line) but reads files with its own parser, because what
// knownhosts.New offers does not fit a control plane that must fail
// closed and tell operators why:
//
//   - It skips lines it cannot parse, failing only when a file has no
//     valid line at all, so a damaged file reads as "host unknown" or
//     silently drops a @revoked line.
//   - It returns only an ssh.HostKeyCallback, with no way to list the
//     keys known for a host, which HostKeyAlgorithms needs so that a
//     node with several host keys presents the pinned one
//     (golang/go#29286).
//   - Its errors tell unknown from mismatch (KeyError) and revoked
//     (RevokedError), but a failed host certificate is an untyped
//     string from ssh.CertChecker, and a node that presents a
//     certificate is never checked as its plain key, as OpenSSH does
//     (a pinned node that gains a certificate from an untrusted CA
//     fails).
//   - It only reads: learning, locking and rewriting are left to the
//     caller.
//   - Its file is read once; following an operator's edits means
//     building a new callback.
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
//	ssh_connection_dropped the node closed or reset the connection before
//	                       its banner or during key exchange, twice (Run
//	                       retries once: sshd past MaxStartups)
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
// persist callback's error is ssh_host_key_unknown (the key was not pinned),
// as is a KnownHosts file that cannot be read or parsed at lookup.
// Cancellation wraps context.Canceled and timeouts wrap
// context.DeadlineExceeded, for errors.Is. Key loading reports
// ErrPassphraseRequired and ErrWrongPassphrase.
package sshexec
