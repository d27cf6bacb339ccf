package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pressluft/runtime-readiness/contracts"
)

// refusal is a create the API refused, as the form shows it.
type refusal struct {
	// NodeNotReady: the gate refused (409 node_not_ready); Reasons and
	// Node say why and where.
	NodeNotReady bool
	Node         *nodeView
	State        string
	Reasons      []reasonView
	// Message is the API's message for any other refusal (400, 404,
	// 409 conflict).
	Message string
	Code    string
}

// create POSTs a create request to the API and answers the browser: the
// new job's page when the API accepted it, or refused (re-rendering the
// form with the refusal and what was typed).
func (h *Handler) create(w http.ResponseWriter, r *http.Request, path string, body any, refused func(status int, ref *refusal)) {
	res, err := h.api.do(r, http.MethodPost, path, body)
	if err != nil {
		h.apiFailed(w, r, "Site", err)
		return
	}
	jobID, ref, err := h.submitted(r, res)
	if err != nil {
		h.apiFailed(w, r, "Site", err)
		return
	}
	if ref != nil {
		refused(res.Status, ref)
		return
	}
	http.Redirect(w, r, "/jobs/"+url.PathEscape(jobID), http.StatusSeeOther)
}

// submitted reads the API's answer to a create: the accepted job id, or
// the refusal to show, or an error for anything unexpected.
func (h *Handler) submitted(r *http.Request, res apiResponse) (jobID string, ref *refusal, err error) {
	switch res.Status {
	case http.StatusAccepted:
		var acc contracts.JobAccepted
		if err := res.decode(&acc); err != nil || acc.JobId == "" {
			return "", nil, res.apiError()
		}
		return acc.JobId, nil, nil
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
		if nr, ok := res.nodeNotReady(); ok {
			ref := &refusal{NodeNotReady: true, State: string(nr.Readiness.State), Reasons: reasonViews(nr.Readiness.Reasons)}
			if nr.NodeId != "" {
				ref.Node = h.node(r, nr.NodeId)
			}
			if ref.Node == nil {
				ref.Node = &nodeView{ID: nr.NodeId, Name: nr.NodeId, State: ref.State}
			}
			return "", ref, nil
		}
		e := res.apiError()
		return "", &refusal{Message: e.Message, Code: e.Code}, nil
	default:
		return "", nil, res.apiError()
	}
}

type sitesData struct {
	Sites []siteRow
}

type siteRow struct {
	contracts.Site
	NodeName string
}

// sites is GET /sites.
func (h *Handler) sites(w http.ResponseWriter, r *http.Request) {
	var sites []contracts.Site
	if err := h.api.get(r, "/api/sites", &sites); err != nil {
		h.apiFailed(w, r, "Sites", err)
		return
	}
	names := h.nodeNames(r)
	d := sitesData{}
	for _, s := range sites {
		row := siteRow{Site: s}
		if s.NodeId != nil {
			row.NodeName = names[*s.NodeId]
		}
		d.Sites = append(d.Sites, row)
	}
	h.render(w, http.StatusOK, "sites", page{Title: "Sites", Nav: "sites", Data: d})
}

// nodeNames maps node ids to names (empty on an API failure: the pages
// then show ids).
func (h *Handler) nodeNames(r *http.Request) map[string]string {
	var sums []contracts.NodeSummary
	names := map[string]string{}
	if err := h.api.get(r, "/api/nodes", &sums); err == nil {
		for _, s := range sums {
			names[s.Id] = s.Name
		}
	}
	return names
}

// siteForm is what the operator typed into the site form.
type siteForm struct {
	Name, Slug, NodeID string
}

type siteNewData struct {
	Form    siteForm
	Nodes   []nodeView
	Refusal *refusal
	// Partial: the fleet is larger than the selector lists, which then
	// holds ready nodes only (and the node chosen).
	Partial bool
}

// siteNew is GET /sites/new; ?name=, ?slug= and ?node= prefill the form
// (the refusal's re-check comes back here with them).
func (h *Handler) siteNew(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h.siteForm(w, r, http.StatusOK, siteForm{Name: q.Get("name"), Slug: q.Get("slug"), NodeID: q.Get("node")}, nil)
}

// maxNodeChoices is how many nodes the node selector lists: every node of
// a fleet up to this size; above it, the ready nodes by name, up to this
// many, and the node chosen.
const maxNodeChoices = 200

func (h *Handler) siteForm(w http.ResponseWriter, r *http.Request, status int, f siteForm, ref *refusal) {
	nodes, err := h.nodeChoices(r, f.NodeID)
	if err != nil {
		h.apiFailed(w, r, "Nodes", err)
		return
	}
	d := siteNewData{Form: f, Nodes: nodes, Refusal: ref, Partial: len(nodes) > 0 && nodes[0].partial}
	if d.Form.NodeID == "" {
		d.Form.NodeID = defaultChoice(nodes)
	}
	h.render(w, status, "site_new", page{Title: "New site", Nav: "sites", Data: d})
}

