package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/faults"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/preflight/preflighttest"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

const password = "correct horse"

// harness is a running host: its store, its server over httptest, a
// logged-in client and an anonymous one.
type harness struct {
	t       *testing.T
	dir     string
	store   *Store
	srv     *Server
	http    *httptest.Server
	session *http.Cookie
}

func newHarness(t *testing.T, dir string, store *Store, edit func(*Config)) *harness {
	t.Helper()
	cfg := Config{Password: password, KnownHostsFile: filepath.Join(dir, "known_hosts")}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(store, cfg)
	require.NoError(t, err)
	h := &harness{t: t, dir: dir, store: store, srv: srv, http: httptest.NewServer(srv)}
	t.Cleanup(func() { h.http.Close(); _ = srv.Close() })
	res := h.do(http.MethodPost, "/api/login", `{"password":"`+password+`"}`, nil)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	h.session = res.Cookies()[0]
	return h
}

type response struct {
	*http.Response
	body []byte
}

func (h *harness) do(method, path, body string, cookie *http.Cookie, header ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	res, err := h.http.Client().Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(res.Body)
	require.NoError(h.t, err)
	return response{res, buf.Bytes()}
}

// post is an authenticated POST.
func (h *harness) post(path, body string) response {
	return h.do(http.MethodPost, path, body, h.session)
}

// errorBody decodes an error the way the host's own tests do.
func errorBody(t *testing.T, r response) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(r.body, &m), "error body %s must decode into map[string]string", r.body)
	return m
}

// writeKey writes a new private key file and returns its public key.
func writeKey(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(blk), 0o600))
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return k
}

// node starts a fake node with profile p that accepts a key the host
// keeps in a key file of its own, and registers it as a provider node.
func (h *harness) node(name string, p sshtest.Profile) (*sshtest.Node, Node) {
	h.t.Helper()
	keyPath := filepath.Join(h.dir, name+"_ed25519")
	p.AuthorizedKeys = append(p.AuthorizedKeys, writeKey(h.t, keyPath))
	fake := sshtest.NewNodeT(h.t, p)
	rec := h.store.AddNode(Node{Name: name, PublicIP: "127.0.0.1", SSHPort: fake.Port(), SSHUser: sshtest.DefaultUser,
		Status: "active", ProviderID: "hcloud-" + name, SSHPrivateKeyPath: keyPath})
	return fake, rec
}

// accepted asserts a 202 and returns the id named key from its body.
func accepted(t *testing.T, r response, key string) string {
	t.Helper()
	require.Equal(t, http.StatusAccepted, r.StatusCode, "body %s", r.body)
	var m map[string]string
	require.NoError(t, json.Unmarshal(r.body, &m))
	require.NotEmpty(t, m[key], "body %s", r.body)
	return m[key]
}

func jobID(t *testing.T, r response) string { t.Helper(); return accepted(t, r, "job_id") }

func TestAnonymousRequestsCauseNoProbe(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	fake, rec := h.node("web-1", sshtest.SudoPasswordProfile())
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/sites", `{"name":"Blog","slug":"blog"}`},
		{http.MethodGet, "/api/nodes/" + rec.ID + "/readiness", ""},
		{http.MethodPost, "/api/nodes/" + rec.ID + "/readiness/refresh", ""},
	} {
		r := h.do(c.method, c.path, c.body, nil)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, "%s %s", c.method, c.path)
		require.Equal(t, "unauthorized", errorBody(t, r)["code"])
	}
	require.Zero(t, fake.Connections(), "an anonymous request never causes a probe")
	require.Empty(t, h.store.Jobs())
}

func TestInvalidCreateCausesNoProbe(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	fake, rec := h.node("web-1", sshtest.SudoPasswordProfile())
	for _, body := range []string{
		`{"name":"","slug":"x"}`,
		`{"name":"Blog","slug":"Not A Slug"}`,
		`{"name":"Blog","slug":"blog","node_id":"` + rec.ID + `"}`, // the host's strict decoder
		`{"name":`,
	} {
		r := h.post("/api/sites", body)
		require.Equal(t, http.StatusBadRequest, r.StatusCode, "body %s: got %s", body, r.body)
		require.Equal(t, "bad_request", errorBody(t, r)["code"])
	}
	r := h.post("/api/sites/site-9999/environments", `{"name":"Staging","slug":"staging","type":"staging"}`)
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Zero(t, fake.Connections(), "invalid input never causes a probe")
	require.Empty(t, h.store.Jobs())
}

func TestNotReadyIsRefusedWithoutAJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	fake, rec := h.node("web-1", sshtest.SudoPasswordProfile())
	r := h.post("/api/sites", `{"name":"Blog","slug":"blog"}`)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	e := errorBody(t, r)
	require.Equal(t, "node_not_ready", e["code"])
	require.Contains(t, e["message"], rec.ID)
	require.Contains(t, e["message"], "sudo_password_required")
	require.Contains(t, e["message"], "NOPASSWD", "the remediation reaches the operator")
	require.NotContains(t, e["message"], "a password is required", "no raw remote output")
	require.Empty(t, h.store.Jobs(), "a refused create leaves no job")
	require.Equal(t, 1, fake.Connections())
}

func TestReadyIsAdmittedAndRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	fake, rec := h.node("web-1", sshtest.ReadyProfile())
	id := jobID(t, h.post("/api/sites", `{"name":"Blog","slug":"blog"}`))
	jobs := h.store.Jobs()
	require.Len(t, jobs, 1)
	require.Equal(t, id, jobs[0].ID)
	require.Equal(t, rec.ID, jobs[0].NodeID)
	require.True(t, h.srv.Worker.RunNext(context.Background()))
	require.Equal(t, "succeeded", h.store.Jobs()[0].Status)
	require.Equal(t, 1, fake.Connections(), "the worker's re-check is the gate's cached report")
	require.Len(t, fake.Execs(), 1, "one probe exec")
}

func TestFirstReadyCandidate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	sudo, _ := h.node("web-1", sshtest.SudoPasswordProfile())
	local, lrec := h.node("local", sshtest.ReadyProfile())
	lrec.IsLocal, lrec.ProviderID = true, ""
	require.NoError(t, h.store.UpdateNode(lrec))
	b, brec := h.node("web-2", sshtest.ReadyProfile())
	c, _ := h.node("web-3", sshtest.ReadyProfile())

	jobID(t, h.post("/api/sites", `{"name":"Blog","slug":"blog"}`))
	require.Equal(t, brec.ID, h.store.Jobs()[0].NodeID, "the first ready provider node in store order")
	require.Equal(t, 1, sudo.Connections())
	require.Zero(t, local.Connections(), "the local node is no candidate for a site")
	require.Equal(t, 1, b.Connections())
	require.Zero(t, c.Connections(), "no probe past the chosen node")

	jobID(t, h.post("/api/sites", `{"name":"Shop","slug":"shop"}`))
	require.Equal(t, 1, sudo.Connections(), "one probe per candidate: the refusal is cached")
	require.Equal(t, 1, b.Connections())
}

func TestNoReadyCandidateCarriesEveryReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	_, a := h.node("web-1", sshtest.SudoPasswordProfile())
	_, b := h.node("web-2", sshtest.MissingComponentProfile(readiness.ComponentNginx))
	r := h.post("/api/sites", `{"name":"Blog","slug":"blog"}`)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	msg := errorBody(t, r)["message"]
	require.Contains(t, msg, a.ID+" is not ready: sudo_password_required")
	require.Contains(t, msg, b.ID+" is not ready: runtime_component_missing")
	require.Empty(t, h.store.Jobs())
}

func TestNoCandidateIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	r := h.post("/api/sites", `{"name":"Blog","slug":"blog"}`)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Equal(t, map[string]string{"code": "node_not_ready", "message": "no provider node is registered"}, errorBody(t, r))

	// A node still being acquired is a candidate that is not ready yet.
	acq := accepted(t, h.post("/api/nodes", `{"name":"web-9","provider_id":"hcloud-9"}`), "node_id")
	r = h.post("/api/sites", `{"name":"Blog","slug":"blog"}`)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Contains(t, errorBody(t, r)["message"], acq+" is not ready: node_acquiring")
	require.Empty(t, h.store.Jobs())
}

func TestEnvironmentCreateAndWorkerRecheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	fake, rec := h.node("web-1", sshtest.ReadyProfile())
	jobID(t, h.post("/api/sites", `{"name":"Blog","slug":"blog"}`))
	site := h.store.Jobs()[0].SiteID
	require.True(t, h.srv.Worker.RunNext(context.Background()))

	env := `{"name":"Staging","slug":"staging","type":"staging"}`
	jobID(t, h.post("/api/sites/"+site+"/environments", env))

	// The node breaks after the job was admitted; an operator re-check
	// sees it, and the worker fails the job with the reason.
	broken := sshtest.SudoPasswordProfile()
	broken.AuthorizedKeys = fake.Profile().AuthorizedKeys
	fake.SetProfile(broken)
	r := h.post("/api/nodes/"+rec.ID+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, r.StatusCode)
	var rep readiness.Report
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, readiness.CodeSudoPasswordRequired, rep.PrimaryReason)

	require.True(t, h.srv.Worker.RunNext(context.Background()))
	j := h.store.Jobs()[1]
	require.Equal(t, "failed", j.Status, "a job whose node stopped being ready never succeeds")
	require.Equal(t, "NODE_NOT_READY", j.ErrorCode)
	require.Contains(t, j.ErrorMessage, "sudo_password_required")

	r = h.post("/api/sites/"+site+"/environments", env)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Len(t, h.store.Jobs(), 2, "the refused create left no job")
}

func TestReadinessEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, t.TempDir(), &Store{}, nil)
	fake, rec := h.node("web-1", sshtest.ReadyProfile())
	r := h.do(http.MethodGet, "/api/nodes/"+rec.ID+"/readiness", "", h.session)
	require.Equal(t, http.StatusOK, r.StatusCode)
	var rep readiness.Report
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, readiness.CodeNodeNeverProbed, rep.PrimaryReason, "the report never probes")
	require.Zero(t, fake.Connections())

	r = h.do(http.MethodPost, "/api/nodes/"+rec.ID+"/readiness/refresh", "", h.session, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Equal(t, "forbidden", errorBody(t, r)["code"], "the host's error shape")
	require.Zero(t, fake.Connections(), "a cross-site refresh causes no probe")

	r = h.do(http.MethodGet, "/api/nodes/node-9999/readiness", "", h.session)
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Equal(t, "not_found", errorBody(t, r)["code"])
}

// TestHostKeyPersistsAcrossRestart: a key learned on first contact is
// pinned after the host restarts, and a changed key is refused after a
// restart too.
func TestHostKeyPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := &Store{}
	keyPath := filepath.Join(dir, "web-1_ed25519")
	key := writeKey(t, keyPath)
	p := sshtest.ReadyProfile()
	p.AuthorizedKeys = []ssh.PublicKey{key}
	a, b := sshtest.NewNodeT(t, p), sshtest.NewNodeT(t, p)
	px, err := faults.New(faults.Config{Upstream: a.Addr()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = px.Close() })
	rec := store.AddNode(Node{Name: "web-1", PublicIP: "127.0.0.1", SSHPort: px.Port(), SSHUser: sshtest.DefaultUser,
		Status: "active", ProviderID: "hcloud-1", SSHPrivateKeyPath: keyPath})
	// A restarted host reuses the node's stored report within ReadyTTL;
	// the operator's re-check makes each restart dial the node.
	refresh := func(h *harness) {
		t.Helper()
		require.Equal(t, http.StatusOK, h.post("/api/nodes/"+rec.ID+"/readiness/refresh", "").StatusCode)
	}

	h1 := newHarness(t, dir, store, nil)
	jobID(t, h1.post("/api/sites", `{"name":"Blog","slug":"blog"}`))
	known, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	require.NoError(t, err)
	require.Equal(t, 1, lines(known), "learned once: %s", known)
	require.NoError(t, h1.srv.Close())

	h2 := newHarness(t, dir, store, nil) // restart
	refresh(h2)
	require.Equal(t, 2, a.Connections(), "the restarted host dialed the node")
	jobID(t, h2.post("/api/sites", `{"name":"Shop","slug":"shop"}`))
	again, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	require.NoError(t, err)
	require.Equal(t, known, again, "pinned, not learned again")
	require.NoError(t, h2.srv.Close())

	px.SetUpstream(b.Addr()) // the same address now answers with another key
	h3 := newHarness(t, dir, store, nil)
	refresh(h3)
	r := h3.post("/api/sites", `{"name":"Wiki","slug":"wiki"}`)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Contains(t, errorBody(t, r)["message"], "ssh_host_key_mismatch")
	require.Empty(t, b.Execs(), "nothing ran on the impostor")
	final, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	require.NoError(t, err)
	require.Equal(t, known, final, "a changed key is never accepted")
	require.Len(t, store.Jobs(), 2)
}

func lines(b []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" && !strings.HasPrefix(s, "#") {
			n++
		}
	}
	return n
}

