package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one node creates are sent to.
type Target struct {
	NodeID string
	// Ready is what the caller expects of the node: every create on a
	// ready target should be 202, on a non-ready one 409.
	Ready bool
}

// Config describes one load run. Every zero field has a default.
type Config struct {
	// BaseURL is the server, e.g. "http://127.0.0.1:8080". Required; it
	// must be a loopback address (checked by the caller's choice; the
	// generator adds no host of its own).
	BaseURL string
	// Requests is how many POST /api/sites are sent; 0 means 10,000.
	Requests int
	// Concurrency is how many requests are in flight at most; 0 means 64.
	Concurrency int
	// Targets are cycled through in order (request i goes to
	// Targets[i % len]). Required.
	Targets []Target
	// SlugPrefix makes the slugs unique across runs on one database;
	// "" means "load".
	SlugPrefix string
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
}

// Result is what a run saw.
type Result struct {
	// Status counts the responses by HTTP status.
	Status map[int]int
	// Jobs maps every job id a 202 returned to the node it targeted.
	Jobs map[string]string
	// Refused counts 409 node_not_ready answers by node.
	Refused map[string]int
	// Errors are the first (at most 10) transport errors and unexpected
	// answers, described.
	Errors []string
	// Latencies are every request's latency, sorted.
	Latencies []time.Duration
	// Duration is the whole run's wall time.
	Duration time.Duration
}

// Percentile returns the p-th percentile (0-100) of the latencies.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// Run sends cfg.Requests create requests with at most cfg.Concurrency in
// flight and returns what came back. It uses its own HTTP transport and
// closes its idle connections before returning; every goroutine it starts
// has ended by then. It returns an error only for a bad Config or when
// ctx ends; failed requests are counted in the Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.BaseURL == "" || len(cfg.Targets) == 0 {
		return Result{}, errors.New("loadtest: BaseURL and Targets are required")
	}
	if cfg.Requests <= 0 {
		cfg.Requests = 10_000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.SlugPrefix == "" {
		cfg.SlugPrefix = "load"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := &http.Transport{MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout}

	var (
		next    atomic.Int64
		mu      sync.Mutex
		res     = Result{Status: map[int]int{}, Jobs: map[string]string{}, Refused: map[string]int{}}
		lat     = make([]time.Duration, cfg.Requests)
		wg      sync.WaitGroup
		start   = time.Now()
		noteErr = func(s string) {
			if len(res.Errors) < 10 {
				res.Errors = append(res.Errors, s)
			}
		}
	)
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.Requests {
					return
				}
				tgt := cfg.Targets[i%len(cfg.Targets)]
				t0 := time.Now()
				status, body, err := create(ctx, client, cfg.BaseURL, cfg.SlugPrefix, i, tgt.NodeID)
				lat[i] = time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					res.Status[0]++
					noteErr(fmt.Sprintf("request %d: %v", i, err))
				case status == http.StatusAccepted:
					res.Status[status]++
					var v struct {
						JobID string `json:"job_id"`
					}
					if json.Unmarshal(body, &v) != nil || v.JobID == "" {
						noteErr(fmt.Sprintf("request %d: 202 without job_id: %.200s", i, body))
					} else {
						res.Jobs[v.JobID] = tgt.NodeID
					}
				case status == http.StatusConflict:
					res.Status[status]++
					var v struct {
						Code   string `json:"code"`
						NodeID string `json:"node_id"`
					}
					if json.Unmarshal(body, &v) != nil || v.Code != "node_not_ready" || v.NodeID != tgt.NodeID {
						noteErr(fmt.Sprintf("request %d: 409 that is not node_not_ready for %s: %.200s", i, tgt.NodeID, body))
					}
					res.Refused[tgt.NodeID]++
				default:
					res.Status[status]++
					noteErr(fmt.Sprintf("request %d: status %d: %.200s", i, status, body))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadtest: %w", err)
	}
	res.Latencies = lat
	slices.Sort(res.Latencies)
	return res, nil
}

// create sends one POST /api/sites and returns the status and body.
func create(ctx context.Context, c *http.Client, base, prefix string, i int, nodeID string) (int, []byte, error) {
	n := strconv.Itoa(i)
	body, _ := json.Marshal(map[string]string{"name": "Load " + n, "slug": prefix + "-" + n, "node_id": nodeID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/sites", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}
