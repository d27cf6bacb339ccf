package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrNotFound is the store's error for an unknown id.
var ErrNotFound = errors.New("host: not found")

// Node is the host's node record (pressluft's nodes table).
type Node struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	Hostname          string `json:"hostname"`
	PublicIP          string `json:"public_ip"`
	SSHPort           int    `json:"ssh_port"`
	SSHUser           string `json:"ssh_user"`
	Status            string `json:"status"` // active | provisioning | unreachable | decommissioned
	IsLocal           bool   `json:"is_local"`
	ProviderID        string `json:"provider_id,omitempty"`
	SSHPrivateKeyPath string `json:"-"`
}

// Site and Environment are the host's site records.
type Site struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Slug   string `json:"slug"`
	NodeID string `json:"-"`
}

// Job is a row of the host's job queue.
type Job struct {
	ID            string `json:"id"`
	JobType       string `json:"job_type"`
	Status        string `json:"status"` // queued | running | succeeded | failed
	SiteID        string `json:"site_id,omitempty"`
	EnvironmentID string `json:"environment_id,omitempty"`
	NodeID        string `json:"node_id"`
	ErrorCode     string `json:"error_code,omitempty"`
	ErrorMessage  string `json:"error_message,omitempty"`
}

// Store holds the records. The zero value is empty and ready.
type Store struct {
	mu    sync.Mutex
	seq   int
	nodes []Node
	sites []Site
	jobs  []Job

	readiness map[string][]byte // node_readiness: node id -> the gate's memory // readiness glue
}

func (s *Store) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%04d", prefix, s.seq)
}

// AddNode stores n, giving it an id when it has none.
func (s *Store) AddNode(n Node) Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.ID == "" {
		n.ID = s.id("node")
	}
	s.nodes = append(s.nodes, n)
	return n
}

// UpdateNode replaces the node with n.ID.
func (s *Store) UpdateNode(n Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.nodes {
		if s.nodes[i].ID == n.ID {
			s.nodes[i] = n
			return nil
		}
	}
	return ErrNotFound
}

// Node returns one node.
func (s *Store) Node(_ context.Context, id string) (Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return Node{}, ErrNotFound
}

// Nodes returns every node in store order.
func (s *Store) Nodes(context.Context) ([]Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.nodes), nil
}

func (s *Store) addSite(site Site) Site {
	s.mu.Lock()
	defer s.mu.Unlock()
	site.ID = s.id("site")
	s.sites = append(s.sites, site)
	return site
}

// Site returns one site.
func (s *Store) Site(_ context.Context, id string) (Site, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.sites {
		if x.ID == id {
			return x, nil
		}
	}
	return Site{}, ErrNotFound
}

func (s *Store) enqueue(j Job) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.ID, j.Status = s.id("job"), "queued"
	s.jobs = append(s.jobs, j)
	return j
}

// Jobs returns every job in queue order.
func (s *Store) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jobs)
}

// next marks the oldest queued job running and returns it.
func (s *Store) next() (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.jobs {
		if s.jobs[i].Status == "queued" {
			s.jobs[i].Status = "running"
			return s.jobs[i], true
		}
	}
	return Job{}, false
}

func (s *Store) finish(j Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.jobs {
		if s.jobs[i].ID == j.ID {
			s.jobs[i] = j
		}
	}
}
