package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newTestHandler(t *testing.T, readyName string) (*Handler, *fakeAPI) {
	t.Helper()
	api := newFakeAPI(readyName)
	h, err := New(Config{API: api})
	require.NoError(t, err)
	return h, api
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, h http.Handler, path string) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return answer{rec.Code, rec.Header(), rec.Body.String()}
}

func post(t *testing.T, h http.Handler, path string, form url.Values) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.String()}
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	require.ErrorContains(t, err, "Config.API is required")
}

func TestPagesRenderWithMarkers(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	// One site and one job so every page has content.
	res := post(t, h, "/sites/new", url.Values{"name": {"Blog"}, "slug": {"blog"}, "node_id": {readyID}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	siteID := api.sites[0].Id
	jobID := api.jobs[0].Id

	tests := []struct {
		path string
		want []string
	}{
		{"/nodes", []string{
			`data-node-id="` + readyID + `"`, `data-node-id="` + sudoID + `"`, `data-node-id="` + pendingID + `"`,
			`data-readiness-state="ready"`, `data-readiness-state="not_ready"`, `data-readiness-state="pending"`,
			`</span> Ready</span>`, `</span> Not ready</span>`, `</span> Pending</span>`,
			`data-reason-code="sudo_password_required"`, `data-reason-code="runtime_service_inactive"`, // the second reason, in <details>
			`<details data-more-reasons>`, `data-remediation`, cmdHTML("sudo systemctl enable --now nginx"),
			`data-checked-at="2026-11-25T12:00:00Z"`, `data-transition-at="2026-11-25T12:00:00Z"`, `<time datetime="2026-11-25T12:00:00Z"`,
			`data-action="recheck"`, `action="/nodes/` + sudoID + `/recheck"`, `data-local`, `<caption>`, `<th scope="col">`,
			`data-progress="acquiring"`, `<noscript><meta http-equiv="refresh" content="2"></noscript>`, `data-poll="/api/nodes?limit=50&amp;offset=0&amp;sort=state"`, `3 nodes:`, `Showing 1–3 of 3 nodes.`, `data-filters`,
			`class="skip" href="#main"`,
		}},
		{"/sites", []string{`data-site-id="` + siteID + `"`, `href="/sites/` + siteID + `"`, `Blog`, `href="/sites/new"`}},
		{"/sites/new", []string{
			`<label for="site-name">`, `<label for="site-slug">`, `<label for="site-node">`,
			`sudo-password — Not ready: sudo asks the SSH user for a password`, `data-reason-code="sudo_password_required"`,
			`value="` + readyID + `" data-readiness-state="ready" selected`,
		}},
		{"/sites/" + siteID, []string{
			`data-site-id="` + siteID + `"`, `data-form="environment-create"`, `<label for="env-name">`, `<label for="env-type">`,
			`<label for="env-source">`, `<label for="env-preset">`, `data-job-id="` + jobID + `"`,
		}},
		{"/jobs/" + jobID, []string{`data-job-id="` + jobID + `"`, `data-job-status="succeeded"`, `Succeeded`}},
		{"/jobs", []string{`data-job-id="` + jobID + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := get(t, h, tt.path)
			require.Equal(t, http.StatusOK, p.status, p.body)
			require.Equal(t, "text/html; charset=utf-8", p.header.Get("Content-Type"))
			for _, w := range tt.want {
				require.Contains(t, p.body, w)
			}
		})
	}
	t.Run("settled pages do not refresh", func(t *testing.T) {
		p := get(t, h, "/jobs/"+jobID)
		require.NotContains(t, p.body, `http-equiv="refresh"`)
		require.NotContains(t, p.body, `data-poll=`)
	})
}

func TestRedirectsAndErrors(t *testing.T) {
	t.Parallel()
	h, _ := newTestHandler(t, "ready-1")
	p := get(t, h, "/")
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/nodes", p.header.Get("Location"))
	require.Equal(t, http.StatusNotFound, get(t, h, "/nope").status)
	require.Equal(t, http.StatusNotFound, get(t, h, "/sites/unknown").status)
	require.Equal(t, http.StatusNotFound, get(t, h, "/jobs/unknown").status)
	p = get(t, h, "/static/dashboard.css")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, ":focus-visible")
	p = get(t, h, "/static/dashboard.js")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "data-poll")
}

func TestSiteCreateRefusedKeepsInputAndCreatesNoJob(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	p := post(t, h, "/sites/new", url.Values{"name": {"My Shop"}, "slug": {"my-shop"}, "node_id": {sudoID}})
	require.Equal(t, http.StatusConflict, p.status)
	for _, w := range []string{
		`data-refusal-code="node_not_ready"`, `sudo-password is not ready`,
		`data-reason-code="sudo_password_required"`, `data-reason-code="runtime_service_inactive"`, // every reason
		cmdHTML("echo &#39;pressluft ALL=(ALL) NOPASSWD:ALL&#39; | sudo tee /etc/sudoers.d/pressluft &amp;&amp; sudo visudo -c"),
		`value="My Shop"`, `value="my-shop"`, `value="` + sudoID + `" data-readiness-state="not_ready" data-reason-code="sudo_password_required" selected`,
		`data-action="recheck"`,
	} {
		require.Contains(t, p.body, w)
	}
	require.Equal(t, 0, api.jobCount(), "a refused create made a job")
	require.Empty(t, api.sites)
}

