// Package docgen renders the parts of docs/ that are derived from code (the
// reason-code tables), so the Go registry and the docs never disagree.
// Run `go run ./internal/docgen/gendocs` after changing the registry; the
// tests in this package fail while a generated section is stale.
package docgen

import (
	"fmt"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Section markers delimit generated text inside a Markdown file.
func begin(name string) string { return "<!-- BEGIN GENERATED " + name + " -->" }
func end(name string) string   { return "<!-- END GENERATED " + name + " -->" }

// ReadinessCodes renders the registry as a Markdown table, in registry order.
func ReadinessCodes(reg []readiness.CodeInfo) string {
	var b strings.Builder
	b.WriteString("| # | code | prerequisite | state | severity | retryable | message | remediation |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for i, c := range reg {
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s | %t | %s | %s |\n",
			i+1, c.Code, c.Prerequisite, c.State, c.Severity, c.Retryable, cell(c.Message), cell(c.Remediation))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Sections are the generated sections, by name.
func Sections() map[string]string {
	return map[string]string{
		"readiness-codes": ReadinessCodes(readiness.Registry()),
	}
}

// Replace returns doc with the named section's body replaced by content.
func Replace(doc, name, content string) (string, error) {
	b, e := begin(name), end(name)
	i := strings.Index(doc, b)
	j := strings.Index(doc, e)
	if i < 0 || j < i {
		return "", fmt.Errorf("docgen: section %q: markers %q ... %q not found", name, b, e)
	}
	return doc[:i+len(b)] + "\n" + content + doc[j:], nil
}

// Extract returns the body of the named section.
func Extract(doc, name string) (string, error) {
	b, e := begin(name), end(name)
	i := strings.Index(doc, b)
	j := strings.Index(doc, e)
	if i < 0 || j < i {
		return "", fmt.Errorf("docgen: section %q: markers not found", name)
	}
	return strings.TrimPrefix(doc[i+len(b):j], "\n"), nil
}

// Files lists which generated sections each doc (path from the repo root)
// carries.
var Files = map[string][]string{
	"docs/error-codes.md":     {"readiness-codes"},
	"docs/readiness-model.md": {"readiness-codes"},
}
