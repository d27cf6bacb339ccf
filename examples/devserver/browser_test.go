package main

// Browser tests: the dashboard in Debian's headless Chromium, driven by
// chromedp, against the example server on a loopback listener with its
// fake fleet. chromedp is imported only here (a _test.go file), so it
// never enters any package's import graph.
//
// Without /usr/bin/chromium the tests skip (run scripts/install-browser.sh);
// with CI=true they fail instead, because CI must install the browser.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

const chromiumPath = "/usr/bin/chromium"

// browserEnv is one server on a real listener and one browser tab.
type browserEnv struct {
	t   *testing.T
	s   *Server
	st  *stepper
	hs  *http.Server // the listener's server; Close stops answering
	url string
	ctx context.Context // the tab, bounded by the test's timeout
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	requireChromium(t)
	// The monitor probes every node once at start (then hourly), as a
	// real control plane does; acquisitions wait for the test.
	s, st := testServer(t, func(c *Config) { c.DashboardRefresh, c.MonitorInterval = time.Second, time.Hour })
	return startBrowser(t, s, st)
}

// requireChromium skips t without the browser, or fails it with CI=true.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing and CI=true: CI must install it (bash scripts/install-browser.sh)", chromiumPath)
		}
		t.Skipf("%s is missing: run bash scripts/install-browser.sh to run the browser tests", chromiumPath)
	}
}

// startBrowser serves s on a loopback listener and opens a browser tab,
// both stopped when t ends. st may be nil (no simulated acquisitions).
func startBrowser(t *testing.T, s *Server, st *stepper) *browserEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-served
	})

	profile := t.TempDir()
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	// Closing the tab context and then the allocator kills the browser
	// and waits for it, before the profile directory is removed.
	t.Cleanup(func() {
		bcancel()
		acancel()
	})
	// The first call starts the browser and must not carry a timeout (it
	// would stop the browser with it); bound it from outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start chromium")
	case <-time.After(30 * time.Second):
		bcancel()
		<-started
		t.Fatal("chromium did not start within 30s")
	}

	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(cancel)
	e := &browserEnv{t: t, s: s, st: st, hs: hs, url: "http://" + ln.Addr().String(), ctx: ctx}
	// Registered last, so it runs first: the browser is still alive.
	t.Cleanup(func() {
		if t.Failed() {
			e.screenshot(bctx)
		}
	})
	return e
}

// screenshot saves the page to $TEST_ARTIFACTS (or a temporary
// directory that is kept) and logs where.
func (e *browserEnv) screenshot(bctx context.Context) {
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "dashboard-browser-"); err != nil {
			e.t.Logf("screenshot: %v", err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		e.t.Logf("screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(e.t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		e.t.Logf("screenshot: %v", err)
		return
	}
	e.t.Logf("screenshot of %s saved to %s", loc, name)
}

// submitSite fills the site form of /sites/new (already open) with name,
// slug and node, and submits it.
func submitSite(name, slug, node string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.CSS(`#site-name`), name),
		chromedp.SendKeys(chromedp.CSS(`#site-slug`), slug),
		chromedp.SetValue(chromedp.CSS(`#site-node`), node),
		chromedp.Click(chromedp.CSS(`button[data-action="create-site"]`)),
	}
}

// run runs browser steps, failing the test on error.
func (e *browserEnv) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	require.NoError(e.t, chromedp.Do(e.ctx, steps...), what)
}

// waitFor waits (bounded) until the CSS selector matches a visible element.
func (e *browserEnv) waitFor(sel string, d time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	require.NoError(e.t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))), "waiting for %s", sel)
}

