package preflightprom_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflightprom"
	"github.com/pressluft/runtime-readiness/preflight/preflighttest"
	"github.com/pressluft/runtime-readiness/readiness"
)

func Example() {
	m := preflightprom.NewMetrics()
	gate, err := preflight.New(preflight.Config{
		Nodes:       preflight.NewMemoryNodes(preflight.Node{ID: "web-1", Host: "203.0.113.10", User: "pressluft"}),
		Credentials: preflighttest.Credentials(), Prober: preflighttest.NewProber(),
		Observer: m.Observer(nil), ProbeObserver: m.ProbeObserver(nil),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gate.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, preflightprom.NewNodesCollector(gate, 0))

	if _, err := gate.Check(context.Background(), readiness.OperationSiteCreate, "web-1"); err != nil {
		fmt.Println(err)
		return
	}
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch {
			case mf.GetName() == "pressluft_readiness_checks_total":
				fmt.Println(mf.GetName(), mt.GetLabel()[0].GetValue(), mt.GetCounter().GetValue())
			case mf.GetName() == "pressluft_readiness_nodes" && mt.GetGauge().GetValue() > 0:
				fmt.Println(mf.GetName(), mt.GetLabel()[0].GetValue(), mt.GetGauge().GetValue())
			case mf.GetName() == "pressluft_readiness_probe_duration_seconds":
				fmt.Println(mf.GetName(), "count", mt.GetHistogram().GetSampleCount())
			}
		}
	}
	// Output:
	// pressluft_readiness_checks_total admitted 1
	// pressluft_readiness_nodes ready 1
	// pressluft_readiness_probe_duration_seconds count 1
}
