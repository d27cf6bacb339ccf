package probe_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// BenchmarkEvaluate is one full readiness evaluation through the SDK: one
// SSH connection, the probe script, the parser and Evaluate.
func BenchmarkEvaluate(b *testing.B) {
	node := sshtest.NewNode(sshtest.ReadyProfile())
	defer node.Close()
	target := node.Target()
	prober := &probe.Prober{}
	policy := readiness.Baseline()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r := readiness.Evaluate(prober.Observe(ctx, "n", target), policy, readiness.OperationSiteCreate)
		if !r.Ready() {
			b.Fatalf("not ready: %s", r.Summary())
		}
	}
}

// BenchmarkFloor is the floor for one evaluation: dial, handshake, auth and
// exec `true` with golang.org/x/crypto/ssh directly, against the same fake.
func BenchmarkFloor(b *testing.B) {
	node := sshtest.NewNode(sshtest.ReadyProfile())
	defer node.Close()
	cfg := &ssh.ClientConfig{
		User:            "pressluft",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(node.ClientSigner())},
		HostKeyCallback: ssh.FixedHostKey(node.HostKey()),
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(node.Port()))
	b.ResetTimer()
	for b.Loop() {
		c, err := ssh.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("true"); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkParseEvaluate is the SDK's own CPU per evaluation past the SSH
// round trip: parsing a ready node's probe output and evaluating it.
func BenchmarkParseEvaluate(b *testing.B) {
	node := sshtest.NewNode(sshtest.ReadyProfile())
	defer node.Close()
	res, err := new(sshexec.Client).Run(context.Background(), node.Target(), probe.Command, []byte(probe.Script()))
	if err != nil {
		b.Fatal(err)
	}
	policy := readiness.Baseline()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		facts, err := probe.Parse(res.Stdout)
		if err != nil {
			b.Fatal(err)
		}
		obs := readiness.Observation{NodeID: "n", HasAddress: true, Probed: true, Facts: facts}
		if r := readiness.Evaluate(obs, policy, readiness.OperationSiteCreate); !r.Ready() {
			b.Fatalf("not ready: %s", r.Summary())
		}
	}
}
