package preflightprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pressluft/runtime-readiness/preflight"
)

// Decision label values of pressluft_readiness_checks_total.
const (
	DecisionAdmitted = "admitted" // the node was ready
	DecisionRefused  = "refused"  // the operation was refused
	DecisionWarned   = "warned"   // admitted in warn mode although not ready
)

// Metrics counts the gate's decisions and times its probes. Create it
// with NewMetrics, hand Observer and ProbeObserver to preflight.Config,
// and register it with the host's own registry. It is safe for
// concurrent use.
type Metrics struct {
	checks   *prometheus.CounterVec
	refusals *prometheus.CounterVec
	waived   *prometheus.CounterVec
	probes   prometheus.Histogram
}

// NewMetrics returns Metrics with nothing counted yet.
func NewMetrics() *Metrics {
	return &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressluft_readiness_checks_total",
			Help: "Readiness gate decisions, by operation and decision (admitted, refused, warned).",
		}, []string{"operation", "decision"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressluft_readiness_refusals_total",
			Help: "Operations the readiness gate refused, by the refusal's primary reason code.",
		}, []string{"code"}),
		waived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pressluft_readiness_waived_total",
			Help: "Blocking reasons admitted in warn mode, by reason code.",
		}, []string{"code"}),
		probes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pressluft_readiness_probe_duration_seconds",
			Help:    "Duration of the readiness gate's SSH probes, from when a probe got its slot.",
			Buckets: prometheus.DefBuckets,
		}),
	}
}

// Observe counts one decision. It is a preflight.Config.Observer.
func (m *Metrics) Observe(d preflight.Decision) {
	decision := DecisionAdmitted
	switch {
	case !d.Admit:
		decision = DecisionRefused
		m.refusals.WithLabelValues(string(d.Report.PrimaryReason)).Inc()
	case d.WouldRefuse:
		decision = DecisionWarned
		for _, c := range d.Waived {
			m.waived.WithLabelValues(string(c)).Inc()
		}
	}
	m.checks.WithLabelValues(string(d.Operation), decision).Inc()
}

// Observer returns a preflight.Config.Observer that counts each decision
// and then calls next, the host's own observer; nil next means none.
func (m *Metrics) Observer(next func(preflight.Decision)) func(preflight.Decision) {
	if next == nil {
		return m.Observe
	}
	return func(d preflight.Decision) {
		m.Observe(d)
		next(d)
	}
}

// ObserveProbe times one probe. It is a preflight.Config.ProbeObserver.
func (m *Metrics) ObserveProbe(ev preflight.ProbeEvent) {
	m.probes.Observe(ev.Duration.Seconds())
}

// ProbeObserver returns a preflight.Config.ProbeObserver that times each
// probe and then calls next; nil next means none.
func (m *Metrics) ProbeObserver(next func(preflight.ProbeEvent)) func(preflight.ProbeEvent) {
	if next == nil {
		return m.ObserveProbe
	}
	return func(ev preflight.ProbeEvent) {
		m.ObserveProbe(ev)
		next(ev)
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.checks.Describe(ch)
	m.refusals.Describe(ch)
	m.waived.Describe(ch)
	m.probes.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.checks.Collect(ch)
	m.refusals.Collect(ch)
	m.waived.Collect(ch)
	m.probes.Collect(ch)
}
