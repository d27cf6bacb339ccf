package loadtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/pressluft/runtime-readiness/internal/leaktest"
)

type nodeSummary struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v), url)
}

// listNodes returns GET /api/nodes by name.
func listNodes(t *testing.T, base string) map[string]nodeSummary {
	t.Helper()
	var raw json.RawMessage
	getJSON(t, base+"/api/nodes", &raw)
	var list []nodeSummary
	if err := json.Unmarshal(raw, &list); err != nil {
		var wrapped struct {
			Nodes []nodeSummary `json:"nodes"`
		}
		require.NoError(t, json.Unmarshal(raw, &wrapped), "GET /api/nodes: %s", raw)
		list = wrapped.Nodes
	}
	m := map[string]nodeSummary{}
	for _, n := range list {
		m[n.Name] = n
	}
	return m
}

// TestDevserverLoad sends 10,000 site creates to the example server
// (child process, default fake fleet, worker running, monitor idle),
// half to the ready node and half spread over the fleet's non-ready
// nodes (sudo password, php-fpm missing, unreachable, host key changed,
// acquiring), 64 at a time. Every answer must be 202 or 409, every
// non-ready target 409, every ready one 202; the jobs table must hold
// exactly the 202s' jobs and none for a non-ready node; the audit log one
// refusal per 409; and the generator must leave no goroutine behind. The
// server must then shut down cleanly on SIGINT.
func TestDevserverLoad(t *testing.T) {
	ctx := context.Background()
	d, err := StartDevserver(ctx, t.TempDir(), "-monitor-interval", "1h", "-acquire-step", "1h")
	require.NoError(t, err)
	defer d.Stop()

	nodes := listNodes(t, d.URL)
	ready := nodes["ready-1"].ID
	require.NotEmpty(t, ready, "ready-1 in %v", nodes)
	var targets []Target
	notReady := map[string]bool{}
	for _, name := range []string{"sudo-password", "php-fpm-missing", "unreachable", "host-key-changed", "acquiring"} {
		id := nodes[name].ID
		require.NotEmpty(t, id, "%s in %v", name, nodes)
		notReady[id] = true
		targets = append(targets, Target{NodeID: ready, Ready: true}, Target{NodeID: id})
	}

	before := leaktest.Take()
	res, err := Run(ctx, Config{BaseURL: d.URL, Requests: 10_000, Concurrency: 64, Targets: targets})
	require.NoError(t, err)
	t.Logf("race=%v server-race=%v: %d requests in %v (%.0f/s); latency p50 %v, p90 %v, p99 %v, max %v; status %v",
		RaceEnabled, os.Getenv(RaceServerEnv) == "1", len(res.Latencies), res.Duration.Round(time.Millisecond),
		float64(len(res.Latencies))/res.Duration.Seconds(),
		res.Percentile(50), res.Percentile(90), res.Percentile(99), res.Percentile(100), res.Status)
	leaktest.Check(t, before)

	require.Empty(t, res.Errors)
	require.Equal(t, map[int]int{http.StatusAccepted: 5000, http.StatusConflict: 5000}, res.Status)
	for id := range notReady {
		require.Equal(t, 1000, res.Refused[id], "409s for %s", id)
	}
	for job, node := range res.Jobs {
		require.Equal(t, ready, node, "job %s", job)
	}
	require.Len(t, res.Jobs, 5000, "distinct job ids")

	// The newest jobs as the API lists them.
	var jobs []struct {
		ID     string  `json:"id"`
		NodeID *string `json:"node_id"`
		Type   string  `json:"job_type"`
	}
	getJSON(t, d.URL+"/api/jobs?limit=1000", &jobs)
	require.NotEmpty(t, jobs)
	for _, j := range jobs {
		if j.NodeID != nil && notReady[*j.NodeID] {
			t.Errorf("GET /api/jobs lists job %s (%s) on non-ready node %s", j.ID, j.Type, *j.NodeID)
		}
	}

	require.NoError(t, d.Stop(), "clean shutdown\n%s", tail(d.Output(), 4000))

	// Every job in the database, after shutdown.
	db, err := sql.Open("sqlite", d.DB)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT id, node_id FROM jobs WHERE job_type = 'site_create'`)
	require.NoError(t, err)
	got := map[string]string{}
	for rows.Next() {
		var id string
		var node sql.NullString
		require.NoError(t, rows.Scan(&id, &node))
		got[id] = node.String
	}
	require.NoError(t, rows.Err())
	rows.Close()
	for id, node := range got {
		if notReady[node] {
			t.Errorf("job %s on non-ready node %s", id, node)
		}
		if _, ok := res.Jobs[id]; !ok {
			t.Errorf("job %s (node %s) in the database but no 202 returned it", id, node)
		}
	}
	require.Len(t, got, len(res.Jobs), "site_create jobs in the database, want one per 202")
	var refused int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM audit_logs WHERE result = 'refused'`).Scan(&refused))
	require.Equal(t, res.Status[http.StatusConflict], refused, "refusal audit rows")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("...%s", s[len(s)-n:])
}
