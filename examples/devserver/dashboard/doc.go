// Package dashboard is the example control plane's operator dashboard:
// server-rendered HTML pages that show every node's readiness on /nodes
// and guide the site and environment create flows, refusing with the
// node's reasons and remediation when the node is not ready.
//
// # Rendering from the API
//
// The dashboard holds no state and no database handle. Every page is
// built from the control plane's JSON API (contracts/openapi.yaml),
// called in process through the http.Handler in
// Config.API: GET /api/nodes, GET /api/nodes/{id}/readiness, POST
// /api/sites, and so on. A refused create is exactly the API's 409
// node_not_ready answer with its readiness report, so the page can only
// say what the gate decided. Any control plane serving that API can mount
// the dashboard.
//
// # Without JavaScript
//
// Every page reads and works without JavaScript: forms are plain POSTs
// answered with a redirect (or the re-rendered form), commands are
// selectable <code>, and pages with something in progress (a pending
// node, a queued or running job) carry a <noscript> meta refresh. The
// embedded script adds copy buttons and replaces the meta refresh with a
// poll of the JSON API that re-renders the page in place when something
// changed, until everything has settled.
//
// The stable markers the tests rely on are listed in docs/ui-flows.md.
//
// # Zero values and lifecycle
//
// New copies and defaults its Config; Config.API is required. A Handler
// starts no goroutines and needs no Close. It serves HTML for GET and form
// POSTs, its assets under /static/, and nothing under /api/: mount it next
// to the API, not in front of it. Form POSTs are protected against
// cross-origin submission with http.CrossOriginProtection.
//
// # Cost
//
// Each page is a handful of in-process API calls: /nodes makes one per
// node for the full report. Templates and assets are parsed once, in New.
package dashboard
