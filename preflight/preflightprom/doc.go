// Package preflightprom exports the readiness gate's decisions, probes
// and fleet state as Prometheus metrics with client_golang. It is an
// adapter outside the SDK's core: readiness, probe, sshexec, preflight,
// apihttp and contracts never import client_golang, so a host that does
// not use Prometheus does not compile it.
//
// # Use
//
//	m := preflightprom.NewMetrics()
//	cfg.Observer = m.Observer(cfg.Observer)                // keeps the host's own observer
//	cfg.ProbeObserver = m.ProbeObserver(cfg.ProbeObserver)
//	gate, err := preflight.New(cfg)
//	...
//	reg := prometheus.NewRegistry()                        // the host's registry
//	reg.MustRegister(m, preflightprom.NewNodesCollector(gate, 0))
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Nothing is registered globally; the host chooses the registry and the
// path, and puts /metrics behind whatever protects its other internal
// endpoints.
//
// # Metrics
//
//	pressluft_readiness_checks_total{operation,decision}   counter
//	    One per Check decision (Choose: one per candidate it waited for,
//	    and its no_candidate_node refusal). decision is admitted (the node
//	    was ready), refused, or warned (admitted in warn mode although not
//	    ready).
//	pressluft_readiness_refusals_total{code}               counter
//	    One per refusal, by the report's primary reason code.
//	pressluft_readiness_waived_total{code}                 counter
//	    One per blocking reason a warned decision admitted (Decision.Waived):
//	    what enforcement would have refused.
//	pressluft_readiness_probe_duration_seconds             histogram
//	    One per probe the gate ran (Check, Choose, Refresh, Monitor), from
//	    preflight.Config.ProbeObserver: a probe shared by many Checks is
//	    counted once, and queueing for a probe slot is not included.
//	    Cached and record-based decisions run no probe. Buckets are
//	    prometheus.DefBuckets (5ms to 10s; the gate's ProbeTimeout is 10s).
//	pressluft_readiness_nodes{state}                       gauge
//	    The NodeSource's nodes by state (ready, not_ready, pending,
//	    unknown), computed at scrape time by Gate.CountStates; all four
//	    are always exported.
//
// Label values come from bounded sets: the operations the host checks
// and the readiness reason codes. Node ids are never labels.
//
// # Zero values and lifecycle
//
// The zero Metrics and NodesCollector are not usable: use NewMetrics and
// NewNodesCollector. Neither starts a goroutine or needs closing. A
// NodesCollector scraped after the gate is closed still answers (its
// counts need no probe).
//
// # Cost
//
// Each decision costs one or two label look-ups and atomic adds (about
// 100ns), each probe one histogram observation. A scrape costs one
// Gate.CountStates: one NodeSource.Nodes call (one query for a database
// source) and a map look-up per node, bounded by the collector's timeout
// (DefaultScrapeTimeout); a failure fails the scrape rather than
// exporting wrong counts.
package preflightprom
