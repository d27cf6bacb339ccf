package apihttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/preflight"
)

// The API error codes (contracts.ApiErrorCode); append-only.
const (
	CodeBadRequest       = string(contracts.ApiErrorCodeBadRequest)
	CodeUnauthorized     = string(contracts.ApiErrorCodeUnauthorized)
	CodeNotFound         = string(contracts.ApiErrorCodeNotFound)
	CodeConflict         = string(contracts.ApiErrorCodeConflict)
	CodeNodeNotReady     = string(contracts.ApiErrorCodeNodeNotReady)
	CodePayloadTooLarge  = string(contracts.ApiErrorCodePayloadTooLarge)
	CodeMethodNotAllowed = string(contracts.ApiErrorCodeMethodNotAllowed)
	CodeNotImplemented   = string(contracts.ApiErrorCodeNotImplemented)
	CodeInternalError    = string(contracts.ApiErrorCodeInternalError)
	CodeForbidden        = string(contracts.ApiErrorCodeForbidden)
)

// JobErrorNodeNotReady is preflight.JobErrorNodeNotReady, the job error
// code of a job whose node was not ready when the worker re-checked it.
const JobErrorNodeNotReady = preflight.JobErrorNodeNotReady

// WriteError writes the project's error shape, {"code": ..., "message": ...},
// with the given status. message must be operator-safe: never raw remote
// output or an internal error's text.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, contracts.Error{Code: contracts.ApiErrorCode(code), Message: message})
}

// WriteRefusal writes the default refusal of a create: 409
// node_not_ready with the node, its full readiness report and, when the
// gate chose among several candidates (preflight.Gate.Choose), each
// candidate's refusal; Retry-After when a retry may succeed without
// anyone acting (Retryable). A host with a seam of its own calls it from
// its handler when its service returns a *preflight.RefusedError. It
// writes nothing useful for an admitted decision: call it for refusals
// only.
func WriteRefusal(w http.ResponseWriter, d preflight.Decision) {
	if Retryable(d) {
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	body := contracts.NodeNotReady{
		Code:      contracts.NodeNotReadyCodeNodeNotReady,
		Message:   RefusalMessage(d),
		NodeId:    d.NodeID,
		Readiness: d.Report,
	}
	if len(d.Candidates) > 1 {
		cs := make([]contracts.CandidateRefusal, len(d.Candidates))
		for i, c := range d.Candidates {
			cs[i] = contracts.CandidateRefusal{NodeId: c.NodeID, Readiness: c.Report}
		}
		body.Candidates = &cs
	}
	writeJSON(w, http.StatusConflict, body)
}

// Retryable reports whether a refusal may clear by itself: every
// blocking reason of the node's report is retryable (pending
// acquisition, an unreachable node, a check never run) or, when the gate
// chose among several candidates, of at least one candidate's report,
// whatever the candidates' order. A RefuseFunc that sets Retry-After in
// its own shape uses it.
func Retryable(d preflight.Decision) bool {
	if len(d.Candidates) > 1 {
		for i := range d.Candidates {
			if d.Candidates[i].Report.Retryable() {
				return true
			}
		}
		return false
	}
	return d.Report.Retryable()
}

// RefusalMessage is the one-line, operator-safe message of a refusal:
// "node is not ready for site_create: not_ready: sudo_password_required",
// "no node is ready for site_create: ... (3 candidates)" when several
// candidates were refused, "no node is available for site_create" when
// there was none. A RefuseFunc that writes a flat error body uses it.
func RefusalMessage(d preflight.Decision) string {
	op := string(d.Operation)
	switch {
	case d.NodeID == "":
		return "no node is available for " + op
	case len(d.Candidates) > 1:
		return "no node is ready for " + op + ": first candidate " + d.Report.Summary() + " (" + strconv.Itoa(len(d.Candidates)) + " candidates)"
	}
	return "node is not ready for " + op + ": " + d.Report.Summary()
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON encodes v first, so that an encoding failure is a clean 500
// rather than a half-written body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"code":"internal_error","message":"internal error"}` + "\n")
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
