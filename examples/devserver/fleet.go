package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// fakeSpec is one node of the default in-process fleet.
type fakeSpec struct {
	name    string
	profile func() sshtest.Profile
	// local marks the control plane's own host (is_local = 1). It is
	// probed over SSH to 127.0.0.1 like any other node.
	local bool
	// wrongKey pins a key the node does not have: its host key "changed".
	wrongKey bool
	// acquiring starts the node in provider acquisition.
	acquiring bool
}

// defaultFleet is what the server runs without -nodes: a ready node and
// one node for each way a node can fail to be ready.
var defaultFleet = []fakeSpec{
	{name: "ready-1", profile: sshtest.ReadyProfile, local: true},
	{name: "sudo-password", profile: sshtest.SudoPasswordProfile},
	{name: "php-fpm-missing", profile: func() sshtest.Profile { return sshtest.MissingComponentProfile(readiness.ComponentPHPFPM) }},
	{name: "mariadb-old", profile: func() sshtest.Profile { return sshtest.OldComponentProfile(readiness.ComponentMariaDB) }},
	{name: "nginx-inactive", profile: func() sshtest.Profile { return sshtest.ServiceInactiveProfile(readiness.ComponentNginx) }},
	{name: "unreachable", profile: func() sshtest.Profile { return sshtest.FaultProfile(sshtest.FaultRefuseTCP) }},
	{name: "host-key-changed", profile: sshtest.ReadyProfile, wrongKey: true},
	{name: "acquiring", profile: sshtest.ReadyProfile, acquiring: true},
}

// FleetEntry names one node the server registered at start-up.
type FleetEntry struct {
	Name, ID string
	Status   string
	IsLocal  bool
}

// fleet owns the in-process fake nodes (default fleet and simulated
// provider acquisitions) and the credentials of every node: the fake
// nodes' keys in memory, and for the real nodes of a -nodes file the key
// file their record names and the host keys the file pins.
type fleet struct {
	creds *preflight.MemoryCredentials
	files *preflight.FileCredentials

	mu      sync.Mutex
	fakes   map[string]*sshtest.Node         // by node id
	pins    map[string]sshexec.HostKeyPolicy // real nodes' host-key policies, by node id
	entries []FleetEntry
	closed  bool
}

// newFleet returns an empty fleet; passphrase decrypts the real nodes'
// key files (nil: they are not encrypted).
func newFleet(passphrase []byte) *fleet {
	f := &fleet{
		creds: preflight.NewMemoryCredentials(),
		fakes: map[string]*sshtest.Node{}, pins: map[string]sshexec.HostKeyPolicy{},
	}
	f.files = &preflight.FileCredentials{HostKeys: f.pinnedHostKeys}
	if passphrase != nil {
		f.files.Passphrase = func(string) ([]byte, error) { return passphrase, nil }
	}
	return f
}

// credentials is the Credentials of every node: FileCredentials for a
// node whose record names a key file (a real node), the in-memory keys
// otherwise (a fake node).
func (f *fleet) credentials() preflight.Credentials {
	return preflight.CredentialsFunc(func(ctx context.Context, n preflight.Node) (preflight.Auth, error) {
		if n.KeyFile != "" {
			return f.files.Auth(ctx, n)
		}
		return f.creds.Auth(ctx, n)
	})
}

// pinnedHostKeys is the host-key policy of a real node: its -nodes
// entry's host_key, or its known_hosts_file read strictly. A node
// without one fails closed (ssh_host_key_unknown).
func (f *fleet) pinnedHostKeys(_ context.Context, n preflight.Node) (sshexec.HostKeyPolicy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pins[n.ID]; ok {
		return p, nil
	}
	return sshexec.PinnedHostKeys(), nil
}

// newFake starts a fake node, turning sshtest's set-up panic into an
// error.
func newFake(p sshtest.Profile) (n *sshtest.Node, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("devserver: start fake node: %v", v)
		}
	}()
	return sshtest.NewNode(p), nil
}

