package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pressluft/runtime-readiness/examples/devserver/dashboard"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflightprom"
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
	// AllowOS are operating systems accepted besides the policy's own
	// (readiness.Baseline: Ubuntu 24.04), for every operation: -allow-os
	// debian-12 for a fleet of Debian nodes. Nil adds none.
	AllowOS []readiness.OSRelease
	// Nodes are real SSH nodes (from a -nodes file); nil means the
	// default in-process fake fleet.
	Nodes []realNode
	// KeyPassphrase decrypts the encrypted identity files of Nodes; nil
	// means they are not encrypted.
	KeyPassphrase []byte
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

	// bulkNodes adds this many node records after the default fleet
	// (tests and benchmarks of a large fleet; see bulkFleet). They are
	// never probed unless the monitor runs, which would dial addresses
	// that do not answer: set MonitorInterval negative.
	bulkNodes int

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
	metrics *prometheus.Registry // the gate's metrics, served at /metrics

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
	s.fleet = newFleet(cfg.KeyPassphrase)
	m := preflightprom.NewMetrics()
	s.gate, err = preflight.New(preflight.Config{
		Nodes: nodes, Credentials: s.fleet.credentials(), Prober: &probe.Prober{},
		Mode: cfg.Mode, Logger: cfg.Logger, Policy: policyAllowing(cfg.AllowOS),
		Observer: m.Observer(nil), ProbeObserver: m.ProbeObserver(nil),
	})
	if err != nil {
		return s, err
	}
	s.metrics = prometheus.NewRegistry()
	s.metrics.MustRegister(m, preflightprom.NewNodesCollector(s.gate, 0))
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
	if cfg.bulkNodes > 0 {
		if err = s.store.insertNodes(ctx, bulkFleet(cfg.bulkNodes)); err != nil {
			return s, err
		}
	}

	s.worker = &worker{
		store: s.store, gate: s.gate, nodes: nodes, creds: s.fleet.credentials(),
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
	if s.handler, err = s.routes(); err != nil {
		return s, err
	}
	return s, nil
}

// routes mounts the API router under /api/, the way the host's server
// does, and the dashboard, which renders from that same API in process,
// everywhere else.
func (s *Server) routes() (http.Handler, error) {
	api := newAPIRouter()
	(&nodesAPI{nodes: s.store, gate: s.gate, creator: s.prov, log: s.cfg.Logger}).routes(api.mux)
	creates := &createService{store: s.store, gate: s.gate, enqueued: s.worker.notify, log: s.cfg.Logger}
	(&hostAPI{store: s.store, creates: creates, log: s.cfg.Logger}).routes(api.mux)
	mounted := http.StripPrefix("/api", api)
	dash, err := dashboard.New(dashboard.Config{
		API: mounted, RefreshInterval: s.cfg.DashboardRefresh, Logger: s.cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	root := http.NewServeMux()
	root.Handle("/api/", mounted)
	root.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	root.Handle("/", dash)
	return compressGzip(root), nil
}

// Handler returns the server's HTTP handler: under /api/ the API (the
// node routes, with the SDK's readiness report and refresh handlers, and
// the site, environment and job routes, whose creates check readiness in
// the create service); GET /metrics the gate's Prometheus metrics
// (package preflightprom, on the server's own registry); every other path
// is the operator dashboard (package dashboard). HTML, JSON, script and
// style answers of 1 KiB or more are gzipped for a client that accepts
// it.
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

// policyAllowing is the gate's policy: readiness.PolicyFor with the OSes
// of allow added; nil (the SDK's default) when there are none.
func policyAllowing(allow []readiness.OSRelease) func(readiness.Operation) readiness.Policy {
	if len(allow) == 0 {
		return nil
	}
	allow = slices.Clone(allow)
	return func(op readiness.Operation) readiness.Policy {
		return readiness.PolicyFor(op).WithAllowedOS(allow...)
	}
}
