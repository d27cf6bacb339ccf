// Package apihttp is the HTTP surface of the readiness SDK for a Go
// control plane built on net/http: middleware that refuses creates on
// nodes that are not ready before anything is queued, the node readiness
// endpoints, and the project's error shape. Responses are the types
// generated from contracts/openapi.yaml (package contracts); reports are
// served exactly as readiness.Report marshals them.
//
// Dependencies point one way: apihttp -> preflight -> probe -> sshexec,
// all -> readiness. This package imports only the standard library,
// readiness, preflight, contracts and github.com/oapi-codegen/runtime.
// It defines the small interfaces it consumes: Gate (*preflight.Gate
// satisfies it), Sites and NodeCreator.
//
// # Zero values and configuration
//
// There is no type to construct: Guard and NewNodesHandler take a Config,
// copy it and default its zero fields (1 MiB body limit, no default node,
// no node creator, no decision hook, no logging); see each field's doc.
// Both panic at construction if a required field is missing (Gate; Nodes
// for NewNodesHandler), since that is a wiring bug, not a request error.
// Neither starts a goroutine or holds resources: there is nothing to
// close.
//
// # Guarded routes
//
// Guard(cfg) wraps the host's router and acts on exactly two routes,
// matched as a Go 1.22 ServeMux matches them: POST /api/sites
// (operation site_create) and POST /api/sites/{id}/environments
// (env_create). Every other request, whatever its method or path (GET
// /api/sites, PUT /api/sites, POST /api/sites/{id}/other, ...), goes to the
// next handler untouched, with no Gate call, so the host's route
// hierarchy and site-detail scoping do not change.
//
// On a guarded route Guard reads the body (at most MaxBodyBytes) and
// finds the target node: the body's node_id, read as encoding/json reads
// it; without one, DefaultNode for POST /api/sites and the site's node
// (Sites.SiteNode) for environments. An environments create always
// resolves its site, so an unknown site is 404 even with a node_id. It
// then calls Gate.Check and OnDecision. A refused create is answered
// before the next handler runs, so no job row is written:
//
//	409 {"code":"node_not_ready","message":"node is not ready for site_create: not_ready: sudo_password_required",
//	     "node_id":"...","readiness":{...the full readiness.Report...}}
//
// with Retry-After: 10 when every blocking reason may clear by itself
// (pending acquisition, an unreachable node, a check never run). An
// admitted request, including one admitted in warn mode, goes to the
// next handler with its body byte for byte (r.Body replaced,
// ContentLength kept) and the Decision in its context (DecisionFrom), so
// the host can record a warn-mode admission as the audit trail requires.
//
// # Readiness endpoints
//
// NewNodesHandler(cfg) serves, on their full /api paths:
//
//	GET  /api/nodes                          [NodeSummary]: lifecycle, state, primary reason, remediation, last check
//	GET  /api/nodes/{id}                     NodeSummary
//	GET  /api/nodes/{id}/readiness           the last readiness.Report (never probes)
//	POST /api/nodes/{id}/readiness/refresh   probe now and return the new Report
//	POST /api/nodes                          {"name","provider"} -> 202 {"node_id","job_id"} (async acquisition)
//
// The list and the node summaries come from Gate.Report and Gate.Status
// and never probe: a node never checked is unknown (node_never_probed),
// an old result unknown (readiness_stale), a node being acquired pending
// (node_acquiring). A refresh is one SSH round trip bounded by the gate's
// probe deadline (10s by default, counted from when the probe gets a
// fleet slot; a probe already running is waited for first); concurrent
// refreshes share it. The request's context bounds the wait too.
//
// # Errors
//
// Every error is {"code": ..., "message": ...} (WriteError, which host
// handlers use too) with an append-only lower_snake code: bad_request
// (malformed JSON, a body that is not an object, a node_id that is not a
// non-empty string, a missing node_id without a default node, a bad node
// name), not_found (unknown node, site or route), payload_too_large,
// method_not_allowed (with Allow), not_implemented (POST /api/nodes
// without a Creator), node_not_ready, and internal_error. Messages are
// fixed, client-safe strings: no raw remote output, internal error text
// or stack trace ever reaches a response. Any failure other than the
// mapped ones is 500 internal_error "internal error", and its detail is
// logged at Config.Logger (the error, never a report's observed data).
// docs/error-codes.md lists every code; docs/api-contract.md every
// endpoint.
//
// # Cost
//
// A request Guard does not guard costs a method and path comparison (a
// few nanoseconds, no allocation; BenchmarkUnguardedRoute). A guarded
// create with a warm gate adds reading the body into one buffer, one
// pass that validates it as json.Valid would and finds node_id
// (encoding/json decodes only unusual member names), the Gate.Check
// (about 0.4 us on a cached *preflight.Gate), and the request copy that
// hands the body and decision on: about 0.6 us and 5 allocations (0.8 KB)
// for a small body (BenchmarkGuardOverhead), about 1.15x a minimal
// decode-and-202 handler (BenchmarkGuardedCreate against
// BenchmarkUnguardedCreate, request parsing included in both); a real
// create handler that writes a job row dwarfs it. The body is read
// before the gate is asked, so the limit, not the gate, bounds memory.
// A cold node costs one SSH probe, shared by every
// concurrent create for that node. GET /api/nodes costs one NodeSource
// list and, per node, a Report and a Status (map look-ups on the gate).
package apihttp
