package contracttest_test

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/internal/contracttest"
)

var (
	jsonHeader  = http.Header{"Content-Type": {"application/json"}}
	errorBody   = `{"code":"not_found","message":"not found"}`
	allowHeader = http.Header{"Content-Type": {"application/json"}, "Allow": {"GET, HEAD"}}
)

// TestValidateResponse: right answers are accepted and wrong ones
// rejected, for routed operations, HEAD, and requests no operation
// matches.
func TestValidateResponse(t *testing.T) {
	t.Parallel()
	job := "/api/jobs/0b6f2d4e-5a8c-4c1e-9f3a-2d7b8e6c1a90"
	tests := []struct {
		name   string
		method string
		target string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"list", "GET", "/api/jobs", 200, jsonHeader, `[]`, true},
		{"list that is not a list", "GET", "/api/jobs", 200, jsonHeader, `{}`, false},
		{"list as text", "GET", "/api/jobs", 200, http.Header{"Content-Type": {"text/plain"}}, `[]`, false},
		{"any host", "GET", "http://other.example:8080/api/jobs", 200, jsonHeader, `[]`, true},
		{"path without /api", "GET", "/jobs", 200, jsonHeader, `[]`, false},
		{"declared error", "GET", job, 404, jsonHeader, errorBody, true},
		{"unknown error code", "POST", "/api/sites", 400, jsonHeader, `{"code":"oops","message":"m"}`, false},
		{"error without message", "POST", "/api/sites", 400, jsonHeader, `{"code":"bad_request"}`, false},
		{"undeclared status", "GET", "/api/jobs", 418, jsonHeader, `[]`, false},
		{"HEAD is checked as GET", "HEAD", "/api/jobs", 200, jsonHeader, ``, true},
		{"HEAD with GET's body", "HEAD", "/api/jobs", 200, jsonHeader, `[]`, true},
		{"HEAD with a wrong body", "HEAD", "/api/jobs", 200, jsonHeader, `{}`, false},
		{"HEAD, undeclared status", "HEAD", "/api/jobs", 418, jsonHeader, ``, false},
		{"HEAD, unknown route", "HEAD", "/api/nowhere", 404, jsonHeader, ``, true},
		{"unknown route", "GET", "/api/nowhere", 404, jsonHeader, errorBody, true},
		{"unknown route, wrong body", "GET", "/api/nowhere", 404, jsonHeader, `{"error":"not found"}`, false},
		{"unknown route, not JSON", "GET", "/api/nowhere", 404, jsonHeader, `404 page not found`, false},
		{"unknown route as text", "GET", "/api/nowhere", 404, http.Header{"Content-Type": {"text/plain"}}, errorBody, false},
		{"unknown route, 200", "GET", "/api/nowhere", 200, jsonHeader, `[]`, false},
		{"unknown route, 405", "GET", "/api/nowhere", 405, allowHeader, errorBody, false},
		{"unknown method", "DELETE", job, 405, allowHeader, `{"code":"method_not_allowed","message":"m"}`, true},
		{"unknown method without Allow", "DELETE", job, 405, jsonHeader, `{"code":"method_not_allowed","message":"m"}`, false},
		{"unknown method, 404", "DELETE", job, 404, jsonHeader, errorBody, false},
		{"unknown method, wrong body", "DELETE", job, 405, allowHeader, `{"code":"method_not_allowed"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.target, nil)
			err := contracttest.ValidateResponse(req, tt.status, tt.header, []byte(tt.body))
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err, "accepted %s %s: %d %s", tt.method, tt.target, tt.status, tt.body)
			}
			require.Equal(t, tt.method, req.Method, "the caller's request was modified")
		})
	}
}

func TestValidateBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema string
		body   string
		ok     bool
	}{
		{"error", "Error", errorBody, true},
		{"unknown code", "Error", `{"code":"oops","message":"m"}`, false},
		{"missing message", "Error", `{"code":"not_found"}`, false},
		{"not JSON", "Error", `not found`, false},
		{"job accepted", "JobAccepted", `{}`, false},
		{"unknown schema", "NoSuchSchema", `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := contracttest.ValidateBody(tt.schema, []byte(tt.body))
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err, "accepted %s as %s", tt.body, tt.schema)
			}
		})
	}
}

// TestImportedOnlyFromTests: no package of the module imports
// contracttest outside its _test.go files, so kin-openapi is compiled
// into tests only.
func TestImportedOnlyFromTests(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), " ")
		for _, imp := range strings.Fields(imports) {
			require.NotEqual(t, "github.com/pressluft/runtime-readiness/internal/contracttest", imp, "%s imports it outside its tests", pkg)
		}
	}
}
