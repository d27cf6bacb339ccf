package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// Job error codes (UPPER_SNAKE, as the host's). A job whose node was not
// ready when it was about to run (nothing ran on it) fails with
// preflight.JobErrorNodeNotReady.
const (
	// codeJobCommandFailed: the job's command ran and exited non-zero.
	codeJobCommandFailed = "JOB_COMMAND_FAILED"
	// codeSSHFailed: an SSH failure sshexec could not name.
	codeSSHFailed = "SSH_FAILED"
)

// jobCommand is what a job "runs" on its node: harmless, one exec.
const jobCommand = "true"

// readinessGate is what the worker needs of *preflight.Gate.
type readinessGate interface {
	Refresh(ctx context.Context, nodeID string) (readiness.Report, error)
	Check(ctx context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error)
}

// worker is a pool of goroutines that claim queued site_create and
// env_create jobs and run them, each after a fresh readiness probe of its
// node. start and stop are called once each, by the server.
type worker struct {
	store  *Store
	gate   readinessGate
	nodes  preflight.NodeSource
	creds  preflight.Credentials
	client *sshexec.Client
	size   int
	poll   time.Duration
	drain  time.Duration
	name   string
	log    *slog.Logger

	wake chan struct{} // buffer 1: a job was enqueued

	mu       sync.Mutex
	cond     *sync.Cond
	paused   bool
	stopping bool

	quit   chan struct{}      // closed by stop: claim nothing more
	ctx    context.Context    // jobs' context, cancelled when draining times out
	cancel context.CancelFunc //
	wg     sync.WaitGroup
}

func (w *worker) start() {
	w.cond = sync.NewCond(&w.mu)
	w.wake = make(chan struct{}, 1)
	w.quit = make(chan struct{})
	w.ctx, w.cancel = context.WithCancel(context.Background())
	for i := range w.size {
		id := fmt.Sprintf("%s-%d", w.name, i+1)
		w.wg.Go(func() { w.loop(id) })
	}
}

// stop claims no more jobs, lets running ones finish for up to the drain
// timeout, then cancels them (they go back to the queue) and waits for
// every goroutine.
func (w *worker) stop() {
	w.mu.Lock()
	w.stopping = true
	w.cond.Broadcast()
	w.mu.Unlock()
	close(w.quit)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	if !sleepOrDone(done, w.drain) {
		w.cancel()
		<-done
	}
	w.cancel()
}

func sleepOrDone(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// resume lets a worker started paused (Config.WorkerPaused) claim jobs.
func (w *worker) resume() {
	w.mu.Lock()
	w.paused = false
	w.cond.Broadcast()
	w.mu.Unlock()
	w.notify()
}

// notify wakes a worker goroutine: a job was enqueued.
func (w *worker) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// enter waits while the worker is paused and reports whether it may claim
// a job: false once it is stopping.
func (w *worker) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.paused && !w.stopping {
		w.cond.Wait()
	}
	return !w.stopping
}

func (w *worker) loop(id string) {
	t := time.NewTimer(w.poll)
	defer t.Stop()
	for {
		if !w.enter() {
			return
		}
		found := w.runOne(id)
		if found {
			w.notify() // there may be more: wake another goroutine
			continue
		}
		t.Reset(w.poll)
		select {
		case <-w.quit:
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// runOne claims and runs one job; it reports whether there was one.
func (w *worker) runOne(id string) bool {
	j, err := w.store.claimJob(w.ctx, id)
	if err != nil {
		if w.ctx.Err() == nil {
			w.log.Error("devserver: worker", "error", err)
		}
		return false
	}
	if j == nil {
		return false
	}
	status, code, msg := w.execute(w.ctx, j)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if status == jobQueued {
		err = w.store.requeueJob(ctx, j.ID)
	} else {
		err = w.store.finishJob(ctx, j, status, code, msg)
	}
	if err != nil {
		w.log.Error("devserver: worker: record job outcome", "job", j.ID, "error", err)
	}
	w.log.Info("devserver: job finished", "job", j.ID, "type", j.JobType, "node", j.NodeID, "status", status, "code", code)
	return true
}

// execute re-checks the node with a fresh probe, then runs the job's
// command over SSH. It returns the job's new status (queued when the
// server is stopping and the job should run later) and error code and
// message.
func (w *worker) execute(ctx context.Context, j *Job) (status, code, msg string) {
	op := operation(j.JobType)
	// A fresh probe: the job must not run on what was true at enqueue.
	if _, err := w.gate.Refresh(ctx, j.NodeID); err != nil {
		return w.checkFailed(ctx, err)
	}
	// Decide for the job's own operation, from the observation just taken.
	d, err := w.gate.Check(ctx, op, j.NodeID)
	if err != nil {
		return w.checkFailed(ctx, err)
	}
	if !d.Admit || d.WouldRefuse {
		// Warn mode admits a not-ready node at the API; the worker still
		// runs nothing on it.
		return jobFailed, preflight.JobErrorNodeNotReady, apihttp.RefusalMessage(d)
	}
	t, err := w.target(ctx, j.NodeID)
	if err != nil {
		return w.checkFailed(ctx, err)
	}
	res, err := w.client.Run(ctx, t, jobCommand, nil)
	if err != nil {
		if ctx.Err() != nil {
			return jobQueued, "", ""
		}
		c := strings.ToUpper(string(sshexec.CodeOf(err)))
		if c == "" {
			c = codeSSHFailed
		}
		return jobFailed, c, "the job could not run on the node over SSH: " + string(sshexec.CodeOf(err))
	}
	_ = w.store.touchNode(ctx, j.NodeID)
	if res.ExitStatus != 0 {
		return jobFailed, codeJobCommandFailed, fmt.Sprintf("the job's command exited with status %d", res.ExitStatus)
	}
	return jobSucceeded, "", ""
}

// checkFailed decides a job whose readiness could not be checked: back to
// the queue when the server is stopping, else failed as not ready (it was
// never shown to be ready).
func (w *worker) checkFailed(ctx context.Context, err error) (string, string, string) {
	if ctx.Err() != nil || errors.Is(err, preflight.ErrClosed) {
		return jobQueued, "", ""
	}
	if errors.Is(err, preflight.ErrNodeNotFound) {
		return jobFailed, preflight.JobErrorNodeNotReady, "the job's node no longer exists"
	}
	w.log.Error("devserver: worker: readiness check", "error", err)
	return jobFailed, preflight.JobErrorNodeNotReady, "the node's readiness could not be checked"
}

// target builds the SSH target of a node from its record and credentials
// (its keys and host-key policy; no policy fails closed in sshexec).
func (w *worker) target(ctx context.Context, nodeID string) (sshexec.Target, error) {
	n, err := w.nodes.Node(ctx, nodeID)
	if err != nil {
		return sshexec.Target{}, err
	}
	a, err := w.creds.Auth(ctx, n)
	if err != nil {
		return sshexec.Target{}, err
	}
	return sshexec.Target{
		Host: n.Host, Port: n.Port, User: n.User,
		Signers: a.Signers, UseAgent: a.UseAgent, AgentKeys: a.AgentKeys, HostKeys: a.HostKeys,
	}, nil
}