// adopt takes ownership of a fake node registered as nodeID and trusts
// its client key and host key (or pins hostKey instead when not nil).
// It closes n and fails once the fleet is closed.
func (f *fleet) adopt(nodeID string, n *sshtest.Node, hostKey ssh.PublicKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		n.Close()
		return fmt.Errorf("devserver: fleet closed")
	}
	f.fakes[nodeID] = n
	if hostKey == nil {
		hostKey = n.HostKey()
	}
	f.creds.SetSigners(nodeID, n.ClientSigner())
	f.creds.PinHostKeys(nodeID, hostKey)
	return nil
}

func (f *fleet) record(e FleetEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
}

// fake returns the fake node behind nodeID, or nil.
func (f *fleet) fake(nodeID string) *sshtest.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fakes[nodeID]
}

// list returns the start-up fleet in registration order.
func (f *fleet) list() []FleetEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.entries)
}

// close stops every fake node and waits for them.
func (f *fleet) close() {
	f.mu.Lock()
	f.closed = true
	fakes := f.fakes
	f.fakes = map[string]*sshtest.Node{}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range fakes {
		wg.Go(n.Close)
	}
	wg.Wait()
}

// otherKey is a freshly generated host key that no node has.
func otherKey() (ssh.PublicKey, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devserver: generate key: %w", err)
	}
	return ssh.NewPublicKey(pub)
}

// startDefaultFleet registers and starts the default fake fleet. The
// acquiring node is handed to the provider simulation.
func (f *fleet) startDefaultFleet(ctx context.Context, st *Store, prov *provider) error {
	for _, spec := range defaultFleet {
		n, err := newFake(spec.profile())
		if err != nil {
			return err
		}
		row := NodeRow{
			Name: spec.name, PublicIP: "127.0.0.1", SSHPort: n.Port(), SSHUser: sshtest.DefaultUser,
			Status: nodeActive, IsLocal: spec.local,
		}
		if spec.acquiring {
			// The provider has not handed the machine over yet: no address.
			row.PublicIP, row.SSHPort, row.Status = "", 22, nodeAcquiring
		}
		id, err := st.upsertNode(ctx, row)
		if err != nil {
			n.Close()
			return err
		}
		var pin ssh.PublicKey
		if spec.wrongKey {
			if pin, err = otherKey(); err != nil {
				n.Close()
				return err
			}
		}
		if err := f.adopt(id, n, pin); err != nil {
			return err
		}
		f.record(FleetEntry{Name: spec.name, ID: id, Status: row.Status, IsLocal: spec.local})
		if spec.acquiring {
			if err := prov.acquire(ctx, id, spec.name, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// startRealFleet registers the nodes of a -nodes file, each with the key
// file it names and its host-key policy.
func (f *fleet) startRealFleet(ctx context.Context, st *Store, nodes []realNode) error {
	for _, rn := range nodes {
		id, err := st.upsertNode(ctx, NodeRow{
			Name: rn.spec.Name, Hostname: rn.spec.Host, SSHPort: rn.spec.Port, SSHUser: rn.spec.User,
			Status: nodeActive, IsLocal: rn.spec.IsLocal, SSHPrivateKeyPath: rn.spec.IdentityFile,
		})
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.pins[id] = rn.hostKeys
		f.mu.Unlock()
		f.record(FleetEntry{Name: rn.spec.Name, ID: id, Status: nodeActive, IsLocal: rn.spec.IsLocal})
	}
	return nil
}

// bulkFleet is n node records for a large fleet without a process per
// node: addresses in 198.18.0.0/15 (reserved for benchmarks, so nothing
// answers), ports and users of two kinds, and a mix of lifecycles: every
// tenth node provisioning (pending), every twenty-fifth decommissioned
// (not ready), the rest active and never probed (unknown) until the
// monitor probes them.
func bulkFleet(n int) []NodeRow {
	rows := make([]NodeRow, n)
	for i := range rows {
		r := NodeRow{
			Name:     fmt.Sprintf("bulk-%05d", i+1),
			PublicIP: fmt.Sprintf("198.18.%d.%d", (i/250)%256, i%250+1),
			SSHPort:  22, SSHUser: "pressluft", Status: nodeActive,
		}
		if i%3 == 0 {
			r.SSHPort, r.SSHUser = 2222, "deploy"
		}
		switch {
		case i%10 == 0:
			r.Status = nodeProvisioning
		case i%25 == 1:
			r.Status = nodeDecommissioned
		}
		rows[i] = r
	}
	return rows
}
