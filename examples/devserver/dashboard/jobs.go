package dashboard

import (
	"net/http"
	"net/url"

	"github.com/pressluft/runtime-readiness/contracts"
)

func jobLabel(status contracts.JobStatus) string {
	switch status {
	case contracts.JobStatusQueued:
		return "Queued"
	case contracts.JobStatusRunning:
		return "Running"
	case contracts.JobStatusSucceeded:
		return "Succeeded"
	case contracts.JobStatusFailed:
		return "Failed"
	case contracts.JobStatusCancelled:
		return "Cancelled"
	default:
		return "Unknown"
	}
}

func jobDone(status contracts.JobStatus) bool {
	switch status {
	case contracts.JobStatusSucceeded, contracts.JobStatusFailed, contracts.JobStatusCancelled:
		return true
	}
	return false
}

type jobData struct {
	Job      contracts.Job
	Done     bool
	NodeName string
	SiteName string
}

// job is GET /jobs/{id}: the job and its progress, refreshing itself
// while it is queued or running.
func (h *Handler) job(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var d jobData
	if err := h.api.get(r, "/api/jobs/"+url.PathEscape(id), &d.Job); err != nil {
		h.apiFailed(w, r, "Job", err)
		return
	}
	d.Done = jobDone(d.Job.Status)
	if d.Job.NodeId != nil {
		if n := h.node(r, *d.Job.NodeId); n != nil {
			d.NodeName = n.Name
		}
	}
	if d.Job.SiteId != nil {
		var s contracts.Site
		if h.api.get(r, "/api/sites/"+url.PathEscape(*d.Job.SiteId), &s) == nil {
			d.SiteName = s.Name
		}
	}
	p := page{Title: "Job " + jobLabel(d.Job.Status), Nav: "jobs", Data: d}
	if !d.Done {
		p.Refresh, p.Poll = h.refreshSeconds(), "/api/jobs/"+url.PathEscape(id)
	}
	h.render(w, http.StatusOK, "job", p)
}

type jobsData struct {
	Jobs    []contracts.Job
	Names   map[string]string
	Running bool
}

// jobs is GET /jobs: the 100 newest jobs.
func (h *Handler) jobs(w http.ResponseWriter, r *http.Request) {
	d := jobsData{Names: h.nodeNames(r)}
	if err := h.api.get(r, "/api/jobs", &d.Jobs); err != nil {
		h.apiFailed(w, r, "Jobs", err)
		return
	}
	for _, j := range d.Jobs {
		d.Running = d.Running || !jobDone(j.Status)
	}
	p := page{Title: "Jobs", Nav: "jobs", Data: d}
	if d.Running {
		p.Refresh, p.Poll = h.refreshSeconds(), "/api/jobs"
	}
	h.render(w, http.StatusOK, "jobs", p)
}
