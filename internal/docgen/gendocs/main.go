// Command gendocs rewrites the generated sections of docs/ from the code.
// Run it from the repository root: go run ./internal/docgen/gendocs
package main

import (
	"fmt"
	"os"

	"github.com/pressluft/runtime-readiness/internal/docgen"
)

func main() {
	sections := docgen.Sections()
	for path, names := range docgen.Files {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gendocs:", err)
			os.Exit(1)
		}
		doc := string(b)
		for _, n := range names {
			if doc, err = docgen.Replace(doc, n, sections[n]); err != nil {
				fmt.Fprintf(os.Stderr, "gendocs: %s: %v\n", path, err)
				os.Exit(1)
			}
		}
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gendocs:", err)
			os.Exit(1)
		}
	}
}
