// Package apihttp is the HTTP surface of the readiness SDK for a Go
// control plane built on net/http. It hands the host functions and
// handlers, never a router: the refusal of a create whose node is not
// ready (WriteRefusal, RefusalMessage), middleware that runs the
// preflight for a host without a seam of its own (Guard), the node
// readiness handlers (NewReportHandler, NewRefreshHandler), and the
// project's error shape (WriteError). The host mounts them where its
// own routes, prefix and authentication already are. Responses are the
// types generated from contracts/openapi.yaml (package contracts);
// reports are served exactly as readiness.Report marshals them.
//
// Dependencies point one way: apihttp -> preflight -> probe -> sshexec,
// all -> readiness. This package imports only the standard library,
// readiness, preflight, contracts and github.com/oapi-codegen/runtime.
// It defines the small interfaces it consumes, Chooser (for Guard) and
// Reporter (for the handlers); *preflight.Gate satisfies both.
//
// # Zero values and configuration
//
// There is no type to construct or close: Guard takes a GuardConfig and
// the handlers a HandlerConfig, copy it and default its zero fields;
// none starts a goroutine or holds a resource. Required fields panic at
// construction, since a missing one is a wiring bug, not a request
// error: GuardConfig.Gate and Candidates, and a malformed Prefix (an
// escape, a wildcard, an unclean path, a trailing slash); HandlerConfig.Gate.
//
// GuardConfig's zero fields mean: no Validate (the body must be a JSON
// object), Prefix "" (the routes as seen inside the host's
// http.StripPrefix("/api", ...)), Refuse WriteRefusal, Error WriteError,
// MaxBodyBytes 1 MiB, no OnDecision, no logging. HandlerConfig's: the
// node id is r.PathValue("id"), cross-origin protection is
// http.NewCrossOriginProtection() (no trusted origins), Error
// WriteError, no logging.
//
// # The host's seam comes first
//
// A host whose site and environment services already ask a readiness
// interface (Evaluate(ctx, node)) needs no middleware: the service, after
// its own validation, asks the gate and enqueues only on an admission.
// preflight.Gate.Check decides one node; Gate.Choose decides the first
// admitted of the host's candidates, in its order, and on a refusal
// carries each candidate's (Decision.Candidates):
//
//	d, err := gate.Choose(ctx, readiness.OperationSiteCreate, candidates)
//	if err != nil {
//		return err
//	}
//	if err := d.Err(); err != nil {
//		return err // a *preflight.RefusedError; nothing is queued
//	}
//	return enqueue(ctx, d.NodeID)
//
// Its handler turns the refusal into the 409:
//
//	var refused *preflight.RefusedError
//	if errors.As(err, &refused) {
//		apihttp.WriteRefusal(w, refused.Decision)
//		return
//	}
//
// WriteRefusal writes
//
//	409 {"code":"node_not_ready","message":"node is not ready for site_create: not_ready: sudo_password_required",
//	     "node_id":"...","readiness":{...the full readiness.Report...},
//	     "candidates":[{"node_id":"...","readiness":{...}}, ...]}
//
// with candidates only when the gate refused several, node_id "" and the
// reason no_candidate_node when there was no candidate at all, and
// Retry-After: 10 when a retry may succeed without anyone acting
// (Retryable: every blocking reason of the node, or of at least one
// candidate, may clear by itself: pending acquisition, an unreachable
// node, a check never run). A host whose error bodies are flat
// {"code","message"} objects (its clients decode them into
// map[string]string, which the nested report breaks) writes its own
// with RefusalMessage and Retryable instead. The worker re-checks just
// before running the job and fails it with JobErrorNodeNotReady.
//
// # Guard, for a host without a seam
//
// Guard(cfg) wraps the host's API router and acts on exactly two routes,
// below cfg.Prefix, matched as a Go 1.22 ServeMux matches the patterns
// "POST {Prefix}/sites" (site_create) and
// "POST {Prefix}/sites/{id}/environments" (env_create): segment by
// segment on the escaped path, each segment unescaped, so "/%73ites" is
// guarded exactly when the mux would route it to the create handler.
// Every other request, whatever its method or path (GET /sites, PUT
// /sites, POST /sites/{id}/other, ...), reaches the next handler
// untouched, with no gate call.
//
// Mount it inside the host's API router, after its authentication, so
// that the order of a create is authenticate, validate, check, enqueue:
//
//	guard := apihttp.Guard(apihttp.GuardConfig{Gate: gate, Validate: validate, Candidates: candidates})
//	mux.Handle("/api/", http.StripPrefix("/api", requireSession(guard(api))))
//
// An anonymous request then never reaches the gate, so it cannot cause
// a probe. Where the guard sees the full path instead (around the
// StripPrefix, or around a router whose patterns carry /api), set
// Prefix "/api"; there it also checks a request with an escaped prefix
// ("/%61pi/sites") that StripPrefix then answers 404, which costs a
// check but lets no create through unchecked.
//
// On a guarded route Guard reads the body (at most MaxBodyBytes), then
// calls, in order: Validate, the host's own validation (its strict
// decoder, its required fields, an unknown site), which writes the
// host's own 400 or 404 and stops the request before any probe;
// Candidates, the nodes the create may run on (NodeIDField reads a
// node_id member of the body, as encoding/json would); Gate.Choose;
// OnDecision, for audit rows and metrics; and, for a refusal, Refuse,
// before the next handler runs, so no job row is written. Every hook
// reads the whole body from r.Body (rewound for each) as well as from
// Request.Body. An admitted request, also one admitted in warn mode,
// reaches the next handler with its body byte for byte (r.Body
// replaced, ContentLength kept) and the Decision in its context
// (DecisionFrom), so the host can record a warn-mode admission as the
// audit trail requires.
//
// # Readiness handlers
//
// NewReportHandler serves a node's last readiness.Report and never
// probes: a node never checked is unknown (node_never_probed), an old
// result unknown (readiness_stale), a node being acquired pending
// (node_acquiring). NewRefreshHandler probes the node now: one SSH
// round trip bounded by the gate's probe deadline (10s by default,
// counted from when the probe gets a fleet slot; a probe already
// running is waited for first), shared by concurrent refreshes and
// bounded by the request's context too. Mount them on the host's own
// node routes, inside its authentication:
//
//	api.Handle("GET /nodes/{id}/readiness", apihttp.NewReportHandler(cfg))
//	api.Handle("POST /nodes/{id}/readiness/refresh", apihttp.NewRefreshHandler(cfg))
//
// They take the node id from the host (r.PathValue("id"), or
// HandlerConfig.NodeID), so they work under any prefix and behind
// http.StripPrefix; an empty id is 404. With method patterns as above
// the mux answers other methods 405 itself; mounted without a method,
// the handlers answer 405 method_not_allowed with Allow. Because a
// refresh starts a probe and the host's session is a cookie, the
// refresh handler refuses cross-origin browser requests (Sec-Fetch-Site
// cross-site or same-site, or an Origin that is not the Host) with 403
// forbidden before probing; same-origin requests and clients that send
// no browser headers (curl, Go) pass, and HandlerConfig.CrossOrigin
// adds trusted origins.
//
// # Errors
//
// Every error the package writes goes through an ErrorFunc
// (GuardConfig.Error, HandlerConfig.Error; default WriteError, the
// {"code": ..., "message": ...} shape host handlers can share) with an
// append-only lower_snake code: bad_request (a body that is not a JSON
// object, malformed JSON, an unreadable body, a node_id that is not a
// non-empty string, a Candidates error wrapping ErrInvalid, whose text
// is the message), not_found (a Candidates error wrapping ErrNotFound,
// an unknown node, an empty node id), payload_too_large, forbidden,
// method_not_allowed (with Allow), and internal_error. Refusals go
// through the RefuseFunc, node_not_ready by default. Messages are fixed,
// client-safe strings: no raw remote output, internal error text or
// stack trace ever reaches a response. Any other failure (a Candidates
// or gate error) is 500 internal_error "internal error", and the
// error's text is logged at the config's Logger; no log line carries a
// report's observed data, and a refusal or admission logs nothing.
// docs/error-codes.md lists every code.
//
// # Cost
//
// A request Guard does not guard costs a method and path comparison
// (tens of nanoseconds, no allocation; BenchmarkUnguardedRoute). A
// guarded create with a warm gate adds reading the body into one
// buffer, the default validation (one pass, as json.Valid), NodeIDField
// (a second pass that finds node_id; encoding/json decodes only unusual
// member names), the Gate.Choose of one candidate (a cached Check), and
// the request copy that hands the body and decision on: 6 allocations
// (848 B) for a small body (BenchmarkGuardOverhead), and 1.15x a
// minimal decode-and-202 handler (BenchmarkGuardedCreate against
// BenchmarkUnguardedCreate, request parsing included in both; median of
// seven interleaved rounds of scripts/bench.sh ONLY=gate). Those were
// measured on a shared 2-core machine under a load of 5 to 13, where
// the overhead itself read 1.4 to 5 us between runs: the allocations
// and the ratio are the figures to rely on, not the nanoseconds. A real
// create handler that writes a job row dwarfs it. A host Validate that decodes the body
// costs what its decoder costs, once more than the handler's own decode.
// The body is read before the gate is asked, so the limit, not the gate,
// bounds memory. A cold node costs one SSH probe, shared by every
// concurrent create for that node; Choose checks up to eight candidates
// ahead, each at most one probe. The readiness handlers cost a map
// look-up on the gate (report) or one probe (refresh).
package apihttp
