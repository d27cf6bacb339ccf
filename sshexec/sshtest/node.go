package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// DefaultUser is the login user Target names.
const DefaultUser = "pressluft"

// Exec is one exec (or shell) request the node received.
type Exec struct {
	// User is the SSH login user.
	User string
	// Command is the raw command string; empty for a shell request.
	Command string
	// Time is when the request arrived.
	Time time.Time
	// Refused is true when the node refused the request (ExecRefused).
	Refused bool
	// StdinBytes and StdinSHA256 are the size and SHA-256 of the stdin
	// the client sent for the command. They are recorded when the command
	// exits, before the client gets its exit status (so they hold every
	// byte the command read), and again when the client's stdin ends.
	// Both are zero until the command has run, and stay zero for
	// requests that run nothing (refused, nologin, faults that ignore
	// the command).
	StdinBytes  int
	StdinSHA256 [32]byte
}

// Node is a running fake SSH host. Create it with NewNode or NewNodeT and
// stop it with Close. All methods are safe for concurrent use.
type Node struct {
	hostSigner   ssh.Signer
	clientSigner ssh.Signer
	srv          *gliderssh.Server
	addr         string
	dir          string // temp dir: home/ and one root per exec

	mu          sync.Mutex
	profile     Profile
	hostCert    ssh.Signer   // SetHostCertificate; nil presents the plain key only
	ln          net.Listener // nil while the fault is FaultRefuseTCP
	closed      bool
	conns       map[net.Conn]struct{}
	connections int
	offered     []ssh.PublicKey // every public key a client offered, in order
	execs       []*Exec
	running     map[gliderssh.Session]*Exec // exec record of each session
	gen         int                         // profile generation: SetProfile counts
	faulted     int                         // connections accepted since SetProfile, for FaultConnections
	roots       map[rootKey]string          // fake roots built, by generation and user
	seq         int
	replayOn    bool                   // SetReplay
	replays     map[replayKey]replayed // recorded execs, while replayOn

	rootMu sync.Mutex // serializes building roots

	wg        sync.WaitGroup // every goroutine and process the node owns
	done      chan struct{}  // closed by Close
	closeOnce sync.Once
}

// NewNode starts a node simulating p on 127.0.0.1 with fresh ed25519 host
// and client keys. It panics with an "sshtest: " message when it cannot
// set up (keys, temp dir, listener). The caller must call Close.
func NewNode(p Profile) *Node {
	n, err := newNode(p)
	if err != nil {
		panic("sshtest: " + err.Error())
	}
	return n
}

// NewNodeT is NewNode that registers Close with t.Cleanup.
func NewNodeT(t testing.TB, p Profile) *Node {
	t.Helper()
	n := NewNode(p)
	t.Cleanup(n.Close)
	return n
}

func newSigner() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return s, nil
}

func newNode(p Profile) (*Node, error) {
	host, err := newSigner()
	if err != nil {
		return nil, err
	}
	client, err := newSigner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sshtest-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	if err := os.Mkdir(dir+"/home", 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("home dir: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("listen: %w", err)
	}
	n := &Node{
		hostSigner:   host,
		clientSigner: client,
		addr:         ln.Addr().String(),
		dir:          dir,
		profile:      p.Clone(),
		conns:        map[net.Conn]struct{}{},
		running:      map[gliderssh.Session]*Exec{},
		roots:        map[rootKey]string{},
		done:         make(chan struct{}),
	}
	n.srv = &gliderssh.Server{
		Version:                "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
		HostSigners:            []gliderssh.Signer{host},
		ServerConfigCallback:   n.serverConfig,
		Handler:                n.handleSession,
		PublicKeyHandler:       n.authorize,
		SessionRequestCallback: n.sessionRequest,
		ChannelHandlers: map[string]gliderssh.ChannelHandler{
			"session": n.sessionChannel,
		},
		RequestHandlers:   map[string]gliderssh.RequestHandler{},
		SubsystemHandlers: map[string]gliderssh.SubsystemHandler{},
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if p.Fault == FaultRefuseTCP {
		ln.Close()
	} else {
		n.serveLocked(ln)
	}
	return n, nil
}

// Addr returns the node's "127.0.0.1:port" address.
func (n *Node) Addr() string { return n.addr }

// Port returns the node's TCP port.
func (n *Node) Port() int {
	_, p, _ := net.SplitHostPort(n.addr)
	port, _ := strconv.Atoi(p)
	return port
}

// HostKey returns the node's host public key.
func (n *Node) HostKey() ssh.PublicKey { return n.hostSigner.PublicKey() }

// ClientSigner returns the client key the node accepts.
func (n *Node) ClientSigner() ssh.Signer { return n.clientSigner }

// ClientConfig returns an x/crypto/ssh client config for DefaultUser that
// trusts only the node's host key and offers its client key.
func (n *Node) ClientConfig() *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:            DefaultUser,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(n.clientSigner)},
		HostKeyCallback: ssh.FixedHostKey(n.HostKey()),
		Timeout:         10 * time.Second,
	}
}

// Profile returns a copy of the profile the node currently simulates.
func (n *Node) Profile() Profile {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.profile.Clone()
}

