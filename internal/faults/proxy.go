package faults

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what a Proxy does to the bytes it relays.
type Fault int

const (
	// None relays every byte unchanged, both ways.
	None Fault = iota
	// BlackHole accepts the connection and never forwards or answers:
	// nothing is dialed upstream, the client's bytes are read and
	// discarded, and the connection stays open until the client or Close
	// ends it.
	BlackHole
	// Delay waits Config.Delay before forwarding each chunk read in the
	// faulted direction(s), like a slow link (a chunk is one Read).
	Delay
	// Drop forwards Config.After bytes in the faulted direction, then
	// closes both connections (a clean FIN to each side).
	Drop
	// Reset forwards Config.After bytes in the faulted direction, then
	// sets SO_LINGER to 0 on both connections and closes them, so each
	// peer gets a TCP RST. After 0 resets the client on accept.
	Reset
	// Garbage forwards Config.After bytes in the faulted direction, then
	// replaces every further byte in that direction with random bytes of
	// the same length.
	Garbage
	// Stall forwards Config.After bytes in the faulted direction, then
	// forwards nothing more that way (the bytes are read and discarded)
	// while keeping both connections open: a peer frozen mid-stream.
	Stall
)

var faultNames = []string{"none", "black-hole", "delay", "drop", "reset", "garbage", "stall"}

