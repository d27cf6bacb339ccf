package fleetbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// Fleet is a set of running fake nodes that all simulate one profile.
type Fleet struct {
	Nodes []*sshtest.Node
}

// Start starts n nodes simulating p, a few at a time. It panics, as
// sshtest.NewNode does, when a node cannot start; nodes started before
// the panic are closed first.
func Start(n int, p sshtest.Profile) *Fleet {
	f := &Fleet{Nodes: make([]*sshtest.Node, n)}
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range min(n, 8) {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					failed.Store(fmt.Sprint(r))
				}
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				f.Nodes[i] = sshtest.NewNode(p)
			}
		})
	}
	wg.Wait()
	if msg := failed.Load(); msg != nil {
		f.Close()
		panic(msg)
	}
	return f
}

// Close closes every node, concurrently, and waits for them.
func (f *Fleet) Close() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, n := range f.Nodes {
		if n == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n.Close()
		})
	}
	wg.Wait()
}

// SetReplay turns replay on or off on every node (sshtest.Node.SetReplay):
// with it on, a node answers an exec it has run before from the record,
// and the fleet's commands stop costing this machine processes.
func (f *Fleet) SetReplay(on bool) {
	for _, n := range f.Nodes {
		n.SetReplay(on)
	}
}

// Pass is one visit of every node.
type Pass struct {
	// Ops is the number of operations that succeeded.
	Ops int
	// Elapsed is the wall time of the whole pass.
	Elapsed time.Duration
	// Err is the first error, nil when every operation succeeded.
	Err error
}

// PerSecond is the pass's throughput: successful operations per second.
func (p Pass) PerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Ops) / p.Elapsed.Seconds()
}

// Run calls op once for every node with at most workers calls at a time
// (workers < 1 means 1), and waits for all of them. The workers carry the
// pprof label fleetbench=label, and so does every goroutine they start
// (the SSH clients'), while the nodes' server goroutines carry none: a
// CPU profile tells the client side's cost from the nodes'.
func (f *Fleet) Run(ctx context.Context, label string, workers int, op func(ctx context.Context, n *sshtest.Node) error) Pass {
	workers = max(workers, 1)
	var next, ok atomic.Int64
	var errOnce sync.Once
	var first error
	start := time.Now()
	var wg sync.WaitGroup
	for range min(workers, len(f.Nodes)) {
		wg.Go(func() {
			pprof.Do(ctx, pprof.Labels("fleetbench", label), func(ctx context.Context) {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(f.Nodes) {
						return
					}
					if err := op(ctx, f.Nodes[i]); err != nil {
						errOnce.Do(func() { first = fmt.Errorf("fleetbench: node %d (%s): %w", i, f.Nodes[i].Addr(), err) })
						continue
					}
					ok.Add(1)
				}
			})
		})
	}
	wg.Wait()
	return Pass{Ops: int(ok.Load()), Elapsed: time.Since(start), Err: first}
}

// Evaluate evaluates every node once through the SDK (Prober.Observe and
// readiness.Evaluate under policy for op); a node whose report is not
// ready is an error.
func (f *Fleet) Evaluate(ctx context.Context, workers int, p *probe.Prober, policy readiness.Policy, op readiness.Operation) Pass {
	return f.Run(ctx, "sdk", workers, func(ctx context.Context, n *sshtest.Node) error {
		return EvaluateNode(ctx, p, n, policy, op)
	})
}

// EvaluateNode is one SDK evaluation of n; not ready is an error.
func EvaluateNode(ctx context.Context, p *probe.Prober, n *sshtest.Node, policy readiness.Policy, op readiness.Operation) error {
	r := readiness.Evaluate(p.Observe(ctx, n.Addr(), n.Target()), policy, op)
	if !r.Ready() {
		return errors.New("not ready: " + r.Summary())
	}
	return nil
}

// Raw runs `true` once on every node with x/crypto/ssh directly: dial,
// handshake, auth, one session, exec, close. It is the floor under any
// check of the fleet.
func (f *Fleet) Raw(ctx context.Context, workers int) Pass {
	return f.Run(ctx, "raw", workers, RawNode)
}

// RawNode is one raw dial + auth + exec `true` on n. ctx bounds the dial
// and, by closing the connection, the rest.
func RawNode(ctx context.Context, n *sshtest.Node) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.Addr())
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, n.Addr(), n.ClientConfig())
	if err != nil {
		conn.Close()
		return err
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return err
	}
	return s.Run("true")
}

// RaiseFileLimit sets the soft RLIMIT_NOFILE to the hard limit and
// returns the limit now in force.
func RaiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
