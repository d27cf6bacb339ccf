package faults

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// countingProber counts the probes the gate starts.
type countingProber struct {
	p     probe.Prober
	calls atomic.Int64
}

func (c *countingProber) Observe(ctx context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	c.calls.Add(1)
	return c.p.Observe(ctx, nodeID, t)
}

// hostile returns strings with shell metacharacters, each of which would
// create a file under dir if any shell ever evaluated it.
func hostile(dir string) []string {
	m := func(name string) string { return filepath.Join(dir, name) }
	return []string{
		"; touch " + m("semicolon"),
		"$(touch " + m("dollar") + ")",
		"`touch " + m("backtick") + "`",
		"' ; touch " + m("squote") + " ; '",
		`" ; touch ` + m("dquote") + ` ; "`,
		"x\ntouch " + m("newline"),
		"| touch " + m("pipe"),
		"&& touch " + m("and") + " #",
		"${IFS}$(touch${IFS}" + m("ifs") + ")",
	}
}

// bareHosts are host values with shell metacharacters but no space or
// slash (which fail the host check for other reasons).
var bareHosts = []string{
	"$(id)", "`id`", "node;id", "node|id", "node&id", "'node'", `"node"`,
	"node$IFS", "node>x", "node<x", "node*", "node?", "node{a,b}", "node\\x", "node!",
	"node#x", "(node)", "node\x00", "-oProxyCommand=id",
}

// TestNoCommandInjection: node names and SSH users full of shell
// metacharacters go through the gate to a real fake node, and the node
// only ever runs probe.Command with exactly probe.Script on stdin; no
// marker file appears. Hosts with metacharacters are node_config_invalid
// and never probed.
func TestNoCommandInjection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	creds := preflight.NewMemoryCredentials(n.ClientSigner())
	nodes := preflight.NewMemoryNodes()
	type rec struct {
		id   string
		node preflight.Node
		want readiness.Code // "" means ready
	}
	var recs []rec
	for i, s := range hostile(dir) {
		add := func(kind string, node preflight.Node, want readiness.Code) {
			node.ID = kind + "-" + string(rune('a'+i))
			recs = append(recs, rec{id: node.ID, node: node, want: want})
			creds.PinHostKeys(node.ID, n.HostKey())
		}
		add("name", preflight.Node{Name: s, Host: "127.0.0.1", Port: n.Port(), User: sshtest.DefaultUser}, "")
		add("user", preflight.Node{Name: "web", Host: "127.0.0.1", Port: n.Port(), User: s}, "")
		add("host", preflight.Node{Name: "web", Host: "127.0.0.1" + s, Port: n.Port(), User: sshtest.DefaultUser}, readiness.CodeNodeConfigInvalid)
		add("bare-host", preflight.Node{Name: "web", Host: strings.TrimSpace(s), Port: n.Port(), User: sshtest.DefaultUser}, readiness.CodeNodeConfigInvalid)
	}
	for _, r := range recs {
		nodes.Put(r.node)
	}
	prober := &countingProber{p: probe.Prober{Client: &sshexec.Client{Timeout: 10 * time.Second}}}
	g, err := preflight.New(preflight.Config{Nodes: nodes, Credentials: creds, Prober: prober})
	require.NoError(t, err)
	defer g.Close()

	probes := 0
	for _, r := range recs {
		t.Run(r.id, func(t *testing.T) {
			d, err := g.Check(context.Background(), readiness.OperationSiteCreate, r.id)
			require.NoError(t, err)
			var got readiness.Code
			if !d.Report.Ready() {
				got = d.Report.PrimaryReason
			}
			if got != r.want {
				t.Errorf("node %q (host %q, user %q): got %q, want %q", r.node.Name, r.node.Host, r.node.User, got, r.want)
			}
			if r.want == "" {
				probes++
			}
		})
	}
	if got := int(prober.calls.Load()); got != probes {
		t.Errorf("got %d probes, want %d: a node with an invalid host was probed", got, probes)
	}

	wantSum := sha256.Sum256([]byte(probe.Script()))
	execs := n.Execs()
	if len(execs) != probes {
		t.Errorf("got %d exec requests, want %d", len(execs), probes)
	}
	users := map[string]bool{}
	for _, e := range execs {
		users[e.User] = true
		if e.Command != probe.Command {
			t.Errorf("user %q: got command %q, want %q", e.User, e.Command, probe.Command)
		}
		if e.StdinSHA256 != wantSum || e.StdinBytes != len(probe.Script()) {
			t.Errorf("user %q: got stdin of %d bytes (sha256 %x), want the probe script (%d bytes)", e.User, e.StdinBytes, e.StdinSHA256, len(probe.Script()))
		}
	}
	for _, r := range recs {
		if strings.HasPrefix(r.id, "user-") && !users[r.node.User] {
			t.Errorf("user %q: no exec request as that user reached the node", r.node.User)
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		t.Errorf("marker file %s exists: a metacharacter reached a shell", e.Name())
	}
}

