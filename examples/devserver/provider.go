package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// badNodeRequest is CreateNode's error for a name or provider it does
// not accept. It matches errBadNodeRequest, which POST /nodes answers 400
// with the error's text, so the text is operator-safe.
type badNodeRequest string

func (e badNodeRequest) Error() string        { return string(e) }
func (e badNodeRequest) Is(target error) bool { return target == errBadNodeRequest }

// provider simulates a cloud provider behind POST /api/nodes: a node is
// acquiring for one step, provisioning for another, then active, backed
// by a ready fake node. Each acquisition is a goroutine the provider owns;
// close cancels and waits for them.
type provider struct {
	store *Store
	fleet *fleet
	step  time.Duration
	// wait, if not nil, replaces sleeping one step before a node moves to
	// next (tests drive acquisitions with it); it returns false when ctx
	// ends first.
	wait func(ctx context.Context, nodeID, next string) bool
	log  *slog.Logger
	// activated runs when a node becomes active (the server refreshes its
	// readiness so the dashboard shows it without waiting for the
	// monitor). It must return when ctx ends.
	activated func(ctx context.Context, nodeID string)

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newProvider(st *Store, f *fleet, step time.Duration, log *slog.Logger) *provider {
	ctx, cancel := context.WithCancel(context.Background())
	return &provider{store: st, fleet: f, step: step, log: log, ctx: ctx, cancel: cancel}
}

// CreateNode implements nodeCreator: it records a node in status
// acquiring and a running node_acquire job, starts the simulated
// acquisition and returns at once.
func (p *provider) CreateNode(ctx context.Context, name, prov string) (string, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxNodeNameLen {
		return "", "", badNodeRequest("name must be 1-100 characters")
	}
	if prov == "" {
		prov = "simulated"
	}
	if prov != "simulated" {
		return "", "", badNodeRequest(fmt.Sprintf("unknown provider %q: this server only simulates \"simulated\"", prov))
	}
	n, err := newFake(sshtest.ReadyProfile())
	if err != nil {
		return "", "", err
	}
	payload, _ := json.Marshal(map[string]string{"name": name, "provider": prov})
	nodeID, jobID, err := p.store.createAcquiringNode(ctx, name, sshtest.DefaultUser, payload)
	if err != nil {
		n.Close()
		return "", "", err
	}
	if err := p.fleet.adopt(nodeID, n, nil); err != nil {
		p.abandon(nodeID, &Job{ID: jobID, JobType: jobNodeAcquire})
		return "", "", err
	}
	if err := p.start(nodeID, jobID, n); err != nil {
		p.abandon(nodeID, &Job{ID: jobID, JobType: jobNodeAcquire})
		return "", "", err
	}
	return nodeID, jobID, nil
}

// acquire starts the simulation for a node already recorded as acquiring
// (the default fleet's "acquiring" node).
func (p *provider) acquire(ctx context.Context, nodeID, name string, n *sshtest.Node) error {
	payload, _ := json.Marshal(map[string]string{"name": name, "provider": "simulated"})
	jobID, err := p.store.createAcquireJob(ctx, nodeID, payload)
	if err != nil {
		return err
	}
	return p.start(nodeID, jobID, n)
}

func (p *provider) start(nodeID, jobID string, n *sshtest.Node) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("devserver: provider closed")
	}
	p.wg.Add(1)
	go p.run(nodeID, jobID, n)
	return nil
}

// run is one acquisition: acquiring -> provisioning (the machine exists
// and has an address) -> active.
func (p *provider) run(nodeID, jobID string, n *sshtest.Node) {
	defer p.wg.Done()
	job := &Job{ID: jobID, JobType: jobNodeAcquire}
	steps := []struct {
		status string
		ip     string
	}{
		{nodeProvisioning, "127.0.0.1"},
		{nodeActive, ""},
	}
	for _, s := range steps {
		if !p.pause(nodeID, s.status) {
			p.abandon(nodeID, job)
			return
		}
		if err := p.store.setNodeState(p.ctx, nodeID, s.status, s.ip, n.Port(), sshtest.DefaultUser); err != nil {
			p.log.Error("devserver: provider", "node", nodeID, "error", err)
			p.abandon(nodeID, job)
			return
		}
	}
	if p.activated != nil {
		p.activated(p.ctx, nodeID)
	}
	if err := p.store.finishJob(p.ctx, job, jobSucceeded, "", ""); err != nil {
		p.log.Error("devserver: provider", "job", jobID, "error", err)
	}
}

func (p *provider) pause(nodeID, next string) bool {
	if p.wait != nil {
		return p.wait(p.ctx, nodeID, next)
	}
	return sleep(p.ctx, p.step)
}

// abandon records an acquisition the server stopped: the job is
// cancelled and the node decommissioned (its machine goes away with the
// server).
func (p *provider) abandon(nodeID string, job *Job) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := errors.Join(
		p.store.finishJob(ctx, job, jobCancelled, "CANCELLED", "the control plane stopped during acquisition"),
		p.store.setNodeState(ctx, nodeID, nodeDecommissioned, "", 0, ""),
	)
	if err != nil {
		p.log.Error("devserver: provider", "node", nodeID, "error", err)
	}
}

// close cancels every acquisition in progress and waits for them.
func (p *provider) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