// TestCertAuthorityFleet: with an SSH host CA in known_hosts, a node whose
// host certificate names it is accepted without any learned key; a
// certificate for another host is refused.
func TestCertAuthorityFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, caPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ca, err := ssh.NewSignerFromKey(caPriv)
	require.NoError(t, err)
	line := "@cert-authority 127.0.0.1,[127.0.0.1]:* " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey()))) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(line), 0o600))
	h := newHarness(t, dir, &Store{}, nil)

	good, grec := h.node("web-1", sshtest.ReadyProfile())
	good.SetHostCertificate(good.CertifyHostKey(ca, "127.0.0.1"))
	r := h.post("/api/nodes/"+grec.ID+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, r.StatusCode)
	var rep readiness.Report
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.True(t, rep.Ready(), "certified node: %s", rep.Summary())

	bad, brec := h.node("web-2", sshtest.ReadyProfile())
	bad.SetHostCertificate(bad.CertifyHostKey(ca, "other.example.com"))
	r = h.post("/api/nodes/"+brec.ID+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, readiness.CodeSSHHostCertInvalid, rep.PrimaryReason, "%s", rep.Summary())
	require.Empty(t, bad.Execs())

	after, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	require.NoError(t, err)
	require.Equal(t, line, string(after), "a CA fleet learns no plain keys")
}

// TestHostSuiteWithStandIn is the host's own router test as it was
// before the SDK: node records without keys, nodes that do not exist.
// With preflighttest plugged into the gate it runs unchanged.
func TestHostSuiteWithStandIn(t *testing.T) {
	t.Parallel()
	p := preflighttest.NewProber()
	store := &Store{}
	ok := store.AddNode(Node{Name: "web-1", PublicIP: "203.0.113.10", SSHPort: 22, SSHUser: "pressluft", Status: "active", ProviderID: "hcloud-1"})
	h := newHarness(t, t.TempDir(), store, func(c *Config) {
		c.EditGate = func(pc *preflight.Config) { pc.Prober, pc.Credentials = p, preflighttest.Credentials() }
	})
	jobID(t, h.post("/api/sites", `{"name":"Blog","slug":"blog"}`))

	p.Refuse(ok.ID, readiness.CodeSudoPasswordRequired)
	r := h.post("/api/nodes/"+ok.ID+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, r.StatusCode)
	r = h.post("/api/sites", `{"name":"Shop","slug":"shop"}`)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Equal(t, "node_not_ready", errorBody(t, r)["code"])
	require.Equal(t, 2, p.Probes(ok.ID))
}

// TestGlueSize counts what the host writes to use the SDK: glue.go and
// the lines marked "readiness glue" elsewhere, without blank lines and
// comments.
func TestGlueSize(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "//") {
				continue
			}
			if f == "glue.go" || strings.HasSuffix(l, "// readiness glue") {
				n++
			}
		}
	}
	t.Logf("glue: %d lines", n)
	if n >= 80 {
		t.Fatalf("the glue is %d lines of code, want under 80", n)
	}
	if n < 30 {
		t.Fatalf("the glue is %d lines: the count is not seeing glue.go", n)
	}
}

// TestAuthFailureBackoffSurvivesRestart: a node that refused the host's
// key is not dialed again by a restarted host within the backoff, since
// the gate's memory is in the host's store; after the backoff it is.
func TestAuthFailureBackoffSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir, store := t.TempDir(), &Store{}
	clk := preflighttest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	edit := func(c *Config) { c.EditGate = func(pc *preflight.Config) { pc.Now = clk.Now } }
	h1 := newHarness(t, dir, store, edit)
	fake, rec := h1.node("web-1", sshtest.ReadyProfile())
	p := fake.Profile()
	p.AuthorizedKeys = []ssh.PublicKey{writeKey(t, filepath.Join(dir, "someone_else"))} // the key was rotated on the node
	fake.SetProfile(p)
	refused := func(h *harness) {
		t.Helper()
		r := h.post("/api/sites", `{"name":"Blog","slug":"blog"}`)
		require.Equal(t, http.StatusConflict, r.StatusCode)
		require.Contains(t, errorBody(t, r)["message"], "ssh_auth_failed")
	}
	refused(h1)
	require.Equal(t, 1, fake.Connections())
	require.NoError(t, h1.srv.Close())

	clk.Advance(time.Minute)
	h2 := newHarness(t, dir, store, edit) // restart
	r := h2.do(http.MethodGet, "/api/nodes/"+rec.ID+"/readiness", "", h2.session)
	require.Equal(t, http.StatusOK, r.StatusCode)
	var rep readiness.Report
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, readiness.CodeSSHAuthFailed, rep.PrimaryReason, "the last report, not node_never_probed")
	refused(h2)
	require.Equal(t, 1, fake.Connections(), "no login attempt within the backoff after the restart")

	clk.Advance(time.Minute)
	refused(h2)
	require.Equal(t, 2, fake.Connections(), "probed again once the backoff is over")
}
