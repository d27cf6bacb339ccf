package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

// createGate is what the create service needs of *preflight.Gate: the
// seam the readiness SDK plugs into.
type createGate interface {
	Check(ctx context.Context, op readiness.Operation, nodeID string) (preflight.Decision, error)
	Choose(ctx context.Context, op readiness.Operation, candidates []string) (preflight.Decision, error)
}

// createService runs the create flows after the handlers have validated
// their input: it checks what needs the database (the node named, the
// site, the slug), then asks the gate whether the node may take the
// operation, and only then enqueues. A refusal is a
// *preflight.RefusedError (Decision.Err): no row is written but the audit
// row.
type createService struct {
	store *Store
	gate  createGate
	// enqueued wakes the worker.
	enqueued func()
	log      *slog.Logger
}

// createSite: the site goes to node_id when given, else to the first of
// the store's candidate nodes the gate admits.
func (s *createService) createSite(ctx context.Context, in siteCreate) (jobID string, err error) {
	if err := s.store.checkSiteSlug(ctx, in.Slug); err != nil {
		return "", err
	}
	var d preflight.Decision
	if in.NodeID != "" {
		if _, err := s.store.nodeRow(ctx, in.NodeID); err != nil {
			return "", err
		}
		d, err = s.gate.Check(ctx, readiness.OperationSiteCreate, in.NodeID)
	} else {
		var candidates []string
		if candidates, err = s.store.candidateNodes(ctx); err != nil {
			return "", err
		}
		d, err = s.gate.Choose(ctx, readiness.OperationSiteCreate, candidates)
	}
	if err != nil {
		return "", err
	}
	s.audit(ctx, d)
	if err := d.Err(); err != nil {
		return "", err
	}
	in.NodeID = d.NodeID
	if _, jobID, err = s.store.createSite(ctx, in); err != nil {
		return "", err
	}
	s.enqueued()
	return jobID, nil
}

// createEnvironment: the environment goes to node_id when given, else to
// the site's node.
func (s *createService) createEnvironment(ctx context.Context, in envCreate) (jobID string, err error) {
	siteNode, err := s.store.checkEnvironment(ctx, in)
	if err != nil {
		return "", err
	}
	if in.NodeID != "" {
		if _, err := s.store.nodeRow(ctx, in.NodeID); err != nil {
			return "", err
		}
	} else {
		in.NodeID = siteNode
	}
	d, err := s.gate.Check(ctx, readiness.OperationEnvCreate, in.NodeID)
	if err != nil {
		return "", err
	}
	s.audit(ctx, d)
	if err := d.Err(); err != nil {
		return "", err
	}
	if jobID, err = s.store.createEnvironment(ctx, in); err != nil {
		return "", err
	}
	s.enqueued()
	return jobID, nil
}

// audit writes an audit_logs row for a refused create and for a create
// admitted only because of warn mode; an admission on a ready node is not
// audited. A refusal among several candidates is one row, on the first
// candidate, naming every candidate; with no candidate at all the row's
// resource_id is empty.
func (s *createService) audit(ctx context.Context, d preflight.Decision) {
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
	details := map[string]any{
		"mode": d.Mode, "state": d.Report.State,
		"primary_reason": d.Report.PrimaryReason, "reasons": codes, "waived": d.Waived,
	}
	if len(d.Candidates) > 1 {
		type candidate struct {
			NodeID        string         `json:"node_id"`
			PrimaryReason readiness.Code `json:"primary_reason"`
		}
		cs := make([]candidate, len(d.Candidates))
		for i, c := range d.Candidates {
			cs[i] = candidate{c.NodeID, c.Report.PrimaryReason}
		}
		details["candidates"] = cs
	}
	b, _ := json.Marshal(details)
	// The request may be cancelled right after; the row must still land.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.store.insertAudit(ctx, AuditLog{
		Action: string(d.Operation), ResourceType: "node", ResourceID: d.NodeID,
		Result: result, DetailsJSON: string(b),
	})
	if err != nil {
		s.log.Error("devserver: audit row lost", "node", d.NodeID, "error", err)
	}
}
