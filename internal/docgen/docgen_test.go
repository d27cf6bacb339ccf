package docgen

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pressluft/runtime-readiness/readiness"
)

// TestDocsMatchRegistry fails when a generated section of docs/ disagrees
// with the Go registry. Fix: go run ./internal/docgen/gendocs
func TestDocsMatchRegistry(t *testing.T) {
	sections := Sections()
	for path, names := range Files {
		b, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			got, err := Extract(string(b), n)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if diff := cmp.Diff(sections[n], got); diff != "" {
				t.Errorf("%s section %s is stale; run go run ./internal/docgen/gendocs (-want +got):\n%s", path, n, diff)
			}
		}
	}
}

// TestErrorCodesDocListsEveryCodeOnce reads the table as a person would:
// every registry code appears exactly once as a row, in registry order.
func TestErrorCodesDocListsEveryCodeOnce(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "error-codes.md"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := Extract(string(b), "readiness-codes")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile("(?m)^\\| \\d+ \\| `([a-z_]+)` \\|").FindAllStringSubmatch(sec, -1) {
		got = append(got, m[1])
	}
	var want []string
	for _, c := range readiness.Registry() {
		want = append(want, string(c.Code))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/error-codes.md codes (-registry +doc):\n%s", diff)
	}
}

func TestReplaceRoundTrip(t *testing.T) {
	doc := "a\n" + begin("x") + "\nold\n" + end("x") + "\nb\n"
	out, err := Replace(doc, "x", "new\n")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Extract(out, "x")
	if err != nil || got != "new\n" {
		t.Fatalf("Extract after Replace = %q, %v; want %q", got, err, "new\n")
	}
	if _, err := Replace("no markers", "x", ""); err == nil {
		t.Fatal("Replace without markers: want error")
	}
}
