package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pressluft/runtime-readiness/contracts"
	"github.com/pressluft/runtime-readiness/readiness"
)

// fakeAPI is a small in-memory control plane speaking the contract: a
// ready node, a not-ready node (sudo password, plus a warning) and a
// pending one. Creates on the not-ready node are refused 409
// node_not_ready; others are accepted as a succeeded job.
type fakeAPI struct {
	mu        sync.Mutex
	nodes     []contracts.NodeSummary
	reports   map[string]readiness.Report
	sites     []contracts.Site
	envs      []contracts.Environment
	jobs      []contracts.Job
	refreshes []string
	mux       *http.ServeMux
}

const (
	readyID   = "11111111-0000-0000-0000-000000000001"
	sudoID    = "11111111-0000-0000-0000-000000000002"
	pendingID = "11111111-0000-0000-0000-000000000003"
)

func sp[T any](v T) *T { return &v }

var sudoReasons = []readiness.Reason{
	{
		Code: readiness.CodeSudoPasswordRequired, Prerequisite: readiness.PrereqPrivilege,
		Message:     "sudo asks the SSH user for a password.",
		Remediation: "Allow passwordless sudo for the SSH user: echo 'pressluft ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft && sudo visudo -c.",
		Severity:    readiness.SeverityBlocking, Observed: "password_required", Required: "passwordless sudo",
	},
	{
		Code: readiness.CodeRuntimeServiceInactive, Prerequisite: readiness.PrereqRuntime, Component: "nginx",
		Message:     "A required service is not running.",
		Remediation: "Start and enable the service (sudo systemctl enable --now nginx).",
		Severity:    readiness.SeverityBlocking,
	},
}

