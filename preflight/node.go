package preflight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// ErrNodeNotFound is wrapped by the errors of a NodeSource, and so of the
// Gate, for a node id the control plane does not know.
var ErrNodeNotFound = errors.New("preflight: node not found")

// Node is what the gate needs of a node record. The control plane's own
// host is a node like any other (IsLocal true, Host usually "127.0.0.1"):
// it is probed over SSH to that address, never by running commands in the
// control plane's process.
type Node struct {
	// ID is the node's stable id (a UUID in pressluft). Required.
	ID string
	// Name is the operator-facing name; used only in log lines.
	Name string
	// Lifecycle is the node's provider/provisioning status. "" means
	// active. Acquiring, provisioning and decommissioned nodes are never
	// probed; any other value is treated as active and probed, as
	// readiness.Evaluate does. HostLifecycle maps pressluft's node
	// statuses, unreachable included.
	Lifecycle readiness.Lifecycle
	// Host is the hostname or IP address to dial, without a port; ""
	// means the node has no address yet (node_address_missing) and is
	// never probed. A host with a port, brackets or a user part is
	// node_config_invalid.
	Host string
	// Port is the SSH port; zero means 22. Outside 0-65535 it is
	// node_config_invalid.
	Port int
	// User is the SSH login user; "" is node_config_invalid.
	User string
	// KeyFile is the path of the node's SSH private key file as the node
	// record names it (pressluft's ssh_private_key_path), for
	// FileCredentials; "" means none. The gate never reads it itself.
	KeyFile string
	// IsLocal marks the control plane's own host. It changes nothing
	// about how the node is probed.
	IsLocal bool
}

// probed reports whether the gate probes the node at all: only an active
// node with an address and a valid SSH configuration is.
func (n Node) probed() bool {
	switch n.Lifecycle {
	case readiness.LifecycleAcquiring, readiness.LifecycleProvisioning, readiness.LifecycleDecommissioned:
		return false
	}
	return n.hasAddress() && n.configProblem() == ""
}

// configProblem describes what makes the record's SSH settings unusable
// (node_config_invalid), or returns "".
func (n Node) configProblem() string {
	host := strings.TrimSpace(n.Host)
	switch {
	case hostHasPort(host):
		return "host must not carry a port"
	case sshexec.CheckHost(host) != nil:
		return "host must be a bare hostname or IP address (no brackets, user or shell characters)"
	case n.User == "":
		return "empty SSH user"
	case n.Port < 0 || n.Port > 65535:
		return "SSH port " + strconv.Itoa(n.Port) + " out of range"
	}
	return ""
}

func hostHasPort(host string) bool {
	_, _, err := net.SplitHostPort(host)
	return err == nil
}

// PendingHost is the placeholder host pressluft stores for a node whose
// provider has not handed it over yet.
const PendingHost = "pending.provider"

// HostLifecycle maps a pressluft node record's status and host to the
// lifecycle the gate decides by:
//
//	status          host               lifecycle       probed
//	active          PendingHost        acquiring       no  (pending, node_acquiring)
//	active          anything else      active          yes
//	provisioning    any                provisioning    no  (pending, node_provisioning)
//	unreachable     any                active          yes
//	decommissioned  any                decommissioned  no  (not_ready, node_decommissioned)
//	"" or unknown   any                active          yes
//
// unreachable is the host's own verdict from an earlier failure (a job
// that could not connect, say); the probe, not the stale flag, decides:
// a node that answers again is ready again, and one that still does not
// gets the probe's precise reason (ssh_unreachable, ssh_auth_failed, ...)
// instead of a generic one. An unknown status is probed too rather than
// refused blind: the probe is the authority on what a node can take.
// Status and host are compared case-insensitively, without surrounding
// spaces.
func HostLifecycle(status, host string) readiness.Lifecycle {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "provisioning":
		return readiness.LifecycleProvisioning
	case "decommissioned":
		return readiness.LifecycleDecommissioned
	case "acquiring":
		return readiness.LifecycleAcquiring
	}
	if strings.EqualFold(strings.TrimSpace(host), PendingHost) {
		return readiness.LifecycleAcquiring
	}
	return readiness.LifecycleActive
}

func (n Node) hasAddress() bool { return strings.TrimSpace(n.Host) != "" }

func (n Node) port() int {
	if n.Port == 0 {
		return 22
	}
	return n.Port
}

// target identifies what a cached observation was taken of: a change of
// address, port or user makes it someone else's.
func (n Node) target() targetKey {
	return targetKey{host: strings.TrimSpace(n.Host), port: n.port(), user: n.User}
}

type targetKey struct {
	host string
	port int
	user string
}

// NodeSource is the gate's view of the control plane's node records.
// Implementations must be safe for concurrent use. Node is called on
// every Check, so it should be cheap (an indexed row or an in-memory map).
type NodeSource interface {
	// Node returns the node with the given id, or an error wrapping
	// ErrNodeNotFound.
	Node(ctx context.Context, id string) (Node, error)
	// Nodes returns every node, for the Monitor.
	Nodes(ctx context.Context) ([]Node, error)
}

// MemoryNodes is an in-memory NodeSource for tests, examples and small
// embeddings. The zero value is empty and ready to use; it is safe for
// concurrent use.
type MemoryNodes struct {
	mu    sync.RWMutex
	nodes map[string]Node
}

// NewMemoryNodes returns a MemoryNodes holding nodes.
func NewMemoryNodes(nodes ...Node) *MemoryNodes {
	m := &MemoryNodes{}
	for _, n := range nodes {
		m.Put(n)
	}
	return m
}

// Put adds or replaces the node with n.ID.
func (m *MemoryNodes) Put(n Node) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nodes == nil {
		m.nodes = map[string]Node{}
	}
	m.nodes[n.ID] = n
}

// Delete removes a node; deleting an unknown id does nothing.
func (m *MemoryNodes) Delete(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.nodes, id)
}

// SetLifecycle changes a node's lifecycle. It returns an error wrapping
// ErrNodeNotFound for an unknown id.
func (m *MemoryNodes) SetLifecycle(id string, l readiness.Lifecycle) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNodeNotFound, id)
	}
	n.Lifecycle = l
	m.nodes[id] = n
	return nil
}

// Node implements NodeSource.
func (m *MemoryNodes) Node(_ context.Context, id string) (Node, error) {
	m.mu.RLock()
	n, ok := m.nodes[id]
	m.mu.RUnlock()
	if !ok {
		return Node{}, fmt.Errorf("%w: %q", ErrNodeNotFound, id)
	}
	return n, nil
}

// Nodes implements NodeSource; the nodes are sorted by id.
func (m *MemoryNodes) Nodes(context.Context) ([]Node, error) {
	m.mu.RLock()
	out := make([]Node, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, n)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
