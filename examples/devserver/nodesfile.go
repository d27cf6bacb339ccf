package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// NodeSpec is one entry of a -nodes file:
//
//	[{"name": "web-1", "host": "203.0.113.10", "port": 22, "user": "pressluft",
//	  "identity_file": "/home/me/.ssh/pressluft_ed25519",
//	  "known_hosts_file": "/home/me/.ssh/known_hosts"}]
//
// Exactly one of known_hosts_file and host_key (an authorized_keys-style
// "ssh-ed25519 AAAA..." line) pins the node's host key: the server never
// trusts an unknown key, and never writes to the known_hosts file (a host
// it has no entry for is ssh_host_key_unknown). is_local marks the control plane's own host,
// the first candidate of a POST /api/sites without node_id.
type NodeSpec struct {
	Name           string `json:"name"`
	Host           string `json:"host"`
	Port           int    `json:"port"` // 0 means 22
	User           string `json:"user"`
	IdentityFile   string `json:"identity_file"`
	KnownHostsFile string `json:"known_hosts_file,omitempty"`
	HostKey        string `json:"host_key,omitempty"`
	IsLocal        bool   `json:"is_local,omitempty"`
}

// realNode is a NodeSpec with its host-key policy: the pinned host_key,
// or its known_hosts_file as an sshexec.KnownHosts store's Strict policy,
// which reads the file as the SDK does everywhere (hashed names,
// patterns, @cert-authority host certificates, @revoked keys) and
// follows the operator's edits to it without a restart. Its identity
// file was loaded once to check it; the gate reads it again, through
// preflight.FileCredentials, whenever it changes.
type realNode struct {
	spec     NodeSpec
	hostKeys sshexec.HostKeyPolicy
}

// errNodesFile is wrapped by every error of loadNodesFile: a bad file is
// a usage error (exit 2).
var errNodesFile = errors.New("devserver: -nodes")

// loadNodesFile reads, validates and loads a -nodes file. passphrase
// decrypts encrypted identity files (nil: none).
func loadNodesFile(file string, passphrase []byte) ([]realNode, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNodesFile, err)
	}
	specs, err := parseNodes(data)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errNodesFile, file, err)
	}
	out := make([]realNode, 0, len(specs))
	for i, s := range specs {
		rn, err := loadNode(s, passphrase)
		if err != nil {
			return nil, fmt.Errorf("%w %s: node %d (%q): %w", errNodesFile, file, i+1, s.Name, err)
		}
		out = append(out, rn)
	}
	return out, nil
}

// parseNodes decodes and validates the JSON of a -nodes file, without
// touching any key file.
func parseNodes(data []byte) ([]NodeSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var specs []NodeSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("invalid JSON (want an array of nodes): %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: trailing data after the array")
	}
	if len(specs) == 0 {
		return nil, errors.New("no nodes")
	}
	names := map[string]bool{}
	locals := 0
	for i := range specs {
		s := &specs[i]
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("node %d (%q): %w", i+1, s.Name, err)
		}
		if names[s.Name] {
			return nil, fmt.Errorf("node %d: duplicate name %q", i+1, s.Name)
		}
		names[s.Name] = true
		if s.IsLocal {
			locals++
		}
	}
	if locals > 1 {
		return nil, errors.New("more than one node has is_local")
	}
	return specs, nil
}

func (s *NodeSpec) validate() error {
	switch {
	case s.Name == "" || len(s.Name) > 100:
		return errors.New("name must be 1-100 characters")
	case s.Host == "" || strings.ContainsAny(s.Host, "[]/@ \t\r\n"):
		return errors.New("host must be a bare hostname or IP address")
	case hostHasPort(s.Host):
		return errors.New("host must not carry a port (use \"port\")")
	case s.Port < 0 || s.Port > 65535:
		return fmt.Errorf("port %d out of range", s.Port)
	case s.User == "":
		return errors.New("user is required")
	case s.IdentityFile == "":
		return errors.New("identity_file is required")
	case (s.KnownHostsFile == "") == (s.HostKey == ""):
		return errors.New("exactly one of known_hosts_file and host_key is required")
	}
	if s.Port == 0 {
		s.Port = 22
	}
	return nil
}

func hostHasPort(h string) bool {
	_, _, err := net.SplitHostPort(h)
	return err == nil
}

func loadNode(s NodeSpec, passphrase []byte) (realNode, error) {
	if _, err := sshexec.LoadPrivateKeyFile(s.IdentityFile, passphrase); err != nil {
		return realNode{}, fmt.Errorf("identity_file: %w", err)
	}
	if s.HostKey != "" {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKey))
		if err != nil {
			return realNode{}, fmt.Errorf("host_key: %w", err)
		}
		return realNode{spec: s, hostKeys: sshexec.PinnedHostKeys(k)}, nil
	}
	// The server never learns a key, so a missing file could only ever
	// mean "unknown": say so now. OpenKnownHosts refuses a malformed one.
	if _, err := os.Stat(s.KnownHostsFile); err != nil {
		return realNode{}, fmt.Errorf("known_hosts_file: %w", err)
	}
	store, err := sshexec.OpenKnownHosts(s.KnownHostsFile)
	if err != nil {
		return realNode{}, fmt.Errorf("known_hosts_file: %w", err)
	}
	return realNode{spec: s, hostKeys: store.Strict()}, nil
}