func newFakeAPI(readyName string) *fakeAPI {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := &fakeAPI{reports: map[string]readiness.Report{}}
	f.nodes = []contracts.NodeSummary{
		{Id: readyID, Name: readyName, IsLocal: true, State: "ready", Lifecycle: "active", LastCheckedAt: &now, LastTransitionAt: &now, Transport: "ssh"},
		{
			Id: sudoID, Name: "sudo-password", State: "not_ready", Lifecycle: "active", LastCheckedAt: &now, LastTransitionAt: &now, Transport: "ssh",
			PrimaryReason: sp(contracts.ReasonCodeSudoPasswordRequired), Message: sp(sudoReasons[0].Message), Remediation: sp(sudoReasons[0].Remediation),
		},
		{
			Id: pendingID, Name: "acquiring", State: "pending", Lifecycle: "acquiring", Transport: "ssh",
			PrimaryReason: sp(contracts.ReasonCodeNodeAcquiring), Message: sp("The provider is still acquiring this node."), Remediation: sp("Wait for provider acquisition to finish."),
		},
	}
	f.reports[readyID] = readiness.Report{NodeID: readyID, State: readiness.StateReady, Transport: "ssh", Reasons: []readiness.Reason{}}
	f.reports[sudoID] = readiness.Report{NodeID: sudoID, State: readiness.StateNotReady, PrimaryReason: readiness.CodeSudoPasswordRequired, Transport: "ssh", Reasons: sudoReasons}
	f.reports[pendingID] = readiness.Report{NodeID: pendingID, State: readiness.StatePending, PrimaryReason: readiness.CodeNodeAcquiring, Transport: "ssh", Reasons: []readiness.Reason{{
		Code: readiness.CodeNodeAcquiring, Prerequisite: readiness.PrereqLifecycle, Message: "The provider is still acquiring this node.",
		Remediation: "Wait for provider acquisition to finish.", Severity: readiness.SeverityBlocking, Retryable: true,
	}}}
	for i, n := range f.nodes { // the real list carries a not-ready node's reasons
		if rs := f.reports[n.Id].Reasons; n.State != "ready" && len(rs) > 0 {
			f.nodes[i].Reasons = &rs
		}
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /api/nodes", func(w http.ResponseWriter, r *http.Request) {
		// The fake filters nothing: it answers every node, counted as the
		// real list counts them.
		c := map[contracts.ReadinessState]int{}
		for _, n := range f.nodes {
			c[n.State]++
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(len(f.nodes)))
		w.Header().Set("X-State-Counts", fmt.Sprintf("ready=%d,not_ready=%d,pending=%d,unknown=%d", c["ready"], c["not_ready"], c["pending"], c["unknown"]))
		f.json(w, 200, f.nodes)
	})
	m.HandleFunc("GET /api/nodes/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, n := range f.nodes {
			if n.Id == r.PathValue("id") {
				f.json(w, 200, n)
				return
			}
		}
		f.json(w, 404, contracts.Error{Code: "not_found", Message: "node not found"})
	})
	m.HandleFunc("GET /api/nodes/{id}/readiness", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		rep, ok := f.reports[r.PathValue("id")]
		f.mu.Unlock()
		if !ok {
			f.json(w, 404, contracts.Error{Code: "not_found", Message: "node not found"})
			return
		}
		f.json(w, 200, rep)
	})
	m.HandleFunc("POST /api/nodes/{id}/readiness/refresh", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.refreshes = append(f.refreshes, r.PathValue("id"))
		rep := f.reports[r.PathValue("id")]
		f.mu.Unlock()
		f.json(w, 200, rep)
	})
	m.HandleFunc("POST /api/sites", func(w http.ResponseWriter, r *http.Request) {
		var in contracts.CreateSiteRequest
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.NodeId == nil {
			f.json(w, 400, contracts.Error{Code: "bad_request", Message: "malformed JSON body"})
			return
		}
		if f.refused(w, *in.NodeId) {
			return
		}
		f.mu.Lock()
		id := fmt.Sprintf("22222222-0000-0000-0000-%012d", len(f.sites)+1)
		f.sites = append(f.sites, contracts.Site{Id: id, Name: in.Name, Slug: in.Slug, Status: "active", NodeId: in.NodeId})
		f.mu.Unlock()
		f.accept(w, id, *in.NodeId, contracts.JobTypeSiteCreate)
	})
	m.HandleFunc("GET /api/sites", func(w http.ResponseWriter, r *http.Request) { f.json(w, 200, f.sites) })
	m.HandleFunc("GET /api/sites/{id}", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := f.site(r.PathValue("id")); ok {
			f.json(w, 200, s)
			return
		}
		f.json(w, 404, contracts.Error{Code: "not_found", Message: "site not found"})
	})
	m.HandleFunc("GET /api/sites/{id}/environments", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.site(r.PathValue("id")); !ok {
			f.json(w, 404, contracts.Error{Code: "not_found", Message: "site not found"})
			return
		}
		f.json(w, 200, f.envs)
	})
	m.HandleFunc("POST /api/sites/{id}/environments", func(w http.ResponseWriter, r *http.Request) {
		s, ok := f.site(r.PathValue("id"))
		if !ok {
			f.json(w, 404, contracts.Error{Code: "not_found", Message: "site not found"})
			return
		}
		var in contracts.CreateEnvironmentRequest
		if json.NewDecoder(r.Body).Decode(&in) != nil {
			f.json(w, 400, contracts.Error{Code: "bad_request", Message: "malformed JSON body"})
			return
		}
		if f.refused(w, *s.NodeId) {
			return
		}
		f.accept(w, s.Id, *s.NodeId, contracts.JobTypeEnvCreate)
	})
	m.HandleFunc("GET /api/jobs", func(w http.ResponseWriter, r *http.Request) { f.json(w, 200, f.jobs) })
	m.HandleFunc("GET /api/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, j := range f.jobs {
			if j.Id == r.PathValue("id") {
				f.jsonLocked(w, 200, j)
				return
			}
		}
		f.jsonLocked(w, 404, contracts.Error{Code: "not_found", Message: "job not found"})
	})
	f.mux = m
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

func (f *fakeAPI) json(w http.ResponseWriter, status int, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jsonLocked(w, status, v)
}

func (f *fakeAPI) jsonLocked(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) site(id string) (contracts.Site, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sites {
		if s.Id == id {
			return s, true
		}
	}
	return contracts.Site{}, false
}

// refused answers 409 node_not_ready for a node that is not ready.
func (f *fakeAPI) refused(w http.ResponseWriter, nodeID string) bool {
	f.mu.Lock()
	rep := f.reports[nodeID]
	f.mu.Unlock()
	if rep.State == readiness.StateReady {
		return false
	}
	f.json(w, 409, map[string]any{"code": "node_not_ready", "message": "node is not ready", "node_id": nodeID, "readiness": rep})
	return true
}

func (f *fakeAPI) accept(w http.ResponseWriter, siteID, nodeID string, typ contracts.JobType) {
	f.mu.Lock()
	id := fmt.Sprintf("33333333-0000-0000-0000-%012d", len(f.jobs)+1)
	f.jobs = append(f.jobs, contracts.Job{Id: id, JobType: typ, Status: contracts.JobStatusSucceeded, SiteId: &siteID, NodeId: &nodeID, CreatedAt: time.Now()})
	f.mu.Unlock()
	f.json(w, 202, contracts.JobAccepted{JobId: id})
}

func (f *fakeAPI) jobCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}
