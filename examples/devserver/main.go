// Command devserver is a runnable example control plane built on the
// runtime-readiness SDK the way the pressluft host embeds it: an HTTP API
// (a ServeMux mounted under /api with http.StripPrefix) in front of an
// SQLite database (nodes, sites, environments, jobs, audit log); create
// handlers that validate first and a create service that then asks the
// preflight gate (Check, or Choose over its candidate nodes) and refuses
// creates on nodes that are not ready before anything is enqueued; the
// SDK's readiness report and refresh handlers; a worker that re-checks
// readiness right before running each job over SSH; and, by default, an
// in-process fleet of fake SSH nodes.
//
//	devserver [-addr 127.0.0.1:8080] [-allow-remote] [-db PATH] [-nodes FILE] [-mode enforce|warn]
//	          [-allow-os ID-VERSION ...] [-monitor-interval 30s] [-acquire-step 5s] [-workers 2]
//
// The server has no authentication: anyone who reaches it can create
// sites and nodes and read /metrics. It refuses an -addr that is not a
// loopback address (an empty host, 0.0.0.0 or a LAN address) unless
// -allow-remote is given, and then warns on stderr.
//
// -nodes FILE uses real SSH nodes instead of the fake fleet (see NodeSpec
// for the format; scripts/fleet.sh up writes one for the nodes of the
// test fleet, internal/fleet); an encrypted identity's passphrase comes from
// $DEVSERVER_KEY_PASSPHRASE. -allow-os debian-12 (repeatable) accepts
// that OS besides Ubuntu 24.04, for nodes whose stack you have verified
// on it; without it a Debian node is os_unsupported. Exit status: 0 after a clean shutdown
// (SIGINT, SIGTERM), 1 on a runtime failure, 2 on bad flags or a bad
// -nodes file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pressluft/runtime-readiness/preflight"
	"github.com/pressluft/runtime-readiness/readiness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

type options struct {
	addr, db, nodes, mode string
	allowRemote           bool
	allowOS               osList
	cfg                   Config
}

// osList is a repeatable -allow-os flag.
type osList []readiness.OSRelease

func (l *osList) String() string {
	s := make([]string, len(*l))
	for i, o := range *l {
		s[i] = o.String()
	}
	return strings.Join(s, ",")
}

func (l *osList) Set(v string) error {
	o, err := readiness.ParseOSRelease(strings.TrimSpace(v))
	if err != nil {
		return err
	}
	*l = append(*l, o)
	return nil
}

// usageError is a bad flag or -nodes file: exit 2.
type usageError struct{ error }

func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow an -addr that is not a loopback address (the server has no authentication)")
	fs.StringVar(&o.db, "db", "", "SQLite database file (default: a temporary file removed on exit)")
	fs.StringVar(&o.nodes, "nodes", "", "JSON file of real SSH nodes (default: an in-process fake fleet)")
	fs.StringVar(&o.mode, "mode", "enforce", "gate mode: enforce or warn")
	fs.Var(&o.allowOS, "allow-os", "also accept this OS, as ID-VERSION (e.g. debian-12); repeatable")
	fs.DurationVar(&o.cfg.MonitorInterval, "monitor-interval", 30*time.Second, "how often every node is re-probed in the background")
	fs.DurationVar(&o.cfg.AcquireStep, "acquire-step", 5*time.Second, "simulated provider: time spent in each of acquiring and provisioning")
	fs.IntVar(&o.cfg.Workers, "workers", 2, "job worker goroutines")
	if err := fs.Parse(args); err != nil {
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("devserver: unexpected arguments: %q", fs.Args())}
	}
	if !loopback(o.addr) && !o.allowRemote {
		return o, usageError{fmt.Errorf("devserver: refusing to listen on %q, which is not a loopback address: the server has no authentication; pass -allow-remote to do it anyway", o.addr)}
	}
	switch preflight.Mode(o.mode) {
	case preflight.ModeEnforce, preflight.ModeWarn:
	default:
		return o, usageError{fmt.Errorf("devserver: -mode must be enforce or warn, not %q", o.mode)}
	}
	if o.cfg.MonitorInterval <= 0 || o.cfg.AcquireStep <= 0 || o.cfg.Workers <= 0 {
		return o, usageError{errors.New("devserver: -monitor-interval, -acquire-step and -workers must be positive")}
	}
	o.cfg.Mode, o.cfg.DBPath, o.cfg.AllowOS = preflight.Mode(o.mode), o.db, o.allowOS
	if o.nodes != "" {
		var pass []byte
		if p := getenv("DEVSERVER_KEY_PASSPHRASE"); p != "" {
			pass = []byte(p)
		}
		nodes, err := loadNodesFile(o.nodes, pass)
		if err != nil {
			return o, usageError{err}
		}
		o.cfg.Nodes, o.cfg.KeyPassphrase = nodes, pass
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	o, err := parseFlags(args, stderr, getenv)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, err)
		}
		return 2
	}
	if !loopback(o.addr) {
		fmt.Fprintf(stderr, "devserver: WARNING: listening on %s, beyond this machine, with NO AUTHENTICATION:\n"+
			"devserver: WARNING: anyone who can reach it can create sites, environments and nodes and read /metrics\n", o.addr)
	}
	o.cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintln(stderr, "devserver:", err)
		return 1
	}
	srv, err := New(o.cfg)
	if err != nil {
		ln.Close()
		fmt.Fprintln(stderr, err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	banner(stdout, "http://"+ln.Addr().String(), o.cfg.Mode, srv.Fleet())

	code := 0
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintln(stderr, "devserver: serve:", err)
		code = 1
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if code == 0 {
		<-served // http.ErrServerClosed
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintln(stderr, "devserver: close:", err)
		code = 1
	}
	return code
}

// loopback reports whether a listen address only accepts connections
// from this machine: its host is localhost or a loopback IP. An empty
// host (":8080") listens on every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func banner(w io.Writer, url string, mode preflight.Mode, nodes []FleetEntry) {
	fmt.Fprintf(w, "devserver listening on %s (mode %s)\ndashboard: %s/nodes\n\nnodes:\n", url, mode, url)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range nodes {
		local := ""
		if n.IsLocal {
			local = "local, default"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", n.Name, n.ID, n.Status, local)
	}
	tw.Flush()
	id := "NODE_ID"
	if len(nodes) > 0 {
		id = nodes[0].ID
	}
	fmt.Fprintf(w, `
try:
  curl -s %[1]s/api/nodes
  curl -s %[1]s/api/nodes/%[2]s/readiness
  curl -s -XPOST %[1]s/api/sites -H 'Content-Type: application/json' -d '{"name":"Blog","slug":"blog"}'
  curl -s -XPOST %[1]s/api/sites -H 'Content-Type: application/json' -d '{"name":"Shop","slug":"shop","node_id":"<a not-ready node id>"}'
  curl -s %[1]s/metrics
  curl -s %[1]s/api/jobs
`, url, id)
}
