package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// NodesFileName is the name of the example server's -nodes file that
// scripts/fleet.sh up writes in the fleet's state directory (NodesFilePath).
// Down removes it with the client key it names.
const NodesFileName = "nodes.json"

// NodesFilePath is where scripts/fleet.sh up writes the -nodes file of
// cfg's fleet by default: NodesFileName in its state directory
// (/run/pressluft-fleet/nodes.json for instance 0,
// /run/pressluft-fleet-k/nodes.json for instance k).
func NodesFilePath(cfg Config) string {
	return filepath.Join(cfg.withDefaults().StateDir, NodesFileName)
}

// NodeSpec is one entry of the example server's -nodes file, in its
// format (examples/devserver's NodeSpec): the node's address, login, the
// fleet's client key file and the node's pinned host key.
type NodeSpec struct {
	Name         string `json:"name"`
	Host         string `json:"host"`
	Port         int    `json:"port"`
	User         string `json:"user"`
	IdentityFile string `json:"identity_file"`
	HostKey      string `json:"host_key"`
}

// NodeSpecs are nodes as -nodes file entries, in order. A node without a
// host key, address, user or client key file is an error: the file pins
// every node's key, and the example server refuses an entry without one.
func NodeSpecs(nodes []Node) ([]NodeSpec, error) {
	if len(nodes) == 0 {
		return nil, errors.New("fleet: nodes file: no nodes")
	}
	specs := make([]NodeSpec, 0, len(nodes))
	for _, n := range nodes {
		switch {
		case n.HostKey == nil:
			return nil, fmt.Errorf("fleet: nodes file: node %s has no host key", n.Name)
		case n.Name == "" || n.Addr == "" || n.User == "" || n.ClientKeyFile == "" || n.Port <= 0:
			return nil, fmt.Errorf("fleet: nodes file: node %q lacks a name, address, port, user or client key", n.Name)
		}
		specs = append(specs, NodeSpec{
			Name: n.Name, Host: n.Addr, Port: n.Port, User: n.User, IdentityFile: n.ClientKeyFile,
			HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(n.HostKey))),
		})
	}
	return specs, nil
}

// WriteNodesFile writes nodes as the example server's -nodes file at path
// (a JSON array of NodeSpec), mode 0600, replacing any file there
// atomically: what scripts/fleet.sh up does after booting, and what a
// test does before starting the example server on the fleet.
func WriteNodesFile(path string, nodes []Node) error {
	specs, err := NodeSpecs(nodes)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(specs, "", "  ")
	if err != nil {
		return fmt.Errorf("fleet: nodes file: %w", err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("fleet: nodes file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("fleet: nodes file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fleet: nodes file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("fleet: nodes file: %w", err)
	}
	return nil
}