// SetProfile makes the node simulate p from now on. Connections already
// past their handshake keep going; each new exec sees p. Switching to or
// from FaultRefuseTCP closes or reopens the listener on the same port; it
// panics with an "sshtest: " message if the port cannot be reopened.
func (n *Node) SetProfile(p Profile) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profile = p.Clone()
	n.gen++
	n.faulted = 0
	n.replays = nil
	if n.closed {
		return
	}
	switch {
	case p.Fault == FaultRefuseTCP && n.ln != nil:
		n.ln.Close()
		n.ln = nil
	case p.Fault != FaultRefuseTCP && n.ln == nil:
		ln, err := net.Listen("tcp", n.addr)
		if err != nil {
			panic("sshtest: reopen listener: " + err.Error())
		}
		n.serveLocked(ln)
	}
}

// Connections returns how many TCP connections the node has accepted.
func (n *Node) Connections() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.connections
}

// Execs returns a snapshot of the exec requests the node received, oldest
// first.
func (n *Node) Execs() []Exec {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Exec, len(n.execs))
	for i, e := range n.execs {
		out[i] = *e
	}
	return out
}

// OfferedKeys returns a snapshot of the public keys clients offered for
// authentication, oldest first, on every connection: the keys the node's
// sshd would log, and its fail2ban count, when they are refused. A key
// is recorded once per offer (x/crypto's server asks the node once per
// key and connection, whether the client first queries it or signs).
func (n *Node) OfferedKeys() []ssh.PublicKey {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]ssh.PublicKey(nil), n.offered...)
}

// Reset forgets the recorded connections, execs and offered keys.
func (n *Node) Reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.connections = 0
	n.execs = nil
	n.offered = nil
}

// Close stops the node: it closes the listener and every connection
// (including ones still in the handshake), kills the process group of
// every running command, waits for every goroutine and process the node
// started, and removes its temp dir. Close is idempotent.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		close(n.done)
		if n.ln != nil {
			n.ln.Close()
			n.ln = nil
		}
		for c := range n.conns {
			c.Close()
		}
		n.mu.Unlock()
	})
	n.wg.Wait()
	os.RemoveAll(n.dir)
}

// enter registers a goroutine with the node; it returns false once the
// node is closed, and the caller must then return at once. Each true
// enter is paired with n.wg.Done.
func (n *Node) enter() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	return true
}

// serveLocked starts the accept loop on ln. n.mu is held.
func (n *Node) serveLocked(ln net.Listener) {
	n.ln = ln
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.acceptLoop(ln)
	}()
}

func (n *Node) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by Close or SetProfile; the listener is ours alone
		}
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			c.Close()
			return
		}
		n.conns[c] = struct{}{}
		n.connections++
		fault := n.profile.Fault
		n.faulted++
		if limit := n.profile.FaultConnections; limit > 0 && n.faulted > limit {
			fault = FaultNone
		}
		delay := n.profile.faultDelay()
		n.wg.Add(1)
		n.mu.Unlock()
		go func() {
			defer n.wg.Done()
			defer func() {
				n.mu.Lock()
				delete(n.conns, c)
				n.mu.Unlock()
				c.Close()
			}()
			n.serveConn(c, fault, delay)
		}()
	}
}

// garbageBanner is what FaultGarbageBanner sends instead of an SSH banner.
const garbageBanner = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n400 Bad Request\n"

func (n *Node) serveConn(c net.Conn, fault Fault, delay time.Duration) {
	switch fault {
	case FaultSilent:
		io.Copy(io.Discard, c) // until the client or Close closes c
		return
	case FaultGarbageBanner:
		io.WriteString(c, garbageBanner)
		return
	case FaultDropBeforeBanner:
		// What OpenSSH's sshd writes to a connection past MaxStartups
		// before it closes it (seen on real Debian 12 nodes).
		io.WriteString(c, "Exceeded MaxStartups\r\n")
		return // the caller closes c
	case FaultResetBeforeBanner:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return
	case FaultDropInKex:
		io.WriteString(c, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 256))
		return
	case FaultSlowHandshake:
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-n.done:
			return
		}
	}
	n.srv.HandleConn(c)
}

func (n *Node) authorize(_ gliderssh.Context, key gliderssh.PublicKey) bool {
	n.mu.Lock()
	n.offered = append(n.offered, key)
	rejected := n.profile.AuthRejected
	extra := n.profile.AuthorizedKeys
	n.mu.Unlock()
	if rejected {
		return false
	}
	if gliderssh.KeysEqual(key, n.clientSigner.PublicKey()) {
		return true
	}
	for _, k := range extra {
		if gliderssh.KeysEqual(key, k) {
			return true
		}
	}
	return false
}

// sessionRequest records every exec/shell request and refuses it when the
// profile says so.
func (n *Node) sessionRequest(s gliderssh.Session, reqType string) bool {
	if reqType != "exec" && reqType != "shell" {
		return false // subsystems (sftp, ...) are not simulated
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	refused := n.profile.ExecRefused
	e := &Exec{User: s.User(), Command: s.RawCommand(), Time: time.Now(), Refused: refused}
	n.execs = append(n.execs, e)
	if !refused {
		n.running[s] = e
	}
	return !refused
}

// sessionChannel runs gliderlabs' session channel handler as a goroutine
// the node waits for.
func (n *Node) sessionChannel(srv *gliderssh.Server, conn *ssh.ServerConn, ch ssh.NewChannel, ctx gliderssh.Context) {
	if !n.enter() {
		ch.Reject(ssh.ConnectionFailed, "node closed")
		return
	}
	defer n.wg.Done()
	gliderssh.DefaultSessionHandler(srv, conn, ch, ctx)
}