func (f Fault) String() string {
	if int(f) >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Direction selects which bytes a fault applies to.
type Direction int

const (
	// FromServer is the bytes the upstream node sends to the client.
	FromServer Direction = iota
	// FromClient is the bytes the client sends to the node.
	FromClient
	// BothWays applies the fault to each direction on its own (each has
	// its own byte count).
	BothWays
)

func (d Direction) has(x Direction) bool { return d == BothWays || d == x }

// Config describes a Proxy. The zero Config (with Upstream set) relays
// both ways unchanged.
type Config struct {
	// Upstream is the "host:port" every accepted connection is relayed
	// to. Required unless Fault is BlackHole.
	Upstream string
	// Fault is what to inject; the zero value is None.
	Fault Fault
	// Direction is which bytes Fault applies to; the zero value is
	// FromServer (what the node says).
	Direction Direction
	// After is how many bytes of the faulted direction pass unchanged
	// before Drop, Reset, Garbage or Stall strikes. Zero strikes at once.
	After int64
	// Delay is the wait before each chunk for the Delay fault. Zero
	// means 200ms.
	Delay time.Duration
	// Record keeps the first MaxRecord bytes forwarded each way, for
	// Transcript. False records nothing.
	Record bool
	// Connections limits Fault to the first Connections connections the
	// proxy accepts; later ones are relayed unchanged (a node that drops
	// one connection and serves the next). Zero faults every connection.
	Connections int
}

// MaxRecord is how many bytes per direction Config.Record keeps.
const MaxRecord = 1 << 20

// Proxy is a loopback TCP proxy that injects one fault between a client
// and an upstream node, for tests. Create it with New; Close it.
type Proxy struct {
	cfg Config
	ln  net.Listener

	mu       sync.Mutex
	upstream string
	conns    map[net.Conn]struct{}
	closed   bool

	recMu sync.Mutex
	rec   [2][]byte // Config.Record: bytes forwarded, by direction

	accepted  atomic.Int64
	relayed   [2]atomic.Int64 // bytes forwarded, by FromServer/FromClient
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts a proxy listening on 127.0.0.1 with a random port. The
// caller must call Close.
func New(cfg Config) (*Proxy, error) {
	if cfg.Fault != BlackHole && cfg.Upstream == "" {
		return nil, errors.New("faults: Upstream is required")
	}
	if cfg.Delay <= 0 {
		cfg.Delay = 200 * time.Millisecond
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: listen: %w", err)
	}
	p := &Proxy{cfg: cfg, upstream: cfg.Upstream, ln: ln, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port returns the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// SetUpstream relays connections accepted from now on to addr instead:
// the machine behind the proxy's address is replaced (a rebuilt node, a
// reused IP). Connections already relayed keep their upstream.
func (p *Proxy) SetUpstream(addr string) {
	p.mu.Lock()
	p.upstream = addr
	p.mu.Unlock()
}

// Accepted returns how many connections the proxy has accepted.
func (p *Proxy) Accepted() int { return int(p.accepted.Load()) }

// Relayed returns how many bytes were forwarded from the server to the
// client and from the client to the server (garbage counts as
// forwarded).
func (p *Proxy) Relayed() (fromServer, fromClient int64) {
	return p.relayed[FromServer].Load(), p.relayed[FromClient].Load()
}

// Transcript returns the bytes forwarded in direction dir (FromServer or
// FromClient) over every connection, in order, up to MaxRecord; nil
// unless Config.Record is set.
func (p *Proxy) Transcript(dir Direction) []byte {
	p.recMu.Lock()
	defer p.recMu.Unlock()
	return append([]byte(nil), p.rec[dir]...)
}

func (p *Proxy) record(dir Direction, b []byte) {
	if !p.cfg.Record {
		return
	}
	p.recMu.Lock()
	defer p.recMu.Unlock()
	if room := MaxRecord - len(p.rec[dir]); room > 0 {
		p.rec[dir] = append(p.rec[dir], b[:min(room, len(b))]...)
	}
}

// Close stops accepting, closes every connection and waits for every
// goroutine the proxy started. It is idempotent.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		close(p.done)
		p.ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	p.wg.Wait()
	return nil
}

// track registers c for Close; it reports false (and closes c) once the
// proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		nth := p.accepted.Add(1)
		if !p.track(c) {
			return
		}
		fault := p.cfg.Fault
		if p.cfg.Connections > 0 && nth > int64(p.cfg.Connections) {
			fault = None
		}
		p.wg.Add(1)
		go p.serve(c, fault)
	}
}

// serve relays one client connection, injecting fault.
func (p *Proxy) serve(client net.Conn, fault Fault) {
	defer p.wg.Done()
	defer p.untrack(client)
	switch {
	case fault == BlackHole:
		_, _ = io.Copy(io.Discard, client) // until the client or Close ends it
		return
	case fault == Reset && p.cfg.After == 0:
		rst(client)
		return
	}
	p.mu.Lock()
	upstream := p.upstream
	p.mu.Unlock()
	d := net.Dialer{Timeout: 5 * time.Second}
	server, err := d.Dial("tcp", upstream)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	c := &relay{p: p, fault: fault, client: client, server: server}
	var wg sync.WaitGroup
	wg.Go(func() { c.pump(FromServer, server, client) })
	wg.Go(func() { c.pump(FromClient, client, server) })
	wg.Wait()
}

// relay is one proxied connection.
type relay struct {
	p              *Proxy
	fault          Fault
	client, server net.Conn
	once           sync.Once
}

// closeBoth closes both sides, with an RST when reset is true.
func (r *relay) closeBoth(reset bool) {
	r.once.Do(func() {
		if reset {
			rst(r.client)
			rst(r.server)
			return
		}
		r.client.Close()
		r.server.Close()
	})
}

// rst closes c so that the peer gets a TCP RST.
func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// pump copies src to dst applying the fault for direction dir; when it
// ends, both connections are closed so the other pump ends too.
func (r *relay) pump(dir Direction, src, dst net.Conn) {
	cfg := r.p.cfg
	cfg.Fault = r.fault
	faulted := cfg.Fault != None && cfg.Direction.has(dir)
	var sent int64
	stalled := false
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 && !stalled {
			out := chunk
			chunk = nil
			if faulted {
				switch cfg.Fault {
				case Delay:
					select {
					case <-time.After(cfg.Delay):
					case <-r.p.done:
						r.closeBoth(false)
						return
					}
				case Drop, Reset, Garbage, Stall:
					left := cfg.After - sent
					if left <= 0 {
						switch cfg.Fault {
						case Drop:
							r.closeBoth(false)
							return
						case Reset:
							r.closeBoth(true)
							return
						case Stall:
							stalled = true
							continue
						case Garbage:
							_, _ = rand.Read(out)
						}
					} else if int64(len(out)) > left {
						out, chunk = out[:left], out[left:] // strike on the rest
					}
				}
			}
			if _, werr := dst.Write(out); werr != nil {
				r.closeBoth(false)
				return
			}
			sent += int64(len(out))
			r.p.record(dir, out)
			r.p.relayed[dir].Add(int64(len(out)))
		}
		if err != nil {
			r.closeBoth(false)
			return
		}
	}
}
