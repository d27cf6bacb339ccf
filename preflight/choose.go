package preflight

import (
	"context"
	"errors"
	"sync"

	"github.com/pressluft/runtime-readiness/readiness"
)

// chooseWindow bounds how many candidates Choose checks ahead of the one
// it is waiting for.
const chooseWindow = 8

// Choose decides op on the first candidate, in the host's order, that the
// gate admits: the node picker of a create flow whose service chooses the
// node itself ("the first ready provider node"). Candidates are checked
// as Check does (cache, coalescing and the fleet-wide bound apply, so a
// candidate costs at most one probe, shared with every other caller),
// up to eight ahead of the one Choose waits for; once a candidate is
// admitted, the checks of later candidates are abandoned (their probes
// finish under the gate) and their decisions are not reported to the
// Observer.
//
// The returned Decision is the admitted candidate's. A candidate that is
// ready is preferred to one admitted only in warn mode (ModeWarn,
// CodeModes): the first ready one wins, and the first warn-mode
// admission is taken only when no candidate is ready. When none is
// admitted it is the first candidate's refusal, with Candidates holding
// every candidate's decision in order; with no candidate at all it is a
// no_candidate_node refusal (NodeID "", never admitted, even in warn
// mode). A candidate the NodeSource no longer knows (ErrNodeNotFound) is
// passed over; any other error of a candidate's check, or ctx ending, is
// returned as Check returns it.
func (g *Gate) Choose(ctx context.Context, op readiness.Operation, candidates []string) (Decision, error) {
	if op == "" {
		return Decision{}, errors.New("preflight: choose: empty operation")
	}
	if len(candidates) == 0 {
		return g.noCandidate(op), nil
	}
	if len(candidates) == 1 {
		d, err := g.Check(ctx, op, candidates[0])
		if errors.Is(err, ErrNodeNotFound) {
			return g.noCandidate(op), nil
		}
		if err == nil && !d.Admit {
			d.Candidates = []Decision{d}
		}
		return d, err
	}

	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		d   Decision
		err error
	}
	results := make([]chan result, len(candidates))
	var wg sync.WaitGroup
	defer func() {
		cancel() // abandoned checks stop waiting at once
		wg.Wait()
	}()
	start := func(i int) {
		results[i] = make(chan result, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := g.Check(ctx, op, candidates[i])
			results[i] <- result{d, err}
		}()
	}
	next := 0
	for ; next < len(candidates) && next < chooseWindow; next++ {
		start(next)
	}
	var (
		refused []Decision
		warned  *Decision // the first candidate admitted only in warn mode
	)
	for i := range candidates {
		res := <-results[i]
		if next < len(candidates) {
			start(next)
			next++
		}
		switch {
		case errors.Is(res.err, ErrNodeNotFound):
			continue
		case res.err != nil:
			return Decision{}, res.err
		case res.d.Admit && !res.d.WouldRefuse:
			return res.d, nil
		case res.d.Admit:
			if warned == nil {
				warned = &res.d
			}
			continue
		}
		refused = append(refused, res.d)
	}
	if warned != nil {
		return *warned, nil
	}
	if len(refused) == 0 {
		return g.noCandidate(op), nil
	}
	d := refused[0]
	d.Candidates = refused
	return d, nil
}

// noCandidate is the refusal of an operation with no node to run on.
func (g *Gate) noCandidate(op readiness.Operation) Decision {
	now := g.cfg.Now()
	d := Decision{
		Operation: op, Mode: ModeEnforce, WouldRefuse: true,
		Report: readiness.NoCandidate(op, now),
	}
	g.notify(d)
	return d
}
