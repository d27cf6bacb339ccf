package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/examples/devserver/dashboard"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

// Config configures a Server. Every zero field has a default.
type Config struct {
	// DBPath is the SQLite file; "" means a new temporary file that Close
	// removes.
	DBPath string
	// Mode is the gate's mode; "" means preflight.ModeEnforce.
	Mode preflight.Mode
	// Nodes are real SSH nodes (from a -nodes file); nil means the
	// default in-process fake fleet.
	Nodes []realNode
	// MonitorInterval is how often the gate's monitor re-probes every
	// node; 0 means 30s, negative means no monitor.
	MonitorInterval time.Duration
	// AcquireStep is how long a simulated provider acquisition stays in
	// each of acquiring and provisioning; 0 means 5s.
	AcquireStep time.Duration
	// Workers is the size of the job worker pool; 0 means 2.
	Workers int
	// PollInterval is how often idle workers look for jobs (they are also
	// woken on enqueue); 0 means 500ms.
	PollInterval time.Duration
	// DrainTimeout is how long Close lets running jobs finish before
	// cancelling them back to the queue; 0 means 15s.
	DrainTimeout time.Duration
	// DashboardRefresh is how often dashboard pages with something in
	// progress update themselves; 0 means 2s.
	DashboardRefresh time.Duration
	// WorkerPaused starts the worker paused (tests); false runs it.
	WorkerPaused bool
	// Logger receives operational logs; nil means none.
	Logger *slog.Logger

	// acquireWait, if not nil, replaces the provider's sleep before each
	// step of an acquisition (tests).
	acquireWait func(ctx context.Context, nodeID, next string) bool
}

