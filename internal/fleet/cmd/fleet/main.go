// Command fleet boots, lists and stops the test fleet of internal/fleet:
// what scripts/fleet.sh runs. Root only.
//
//	fleet up [-profiles ready,nginx-stopped,...]   # boot, print the nodes, exit (the nodes keep running)
//	fleet status                                   # the running fleet's nodes
//	fleet probe [NODE...]                          # evaluate nodes for site_create (Debian 12 allowed)
//	fleet down                                     # stop everything up started
//	fleet check                                    # can this machine run a fleet? (boots nothing)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: fleet up|status|probe|down|check [flags]")
	}
	fs := flag.NewFlagSet("fleet "+args[0], flag.ContinueOnError)
	profiles := fs.String("profiles", "", "comma-separated profiles to boot (default: all)")
	timeout := fs.Duration("timeout", 20*time.Minute, "bound on up, base build included")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg := fleet.Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	switch args[0] {
	case "up":
		if *profiles != "" {
			for _, name := range strings.Split(*profiles, ",") {
				p, ok := fleet.ProfileByName(name)
				if !ok {
					return fmt.Errorf("fleet: no profile %q", name)
				}
				cfg.Profiles = append(cfg.Profiles, p)
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		f, err := fleet.Up(ctx, cfg)
		if err != nil {
			return err
		}
		return printNodes(f.Nodes())
	case "status":
		nodes, err := fleet.Status(cfg)
		if err != nil {
			return err
		}
		return printNodes(nodes)
	case "down":
		return fleet.Down(cfg)
	case "probe":
		return probeNodes(fs.Args(), cfg)
	case "check":
		if err := fleet.CanRun(); err != nil {
			return err
		}
		fmt.Println("fleet: this machine can run the fleet")
		return nil
	}
	return fmt.Errorf("fleet: unknown command %q (want up, status, probe, down or check)", args[0])
}

// printNodes writes one JSON object per node: name, profile, address,
// port, user, pinned host key, client key file.
func printNodes(nodes []fleet.Node) error {
	enc := json.NewEncoder(os.Stdout)
	for _, n := range nodes {
		rec := map[string]any{
			"name": n.Name, "profile": n.Profile.Name, "addr": n.Addr, "port": n.Port, "user": n.User,
			"client_key_file": n.ClientKeyFile, "running": n.Leader != 0,
		}
		if n.HostKey != nil {
			rec["host_key"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(n.HostKey)))
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return nil
}

// probeNodes evaluates the named nodes (all when none are named) once each
// with the real prober and prints each report's summary.
func probeNodes(names []string, cfg fleet.Config) error {
	nodes, err := fleet.Status(cfg)
	if err != nil {
		return err
	}
	policy := readiness.Baseline().WithAllowedOS(readiness.OSRelease{ID: "debian", VersionID: "12"})
	p := &probe.Prober{Client: &sshexec.Client{Timeout: 60 * time.Second}}
	for _, n := range nodes {
		if len(names) > 0 && !slices.Contains(names, n.Name) {
			continue
		}
		tg, err := n.Target()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 65*time.Second)
		obs := p.Observe(ctx, n.Name, tg)
		cancel()
		rep := readiness.Evaluate(obs, policy, readiness.OperationSiteCreate)
		line := fmt.Sprintf("%s: %s", n.Name, rep.Summary())
		if obs.Transport != nil {
			line += fmt.Sprintf(" (%s: %s)", obs.Transport.Code, obs.Transport.Detail)
		}
		fmt.Println(line)
	}
	return nil
}
