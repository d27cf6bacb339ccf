package sshexec

import (
	"io"
	"sync"
)

// closer closes every registered connection once, on demand. Run's
// watcher goroutine calls closeAll when the context ends, which unblocks
// any read or write on a frozen peer.
type closer struct {
	mu     sync.Mutex
	closed bool
	cs     []io.Closer
}

// add registers c. If closeAll already ran, it closes c at once and
// returns false.
func (g *closer) add(c io.Closer) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		_ = c.Close()
		return false
	}
	g.cs = append(g.cs, c)
	return true
}

func (g *closer) closeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, c := range g.cs {
		_ = c.Close()
	}
	g.cs = nil
}
