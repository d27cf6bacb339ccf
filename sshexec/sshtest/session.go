package sshtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// nologinMessage is what /usr/sbin/nologin prints on stdout.
const nologinMessage = "This account is currently not available.\n"

// status is how a command ended: an exit code, or a signal name ("KILL").
type status struct {
	code   int
	signal string
}

// handleSession is the gliderlabs Handler: it runs one exec or shell
// request according to the profile current at that moment.
func (n *Node) handleSession(s gliderssh.Session) {
	if !n.enter() {
		s.Close()
		return
	}
	defer n.wg.Done()
	n.mu.Lock()
	p := n.profile.Clone()
	gen := n.gen
	rec := n.running[s]
	delete(n.running, s)
	n.mu.Unlock()

	switch {
	case p.Fault == FaultHangAfterExec:
		select {
		case <-s.Context().Done():
		case <-n.done:
		}
		s.Close()
		return
	case p.Shell == ShellNologin:
		io.WriteString(s, nologinMessage)
		s.Exit(1)
		return
	case p.Fault == FaultFlood:
		flood(s)
		return
	case p.Fault == FaultDropMidOutput:
		var out bytes.Buffer
		n.run(s, p, gen, rec, s, &out, io.Discard, func(status) {
			s.Write(out.Bytes()[:out.Len()/2])
			if c, ok := s.Context().Value(gliderssh.ContextKeyConn).(*ssh.ServerConn); ok {
				c.Close()
			}
			s.Close()
		})
		return
	}
	finish := func(st status) {
		switch {
		case p.Fault == FaultExitNoStatus:
			s.Close()
		case p.Fault == FaultExitSignal:
			sendSignal(s, "KILL")
		case st.signal != "":
			sendSignal(s, st.signal)
		default:
			s.Exit(st.code)
		}
	}
	if n.replaying() {
		n.replay(s, p, gen, rec, finish)
		return
	}
	n.run(s, p, gen, rec, s, s, s.Stderr(), finish)
}

// flood writes FloodBytes to stdout and exits 0.
func flood(s gliderssh.Session) {
	chunk := bytes.Repeat([]byte("flood flood flood flood flood flood flood flood flood flood!!!\n"), 512)
	for sent := 0; sent < FloodBytes; sent += len(chunk) {
		if _, err := s.Write(chunk[:min(len(chunk), FloodBytes-sent)]); err != nil {
			s.Close()
			return
		}
	}
	s.Exit(0)
}

// sendSignal reports death by signal (RFC 4254 exit-signal) and closes.
func sendSignal(s gliderssh.Session, sig string) {
	msg := struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}{Signal: sig}
	s.SendRequest("exit-signal", false, ssh.Marshal(&msg))
	s.Close()
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "ABRT", syscall.SIGALRM: "ALRM", syscall.SIGFPE: "FPE",
	syscall.SIGHUP: "HUP", syscall.SIGILL: "ILL", syscall.SIGINT: "INT",
	syscall.SIGKILL: "KILL", syscall.SIGPIPE: "PIPE", syscall.SIGQUIT: "QUIT",
	syscall.SIGSEGV: "SEGV", syscall.SIGTERM: "TERM", syscall.SIGUSR1: "USR1",
	syscall.SIGUSR2: "USR2",
}

// rootKey names a fake root: the profile generation and the login user
// (sudo's messages name the user).
type rootKey struct {
	gen  int
	user string
}

// root returns the fake root of profile p (generation gen) for user,
// building it on first use. Roots are shared by the execs that see the
// same profile and stay until Close.
func (n *Node) root(p Profile, gen int, user string) (string, error) {
	n.rootMu.Lock()
	defer n.rootMu.Unlock()
	k := rootKey{gen, user}
	n.mu.Lock()
	dir, ok := n.roots[k]
	n.seq++
	seq := n.seq
	n.mu.Unlock()
	if ok {
		return dir, nil
	}
	dir = filepath.Join(n.dir, fmt.Sprintf("root-%d", seq))
	if err := buildRoot(dir, p, user); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	n.mu.Lock()
	n.roots[k] = dir
	n.mu.Unlock()
	return dir, nil
}

// stdinRecorder hashes and counts the stdin copied to a command.
type stdinRecorder struct {
	mu sync.Mutex
	h  hash.Hash
	n  int
}