// nodeChoices are the node selector's options: a bounded number of API
// calls and of options whatever the fleet size.
func (h *Handler) nodeChoices(r *http.Request, chosen string) ([]nodeView, error) {
	var sums []contracts.NodeSummary
	if err := h.api.get(r, "/api/nodes?limit="+strconv.Itoa(maxNodeChoices+1), &sums); err != nil {
		return nil, err
	}
	if len(sums) <= maxNodeChoices {
		out := make([]nodeView, len(sums))
		for i, s := range sums {
			out[i] = summaryView(s)
		}
		return out, nil
	}
	if err := h.api.get(r, "/api/nodes?state=ready&sort=name&limit="+strconv.Itoa(maxNodeChoices), &sums); err != nil {
		return nil, err
	}
	out := make([]nodeView, 0, len(sums)+1)
	found := chosen == ""
	for _, s := range sums {
		out = append(out, summaryView(s))
		found = found || s.Id == chosen
	}
	if !found {
		if n := h.node(r, chosen); n != nil {
			out = append([]nodeView{*n}, out...)
		}
	}
	for i := range out {
		out[i].partial = true
	}
	return out, nil
}

// defaultChoice preselects the local node when it is ready, else the
// first ready node, else nothing.
func defaultChoice(nodes []nodeView) string {
	first := ""
	for _, n := range nodes {
		if n.State != "ready" {
			continue
		}
		if n.Local {
			return n.ID
		}
		if first == "" {
			first = n.ID
		}
	}
	return first
}

// siteCreate is POST /sites/new: POST /api/sites, then the job page, or
// the form again with the refusal and what was typed.
func (h *Handler) siteCreate(w http.ResponseWriter, r *http.Request) {
	f := siteForm{
		Name:   strings.TrimSpace(r.PostFormValue("name")),
		Slug:   strings.TrimSpace(r.PostFormValue("slug")),
		NodeID: r.PostFormValue("node_id"),
	}
	req := contracts.CreateSiteRequest{Name: f.Name, Slug: f.Slug}
	if f.NodeID != "" {
		req.NodeId = &f.NodeID
	}
	h.create(w, r, "/api/sites", req, func(status int, ref *refusal) { h.siteForm(w, r, status, f, ref) })
}

// envForm is what the operator typed into the environment form.
type envForm struct {
	Name, Slug, Type, Source, Preset string
}

type siteData struct {
	Site    contracts.Site
	Envs    []contracts.Environment
	Node    *nodeView
	Jobs    []contracts.Job
	Form    envForm
	Refusal *refusal
	Return  string
}

// site is GET /sites/{id}: the site, its environments, its node's
// readiness and the environment form.
// ?name=, ?slug=, ?type=, ?source= and ?preset= prefill the form (the
// refusal's re-check comes back here with them).
func (h *Handler) site(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := envForm{Name: q.Get("name"), Slug: q.Get("slug"), Type: q.Get("type"), Source: q.Get("source"), Preset: q.Get("preset")}
	if f.Type == "" {
		f.Type = "staging"
	}
	if f.Preset == "" {
		f.Preset = "content-protect"
	}
	h.sitePage(w, r, http.StatusOK, f, nil)
}

func (h *Handler) sitePage(w http.ResponseWriter, r *http.Request, status int, f envForm, ref *refusal) {
	id := r.PathValue("id")
	back := url.Values{"name": {f.Name}, "slug": {f.Slug}, "type": {f.Type}, "source": {f.Source}, "preset": {f.Preset}}
	d := siteData{Form: f, Refusal: ref, Return: "/sites/" + url.PathEscape(id) + "?" + back.Encode() + "#new-environment"}
	if err := h.api.get(r, "/api/sites/"+url.PathEscape(id), &d.Site); err != nil {
		h.apiFailed(w, r, "Site", err)
		return
	}
	if err := h.api.get(r, "/api/sites/"+url.PathEscape(id)+"/environments", &d.Envs); err != nil {
		h.apiFailed(w, r, "Site", err)
		return
	}
	if d.Site.NodeId != nil {
		d.Node = h.node(r, *d.Site.NodeId)
	}
	if ref != nil && ref.Node == nil {
		ref.Node = d.Node
	}
	var jobs []contracts.Job
	if err := h.api.get(r, "/api/jobs?limit=200", &jobs); err == nil {
		for _, j := range jobs {
			if j.SiteId != nil && *j.SiteId == id {
				d.Jobs = append(d.Jobs, j)
			}
		}
	}
	h.render(w, status, "site", page{Title: d.Site.Name, Nav: "sites", Data: d})
}

// envCreate is POST /sites/{id}/environments.
func (h *Handler) envCreate(w http.ResponseWriter, r *http.Request) {
	f := envForm{
		Name:   strings.TrimSpace(r.PostFormValue("name")),
		Slug:   strings.TrimSpace(r.PostFormValue("slug")),
		Type:   r.PostFormValue("type"),
		Source: r.PostFormValue("source_environment_id"),
		Preset: r.PostFormValue("promotion_preset"),
	}
	req := contracts.CreateEnvironmentRequest{
		Name: f.Name, Slug: f.Slug, Type: contracts.EnvironmentType(f.Type),
		PromotionPreset: contracts.PromotionPreset(f.Preset),
	}
	if f.Source != "" {
		req.SourceEnvironmentId = &f.Source
	}
	id := r.PathValue("id")
	h.create(w, r, "/api/sites/"+url.PathEscape(id)+"/environments", req, func(status int, ref *refusal) { h.sitePage(w, r, status, f, ref) })
}
