// Package host is an example control plane shaped like the pressluft
// server of the wave5 era, with the readiness SDK embedded the way its
// engineers would embed it: through the readiness seam its services
// already call, with nothing of its own moved.
//
// What is the host's own (and would be there without the SDK):
//   - store.go: node, site, environment and job records in memory, in
//     store order (pressluft keeps them in SQLite);
//   - service.go: the site and environment services, which validate,
//     pick the node (for a site, the first provider-backed node whose
//     readiness check passes) through the ReadinessChecker interface they
//     receive at construction, and only then enqueue; and the worker,
//     which re-checks the node before it runs a job;
//   - api.go: the API router, a ServeMux whose patterns have no /api,
//     mounted under http.StripPrefix("/api", ...), with cookie
//     authentication inside it, strict JSON decoding, and one error
//     helper writing {"code","message"}.
//
// What it writes to use the SDK is glue.go alone (under 80 lines; a test
// counts them): the gate over its node records and key files, a
// persisted known_hosts file, the ReadinessChecker its services take, and
// the readiness endpoints mounted inside its own auth.
package host
