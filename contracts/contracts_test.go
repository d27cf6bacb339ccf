package contracts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/readiness"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(contracts.Spec())
	require.NoError(t, err)
	return doc
}

func enumOf(t *testing.T, doc *openapi3.T, schema string) []string {
	t.Helper()
	ref, ok := doc.Components.Schemas[schema]
	require.True(t, ok, "no schema %s", schema)
	var out []string
	for _, v := range ref.Value.Enum {
		s, ok := v.(string)
		require.True(t, ok, "%s: enum value %v is not a string", schema, v)
		out = append(out, s)
	}
	return out
}

func TestSpecIsValidOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	require.NoError(t, doc.Validate(context.Background()))
	require.Equal(t, "3.0.3", doc.OpenAPI)
	require.Len(t, doc.Servers, 1)
	require.Equal(t, "/api", doc.Servers[0].URL)
	for path := range doc.Paths.Map() {
		require.False(t, strings.HasPrefix(path, "/api"), "path %s carries the /api prefix", path)
	}
}

func TestSpecEmbedsTheFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	require.True(t, bytes.Equal(b, contracts.Spec()), "Spec() is not openapi.yaml")
	s := contracts.Spec()
	s[0] = 'X'
	require.NotEqual(t, s[0], contracts.Spec()[0], "Spec() hands out the embedded bytes")
}

// TestSpecEndpoints pins the operations of the contract.
func TestSpecEndpoints(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	var got []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			got = append(got, method+" "+path)
		}
	}
	sort.Strings(got)
	want := []string{
		"GET /jobs", "GET /jobs/{id}",
		"GET /nodes", "GET /nodes/{id}", "GET /nodes/{id}/readiness",
		"GET /sites", "GET /sites/{id}", "GET /sites/{id}/environments",
		"POST /nodes", "POST /nodes/{id}/readiness/refresh",
		"POST /sites", "POST /sites/{id}/environments",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	id := doc.Components.Parameters["IdPathParam"].Value.Schema.Value
	require.Equal(t, "uuid", id.Format)
}

// TestReasonCodeEnumMatchesRegistry: the OpenAPI ReasonCode enum is
// readiness.Registry(), in registry order.
func TestReasonCodeEnumMatchesRegistry(t *testing.T) {
	t.Parallel()
	var want []string
	for _, c := range readiness.Registry() {
		want = append(want, string(c.Code))
	}
	if diff := cmp.Diff(want, enumOf(t, loadSpec(t), "ReasonCode")); diff != "" {
		t.Errorf("ReasonCode enum in openapi.yaml (-registry +yaml):\n%s", diff)
	}
}

// TestGeneratedReasonCodesMatchRegistry: every registry code is a valid
// generated ReasonCode (the generated code is not stale).
func TestGeneratedReasonCodesMatchRegistry(t *testing.T) {
	t.Parallel()
	for _, c := range readiness.Registry() {
		require.True(t, contracts.ReasonCode(c.Code).Valid(), "generated ReasonCode lacks %s: run scripts/generate.sh", c.Code)
	}
	require.False(t, contracts.ReasonCode("no_such_code").Valid())
}

// apiCodeRow is a row of the API error code table in docs/error-codes.md.
var apiCodeRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (\\d{3}) \\|")

func docSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "error-codes.md"))
	require.NoError(t, err)
	doc := string(b)
	i := strings.Index(doc, "\n"+heading+"\n")
	require.GreaterOrEqual(t, i, 0, "docs/error-codes.md has no %q section", heading)
	sec := doc[i+len(heading)+2:]
	if j := strings.Index(sec, "\n## "); j >= 0 {
		sec = sec[:j]
	}
	return sec
}

// TestApiErrorCodeEnumMatchesDocs: the ApiErrorCode enum is the API table
// of docs/error-codes.md, in order.
func TestApiErrorCodeEnumMatchesDocs(t *testing.T) {
	t.Parallel()
	var fromDoc []string
	for _, m := range apiCodeRow.FindAllStringSubmatch(docSection(t, "## API error codes"), -1) {
		fromDoc = append(fromDoc, m[1])
	}
	if diff := cmp.Diff(fromDoc, enumOf(t, loadSpec(t), "ApiErrorCode")); diff != "" {
		t.Errorf("ApiErrorCode enum (-docs/error-codes.md +openapi.yaml):\n%s", diff)
	}
}

func TestJobErrorCodesDocumented(t *testing.T) {
	t.Parallel()
	require.Contains(t, docSection(t, "## Job error codes (NODE_NOT_READY)"), "`NODE_NOT_READY`")
}

// TestEnumsMatchReadinessConstants: the enums that mirror readiness
// types carry exactly their values.
func TestEnumsMatchReadinessConstants(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	var prereqs []string
	for _, p := range readiness.Prerequisites() {
		prereqs = append(prereqs, string(p))
	}
	tests := []struct {
		schema string
		want   []string
	}{
		{"ReadinessState", []string{string(readiness.StateReady), string(readiness.StateNotReady), string(readiness.StatePending), string(readiness.StateUnknown)}},
		{"Severity", []string{string(readiness.SeverityBlocking), string(readiness.SeverityWarning)}},
		{"CheckStatus", []string{string(readiness.CheckPass), string(readiness.CheckFail), string(readiness.CheckWarn), string(readiness.CheckSkipped)}},
		{"Prerequisite", prereqs},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, enumOf(t, doc, tt.schema)); diff != "" {
			t.Errorf("%s enum (-readiness +openapi.yaml):\n%s", tt.schema, diff)
		}
	}
	transport := doc.Components.Schemas["ReadinessReport"].Value.Properties["transport"].Value.Enum
	require.Equal(t, []any{readiness.TransportSSH}, transport)
}