// TestHostMetacharactersRejectedBeforeDial: sshexec itself refuses hosts
// with spaces, slashes and the like as node_config_invalid
// (ErrInvalidTarget) without dialing, and a host with other shell
// metacharacters never reaches the node.
func TestHostMetacharactersRejectedBeforeDial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	var hosts []string
	for _, s := range hostile(dir) {
		hosts = append(hosts, "127.0.0.1"+s, strings.TrimSpace(s))
	}
	for _, host := range bareHosts {
		tg := n.Target()
		tg.Host = host
		_, err := (&sshexec.Client{Timeout: 5 * time.Second}).Run(context.Background(), tg, probe.Command, []byte(probe.Script()))
		if got := sshexec.CodeOf(err); got != readiness.CodeNodeConfigInvalid && got != readiness.CodeSSHHostUnresolvable {
			t.Errorf("host %q: got %q (%v), want node_config_invalid (or, today, ssh_host_unresolvable)", host, got, err)
		}
	}
	for _, host := range hosts {
		tg := n.Target()
		tg.Host = host
		_, err := (&sshexec.Client{Timeout: 5 * time.Second}).Run(context.Background(), tg, probe.Command, []byte(probe.Script()))
		if got := sshexec.CodeOf(err); got != readiness.CodeNodeConfigInvalid || !errors.Is(err, sshexec.ErrInvalidTarget) {
			t.Errorf("host %q: got %q (%v), want node_config_invalid wrapping ErrInvalidTarget", host, got, err)
		}
	}
	if got := n.Connections(); got != 0 {
		t.Errorf("got %d connections, want 0", got)
	}
}

// TestHostMetacharactersAreConfigInvalid is the strict form of the host
// check: a host that is not a valid DNS name or IP address (shell
// metacharacters, quotes, NUL, a leading '-') is node_config_invalid,
// decided from the record without a probe or a DNS lookup, like a host
// with a space. Today such hosts pass preflight.Node's and sshexec's
// checks (which reject only "[]/@", whitespace and a port), are probed,
// and fail at DNS as ssh_host_unresolvable: retryable, with remediation
// about DNS instead of the record, and handed to the resolver (the cgo
// resolver would send "node;id" to the network; an ssh or ansible CLI
// given "-oProxyCommand=id" as host runs it).
func TestHostMetacharactersAreConfigInvalid(t *testing.T) {
	t.Parallel()
	n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	creds := preflight.NewMemoryCredentials(n.ClientSigner())
	nodes := preflight.NewMemoryNodes()
	for i, h := range bareHosts {
		id := "meta-host-" + string(rune('a'+i))
		nodes.Put(preflight.Node{ID: id, Name: "web", Host: h, Port: n.Port(), User: sshtest.DefaultUser})
		creds.PinHostKeys(id, n.HostKey())
	}
	prober := &countingProber{p: probe.Prober{Client: &sshexec.Client{Timeout: 5 * time.Second}}}
	g, err := preflight.New(preflight.Config{Nodes: nodes, Credentials: creds, Prober: prober})
	require.NoError(t, err)
	defer g.Close()
	for i, h := range bareHosts {
		d, err := g.Check(context.Background(), readiness.OperationSiteCreate, "meta-host-"+string(rune('a'+i)))
		require.NoError(t, err)
		if d.Report.PrimaryReason != readiness.CodeNodeConfigInvalid {
			t.Errorf("gate, host %q: got %q, want node_config_invalid", h, d.Report.PrimaryReason)
		}
		tg := n.Target()
		tg.Host = h
		_, err = (&sshexec.Client{Timeout: 5 * time.Second}).Run(context.Background(), tg, probe.Command, []byte(probe.Script()))
		if got := sshexec.CodeOf(err); got != readiness.CodeNodeConfigInvalid || !errors.Is(err, sshexec.ErrInvalidTarget) {
			t.Errorf("sshexec, host %q: got %q, want node_config_invalid wrapping ErrInvalidTarget", h, got)
		}
	}
	if got := prober.calls.Load(); got != 0 {
		t.Errorf("got %d probes, want 0", got)
	}
}
