// Package loadtest is a bounded load generator for the example control
// plane, and a harness that runs that server (examples/devserver, a
// package main) as a child process on loopback.
//
// Run sends N POST /api/sites requests (unique slugs, node ids cycled
// from Config.Targets) with bounded concurrency and reports the status
// counts, the job id of every 202 with its node, the 409s by node, and
// every latency. StartDevserver builds examples/devserver once per test
// process (with -race when the test binary has it) and starts it with
// "-addr 127.0.0.1:0" and its own SQLite file, so a test can read the
// jobs table after Stop.
//
// # Zero values and lifecycle
//
// Every zero Config field but BaseURL and Targets has a default (10,000
// requests, 64 in flight). Run owns its HTTP transport and goroutines and
// has closed and ended them when it returns. Whoever calls StartDevserver
// calls Devserver.Stop, which sends SIGINT and waits for a clean exit.
//
// # Cost
//
// One goroutine per unit of concurrency and one latency sample (8 bytes)
// per request. The first StartDevserver of a process runs go build
// (seconds when the build cache is warm).
package loadtest
