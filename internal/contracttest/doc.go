// Package contracttest checks HTTP answers against the OpenAPI contract,
// contracts/openapi.yaml, with kin-openapi. It is for tests only: import
// it from _test.go files, never from a package an importer of the SDK
// compiles, so that kin-openapi stays out of the SDK's import graph
// (apihttp's TestSDKImportGraph and this package's own test enforce it).
//
// # Responses
//
// ValidateResponse checks one answer, its status, headers and body,
// against the operation the request routes to. The request is the one
// the client sent, with its /api path: the contract's server URL is the
// relative "/api", and the request is routed against an absolute URL
// with that path, whatever host it names. A status the operation does
// not declare fails.
//
// A HEAD request is checked as the GET it mirrors (the contract declares
// GET only; net/http answers HEAD with GET's handler): its status and
// headers, and its body only when the handler wrote one (a
// ResponseRecorder keeps what a server would discard).
//
// A request no operation matches must be answered 404 when the contract
// does not have the path and 405 when it has the path but not the method;
// a 405 carries an Allow header, and the body is the contract's Error
// schema, served as application/json.
//
// # Schemas
//
// ValidateBody checks a JSON body against one named schema of the
// contract's components, as a response body: for answers no operation
// describes, such as a handler's own 405 mounted at a path the contract
// does not have.
//
// # Cost and concurrency
//
// The first call loads and validates contracts.Spec() and builds its
// router, once per test binary (about 12 ms here); later calls share
// them, and a load that failed fails every call. Both functions return
// an error rather than taking a testing.TB, so they are safe from any
// goroutine and the caller decides whether a mismatch stops its test.
package contracttest
