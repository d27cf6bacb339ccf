package apihttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/pressluft/runtime-readiness/contracts"
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
)

// JobErrorNodeNotReady is the job error code of a job that was admitted
// but found its node not ready when it was about to run.
const JobErrorNodeNotReady = "NODE_NOT_READY"

// WriteError writes the project's error shape, {"code": ..., "message": ...},
// with the given status. Host handlers use it too, so every error a client
// sees has one shape. message must be operator-safe: never raw remote
// output or an internal error's text.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, contracts.Error{Code: contracts.ApiErrorCode(code), Message: message})
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
