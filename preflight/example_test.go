package preflight_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// cannedProber stands in for *probe.Prober: it reports a node where every
// baseline component is in place but sudo asks for a password.
type cannedProber struct{ calls atomic.Int64 }

func (p *cannedProber) Observe(_ context.Context, nodeID string, t sshexec.Target) readiness.Observation {
	p.calls.Add(1)
	f := &readiness.Facts{
		ScriptVersion: 1,
		OS:            readiness.OSRelease{ID: "ubuntu", VersionID: "24.04"},
		Systemd:       true,
		Sudo:          readiness.SudoPasswordRequired,
		Components:    map[string]readiness.ComponentFacts{},
		PHPExtensions: []string{"redis"},
	}
	for _, r := range readiness.Baseline().Components {
		f.Components[r.Component] = readiness.ComponentFacts{Installed: true, Version: "99.0", Service: "active"}
	}
	return readiness.Observation{NodeID: nodeID, User: t.User, Probed: true, HasAddress: true, Facts: f}
}

// controlPlaneKey is the key the control plane offers; a real one comes
// from its secrets store.
var controlPlaneKey, _ = ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))

func Example() {
	nodes := preflight.NewMemoryNodes(
		preflight.Node{ID: "web-1", Host: "203.0.113.10", User: "pressluft"},
		preflight.Node{ID: "web-2", Host: "203.0.113.11", User: "pressluft", Lifecycle: readiness.LifecycleProvisioning},
	)
	creds := preflight.NewMemoryCredentials(controlPlaneKey)
	prober := &cannedProber{}
	gate, err := preflight.New(preflight.Config{
		Nodes: nodes, Credentials: creds, Prober: prober,
		Observer: func(d preflight.Decision) {
			fmt.Printf("audit: %s on %s admit=%v would_refuse=%v\n", d.Operation, d.NodeID, d.Admit, d.WouldRefuse)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gate.Close()
	ctx := context.Background()

	d, _ := gate.Check(ctx, readiness.OperationSiteCreate, "web-1")
	fmt.Println(d.Report.Summary())
	fmt.Println(d.Report.Reasons[0].Remediation)

	// A second check, for another operation, reuses the observation.
	d, _ = gate.Check(ctx, readiness.OperationEnvCreate, "web-1")
	fmt.Println("cached:", d.Cached, "probes:", prober.calls.Load())

	// A node still being provisioned is not probed at all.
	d, _ = gate.Check(ctx, readiness.OperationSiteCreate, "web-2")
	fmt.Println(d.Report.Summary())
	// Output:
	// audit: site_create on web-1 admit=false would_refuse=true
	// not_ready: sudo_password_required
	// Allow passwordless sudo for the SSH user: echo 'pressluft ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft && sudo chmod 440 /etc/sudoers.d/pressluft && sudo visudo -c.
	// audit: env_create on web-1 admit=false would_refuse=true
	// cached: true probes: 1
	// audit: site_create on web-2 admit=false would_refuse=true
	// pending: node_provisioning
}

// siteService is a host's own create flow: it validates, asks the gate
// (the seam), and only then enqueues.
type siteService struct {
	gate    *preflight.Gate
	enqueue func(nodeID string) string
}

var errInvalid = errors.New("invalid site")

func (s *siteService) Create(ctx context.Context, name string, candidates []string) (string, error) {
	if name == "" {
		return "", errInvalid // validated first: an invalid request causes no probe
	}
	d, err := s.gate.Choose(ctx, readiness.OperationSiteCreate, candidates)
	if err != nil {
		return "", err
	}
	if err := d.Err(); err != nil {
		return "", err // *preflight.RefusedError: the handler answers 409, no job is queued
	}
	return s.enqueue(d.NodeID), nil
}

// The seam: a host's service calls the gate after it has validated the
// request and before it enqueues. The handler maps a *RefusedError to its
// 409 (apihttp.WriteRefusal, or its own error shape).
func ExampleGate_Choose() {
	nodes := preflight.NewMemoryNodes(
		preflight.Node{ID: "web-1", Host: "203.0.113.10", User: "pressluft"},
		preflight.Node{ID: "web-2", Host: "203.0.113.11", User: "pressluft"},
	)
	prober := &cannedProber{}
	gate, err := preflight.New(preflight.Config{Nodes: nodes, Credentials: preflight.NewMemoryCredentials(controlPlaneKey), Prober: prober})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gate.Close()
	jobs := 0
	svc := &siteService{gate: gate, enqueue: func(string) string { jobs++; return "job-1" }}
	ctx := context.Background()

	_, err = svc.Create(ctx, "", []string{"web-1", "web-2"})
	fmt.Println(err, "probes:", prober.calls.Load())

	_, err = svc.Create(ctx, "Blog", []string{"web-1", "web-2"})
	var refused *preflight.RefusedError
	if errors.As(err, &refused) {
		for _, c := range refused.Decision.Candidates {
			fmt.Println(c.NodeID, c.Report.Summary())
		}
	}
	fmt.Println("jobs:", jobs, "probes:", prober.calls.Load())
	// Output:
	// invalid site probes: 0
	// web-1 not_ready: sudo_password_required
	// web-2 not_ready: sudo_password_required
	// jobs: 0 probes: 2
}