func (r *stdinRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Write(p)
	r.n += len(p)
	return len(p), nil
}

// record stores what r has seen so far in e.
func (n *Node) record(e *Exec, r *stdinRecorder) {
	if e == nil {
		return
	}
	r.mu.Lock()
	size := r.n
	var sum [32]byte
	r.h.Sum(sum[:0])
	r.mu.Unlock()
	n.mu.Lock()
	e.StdinBytes, e.StdinSHA256 = size, sum
	n.mu.Unlock()
}

// run executes the session's command with /bin/sh in the fake root of
// profile p, stdin from stdin (the channel, or what replay read of it) and
// output to stdout/stderr. Once the
// process is reaped and its output drained it records the stdin seen in
// rec, calls finish, which must end the channel (exit status, close), and
// then waits for the stdin copier. The process group is killed when the
// connection or the node closes, when output cannot be delivered, and
// after the shell exits (leftover background jobs).
func (n *Node) run(s gliderssh.Session, p Profile, gen int, rec *Exec, stdin io.Reader, stdout, stderr io.Writer, finish func(status)) {
	fail := func(err error) {
		fmt.Fprintf(s.Stderr(), "sshtest: %v\n", err)
		finish(status{code: 255})
	}
	root, err := n.root(p, gen, s.User())
	if err != nil {
		fail(err)
		return
	}
	argv := []string{"/bin/sh"}
	if cmd := s.RawCommand(); cmd != "" {
		if p.ShellStartupOutput != "" {
			cmd = "printf '%s' " + q(p.ShellStartupOutput) + "; " + cmd
		}
		argv = append(argv, "-c", cmd)
	}
	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + filepath.Join(n.dir, "home"),
		"PRESSLUFT_PROBE_ROOT=" + root,
		"USER=" + s.User(),
		"LOGNAME=" + s.User(),
	}
	var pipes [6]*os.File // in r/w, out r/w, err r/w
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(pipes[:i])
			fail(fmt.Errorf("pipe: %w", err))
			return
		}
		pipes[i], pipes[i+1] = r, w
	}
	inR, inW, outR, outW, errR, errW := pipes[0], pipes[1], pipes[2], pipes[3], pipes[4], pipes[5]
	proc, err := os.StartProcess("/bin/sh", argv, &os.ProcAttr{
		Dir:   filepath.Join(n.dir, "home"),
		Env:   env,
		Files: []*os.File{inR, outW, errW},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	closeAll([]*os.File{inR, outW, errW})
	if err != nil {
		closeAll([]*os.File{inW, outR, errR})
		fail(fmt.Errorf("start /bin/sh: %w", err))
		return
	}
	pid := proc.Pid
	var killMu sync.Mutex
	reaped := false
	kill := func() {
		killMu.Lock()
		defer killMu.Unlock()
		if !reaped {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}

	in := &stdinRecorder{h: sha256.New()}
	var stdinDone sync.WaitGroup
	stdinDone.Add(1)
	go func() {
		defer stdinDone.Done()
		io.Copy(inW, io.TeeReader(stdin, in)) // ends on client EOF, channel close, or EPIPE
		inW.Close()
		n.record(rec, in)
	}()
	var output sync.WaitGroup
	copyOut := func(dst io.Writer, src *os.File) {
		defer output.Done()
		if _, err := io.Copy(dst, src); err != nil {
			kill() // the client cannot take output any more
		}
		src.Close()
	}
	output.Add(2)
	go copyOut(stdout, outR)
	go copyOut(stderr, errR)

	var st *os.ProcessState
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		st, _ = proc.Wait()
		killMu.Lock()
		// The group outlives its leader only through background jobs;
		// while it has members its id cannot be reused.
		syscall.Kill(-pid, syscall.SIGKILL)
		reaped = true
		killMu.Unlock()
	}()
	select {
	case <-waited:
	case <-s.Context().Done():
		kill()
		<-waited
	case <-n.done:
		kill()
		<-waited
	}
	output.Wait()

	res := status{code: 255}
	if st != nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.signal = signalNames[ws.Signal()]
			if res.signal == "" {
				res.signal = strings.TrimPrefix(fmt.Sprint(ws.Signal()), "signal ")
			}
		} else {
			res.code = st.ExitCode()
		}
	}
	n.record(rec, in)
	finish(res)
	stdinDone.Wait()
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}