func (e *browserEnv) text(sel string) string {
	e.t.Helper()
	s, err := chromedp.Run(e.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	require.NoError(e.t, err, "text of %s", sel)
	return strings.Join(strings.Fields(s), " ")
}

// textContent is the text of an element that need not be visible (an
// <option>).
func (e *browserEnv) textContent(sel string) string {
	e.t.Helper()
	s, err := chromedp.Run(e.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	require.NoError(e.t, err, "text content of %s", sel)
	return strings.Join(strings.Fields(s), " ")
}

func (e *browserEnv) value(sel string) string {
	e.t.Helper()
	s, err := chromedp.Run(e.ctx, chromedp.Value(chromedp.CSS(sel)))
	require.NoError(e.t, err, "value of %s", sel)
	return s
}

func (e *browserEnv) attr(sel, name string) string {
	e.t.Helper()
	a, err := chromedp.Run(e.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	require.NoError(e.t, err, "attribute %s of %s", name, sel)
	require.True(e.t, a.Exists, "%s has no %s", sel, name)
	return a.Value
}

func (e *browserEnv) eval(expr string) bool {
	e.t.Helper()
	v, err := chromedp.Run(e.ctx, chromedp.Evaluate[bool](expr))
	require.NoError(e.t, err, "evaluate %s", expr)
	return v
}

func (e *browserEnv) location() string {
	e.t.Helper()
	loc, err := chromedp.Run(e.ctx, chromedp.Location())
	require.NoError(e.t, err)
	return loc
}

func (e *browserEnv) jobCount() int {
	e.t.Helper()
	var jobs []Job
	do(e.t, e.s, "GET", "/api/jobs", "").json(e.t, &jobs)
	n := 0
	for _, j := range jobs {
		if j.JobType != jobNodeAcquire {
			n++
		}
	}
	return n
}

func row(id string) string { return fmt.Sprintf(`tr[data-node-id="%s"]`, id) }

// /nodes: a ready, a not-ready and a pending node with their markers and
// visible guidance; the pending node turns ready without a reload.
func TestBrowserNodes(t *testing.T) {
	e := newBrowserEnv(t)
	ready, sudo, acq := nodeNamed(t, e.s, "ready-1"), nodeNamed(t, e.s, "sudo-password"), nodeNamed(t, e.s, "acquiring")
	e.run("open /nodes", chromedp.Navigate(e.url+"/nodes"))
	e.waitFor(row(sudo)+`[data-readiness-state="not_ready"]`, 15*time.Second) // first probe done
	e.waitFor(row(ready)+`[data-readiness-state="ready"]`, 15*time.Second)
	// Marks this document: a reload would lose it.
	require.True(t, e.eval(`window.__sameDocument = true`))

	require.Equal(t, "ready", e.attr(row(ready), "data-readiness-state"))
	require.Equal(t, "Ready", e.text(row(ready) + ` .badge`)[len("✓ "):])
	require.Contains(t, e.text(row(ready)+` th`), "local")

	require.Equal(t, "not_ready", e.attr(row(sudo), "data-readiness-state"))
	require.Contains(t, e.text(row(sudo)+` .badge`), "Not ready")
	require.Equal(t, "sudo_password_required", e.attr(row(sudo)+` [data-primary-reason]`, "data-reason-code"))
	require.Contains(t, e.text(row(sudo)+` [data-primary-reason]`), "sudo asks the SSH user for a password")
	require.Contains(t, e.text(row(sudo)+` [data-remediation] code`), "NOPASSWD:ALL")
	e.waitFor(row(sudo)+` [data-remediation] button.copy`, 5*time.Second) // the script ran
	require.NotEmpty(t, e.attr(row(sudo)+` [data-checked-at]`, "data-checked-at"))
	require.NotEmpty(t, e.attr(row(sudo)+` [data-transition-at] time`, "datetime"))
	e.waitFor(row(sudo)+` button[data-action="recheck"]`, time.Second)

	require.Equal(t, "pending", e.attr(row(acq), "data-readiness-state"))
	require.Contains(t, e.text(row(acq)+` .badge`), "Pending")
	require.Equal(t, "node_acquiring", e.attr(row(acq)+` [data-primary-reason]`, "data-reason-code"))
	require.Contains(t, e.text(row(acq)+` [data-progress]`), "acquiring")

	// The provider finishes; the page follows by itself.
	e.st.release(t, acq) // -> provisioning
	e.waitFor(row(acq)+`[data-lifecycle="provisioning"] [data-progress="provisioning"]`, 15*time.Second)
	e.st.release(t, acq) // -> active, then a readiness check
	e.waitFor(row(acq)+`[data-readiness-state="ready"]`, 20*time.Second)
	require.True(t, e.eval(`window.__sameDocument === true`), "the page was reloaded; it should update in place")
	require.Contains(t, e.text(row(acq)+` .badge`), "Ready")
	// Settled: the script stopped polling.
	require.False(t, e.eval(`document.getElementById("main").hasAttribute("data-poll")`), "main still polls after every node settled")
}

// Re-check now probes the node again: after the fix, the row is ready.
func TestBrowserRecheck(t *testing.T) {
	e := newBrowserEnv(t)
	sudo := nodeNamed(t, e.s, "sudo-password")
	e.run("open /nodes", chromedp.Navigate(e.url+"/nodes"))
	e.waitFor(row(sudo)+`[data-readiness-state="not_ready"]`, 10*time.Second)
	fakeNamed(t, e.s, "sudo-password").SetProfile(sshtest.ReadyProfile()) // the operator fixed sudo
	e.run("click re-check", chromedp.Click(chromedp.CSS(row(sudo)+` button[data-action="recheck"]`)))
	e.waitFor(`[data-flash="`+sudo+`"]`, 15*time.Second)
	require.Equal(t, "ready", e.attr(row(sudo), "data-readiness-state"))
	require.Contains(t, e.text(`[data-flash]`), "Ready")
}

// Site create: refused on a not-ready node with its remediation, input
// kept and no job; admitted on a ready node, showing the job complete.
func TestBrowserSiteCreate(t *testing.T) {
	e := newBrowserEnv(t)
	sudo, ready := nodeNamed(t, e.s, "sudo-password"), nodeNamed(t, e.s, "ready-1")
	e.run("open /nodes", chromedp.Navigate(e.url+"/nodes"))
	e.waitFor(row(sudo)+`[data-readiness-state="not_ready"]`, 15*time.Second) // first probe done
	e.run("open /sites/new", chromedp.Navigate(e.url+"/sites/new"))
	e.waitFor(`form[data-form="site-create"]`, 10*time.Second)
	require.Contains(t, e.textContent(`#site-node option[value="`+sudo+`"]`), "sudo-password — Not ready: sudo asks the SSH user for a password")

	e.run("fill and submit against sudo-password", submitSite("Shop", "shop", sudo)...)
	e.waitFor(`[data-refusal-code="node_not_ready"]`, 15*time.Second)
	require.Equal(t, "sudo_password_required", e.attr(`[data-refusal] [data-reason-code]`, "data-reason-code"))
	require.Contains(t, e.text(`[data-refusal] [data-remediation]`), "echo 'pressluft ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/pressluft")
	require.Equal(t, "Shop", e.value(`#site-name`))
	require.Equal(t, "shop", e.value(`#site-slug`))
	require.Equal(t, sudo, e.value(`#site-node`))
	require.Equal(t, 0, e.jobCount(), "a refused create made a job")

	e.run("choose ready-1 and submit",
		chromedp.SetValue(chromedp.CSS(`#site-node`), ready),
		chromedp.Click(chromedp.CSS(`button[data-action="create-site"]`)),
	)
	e.waitFor(`div.job[data-job-id][data-job-status="succeeded"]`, 20*time.Second)
	require.Contains(t, e.location(), "/jobs/"+e.attr(`[data-job-id]`, "data-job-id"))
	require.Equal(t, 1, e.jobCount())
}

// Environment create on the site's page: refused while the site's node
// is not ready (input kept, no job), admitted after re-check.
func TestBrowserEnvironmentCreate(t *testing.T) {
	e := newBrowserEnv(t)
	ready := nodeNamed(t, e.s, "ready-1")
	job := waitJob(t, e.s, createSite(t, e.s, map[string]string{"name": "Blog", "slug": "blog", "node_id": ready}))
	require.Equal(t, jobSucceeded, job.Status)
	siteID := job.SiteID
	fakeNamed(t, e.s, "ready-1").SetProfile(sshtest.SudoPasswordProfile())
	_, err := e.s.gate.Refresh(context.Background(), ready)
	require.NoError(t, err)

	e.run("open the site", chromedp.Navigate(e.url+"/sites/"+siteID))
	e.waitFor(`form[data-form="environment-create"]`, 10*time.Second)
	e.run("fill and submit",
		chromedp.SendKeys(chromedp.CSS(`#env-name`), "Staging"),
		chromedp.SendKeys(chromedp.CSS(`#env-slug`), "staging"),
		chromedp.SetValue(chromedp.CSS(`#env-preset`), "commerce-protect"),
		chromedp.Click(chromedp.CSS(`button[data-action="create-environment"]`)),
	)
	e.waitFor(`[data-refusal-code="node_not_ready"]`, 15*time.Second)
	require.Equal(t, "sudo_password_required", e.attr(`[data-refusal] [data-reason-code]`, "data-reason-code"))
	require.Contains(t, e.text(`[data-refusal] [data-remediation]`), "sudo visudo -c")
	require.Equal(t, "Staging", e.value(`#env-name`))
	require.Equal(t, "commerce-protect", e.value(`#env-preset`))
	require.Equal(t, 1, e.jobCount(), "a refused create made a job")

	fakeNamed(t, e.s, "ready-1").SetProfile(sshtest.ReadyProfile())
	e.run("re-check from the refusal", chromedp.Click(chromedp.CSS(`.after-refusal button[data-action="recheck"]`)))
	e.waitFor(`[data-site-id] [data-readiness-state="ready"]`, 15*time.Second)
	require.Equal(t, "Staging", e.value(`#env-name`), "the form came back filled in")
	e.run("submit again", chromedp.Click(chromedp.CSS(`button[data-action="create-environment"]`)))
	e.waitFor(`div.job[data-job-id][data-job-status="succeeded"]`, 20*time.Second)
	require.Equal(t, 2, e.jobCount())
}
