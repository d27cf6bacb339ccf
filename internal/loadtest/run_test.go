package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRunCounts checks the generator against a tiny fake API: 202 with a
// job id for node "ok", 409 node_not_ready for node "no", 500 otherwise.
func TestRunCounts(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			NodeID string `json:"node_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		switch in.NodeID {
		case "ok":
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"job_id":"j%d"}`, n.Add(1))
		case "no":
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, `{"code":"node_not_ready","message":"m","node_id":"no"}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{BaseURL: srv.URL, Requests: 300, Concurrency: 8,
		Targets: []Target{{NodeID: "ok", Ready: true}, {NodeID: "no"}, {NodeID: "boom"}}})
	require.NoError(t, err)
	require.Equal(t, map[int]int{202: 100, 409: 100, 500: 100}, res.Status)
	require.Len(t, res.Jobs, 100)
	require.Equal(t, map[string]int{"no": 100}, res.Refused)
	require.Len(t, res.Errors, 10, "the first 10 unexpected answers")
	require.Len(t, res.Latencies, 300)
	require.LessOrEqual(t, res.Percentile(50), res.Percentile(99))
}