// TestReadinessSchemasMatchGoTypes proves that the readiness schemas,
// which the generated code maps to the readiness types (x-go-type),
// describe exactly what those types marshal: every JSON field is a
// property of the right type, and a property is required exactly when
// the field is never omitted.
func TestReadinessSchemasMatchGoTypes(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	types := map[string]reflect.Type{
		"ReadinessReport":    reflect.TypeFor[readiness.Report](),
		"Reason":             reflect.TypeFor[readiness.Reason](),
		"Check":              reflect.TypeFor[readiness.Check](),
		"Inventory":          reflect.TypeFor[readiness.Inventory](),
		"OSRelease":          reflect.TypeFor[readiness.OSRelease](),
		"InventoryComponent": reflect.TypeFor[readiness.InventoryComponent](),
	}
	for name, typ := range types {
		t.Run(name, func(t *testing.T) {
			schema := doc.Components.Schemas[name].Value
			require.NotNil(t, schema, "no schema %s", name)
			require.Equal(t, "readiness."+typ.Name(), schema.Extensions["x-go-type"], "x-go-type of %s", name)
			var wantProps, wantRequired []string
			for i := range typ.NumField() {
				f := typ.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" || !f.IsExported() {
					continue
				}
				jsonName, opts, _ := strings.Cut(tag, ",")
				wantProps = append(wantProps, jsonName)
				if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					wantRequired = append(wantRequired, jsonName)
				}
				prop, ok := schema.Properties[jsonName]
				if !ok {
					continue // reported by the property diff below
				}
				got, want := schemaType(prop.Value), goJSONType(f.Type)
				require.Equal(t, want, got, "%s.%s: schema type %s, Go field %s", name, jsonName, got, f.Type)
			}
			var gotProps []string
			for p := range schema.Properties {
				gotProps = append(gotProps, p)
			}
			slices.Sort(wantProps)
			slices.Sort(gotProps)
			if diff := cmp.Diff(wantProps, gotProps); diff != "" {
				t.Errorf("%s properties (-Go JSON fields +schema):\n%s", name, diff)
			}
			gotRequired := slices.Clone(schema.Required)
			slices.Sort(wantRequired)
			slices.Sort(gotRequired)
			if diff := cmp.Diff(wantRequired, gotRequired); diff != "" {
				t.Errorf("%s required (-Go fields without omitempty +schema):\n%s", name, diff)
			}
		})
	}
}

func schemaType(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		return ""
	}
	return (*s.Type)[0]
}

func goJSONType(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return goJSONType(t.Elem())
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.Kind().String()
}

// TestReadinessReportsValidate: reports of every kind, as readiness
// marshals them, are valid ReadinessReport documents.
func TestReadinessReportsValidate(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	schema := doc.Components.Schemas["ReadinessReport"].Value
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := &readiness.Facts{
		ScriptVersion: 1, OS: readiness.OSRelease{ID: "debian", VersionID: "12"}, Systemd: true, Sudo: readiness.SudoOK,
		Components: map[string]readiness.ComponentFacts{
			readiness.ComponentMariaDB: {Installed: true, Version: "10.11.8", Package: "1:10.11.8-0ubuntu0.24.04.1", Unit: "mariadb", Service: "failed"},
		},
	}
	reports := map[string]readiness.Report{
		"facts":        readiness.Evaluate(readiness.Observation{NodeID: "n", User: "u", HasAddress: true, Probed: true, CheckedAt: at, Facts: f}, readiness.Baseline(), readiness.OperationEnvCreate),
		"never probed": readiness.Evaluate(readiness.Observation{NodeID: "n", HasAddress: true}, readiness.Baseline(), readiness.OperationSiteCreate),
		"acquiring":    readiness.Evaluate(readiness.Observation{NodeID: "n", Lifecycle: readiness.LifecycleAcquiring}, readiness.Baseline(), ""),
		"unreachable": readiness.Evaluate(readiness.Observation{NodeID: "n", HasAddress: true, Probed: true, CheckedAt: at,
			Transport: &readiness.TransportFailure{Code: readiness.CodeSSHUnreachable, Detail: "connection refused"}}, readiness.Baseline(), readiness.OperationSiteCreate),
	}
	reports["stale"] = reports["facts"].Stale()
	for name, r := range reports {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(b, &v))
		require.NoError(t, schema.VisitJSON(v), "%s: %s", name, b)
	}
	golden, err := os.ReadFile(filepath.Join("..", "readiness", "testdata", "report_not_ready.json"))
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(golden, &v))
	require.NoError(t, schema.VisitJSON(v), "readiness/testdata/report_not_ready.json")
}
