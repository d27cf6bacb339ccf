package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run serves on a real listener, prints the URL and the fleet, answers
// HTTP, and shuts down cleanly when its context ends (SIGINT/SIGTERM).
func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-monitor-interval", "1h"}, &stdout, &stderr, func(string) string { return "" })
	}()
	urlRE := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var url string
	deadline := time.Now().Add(20 * time.Second)
	for url == "" {
		if m := urlRE.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before serving: %s", code, stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "no URL printed: %q", stdout.String())
		time.Sleep(10 * time.Millisecond)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get(url + "/api/sites")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "[]\n", string(body))
	client.CloseIdleConnections()

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	// The fleet is checked only now: run prints the banner while the
	// server already answers, so a read right after the URL can see it
	// half written (CI once saw the list cut off after "mariadb-old").
	out := stdout.String()
	for _, name := range []string{"ready-1", "sudo-password", "unreachable", "host-key-changed", "acquiring"} {
		require.Contains(t, out, name)
	}
	require.Contains(t, out, "shutting down")
}
