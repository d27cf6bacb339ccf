// Command fleet boots, lists and stops the test fleet of internal/fleet:
// what scripts/fleet.sh runs. Root only.
//
//	fleet up [-profiles ready,nginx-stopped,...] [-nodes-file PATH]
//	                                               # boot, print the nodes, write the example server's
//	                                               # -nodes file, exit (the nodes keep running)
//	fleet status                                   # the running fleet's nodes
//	fleet probe [NODE...]                          # evaluate nodes for site_create (Debian 12 allowed)
//	fleet down                                     # stop everything up started
//	fleet base                                     # build the base root now (cached after)
//	fleet check                                    # can this machine run a fleet? (boots nothing)
//
// up writes the nodes it booted as a -nodes file for examples/devserver
// (fleet.WriteNodesFile), by default nodes.json in the fleet's state
// directory (fleet.NodesFilePath: /run/pressluft-fleet[-k]/nodes.json),
// which down removes, and prints on stderr the command that serves them:
//
//	go run ./examples/devserver -nodes /run/pressluft-fleet-3/nodes.json -allow-os debian-12
//
// A -nodes-file elsewhere is left behind by down (the key it names is
// not).
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
		return fmt.Errorf("usage: fleet up|status|probe|down|base|check [flags]")
	}
	fs := flag.NewFlagSet("fleet "+args[0], flag.ContinueOnError)
	profiles := fs.String("profiles", "", "comma-separated profiles to boot (default: all)")
	timeout := fs.Duration("timeout", 20*time.Minute, "bound on up, base build included")
	nodesFile := fs.String("nodes-file", "", "up: where to write examples/devserver's -nodes file (default: nodes.json in the fleet's state directory)")
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
		if err := printNodes(f.Nodes()); err != nil {
			return err
		}
		path := *nodesFile
		if path == "" {
			path = fleet.NodesFilePath(cfg)
		}
		if err := fleet.WriteNodesFile(path, f.Nodes()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nfleet: wrote the example server's -nodes file %s; serve these nodes with:\n\n"+
			"  go run ./examples/devserver -nodes %s -allow-os debian-12\n\n"+
			"fleet: then open http://127.0.0.1:8080/nodes; stop the fleet with: %sbash scripts/fleet.sh down\n",
			path, path, instanceHint())
		return nil
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
	case "base":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		built, took, err := fleet.Base(ctx, cfg)
		if err != nil {
			return err
		}
		if built {
			fmt.Printf("fleet: built the base root in %s\n", took.Round(time.Second))
		} else {
			fmt.Println("fleet: the base root is cached")
		}
		return nil
	case "check":
		if err := fleet.CanRun(); err != nil {
			return err
		}
		fmt.Println("fleet: this machine can run the fleet")
		return nil
	}
	return fmt.Errorf("fleet: unknown command %q (want up, status, probe, down, base or check)", args[0])
}

// instanceHint is the environment a later fleet.sh command needs to
// reach this instance's fleet, as a command prefix.
func instanceHint() string {
	if v := os.Getenv(fleet.InstanceEnv); v != "" && v != "0" {
		return fleet.InstanceEnv + "=" + v + " "
	}
	return ""
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
