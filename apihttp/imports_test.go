package apihttp_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSDKImportGraph keeps what an importer of the SDK compiles free of
// test-only, example-only, generator and adapter packages: kin-openapi
// (contract tests), SQLite and chromedp (the example server),
// oapi-codegen's generator (scripts/generate.sh runs it with go run), and
// Prometheus's client_golang, which only the preflight/preflightprom
// adapter imports.
func TestSDKImportGraph(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps",
		"../readiness", "../probe", "../sshexec", "../preflight", "../apihttp", "../contracts").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/pressluft/runtime-readiness/contracts")
	for _, dep := range deps {
		for _, banned := range []string{
			"getkin/kin-openapi", "sqlite", "chromedp", "oapi-codegen/oapi-codegen",
			"github.com/prometheus/", "github.com/pressluft/runtime-readiness/preflight/preflightprom",
		} {
			require.NotContains(t, dep, banned, "the SDK imports %s", dep)
		}
	}
}

// TestApihttpImports: apihttp itself imports only the standard library,
// readiness, preflight, contracts and oapi-codegen's runtime.
func TestApihttpImports(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "../apihttp", "../contracts").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, imp := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(imp, "/")
		if !strings.Contains(first, ".") {
			continue // standard library
		}
		switch {
		case imp == "github.com/pressluft/runtime-readiness/readiness",
			imp == "github.com/pressluft/runtime-readiness/preflight",
			imp == "github.com/pressluft/runtime-readiness/contracts",
			strings.HasPrefix(imp, "github.com/oapi-codegen/runtime"):
		default:
			t.Errorf("apihttp or contracts imports %s", imp)
		}
	}
}
