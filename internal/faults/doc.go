// Package faults is the fault-injection suite of issue 5 ("faults, bad
// input, load"): a loopback TCP Proxy that sits between the SDK and an
// sshtest node and breaks the stream in the ways networks and peers do,
// and the tests that drive the SDK through it and through hostile input.
//
// # Proxy
//
// New starts a Proxy on 127.0.0.1:0 that relays every connection to
// Config.Upstream and injects one Fault: BlackHole (accept, never
// answer), Delay (a wait before each chunk, per direction), Drop (close
// both sides after N bytes), Reset (SO_LINGER 0 then close: an RST after
// N bytes), Garbage (random bytes instead of the node's after N) and
// Stall (stop forwarding after N bytes, keep the connection open). The
// byte count N is Config.After, counted in Config.Direction.
// Config.Connections limits the fault to the first connections, so a
// node can drop one connection and serve the next.
//
// # Zero values and lifecycle
//
// The zero Config with an Upstream relays unchanged. Whoever calls New
// calls Close, which closes the listener and every connection and waits
// for every goroutine the proxy started; the Proxy is safe for concurrent
// use.
//
// # Cost
//
// Two goroutines and a 32 KiB buffer per direction per connection; with
// Config.Record, up to MaxRecord bytes per direction are kept.
//
// # Tests
//
// The tests of this package (not the Proxy) cover the rest of the
// section: every fault ends within its deadline plus one second with the
// code where the fault hits and leaves no goroutine behind; a canary
// token printed by the node never reaches an API response, a dashboard
// page or a log line; shell metacharacters in node records never reach
// the remote script; a changed host key is never accepted.
package faults
