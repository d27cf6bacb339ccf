package faults

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/pressluft/runtime-readiness/apihttp"
	"github.com/pressluft/runtime-readiness/internal/loadtest"
	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// canaryProfile is a host whose commands print token: sudo's refusal
// names the host (stderr), redis-server --version prints it on stdout
// and nginx -v on stderr (both built from source, so the probe runs them
// for their versions). The node is not ready (sudo not permitted).
func canaryProfile(token string) sshtest.Profile {
	p := sshtest.ReadyProfile()
	p.Name = "canary"
	p.Hostname = token
	p.Sudo = sshtest.SudoNotPermitted
	for _, name := range []string{readiness.ComponentRedis, readiness.ComponentNginx} {
		c := p.Components[name]
		c.Version += "-" + token
		c.Package, c.PackageName = "", ""
		p.Components[name] = c
	}
	return p
}

func newToken(t *testing.T) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "PLCANARY-" + hex.EncodeToString(b)
}

// syncBuf is a concurrency-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCanaryNeverLeaks: the SDK stack in process (gate, prober, client,
// readiness handlers, Summary, Guard), every logger at Debug: no response and no log
// line holds the token a node printed.
func TestCanaryNeverLeaks(t *testing.T) {
	t.Parallel()
	token := newToken(t)
	n := sshtest.NewNodeT(t, canaryProfile(token))
	res, err := (&sshexec.Client{Timeout: 10 * time.Second}).Run(context.Background(), n.Target(), probe.Command, []byte(probe.Script()))
	require.NoError(t, err)
	require.GreaterOrEqual(t, strings.Count(string(res.Stdout), token), 3, "premise: sudo, redis and nginx output in the raw output:\n%s", res.Stdout)

	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const id = "c0000000-0000-4000-8000-000000000001"
	nodes := preflight.NewMemoryNodes(preflight.Node{ID: id, Name: "canary", Host: "127.0.0.1", Port: n.Port(), User: sshtest.DefaultUser})
	creds := preflight.NewMemoryCredentials(n.ClientSigner())
	creds.PinHostKeys(id, n.HostKey())
	g, err := preflight.New(preflight.Config{
		Nodes: nodes, Credentials: creds, Logger: log,
		Prober: &probe.Prober{Client: &sshexec.Client{Timeout: 10 * time.Second, Logger: log}},
	})
	require.NoError(t, err)
	defer g.Close()
	// The SDK's handlers as a host mounts them: its API router without
	// /api, the readiness report and refresh handlers, the node summary
	// in its own node JSON, and the Guard in front of its create route.
	api := http.NewServeMux()
	hc := apihttp.HandlerConfig{Gate: g, Logger: log}
	api.Handle("GET /nodes/{id}/readiness", apihttp.NewReportHandler(hc))
	api.Handle("POST /nodes/{id}/readiness/refresh", apihttp.NewRefreshHandler(hc))
	summary := func(w http.ResponseWriter, r *http.Request, id string) {
		s, err := g.Summary(r.Context(), id)
		if err != nil {
			apihttp.WriteError(w, http.StatusInternalServerError, apihttp.CodeInternalError, "internal error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "readiness": s})
	}
	api.HandleFunc("GET /nodes", func(w http.ResponseWriter, r *http.Request) { summary(w, r, id) })
	api.HandleFunc("GET /nodes/{id}", func(w http.ResponseWriter, r *http.Request) { summary(w, r, r.PathValue("id")) })
	api.HandleFunc("POST /sites", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"job_id":"j"}`)
	})
	guarded := apihttp.Guard(apihttp.GuardConfig{
		Gate: g, Logger: log,
		Candidates: apihttp.NodeIDField(func(*http.Request, apihttp.Request) ([]string, error) { return []string{id}, nil }),
	})(api)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", guarded))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var seen int
	do := func(method, path, body string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen++
		if strings.Contains(string(b), token) {
			t.Errorf("%s %s (%d) leaks the canary:\n%s", method, path, resp.StatusCode, b)
		}
	}
	do("POST", "/api/nodes/"+id+"/readiness/refresh", "")
	do("GET", "/api/nodes", "")
	do("GET", "/api/nodes/"+id, "")
	do("GET", "/api/nodes/"+id+"/readiness", "")
	do("POST", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"`+id+`"}`)
	do("POST", "/api/sites", `{"name":"Blog","slug":"blog"}`)
	rep, err := g.Report(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, readiness.CodeSudoNotPermitted, rep.PrimaryReason, "the canary node is refused for its sudo")
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	require.NotContains(t, string(b), token, "readiness.Report JSON")
	require.NotContains(t, rep.Summary(), token, "Report.Summary")
	require.NotEmpty(t, logs.String(), "debug logs were written")
	if strings.Contains(logs.String(), token) {
		t.Errorf("a log line leaks the canary:\n%s", logs.String())
	}
}

// writeClientKey writes a fresh ed25519 key in OpenSSH form and returns
// its path and public key.
func writeClientKey(t *testing.T, dir string) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	path := filepath.Join(dir, "id_ed25519")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(blk), 0o600))
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return path, s.PublicKey()
}

