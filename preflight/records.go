package preflight

import (
	"context"
	"errors"
	"fmt"
)

// Records adapts a host's own node store to NodeSource, so the host does
// not write the adapter: Get and List are its look-ups, Convert maps one
// of its records to a Node, and NotFound is the error its Get returns (or
// wraps) for an unknown id, which the gate needs as ErrNodeNotFound. Get,
// List and Convert are required; a nil one is an error at the first call.
// It is safe for concurrent use if the host's functions are.
type Records[R any] struct {
	Get      func(ctx context.Context, id string) (R, error)
	List     func(ctx context.Context) ([]R, error)
	Convert  func(R) Node
	NotFound error
}

var errRecordsIncomplete = errors.New("preflight: Records needs Get, List and Convert")

// Node implements NodeSource.
func (s Records[R]) Node(ctx context.Context, id string) (Node, error) {
	if s.Get == nil || s.Convert == nil {
		return Node{}, errRecordsIncomplete
	}
	r, err := s.Get(ctx, id)
	switch {
	case err == nil:
		return s.Convert(r), nil
	case s.NotFound != nil && errors.Is(err, s.NotFound):
		return Node{}, fmt.Errorf("%w: %q", ErrNodeNotFound, id)
	}
	return Node{}, err
}

// Nodes implements NodeSource, in the order List returns.
func (s Records[R]) Nodes(ctx context.Context) ([]Node, error) {
	if s.List == nil || s.Convert == nil {
		return nil, errRecordsIncomplete
	}
	rs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Node, len(rs))
	for i, r := range rs {
		out[i] = s.Convert(r)
	}
	return out, nil
}
