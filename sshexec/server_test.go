package sshexec_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// This file is a minimal in-test SSH server with fault modes. It is
// deliberately independent of sshexec/sshtest.

type fault int

const (
	faultNone          fault = iota
	faultSilent              // accept TCP, never speak
	faultGarbage             // send non-SSH text, keep the connection open
	faultGarbageClose        // send non-SSH text, then close
	faultSlowHandshake       // wait before speaking SSH
	faultAuthReject          // reject every client key
	faultRejectSession       // refuse the session channel
	faultRejectExec          // refuse the exec request
)

// Commands the server understands (with faultNone):
//
//	true          exit 0
//	cat           copy stdin to stdout, exit 0
//	exit N        print "failing" on stderr, exit N
//	flood N       write N bytes to stdout and to stderr, exit 0
//	hang          read stdin, then never answer
//	hang-no-read  never read stdin (the client's window runs out), never answer
//	drop          print some output, then drop the TCP connection
//	close         close the channel without exit status
//	signal        exit by signal KILL
//	ignore-stdin  exit 0 without reading stdin
type testServer struct {
	ln       net.Listener
	fault    fault
	config   *ssh.ServerConfig
	hostKeys []ssh.Signer
	accepted atomic.Int64

	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closeOne sync.Once
}

var (
	clientKeyOnce sync.Once
	clientKey     ssh.Signer
	rsaKeyOnce    sync.Once
	rsaKey        *rsa.PrivateKey
)

// testClientSigner is the client key every test server authorizes.
func testClientSigner(tb testing.TB) ssh.Signer {
	tb.Helper()
	clientKeyOnce.Do(func() { clientKey = newEd25519Signer(tb) })
	return clientKey
}

func newEd25519Signer(tb testing.TB) ssh.Signer {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newECDSASigner(tb testing.TB) ssh.Signer {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// testRSAKey is one 2048-bit RSA key shared by the tests (generation is
// slow under -race).
func testRSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	rsaKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func newRSASigner(tb testing.TB) ssh.Signer {
	tb.Helper()
	s, err := ssh.NewSignerFromKey(testRSAKey(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newTestServer starts a server on 127.0.0.1:0 with the given fault and
// host keys (a fresh ed25519 key when none). It is closed at cleanup.
func newTestServer(tb testing.TB, f fault, hostKeys ...ssh.Signer) *testServer {
	tb.Helper()
	return startTestServer(tb, f, testClientSigner(tb).PublicKey(), hostKeys)
}

// newTestServerAuthorizing is a faultless server that authorizes only
// the client key authorized.
func newTestServerAuthorizing(tb testing.TB, authorizedKey ssh.PublicKey) *testServer {
	tb.Helper()
	return startTestServer(tb, faultNone, authorizedKey, nil)
}

func startTestServer(tb testing.TB, f fault, authorizedKey ssh.PublicKey, hostKeys []ssh.Signer) *testServer {
	tb.Helper()
	testClientSigner(tb)
	if len(hostKeys) == 0 {
		hostKeys = []ssh.Signer{newEd25519Signer(tb)}
	}
	authorized := authorizedKey.Marshal()
	s := &testServer{fault: f, hostKeys: hostKeys, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if f != faultAuthReject && string(key.Marshal()) == string(authorized) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range hostKeys {
		s.config.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	tb.Cleanup(s.Close)
	return s
}

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// target is a Target for this server with its first host key pinned.
func (s *testServer) target() sshexec.Target {
	return sshexec.Target{
		Host:     "127.0.0.1",
		Port:     s.port(),
		User:     "probe",
		Signers:  []ssh.Signer{clientKey},
		HostKeys: sshexec.PinnedHostKeys(s.hostKeys[0].PublicKey()),
	}
}

// Close stops the server and waits for every goroutine it started.
func (s *testServer) Close() {
	s.closeOne.Do(func() {
		close(s.done)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

func (s *testServer) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			conn.Close()
			return
		default:
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(conn)
	}
}

func (s *testServer) serve(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	switch s.fault {
	case faultSilent:
		_, _ = io.Copy(io.Discard, conn)
		return
	case faultGarbage:
		_, _ = io.WriteString(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		_, _ = io.Copy(io.Discard, conn)
		return
	case faultGarbageClose:
		_, _ = io.WriteString(conn, "220 smtp.example ESMTP ready\r\n\x00\x01\x02garbage")
		return
	case faultSlowHandshake:
		select {
		case <-time.After(time.Minute):
		case <-s.done:
			return
		}
	}
	sconn, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return
	}
	connDone := make(chan struct{})
	var cwg sync.WaitGroup
	cwg.Add(2)
	go func() {
		defer cwg.Done()
		ssh.DiscardRequests(reqs)
	}()
	go func() {
		defer cwg.Done()
		_ = sconn.Wait()
		close(connDone)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" || s.fault == faultRejectSession {
			_ = nc.Reject(ssh.Prohibited, "no sessions for you")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			s.session(sconn, ch, creqs, connDone)
		}()
	}
	cwg.Wait()
}

func (s *testServer) session(sconn *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request, connDone <-chan struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for req := range reqs {
		if req.Type != "exec" || s.fault == faultRejectExec {
			_ = req.Reply(false, nil)
			continue
		}
		var msg struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &msg); err != nil {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.command(sconn, ch, msg.Command, connDone)
		}()
	}
}

func exitStatus(ch ssh.Channel, status uint32) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
	_ = ch.Close()
}

func (s *testServer) command(sconn *ssh.ServerConn, ch ssh.Channel, cmd string, connDone <-chan struct{}) {
	name, arg, _ := strings.Cut(cmd, " ")
	switch name {
	case "true":
		_, _ = io.Copy(io.Discard, ch)
		exitStatus(ch, 0)
	case "cat":
		_, _ = io.Copy(ch, ch)
		exitStatus(ch, 0)
	case "ignore-stdin":
		exitStatus(ch, 0)
	case "exit":
		n, _ := strconv.Atoi(arg)
		_, _ = io.WriteString(ch.Stderr(), "failing\n")
		exitStatus(ch, uint32(n))
	case "flood":
		n, _ := strconv.Atoi(arg)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := ch.Write(chunk); err != nil {
				return
			}
			if _, err := ch.Stderr().Write(chunk); err != nil {
				return
			}
		}
		exitStatus(ch, 0)
	case "hang":
		_, _ = io.Copy(io.Discard, ch)
		select {
		case <-connDone:
		case <-s.done:
		}
	case "hang-no-read":
		select {
		case <-connDone:
		case <-s.done:
		}
	case "drop":
		_, _ = io.WriteString(ch, "partial output\n")
		_ = sconn.Close()
	case "close":
		_, _ = io.WriteString(ch, "partial output\n")
		_ = ch.Close()
	case "signal":
		_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{"KILL", false, "", ""}))
		_ = ch.Close()
	default:
		_, _ = fmt.Fprintf(ch.Stderr(), "unknown command\n")
		exitStatus(ch, 127)
	}
}