// TestCanaryNeverLeaksFromExampleServer: the example server (child
// process, the canary node as its only and default node) and the
// nodecheck CLI never print the token: not in any API response, any
// dashboard page, any log line or any report.
func TestCanaryNeverLeaksFromExampleServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs examples/devserver and examples/nodecheck")
	}
	t.Parallel()
	token := newToken(t)
	dir := t.TempDir()
	keyPath, pub := writeClientKey(t, dir)
	p := canaryProfile(token)
	p.AuthorizedKeys = []ssh.PublicKey{pub}
	n := sshtest.NewNodeT(t, p)
	hostKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(n.HostKey())))
	spec, err := json.Marshal([]map[string]any{{
		"name": "canary", "host": "127.0.0.1", "port": n.Port(), "user": sshtest.DefaultUser,
		"identity_file": keyPath, "host_key": hostKey, "is_local": true,
	}})
	require.NoError(t, err)
	nodesFile := filepath.Join(dir, "nodes.json")
	require.NoError(t, os.WriteFile(nodesFile, spec, 0o600))

	ctx := context.Background()
	d, err := loadtest.StartDevserver(ctx, dir, "-nodes", nodesFile, "-monitor-interval", "1h")
	require.NoError(t, err)
	defer d.Stop()

	get := func(method, path, body string) (int, string) {
		req, err := http.NewRequest(method, d.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), token) {
			t.Errorf("%s %s (%d) leaks the canary:\n%s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, string(b)
	}
	_, body := get("GET", "/api/nodes", "")
	var id string
	var list []struct{ ID, Name string }
	if json.Unmarshal([]byte(body), &list) == nil && len(list) == 1 {
		id = list[0].ID
	}
	require.NotEmpty(t, id, "GET /api/nodes: %s", body)
	code, body := get("POST", "/api/nodes/"+id+"/readiness/refresh", "")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, string(readiness.CodeSudoNotPermitted), "the node was probed")
	get("GET", "/api/nodes/"+id, "")
	get("GET", "/api/nodes/"+id+"/readiness", "")
	code, body = get("POST", "/api/sites", `{"name":"Blog","slug":"blog","node_id":"`+id+`"}`)
	require.Equal(t, http.StatusConflict, code, body)
	code, _ = get("POST", "/api/sites", `{"name":"Shop","slug":"shop"}`)
	require.Equal(t, http.StatusConflict, code, "the default node")
	get("GET", "/api/jobs", "")
	get("GET", "/api/sites", "")
	for _, page := range []string{"/nodes", "/sites/new", "/sites", "/jobs"} {
		code, body := get("GET", page, "")
		switch {
		case code == http.StatusNotFound:
			t.Logf("dashboard page %s: 404, not checked", page)
		case page == "/nodes":
			require.Contains(t, body, "canary", "the dashboard lists the node")
		}
	}
	if code, _ := get("POST", "/sites/new", ""); code == http.StatusNotFound {
		t.Logf("dashboard POST /sites/new: 404")
	}
	require.NoError(t, d.Stop())
	out := d.Output()
	require.Contains(t, out, "devserver listening", "the server's output was captured")
	if strings.Contains(out, token) {
		t.Errorf("the server's output or log leaks the canary:\n%s", out)
	}

	// The operator CLI, human and JSON output.
	kh := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(n.Addr())}, n.HostKey())+"\n"), 0o600))
	goBin, err := loadtest.GoCommand()
	require.NoError(t, err)
	bin := filepath.Join(dir, "nodecheck")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/nodecheck")
	build.Dir = filepath.Join("..", "..")
	out2, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out2)
	for _, extra := range [][]string{nil, {"-json"}, {"-v"}} {
		args := append([]string{"-host", "127.0.0.1", "-port", strconv.Itoa(n.Port()), "-user", sshtest.DefaultUser,
			"-identity", keyPath, "-known-hosts", kh}, extra...)
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "nodecheck %v: want exit status 1 (not ready)\n%s%s", extra, &stdout, &stderr)
		require.Equal(t, 1, ee.ExitCode(), "nodecheck %v\n%s%s", extra, &stdout, &stderr)
		require.Contains(t, stdout.String(), string(readiness.CodeSudoNotPermitted), "nodecheck %v", extra)
		if strings.Contains(stdout.String()+stderr.String(), token) {
			t.Errorf("nodecheck %v leaks the canary:\n%s%s", extra, &stdout, &stderr)
		}
	}
}
