package main

// The example server on real Debian 12 nodes (internal/fleet): the -nodes
// file scripts/fleet.sh up writes, loaded by the server's own flags, shows
// each node's real readiness on /api/nodes and /nodes, and a create is
// admitted on the ready node and refused on the others with the reason
// the node's real state gives. Opt-in, as every fleet test:
//
//	sudo env PRESSLUFT_FLEET=1 "PATH=$PATH" go test ./examples/devserver/ -run TestOnFleet -v

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	realfleet "github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/internal/fleet/fleettest"
	"github.com/pressluft/runtime-readiness/readiness"
)

// fleetWant is what each profile's node must show: its primary reason
// ("" for ready), the component, and a piece of the remediation.
var fleetWant = []struct {
	profile     string
	reason      readiness.Code
	component   string
	remediation string
}{
	{"ready", "", "", ""},
	{"nginx-stopped", readiness.CodeRuntimeServiceInactive, "nginx", "sudo systemctl enable --now nginx"},
	{"sudo-password", readiness.CodeSudoPasswordRequired, "", "NOPASSWD:ALL"},
}

func TestOnFleet(t *testing.T) {
	fleettest.Require(t)
	var profiles []realfleet.Profile
	for _, w := range fleetWant {
		p, ok := realfleet.ProfileByName(w.profile)
		require.True(t, ok, "fleet profile %q", w.profile)
		profiles = append(profiles, p)
	}
	f := fleettest.Up(t, realfleet.Config{Instance: fleettest.InstanceDevserver, Profiles: profiles})
	// What scripts/fleet.sh up does, here in the test's own directory.
	file := filepath.Join(t.TempDir(), realfleet.NodesFileName)
	require.NoError(t, realfleet.WriteNodesFile(file, f.Nodes()))
	keyFile := f.Nodes()[0].ClientKeyFile

	t.Run("api", func(t *testing.T) {
		s := fleetServer(t, file, "-allow-os", "debian-12")
		body := waitSettled(t, s)
		require.NotContains(t, body, keyFile, "the identity file's path reached the API")
		require.NotContains(t, body, "PRIVATE KEY")
		checkFleetNodes(t, s)

		// A site without node_id goes to the one ready node.
		j := waitJob(t, s, createSite(t, s, map[string]string{"name": "Blog", "slug": "blog"}))
		require.Equal(t, jobSucceeded, j.Status, "job: %+v", j)
		require.Equal(t, nodeNamed(t, s, "ready"), j.NodeID)

		// One on a not-ready node is refused with its reason, and no job.
		for _, w := range fleetWant[1:] {
			res := do(t, s, "POST", "/api/sites", mustJSON(t, map[string]string{
				"name": "Shop", "slug": "shop-" + w.profile, "node_id": nodeNamed(t, s, w.profile)}))
			require.Equal(t, http.StatusConflict, res.Status, "%s: body %s", w.profile, res.Body)
			var e errBody
			res.json(t, &e)
			require.Equal(t, "node_not_ready", e.Code)
			require.Equal(t, w.reason, e.Readiness.PrimaryReason, "%s", w.profile)
			require.NotContains(t, string(res.Body), keyFile)
		}
		require.Equal(t, 1, count(t, s, "jobs", "job_type = ?", "site_create"), "a refused create made a job")
	})

	// The first finding: without -allow-os every Debian node is
	// os_unsupported, the ready one included.
	t.Run("baseline refuses debian", func(t *testing.T) {
		s := fleetServer(t, file)
		res := do(t, s, "POST", "/api/nodes/"+nodeNamed(t, s, "ready")+"/readiness/refresh", "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var r readiness.Report
		res.json(t, &r)
		require.Equal(t, readiness.CodeOSUnsupported, r.PrimaryReason)
	})

	t.Run("browser", func(t *testing.T) {
		requireChromium(t)
		src := axeSource(t)
		s := fleetServer(t, file, "-allow-os", "debian-12")
		e := startBrowser(t, s, nil)
		ready, nginx, sudo := nodeNamed(t, s, "ready"), nodeNamed(t, s, "nginx-stopped"), nodeNamed(t, s, "sudo-password")

		e.run("open /nodes", chromedp.Navigate(e.url+"/nodes"))
		e.waitFor(row(ready)+`[data-readiness-state="ready"]`, 60*time.Second) // first probes done
		e.waitFor(row(nginx)+`[data-readiness-state="not_ready"]`, 60*time.Second)
		e.waitFor(row(sudo)+`[data-readiness-state="not_ready"]`, 60*time.Second)
		require.Contains(t, e.text(row(ready)+` .badge`), "Ready")
		for _, w := range fleetWant[1:] {
			r := row(nodeNamed(t, s, w.profile))
			require.Contains(t, e.text(r+` th`), w.profile)
			require.Contains(t, e.text(r+` .badge`), "Not ready")
			require.Equal(t, string(w.reason), e.attr(r+` [data-primary-reason]`, "data-reason-code"), "%s", w.profile)
			require.Contains(t, e.text(r+` [data-remediation] code`), w.remediation, "%s", w.profile)
		}
		e.checkAxe(src, "/nodes on the fleet")

		e.run("open /sites/new", chromedp.Navigate(e.url+"/sites/new"))
		e.waitFor(`form[data-form="site-create"]`, 10*time.Second)
		require.Contains(t, e.textContent(`#site-node option[value="`+sudo+`"]`), "sudo-password — Not ready")
		e.run("submit against nginx-stopped", submitSite("Shop", "shop", nginx)...)
		e.waitFor(`[data-refusal-code="node_not_ready"]`, 30*time.Second)
		require.Equal(t, string(readiness.CodeRuntimeServiceInactive), e.attr(`[data-refusal] [data-reason-code]`, "data-reason-code"))
		require.Contains(t, e.text(`[data-refusal] [data-remediation]`), "sudo systemctl enable --now nginx")
		require.Equal(t, 0, e.jobCount(), "a refused create made a job")
		e.checkAxe(src, "the refusal on the fleet")

		e.run("choose ready and submit",
			chromedp.SetValue(chromedp.CSS(`#site-node`), ready),
			chromedp.Click(chromedp.CSS(`button[data-action="create-site"]`)),
		)
		e.waitFor(`div.job[data-job-id][data-job-status="succeeded"]`, 60*time.Second)
		require.Equal(t, 1, e.jobCount())
	})
}

// fleetServer starts the server as `devserver -nodes file flags...`
// would configure it (the same flag parsing), with its monitor probing
// every node once at start.
func fleetServer(t *testing.T, file string, flags ...string) *Server {
	t.Helper()
	o, err := parseFlags(append([]string{"-nodes", file}, flags...), io.Discard, func(string) string { return "" })
	require.NoError(t, err)
	s, _ := testServer(t, func(c *Config) {
		c.Nodes, c.AllowOS, c.Mode = o.cfg.Nodes, o.cfg.AllowOS, o.cfg.Mode
		c.DashboardRefresh, c.MonitorInterval = time.Second, time.Hour
	})
	require.Len(t, s.Fleet(), len(fleetWant))
	return s
}

// fleetNode is the part of a /api/nodes entry the fleet tests read.
type fleetNode struct {
	Name          string         `json:"name"`
	State         string         `json:"state"`
	PrimaryReason readiness.Code `json:"primary_reason"`
	Reasons       []struct {
		Code        readiness.Code `json:"code"`
		Component   string         `json:"component"`
		Remediation string         `json:"remediation"`
	} `json:"reasons"`
}

// waitSettled polls /api/nodes (bounded) until every node has been
// probed, and returns the last body.
func waitSettled(t *testing.T, s *Server) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		res := do(t, s, "GET", "/api/nodes", "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var nodes []fleetNode
		res.json(t, &nodes)
		settled := len(nodes) > 0
		for _, n := range nodes {
			settled = settled && n.State != string(readiness.StateUnknown) && n.State != ""
		}
		if settled {
			return string(res.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes not all probed after 90s: %s", res.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkFleetNodes checks /api/nodes against fleetWant: the real state of
// each node, with its reason and remediation.
func checkFleetNodes(t *testing.T, s *Server) {
	t.Helper()
	var nodes []fleetNode
	do(t, s, "GET", "/api/nodes", "").json(t, &nodes)
	byName := map[string]fleetNode{}
	for _, n := range nodes {
		byName[n.Name] = n
	}
	for _, w := range fleetWant {
		n, ok := byName[w.profile]
		require.True(t, ok, "no node %q on /api/nodes", w.profile)
		if w.reason == "" {
			require.Equal(t, string(readiness.StateReady), n.State, "%s: reasons %+v", w.profile, n.Reasons)
			continue
		}
		require.Equal(t, string(readiness.StateNotReady), n.State, "%s", w.profile)
		require.Equal(t, w.reason, n.PrimaryReason, "%s: reasons %+v", w.profile, n.Reasons)
		require.NotEmpty(t, n.Reasons, "%s", w.profile)
		require.Equal(t, w.component, n.Reasons[0].Component, "%s", w.profile)
		if !strings.Contains(n.Reasons[0].Remediation, w.remediation) {
			t.Errorf("%s: remediation %q, want it to contain %q", w.profile, n.Reasons[0].Remediation, w.remediation)
		}
	}
}
