package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a Handler. Every zero field but API has a default.
type Config struct {
	// API is the control plane's JSON API handler, serving /api/...
	// paths. Required.
	API http.Handler
	// Title names the control plane in the page header; "" means
	// "pressluft".
	Title string
	// RefreshInterval is how often a page with something in progress
	// (a pending node, a running job) updates itself; 0 means 2s.
	RefreshInterval time.Duration
	// Logger receives API failures; nil means none.
	Logger *slog.Logger
	// Now is the clock for "… ago" texts; nil means time.Now.
	Now func() time.Time
}

// Handler serves the dashboard pages. Create it with New.
type Handler struct {
	cfg    Config
	api    *apiClient
	tmpl   map[string]*template.Template
	static http.Handler
	mux    http.Handler
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.API == nil {
		return nil, errors.New("dashboard: Config.API is required")
	}
	if cfg.Title == "" {
		cfg.Title = "pressluft"
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, api: &apiClient{api: cfg.API}, tmpl: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"ago":           h.ago,
		"clock":         clock,
		"datetime":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"segments":      splitRemediation,
		"words":         strings.Fields,
		"stateLabel":    stateLabel,
		"sortLabel":     sortLabel,
		"lower":         strings.ToLower,
		"jobLabel":      jobLabel,
		"firstSentence": firstSentence,
		"list":          func(s ...string) []string { return s },
		"short":         func(s string) string { return s[:min(8, len(s))] },
		"recheck": func(n nodeView, ret string) recheckView {
			return recheckView{ID: n.ID, Name: n.Name, Return: ret}
		},
	}
	pages := []string{"nodes", "sites", "site_new", "site", "job", "jobs", "error"}
	for _, p := range pages {
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", p, err)
		}
		h.tmpl[p] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard: static: %w", err)
	}
	h.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	h.mux = http.NewCrossOriginProtection().Handler(h.routes())
	return h, nil
}

func (h *Handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/nodes", http.StatusSeeOther)
	})
	mux.Handle("GET /static/", h.staticHandler())
	mux.HandleFunc("GET /nodes", h.nodes)
	mux.HandleFunc("POST /nodes/{id}/recheck", h.recheck)
	mux.HandleFunc("GET /sites", h.sites)
	mux.HandleFunc("GET /sites/new", h.siteNew)
	mux.HandleFunc("POST /sites/new", h.siteCreate)
	mux.HandleFunc("GET /sites/{id}", h.site)
	mux.HandleFunc("POST /sites/{id}/environments", h.envCreate)
	mux.HandleFunc("GET /jobs", h.jobs)
	mux.HandleFunc("GET /jobs/{id}", h.job)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
	return mux
}

func (h *Handler) staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.static.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the dashboard.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title string
	// Nav is the active navigation entry: nodes, sites or jobs.
	Nav string
	// Site is the control plane's name (Config.Title).
	Site string
	// Refresh is the meta-refresh/poll interval in seconds while
	// something is in progress; 0 means the page is settled.
	Refresh int
	// Poll is the API path the script polls while Refresh > 0.
	Poll string
	// Now is when the page was rendered (RFC 3339, the server's clock),
	// from which the script keeps "… ago" texts true.
	Now  string
	Data any
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p page) {
	p.Site = h.cfg.Title
	p.Now = h.cfg.Now().UTC().Format(time.RFC3339Nano)
	var buf bytes.Buffer
	if err := h.tmpl[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.cfg.Logger.Error("dashboard: render", "page", name, "error", err)
		http.Error(w, "dashboard: could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// recheckView is the "Re-check now" form: which node, and where to come
// back to ("" means /nodes).
type recheckView struct {
	ID, Name, Return string
}

type failure struct {
	Heading, Message string
}

func (h *Handler) fail(w http.ResponseWriter, _ *http.Request, status int, heading, msg string) {
	h.render(w, status, "error", page{Title: heading, Data: failure{heading, msg}})
}

// apiFailed renders an API failure: the API's own 404 as a 404 page,
// anything else as a 502 naming the API's error code (never raw text
// from a node; the API's messages are operator-safe by contract).
func (h *Handler) apiFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		h.fail(w, r, http.StatusNotFound, what+" not found", "The control plane does not know this "+strings.ToLower(what)+".")
		return
	}
	if ae != nil && ae.Status == http.StatusBadRequest && ae.Message != "" {
		h.fail(w, r, http.StatusBadRequest, "Bad request", "The control plane did not accept this request: "+ae.Message+".")
		return
	}
	h.cfg.Logger.Error("dashboard: api call failed", "path", r.URL.Path, "error", err)
	msg := "The control plane API did not answer as expected. Try again; if it persists, check the control plane's log."
	if ae != nil && ae.Code != "" {
		msg = fmt.Sprintf("The control plane API answered %d %s: %s", ae.Status, ae.Code, ae.Message)
	}
	h.fail(w, r, http.StatusBadGateway, "Control plane error", msg)
}

// localPath reports whether p is a path on this server (for return
// addresses), refusing absolute and scheme-relative URLs.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") && !strings.ContainsAny(p, "\r\n")
}

func (h *Handler) ago(t time.Time) string {
	d := h.cfg.Now().Sub(t).Round(time.Second)
	switch {
	case d < 2*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// firstSentence is s up to its first full stop, for compact labels.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}
