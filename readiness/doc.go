// Package readiness is the model that decides whether a managed node can
// take work: explicit prerequisites, four states, stable reason codes with
// remediation, and a policy of what a node must carry.
//
// It is pure and deterministic: no I/O, no clock, no randomness. Package
// probe gathers an Observation over SSH; Evaluate turns it into a Report.
//
// # States
//
// A node is StateReady, StateNotReady, StatePending (the provider is still
// acquiring or provisioning it; it is not probed) or StateUnknown (never
// probed, or the result is stale: see Report.Stale).
//
// # Prerequisites
//
// Prerequisites form an ordered graph (see Prerequisites): lifecycle,
// address, tcp, ssh_handshake, host_key, auth, exec, then privilege,
// platform and runtime, which the probe observes side by side. A Report's
// primary reason is the most upstream blocking failure; a check that could
// not be observed is skipped and names the code that blocked it; a check
// that was observed is reported whatever failed upstream.
//
// # Reason codes
//
// Registry lists every Code with its prerequisite, severity, retryability,
// message and remediation. Codes are append-only. docs/error-codes.md is
// generated from the registry and tested against it.
//
// # Policy
//
// Baseline is the pressluft Ubuntu 24.04 node baseline; PolicyFor gives the
// set per Operation. The zero Policy requires only a working SSH round trip
// and passwordless sudo. Policies are values: With... methods return copies.
//
// # Cost
//
// Evaluate allocates a few kilobytes and runs in microseconds; it is safe to
// call on every request.
package readiness
