// Package preflight is the readiness gate pressluft's create flows call
// before they enqueue work on a node: Gate.Check answers "may site_create
// (or env_create) run on this node now?" with a Decision that carries the
// readiness.Report it rests on, and Gate.Choose answers "on which of
// these nodes, in my order, may it run?".
//
// Dependencies point one way: preflight -> probe -> sshexec, and all of
// them -> readiness. This package defines the small interfaces it
// consumes: NodeSource (the node records; Records adapts a host's own
// store), Credentials (a node's client keys and host-key policy;
// FileCredentials reads the key file a record names) and Prober
// (satisfied by *probe.Prober). MemoryNodes and MemoryCredentials
// implement the first two in memory for tests and examples, and
// preflight/preflighttest stands in for the SSH side in a host's own
// tests. The control plane's own host is a node like any other
// (Node.IsLocal) and is probed over SSH to its address.
//
// # The seam
//
// A host calls the gate from its own service, in this order:
// authenticate, validate, check readiness, enqueue. The service validates
// the request itself (an invalid request never causes a probe), then
// calls Check for a known node or Choose for its candidates, and
// enqueues only when the Decision admits; Decision.Err turns a refusal
// into a *RefusedError its handler answers with 409
// (apihttp.WriteRefusal, or its own error shape). The worker calls Check
// again just before it runs the job and fails it with
// JobErrorNodeNotReady when the node stopped being ready; such a job
// never succeeds. docs/embedding.md walks through it.
//
// # Zero values
//
// The zero Gate is not usable: create one with New, which validates the
// Config (Nodes, Credentials and Prober are required) and copies it. Every
// zero Config field has a documented default: enforce mode, the
// readiness.PolicyFor policies, 60s ReadyTTL, 10s FailTTL, 10m StaleAfter,
// 10s ProbeTimeout, 16 probes at once, no Observer, no logging, time.Now,
// host keys that must be pinned (fail closed), and no Memory (a restart
// forgets every node).
//
// # Record-based decisions
//
// A node that is acquiring or provisioning (pending), decommissioned, has
// no address (node_address_missing) or has an unusable SSH user, port or
// host (node_config_invalid) is decided from its record without a probe;
// HostLifecycle maps pressluft's statuses (unreachable is probed). A node
// whose keys or host-key policy the Credentials cannot supply is not
// dialed: ssh_credentials_unavailable. Host keys are verified by the
// policy Credentials returns: pinned keys, a known_hosts file, or
// accept-new persisted to a known_hosts file (sshexec.OpenKnownHosts),
// so a key learned on first contact is still pinned after a restart.
//
// # Caching
//
// Each node keeps its last Observation and the Reports evaluated from it,
// one per operation, so operations with different policies share one
// probe. Check reuses the observation for an operation while it is
// younger than ReadyTTL if it makes the node ready for that operation,
// and FailTTL otherwise: failures are re-probed sooner. Config.Policy is
// called when an observation is first evaluated for an operation. A change
// of the node's host, port or user, or a lifecycle other than active,
// discards the observation. Report never probes: it returns the last
// result, node_never_probed when there is none, or the result marked
// readiness_stale once older than StaleAfter. Refresh probes regardless
// of the cache. Reports handed out are shared with the cache: treat them
// as read-only.
//
// # fail2ban
//
// Nodes run fail2ban, which bans an address after a few failed logins
// (Debian's sshd jail: maxretry 5 in findtime 10m; in its aggressive mode
// a connection closed before authentication counts too). The gate never
// gets the control plane banned by its own probes:
//
//   - A refusal for ssh_auth_failed is reused for AuthFailBackoff (2m),
//     doubling with each consecutive auth failure up to
//     AuthFailBackoffMax (10m), by Check, Choose and the Monitor alike;
//     any other outcome resets it. With the defaults the gate makes at
//     most 3 failed logins in any 10 minutes. Refresh, the operator's
//     "re-check now", still probes at once: after fixing the key, press it.
//   - Only the node's own key is offered: the gate refuses an Auth with
//     UseAgent but no AgentKeys (ssh_credentials_unavailable, not dialed),
//     and FileCredentials.AgentFallback names the one agent key.
//   - sshexec retries a connection dropped before the handshake once,
//     never an authentication failure.
//
// When a node that refused the key (a probe that reached its sshd within
// the last 24 hours) then stops answering (ssh_unreachable), the gate
// reports ssh_banned_suspected instead, prerequisite tcp: the Detail and
// the remediation give UnbanCommand (sudo fail2ban-client set sshd
// unbanip CONTROL_PLANE_IP) and how to find the address. It is held under
// the same backoff, and lasts until the node answers again. A gate
// restarted without Config.Memory loses this memory and reports
// ssh_unreachable.
//
// # Memory across restarts
//
// Config.Memory, a MemoryStore the host implements (in pressluft, a
// SQLite table keyed by node id holding the Memory as JSON), keeps each
// node's last observation, the target it was taken of, when, and its
// auth-failure history across restarts of the control plane. The gate
// loads a node's Memory once, the first time it needs the node (Check,
// Choose, Refresh, Report, CountStates or a Monitor round; concurrent
// callers wait for that one Load), and saves it after every probe it
// records, from the probe's goroutine, which Close waits for. With it a
// restarted gate behaves as if it had not restarted: a cached report
// within its TTL is reused, a node within its auth-failure backoff is not
// probed by Check, Choose or the Monitor, the ban suspicion holds, and
// Refresh still probes. A Memory of another host, port or user is not
// used, nor one the gate could not have written (an unknown code, another
// node's observation, a time in the future: logged). A failed Load or
// Save is logged and never fails a decision: the node is then probed as
// if there were no memory. Status reflects a loaded Memory (its
// PreviousState starts over); it never loads one itself. A Memory holds
// no key and no raw remote output: what the readiness API serves of the
// node, and its address and SSH user. NewMemoryStore keeps Memories in
// memory, for tests and examples.
//
// # Coalescing
//
// At most one probe of a node runs at a time, and every caller that needs
// one while it runs waits for that same probe: a thousand concurrent
// Checks of a cold node make one SSH connection. A waiter whose ctx ends
// returns at once with ctx's error; the probe goes on for the others
// under the gate's own deadline (ProbeTimeout) and is owned by the gate.
// A Refresh does not trust a probe that started before it was called: it
// waits for it and starts a new one, which concurrent refreshes share.
// Across the fleet at most MaxConcurrentProbes probes run at once; the
// others queue for a slot.
//
// # Modes
//
// In ModeEnforce (the default) a node that is not ready is refused. In
// ModeWarn it is admitted, and the Decision records exactly what a
// refusal would have (WouldRefuse, the same Report, and the Waived codes),
// so the Observer and audit log keep the telemetry of a check that has
// been downgraded. Config.CodeModes sets the mode per reason code: a node
// is admitted only if every blocking reason is in warn mode. The global
// warn mode does not waive the lifecycle codes (node_acquiring,
// node_provisioning, node_decommissioned), which are the control plane's
// own records rather than checks; CodeModes can still name them.
//
// # Status
//
// Gate.Status returns a node's state under the DefaultOperation's policy,
// the state before it, and when it last changed and was last checked,
// updated whenever a probe finishes or a record-based report is made.
// Gate.CountStates counts the listed nodes by state in one NodeSource
// call, for a fleet gauge.
//
// # Monitor
//
// Gate.Monitor re-probes every node the NodeSource lists, right away and
// then at a jittered interval, so reports stay fresh for the dashboard and
// Checks hit a warm cache. It shares the fleet-wide probe bound, drops the
// state of nodes that disappear, and returns when its ctx is done after
// every probe it started has finished.
//
// # Observer and panics
//
// Config.Observer runs synchronously once per Check decision (not for
// Refresh or Report; Choose reports each candidate it waited for, and a
// no_candidate_node refusal) and delays Check by whatever it costs: keep
// it cheap. Config.ProbeObserver runs once per probe, whoever started it,
// with the probe's duration and failure code: time probes there, not from
// Decision.Duration, which includes queueing and counts a shared probe
// once per waiter. preflight/preflightprom turns both into Prometheus
// metrics.
// A panic in either observer is recovered and logged. A panic in the Prober
// is recovered too and becomes a probe_output_invalid observation of that
// node ("the prober failed internally"); the server keeps running.
//
// # Lifecycle and Close
//
// Whoever calls New calls Close. Close stops new probes, cancels the
// context of running ones and waits for every probe goroutine. Checks the
// cache can answer still work afterwards; anything that needs a probe
// fails with ErrClosed. Run Monitor in a goroutine you wait for and
// cancel its ctx before or after Close.
//
// # Cost
//
// A cached Check costs a NodeSource look-up, two clock reads, a map
// look-up under a per-node mutex and the Observer: well under a
// microsecond with MemoryNodes (BenchmarkCheckCached); with a Memory, the
// first call for each node adds one Load, and every probe one Save. An
// uncached Check
// costs one SSH round trip of the Prober (typically 100-500 ms, at most
// ProbeTimeout) plus one readiness.Evaluate per operation. The gate keeps
// one small entry per node it has seen, with the last observation and
// its reports (a few kilobytes).
package preflight
