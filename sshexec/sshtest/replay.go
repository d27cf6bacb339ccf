package sshtest

import (
	"bytes"
	"crypto/sha256"
	"io"

	gliderssh "github.com/gliderlabs/ssh"
)

// ReplayLimit bounds the stdin and the output of one exec that replay
// keeps: an exec with more of either runs for real every time.
const ReplayLimit = 1 << 20

// replayKey is what makes two execs the same to replay: the profile
// generation, the login user, the command and the stdin.
type replayKey struct {
	gen     int
	user    string
	command string
	stdin   [32]byte
}

// replayed is the recorded result of one exec.
type replayed struct {
	stdout, stderr []byte
	st             status
}

// SetReplay turns replay on or off. With replay on, the node reads an
// exec's stdin up to the client's EOF before it runs anything; the first
// exec of a command with a given stdin (for a given user and profile)
// runs for real and its stdout, stderr and exit status are kept, and every
// later one is answered from them without starting a process. SetProfile
// starts a new record, and so does turning replay off.
//
// Replay is for load and fleet measurements, where the fake nodes' shells
// would otherwise run on the very cores being measured; on a real fleet
// that work happens on the nodes. It leaves everything on the SSH side
// as it is: handshake, authentication, channels, Execs and Connections.
// Faults still apply. An exec killed (its client gone, the node closing)
// or ended by a signal is not kept, nor is one past ReplayLimit.
func (n *Node) SetReplay(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.replayOn = on
	n.replays = nil
}

func (n *Node) replaying() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.replayOn
}

// replay answers s from the record when it has one, and otherwise runs the
// command with run (which calls finish) and records what it did.
func (n *Node) replay(s gliderssh.Session, p Profile, gen int, rec *Exec, finish func(status)) {
	// One allocation for a probe script's worth of stdin: the node's
	// reading is part of what a fleet measurement counts.
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	_, err := buf.ReadFrom(io.LimitReader(s, ReplayLimit+1))
	in := buf.Bytes()
	if err != nil || len(in) > ReplayLimit {
		// Too much stdin to keep (or a broken channel): run as usual,
		// with what was read in front of the rest.
		n.run(s, p, gen, rec, io.MultiReader(bytes.NewReader(in), s), s, s.Stderr(), finish)
		return
	}
	k := replayKey{gen: gen, user: s.User(), command: s.RawCommand(), stdin: sha256.Sum256(in)}
	n.mu.Lock()
	r, ok := n.replays[k]
	if ok && rec != nil {
		rec.StdinBytes, rec.StdinSHA256 = len(in), k.stdin
	}
	n.mu.Unlock()
	if ok {
		s.Write(r.stdout)
		s.Stderr().Write(r.stderr)
		finish(r.st)
		return
	}
	out := &limitBuffer{max: ReplayLimit}
	errOut := &limitBuffer{max: ReplayLimit}
	n.run(s, p, gen, rec, bytes.NewReader(in), io.MultiWriter(s, out), io.MultiWriter(s.Stderr(), errOut), func(st status) {
		if st.signal == "" && !out.over && !errOut.over && s.Context().Err() == nil {
			n.keepReplay(k, replayed{stdout: out.Bytes(), stderr: errOut.Bytes(), st: st})
		}
		finish(st)
	})
}

// keepReplay records r under k, unless replay was turned off or restarted
// meanwhile (the record is then not the one k was read against).
func (n *Node) keepReplay(k replayKey, r replayed) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.replayOn || k.gen != n.gen {
		return
	}
	if n.replays == nil {
		n.replays = map[replayKey]replayed{}
	}
	n.replays[k] = r
}

// limitBuffer keeps up to max bytes; past that it keeps nothing more and
// sets over. Writes always succeed, so the tee in front of it never fails
// because of it.
type limitBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	if b.over || b.Len()+len(p) > b.max {
		b.over = true
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
