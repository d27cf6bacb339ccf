package preflight

import (
	"testing"

	"github.com/pressluft/runtime-readiness/readiness"
)

// BenchmarkCheckCached measures a decision answered from the cache: node
// look-up in MemoryNodes, cache hit, report already evaluated for the
// operation, no Observer.
func BenchmarkCheckCached(b *testing.B) {
	g, err := New(Config{
		Nodes:       NewMemoryNodes(activeNode("n1")),
		Credentials: NewMemoryCredentials(newSigner(b)),
		Prober:      newFakeProber(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	if d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1"); err != nil || !d.Admit {
		b.Fatalf("warm-up: got admit=%v err=%v", d.Admit, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := g.Check(ctx, readiness.OperationSiteCreate, "n1")
		if err != nil || !d.Cached {
			b.Fatalf("got cached=%v err=%v, want a cached decision", d.Cached, err)
		}
	}
}