func TestSiteCreateAdmittedRedirectsToJob(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	p := post(t, h, "/sites/new", url.Values{"name": {"Blog"}, "slug": {"blog"}, "node_id": {readyID}})
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/jobs/"+api.jobs[0].Id, p.header.Get("Location"))
}

func TestEnvironmentCreate(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	require.Equal(t, http.StatusSeeOther, post(t, h, "/sites/new", url.Values{"name": {"Blog"}, "slug": {"blog"}, "node_id": {readyID}}).status)
	siteID := api.sites[0].Id
	form := url.Values{"name": {"Staging"}, "slug": {"staging"}, "type": {"staging"}, "promotion_preset": {"commerce-protect"}}

	p := post(t, h, "/sites/"+siteID+"/environments", form)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	require.Equal(t, "/jobs/"+api.jobs[1].Id, p.header.Get("Location"))

	// The site's node stops being ready: refused, input kept, no job.
	api.mu.Lock()
	api.reports[readyID] = api.reports[sudoID]
	api.mu.Unlock()
	p = post(t, h, "/sites/"+siteID+"/environments", form)
	require.Equal(t, http.StatusConflict, p.status)
	for _, w := range []string{
		`data-refusal-code="node_not_ready"`, `data-reason-code="sudo_password_required"`, `data-reason-code="runtime_service_inactive"`,
		`value="Staging"`, `value="staging"`, `<option value="commerce-protect" selected>`,
		`<input type="hidden" name="return" value="/sites/` + siteID + `?name=Staging&amp;preset=commerce-protect&amp;slug=staging&amp;source=&amp;type=staging#new-environment">`,
	} {
		require.Contains(t, p.body, w)
	}
	require.Equal(t, 2, api.jobCount())

	// Back from the re-check, the form is filled in again.
	p = get(t, h, "/sites/"+siteID+"?name=Staging&preset=commerce-protect&slug=staging&source=&type=clone")
	for _, w := range []string{`value="Staging"`, `<option value="clone" selected>`, `<option value="commerce-protect" selected>`} {
		require.Contains(t, p.body, w)
	}
}

func TestRecheck(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	p := post(t, h, "/nodes/"+sudoID+"/recheck", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, "/nodes?checked="+sudoID+"#node-"+sudoID, p.header.Get("Location"))
	require.Equal(t, []string{sudoID}, api.refreshes)
	require.Contains(t, get(t, h, "/nodes?checked="+sudoID).body, `data-flash="`+sudoID+`"`)

	tests := []struct{ ret, want string }{
		{"/sites/new?name=a", "/sites/new?name=a"},
		{"//evil.example/", "/nodes?checked=" + sudoID + "#node-" + sudoID},
		{"https://evil.example/", "/nodes?checked=" + sudoID + "#node-" + sudoID},
		{"/\\evil.example", "/nodes?checked=" + sudoID + "#node-" + sudoID},
	}
	for _, tt := range tests {
		p := post(t, h, "/nodes/"+sudoID+"/recheck", url.Values{"return": {tt.ret}})
		require.Equal(t, tt.want, p.header.Get("Location"), "return %q", tt.ret)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	h, api := newTestHandler(t, "ready-1")
	req := httptest.NewRequest(http.MethodPost, "/sites/new", strings.NewReader("name=x&slug=x&node_id="+readyID))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Equal(t, 0, api.jobCount())
}

// Names come from operators and providers: they are escaped everywhere.
func TestHostileNamesEscaped(t *testing.T) {
	t.Parallel()
	const evil = `<script>alert("x")</script>`
	h, api := newTestHandler(t, evil)
	require.Equal(t, http.StatusSeeOther, post(t, h, "/sites/new", url.Values{"name": {evil}, "slug": {"evil"}, "node_id": {readyID}}).status)
	for _, path := range []string{"/nodes", "/sites", "/sites/new", "/sites/" + api.sites[0].Id, "/jobs/" + api.jobs[0].Id} {
		p := get(t, h, path)
		require.NotContains(t, p.body, "<script>alert", path)
		require.Contains(t, p.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", path)
	}
	p := post(t, h, "/sites/new", url.Values{"name": {evil}, "slug": {"evil"}, "node_id": {sudoID}})
	require.NotContains(t, p.body, "<script>alert")
}

func TestAPIFailureIsGeneric(t *testing.T) {
	t.Parallel()
	broken := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"code":"internal_error","message":"internal error"}`)
	})
	h, err := New(Config{API: broken})
	require.NoError(t, err)
	p := get(t, h, "/nodes")
	require.Equal(t, http.StatusBadGateway, p.status)
	require.Contains(t, p.body, "internal_error")
}

// cmdHTML is a copyable command as the pages render it: each word (of
// already escaped HTML) in a span that does not break, single spaces
// between them.
func cmdHTML(escaped string) string {
	words := strings.Fields(escaped)
	for i, w := range words {
		words[i] = `<span class="w">` + w + `</span>`
	}
	return `<code class="cmd" data-command>` + strings.Join(words, " ") + `</code>`
}