func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = preflight.ModeEnforce
	}
	if c.MonitorInterval == 0 {
		c.MonitorInterval = 30 * time.Second
	}
	if c.AcquireStep <= 0 {
		c.AcquireStep = 5 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Server is the example control plane without its listener: the
// database, the fleet, the gate, its monitor, the provider simulation and
// the worker pool. New starts them; Close stops them all and waits.
type Server struct {
	cfg     Config
	store   *Store
	tempDir string
	fleet   *fleet
	prov    *provider
	gate    *preflight.Gate
	worker  *worker
	handler http.Handler

	monCancel context.CancelFunc
	monDone   chan struct{}
	closeOnce sync.Once
}

// New opens the database, registers and starts the fleet, and starts the
// monitor and the workers. The caller must call Close.
func New(cfg Config) (s *Server, err error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s = &Server{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	path := cfg.DBPath
	if path == "" {
		if s.tempDir, err = os.MkdirTemp("", "devserver-"); err != nil {
			return s, fmt.Errorf("devserver: temp dir: %w", err)
		}
		path = filepath.Join(s.tempDir, "devserver.db")
	}
	if s.store, err = openStore(ctx, path); err != nil {
		return s, err
	}
	if err = s.store.recoverJobs(ctx); err != nil {
		return s, err
	}
	nodes := storeNodes{s.store}
	s.fleet = newFleet()
	s.gate, err = preflight.New(preflight.Config{
		Nodes: nodes, Credentials: s.fleet.creds, Prober: &probe.Prober{},
		Mode: cfg.Mode, Logger: cfg.Logger,
	})
	if err != nil {
		return s, err
	}
	s.prov = newProvider(s.store, s.fleet, cfg.AcquireStep, cfg.Logger)
	s.prov.wait = cfg.acquireWait
	s.prov.activated = func(ctx context.Context, nodeID string) {
		_, _ = s.gate.Refresh(ctx, nodeID) // warm the cache for the dashboard
	}
	if cfg.Nodes == nil {
		err = s.fleet.startDefaultFleet(ctx, s.store, s.prov)
	} else {
		err = s.fleet.startRealFleet(ctx, s.store, cfg.Nodes)
	}
	if err != nil {
		return s, err
	}

	s.worker = &worker{
		store: s.store, gate: s.gate, nodes: nodes, creds: s.fleet.creds,
		client: &sshexec.Client{}, size: cfg.Workers, poll: cfg.PollInterval, drain: cfg.DrainTimeout,
		name: fmt.Sprintf("devserver-%d", os.Getpid()), log: cfg.Logger, paused: cfg.WorkerPaused,
	}
	s.worker.start()
	if cfg.MonitorInterval > 0 {
		mctx, mcancel := context.WithCancel(context.Background())
		s.monCancel, s.monDone = mcancel, make(chan struct{})
		go func() {
			defer close(s.monDone)
			_ = s.gate.Monitor(mctx, cfg.MonitorInterval, 0.1)
		}()
	}
	if s.handler, err = s.routes(nodes); err != nil {
		return s, err
	}
	return s, nil
}

// routes serves the API under /api/ and the dashboard, which renders
// from that same API in process, everywhere else.
func (s *Server) routes(nodes preflight.NodeSource) (http.Handler, error) {
	acfg := apihttp.Config{
		Gate: s.gate, Nodes: nodes, Sites: s.store,
		DefaultNode:  s.store.defaultNode,
		Creator:      s.prov,
		MaxBodyBytes: maxBody,
		OnDecision:   s.audit,
		Logger:       s.cfg.Logger,
	}
	host := &hostAPI{
		store:       s.store,
		defaultNode: func(r *http.Request) (string, error) { return s.store.defaultNode(r.Context()) },
		enqueued:    s.worker.notify,
		log:         s.cfg.Logger,
	}
	mux := http.NewServeMux()
	host.routes(mux)
	nodesHandler := apihttp.NewNodesHandler(acfg)
	mux.Handle("/api/nodes", nodesHandler)
	mux.Handle("/api/nodes/", nodesHandler)
	api := apihttp.Guard(acfg)(mux)
	dash, err := dashboard.New(dashboard.Config{
		API: api, RefreshInterval: s.cfg.DashboardRefresh, Logger: s.cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	root := http.NewServeMux()
	root.Handle("/api/", api)
	root.Handle("/", dash)
	return root, nil
}

// audit writes an audit_logs row for every refused create and every
// create admitted only because of warn mode.
func (s *Server) audit(r *http.Request, d preflight.Decision) {
	var result string
	switch {
	case !d.Admit:
		result = "refused"
	case d.WouldRefuse:
		result = "warned"
	default:
		return
	}
	codes := []readiness.Code{}
	for _, x := range d.Report.Blocking() {
		codes = append(codes, x.Code)
	}
	details, _ := json.Marshal(map[string]any{
		"path": r.URL.Path, "mode": d.Mode, "state": d.Report.State,
		"primary_reason": d.Report.PrimaryReason, "reasons": codes, "waived": d.Waived,
	})
	// The request may be cancelled right after; the row must still land.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	err := s.store.insertAudit(ctx, AuditLog{
		Action: string(d.Operation), ResourceType: "node", ResourceID: d.NodeID,
		Result: result, DetailsJSON: string(details),
	})
	if err != nil {
		s.cfg.Logger.Error("devserver: audit row lost", "node", d.NodeID, "error", err)
	}
}

// Handler returns the server's HTTP handler: under /api/ the apihttp
// Guard around the host's routes and the node readiness routes; every
// other path is the operator dashboard (package dashboard).
func (s *Server) Handler() http.Handler { return s.handler }

// Fleet returns the nodes registered at start-up, in order.
func (s *Server) Fleet() []FleetEntry { return s.fleet.list() }

// Close stops the workers (draining running jobs), the monitor and the
// provider simulation, closes the gate and the fake nodes, closes the
// database and removes a temporary one. It waits for everything New
// started and is idempotent.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		if s.worker != nil && s.worker.quit != nil {
			s.worker.stop()
		}
		if s.monCancel != nil {
			s.monCancel()
			<-s.monDone
		}
		if s.prov != nil {
			s.prov.close()
		}
		if s.gate != nil {
			errs = append(errs, s.gate.Close())
		}
		if s.fleet != nil {
			s.fleet.close()
		}
		if s.store != nil {
			errs = append(errs, s.store.Close())
		}
		if s.tempDir != "" {
			errs = append(errs, os.RemoveAll(s.tempDir))
		}
	})
	return errors.Join(errs...)
}
