// Package fleetbench measures the SDK against a fleet: many fake nodes
// (sshtest), each evaluated once per pass through probe.Prober with a
// bounded number of workers, next to the same pass of raw dial + auth +
// exec `true` through golang.org/x/crypto/ssh on the same nodes and
// cores. It is internal: a harness for its own benchmark and test.
//
// # Lifecycle
//
// Start returns a running Fleet; the caller must call Close, which closes
// every node (and so waits for every goroutine and process the nodes
// started). A Fleet holds one listener and one temp dir per node, and a
// file descriptor or two per connection in flight: 1,000 nodes with 32
// workers need about 1,200 descriptors. RaiseFileLimit lifts the soft
// RLIMIT_NOFILE to the hard limit (Go does so at start-up already; the
// call reports the limit in force).
//
// # Passes
//
// Fleet.Evaluate and Fleet.Raw visit every node once with at most the
// given number of workers and return a Pass: how many operations, how
// long, and the first error. Operations fail closed: a node that is not
// ready under the pass's policy is an error, so a pass that is fast
// because it failed is never mistaken for throughput.
//
// # Memory
//
// PeakMemory samples the Go runtime's mapped memory
// (/memory/classes/total:bytes, runtime/metrics) while a pass runs and
// reports the highest value seen; MaxRSS is getrusage's maxrss of the
// process so far. Both count the whole process, so they include the fake
// nodes' own servers (gliderlabs/ssh), not only the SDK's side; the
// nodes' /bin/sh children are separate processes and are not counted.
//
// # Cost
//
// Every operation is a full SSH connection: a key exchange on each side,
// in this process. What the node then does depends on SetReplay. With
// replay off, each exec runs under /bin/sh on this machine: `true` is one
// shell, a probe about ten processes (the script's shell, its jobs and
// command substitutions, the sudo and systemctl stubs, grep), all on the
// cores the pass is measured on. With replay on (sshtest.Node.SetReplay),
// a node answers each exec after its first from the record, so neither
// pass starts a process and the cores do only the control plane's share
// of the work plus the nodes' SSH servers: what a control plane whose
// nodes are other machines pays. BenchmarkFleet measures both.
package fleetbench
