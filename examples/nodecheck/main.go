// Command nodecheck checks whether one node can take pressluft work: one SSH
// connection, one command, and a readiness report with remediation.
//
//	nodecheck -host H [-port P] -user U -identity KEYFILE|KEYFILE.pub [-known-hosts FILE]
//	          [-accept-new] [-operation site_create|env_create]
//	          [-allow-os ID-VERSION ...] [-timeout 10s] [-json]
//	nodecheck -fake PROFILE[,PROFILE...] [-json]
//	nodecheck -list-fakes
//
// -identity names the node's own key, and it is the only key offered: a
// private key file (a passphrase is read from $NODECHECK_KEY_PASSPHRASE),
// or a public key file such as ~/.ssh/id_ed25519.pub whose private half is
// in the SSH agent ($SSH_AUTH_SOCK), as ssh -i KEY.pub -o IdentitiesOnly=yes
// does. nodecheck never offers every key of an agent: each key a node
// refuses counts as an authentication failure towards its fail2ban ban,
// so a check with a few wrong keys could get this machine banned. Without
// -identity it refuses to run (exit 2). An agent that does not hold the
// named key is reported as ssh_credentials_unavailable, the node not
// dialed. -fake runs against built-in fake nodes (package sshtest), so no
// server is needed.
//
// -known-hosts (default ~/.ssh/known_hosts) must exist unless -accept-new is
// given; with it, a host the file has no key for is trusted on first use and
// its key recorded in the file (sshexec.KnownHosts: under a lock, by atomic
// rewrite, in OpenSSH's format), and a changed key is refused.
//
// Exit status: 0 ready, 1 not ready (or pending, or unknown), 2 usage or
// configuration error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const (
	exitReady    = 0
	exitNotReady = 1
	exitUsage    = 2
)

// usageError is a bad flag or configuration: exit 2 with one clear line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	host, user, identity, knownHosts, operation, fake string
	port                                              int
	acceptNew, jsonOut, listFakes, verbose            bool
	allowOS                                           listFlag
	timeout                                           time.Duration
}

func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("nodecheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.host, "host", "", "node hostname or IP address")
	fs.IntVar(&o.port, "port", 22, "SSH port")
	fs.StringVar(&o.user, "user", "", "SSH user")
	fs.StringVar(&o.identity, "identity", "", "the node's key, the only one offered: a private key file, or KEY.pub to use that key from the SSH agent (required)")
	fs.StringVar(&o.knownHosts, "known-hosts", "", "known_hosts file (default ~/.ssh/known_hosts)")
	fs.BoolVar(&o.acceptNew, "accept-new", false, "trust an unknown host key on first use and record it in -known-hosts")
	fs.StringVar(&o.operation, "operation", string(readiness.OperationSiteCreate), "site_create or env_create")
	fs.Var(&o.allowOS, "allow-os", "also accept this OS, as ID-VERSION (e.g. debian-12); repeatable")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound on the whole run")
	fs.BoolVar(&o.jsonOut, "json", false, "print the readiness report as JSON")
	fs.BoolVar(&o.verbose, "v", false, "list every check, not only those that did not pass")
	fs.StringVar(&o.fake, "fake", "", "check built-in fake nodes instead (comma-separated profiles; see -list-fakes)")
	fs.BoolVar(&o.listFakes, "list-fakes", false, "list the fake node profiles")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return o, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected argument %q", fs.Arg(0))
	}
	switch readiness.Operation(o.operation) {
	case readiness.OperationSiteCreate, readiness.OperationEnvCreate:
	default:
		return o, usagef("-operation %q: want site_create or env_create", o.operation)
	}
	if o.timeout <= 0 {
		return o, usagef("-timeout must be positive, got %s", o.timeout)
	}
	if o.listFakes || o.fake != "" {
		if o.host != "" {
			return o, usagef("-fake and -host are exclusive")
		}
		return o, nil
	}
	if o.host == "" {
		return o, usagef("-host is required (or -fake PROFILE to try a built-in fake node)")
	}
	if o.user == "" {
		return o, usagef("-user is required")
	}
	if o.port < 1 || o.port > 65535 {
		return o, usagef("-port %d: want 1-65535", o.port)
	}
	if o.identity == "" {
		return o, usagef("-identity is required: the node's private key file, or KEY.pub to use that key from the SSH agent " +
			"(nodecheck never offers every key of an agent: each key a node refuses counts towards its fail2ban ban)")
	}
	if o.knownHosts == "" {
		home := getenv("HOME")
		if home == "" {
			return o, usagef("-known-hosts is required when $HOME is unset")
		}
		o.knownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	o, err := parseFlags(args, stderr, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "nodecheck: %v\n", err)
		return exitUsage
	}
	if o.listFakes {
		for _, p := range sshtest.Profiles() {
			fmt.Fprintln(stdout, p.Name)
		}
		return exitReady
	}
	policy := readiness.PolicyFor(readiness.Operation(o.operation))
	for _, s := range o.allowOS {
		osr, err := readiness.ParseOSRelease(s)
		if err != nil {
			fmt.Fprintf(stderr, "nodecheck: -allow-os: %v\n", err)
			return exitUsage
		}
		policy = policy.WithAllowedOS(osr)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	prober := &probe.Prober{Client: &sshexec.Client{Timeout: o.timeout}}

	var reports []readiness.Report
	if o.fake != "" {
		reports, err = checkFakes(ctx, prober, strings.Split(o.fake, ","), policy, readiness.Operation(o.operation))
	} else {
		var r readiness.Report
		r, err = checkNode(ctx, prober, o, getenv, policy)
		reports = append(reports, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nodecheck: %v\n", err)
		return exitUsage
	}
	code := exitReady
	for i, r := range reports {
		if o.jsonOut {
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "nodecheck: %v\n", err)
				return exitUsage
			}
		} else {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			printHuman(stdout, r, o.verbose)
		}
		if !r.Ready() {
			code = exitNotReady
		}
	}
	return code
}

func checkFakes(ctx context.Context, prober *probe.Prober, names []string, policy readiness.Policy, op readiness.Operation) ([]readiness.Report, error) {
	var profiles []sshtest.Profile
	for _, name := range names {
		p, ok := sshtest.ProfileByName(strings.TrimSpace(name))
		if !ok {
			return nil, usagef("-fake %q: unknown profile (see -list-fakes)", name)
		}
		profiles = append(profiles, p)
	}
	var out []readiness.Report
	for _, p := range profiles {
		node := sshtest.NewNode(p)
		obs := prober.Observe(ctx, "fake-"+p.Name, node.Target())
		node.Close()
		obs.User = node.Target().User
		out = append(out, readiness.Evaluate(obs, policy, op))
	}
	return out, nil
}

func checkNode(ctx context.Context, prober *probe.Prober, o options, getenv func(string) string, policy readiness.Policy) (readiness.Report, error) {
	t := sshexec.Target{Host: o.host, Port: o.port, User: o.user}
	if err := identity(&t, o.identity, getenv); err != nil {
		return readiness.Report{}, err
	}
	if o.acceptNew {
		// A missing file is an empty store; a learned key is written to
		// it (created 0600, its directory 0700) before authentication.
		store, err := sshexec.OpenKnownHosts(o.knownHosts)
		if err != nil {
			return readiness.Report{}, usagef("-known-hosts: %v", err)
		}
		t.HostKeys = store.AcceptNew()
	} else {
		known, err := sshexec.KnownHostsFile(o.knownHosts)
		if err != nil {
			return readiness.Report{}, usagef("-known-hosts: %v", err)
		}
		t.HostKeys = known
	}
	obs := prober.Observe(ctx, o.host, t)
	obs.User = o.user
	return readiness.Evaluate(obs, policy, readiness.Operation(o.operation)), nil
}

// identity sets t's only client key from -identity: a public key file
// means that key from the SSH agent (Target.AgentKeys, so no other agent
// key is offered), anything else is loaded as a private key.
func identity(t *sshexec.Target, path string, getenv func(string) string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("-identity: %v", err)
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		if _, cert := pub.(*ssh.Certificate); cert {
			return usagef("-identity %s is a certificate: name the key's own .pub file", path)
		}
		if getenv("SSH_AUTH_SOCK") == "" {
			return usagef("-identity %s is a public key, whose private half must be in the SSH agent, and $SSH_AUTH_SOCK is unset", path)
		}
		t.UseAgent, t.AgentKeys = true, []ssh.PublicKey{pub}
		return nil
	}
	signer, err := sshexec.LoadPrivateKeyFile(path, []byte(getenv("NODECHECK_KEY_PASSPHRASE")))
	if err != nil {
		if errors.Is(err, sshexec.ErrPassphraseRequired) {
			return usagef("-identity %s: the key is passphrase-protected; set NODECHECK_KEY_PASSPHRASE, or load it into the SSH agent and pass -identity %s.pub", path, path)
		}
		return usagef("-identity: %v", err)
	}
	t.Signers = []ssh.Signer{signer}
	return nil
}

func printHuman(w io.Writer, r readiness.Report, verbose bool) {
	fmt.Fprintf(w, "node %s: %s", r.NodeID, strings.ToUpper(strings.ReplaceAll(string(r.State), "_", " ")))
	if r.Operation != "" {
		fmt.Fprintf(w, " for %s", r.Operation)
	}
	fmt.Fprintf(w, " (checked in %dms over %s)\n", r.DurationMS, r.Transport)
	for i, x := range r.Reasons {
		label := string(x.Code)
		if x.Component != "" {
			label += " [" + x.Component + "]"
		}
		marker := "  "
		if i == 0 && x.Severity == readiness.SeverityBlocking {
			marker = "=>"
		}
		fmt.Fprintf(w, "%s %s (%s): %s\n", marker, label, x.Severity, x.Message)
		if x.Observed != "" || x.Required != "" {
			fmt.Fprintf(w, "     observed: %s; required: %s\n", orDash(x.Observed), orDash(x.Required))
		}
		fmt.Fprintf(w, "     fix: %s\n", x.Remediation)
	}
	counts := map[readiness.CheckStatus]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
	}
	fmt.Fprintf(w, "checks: %d pass, %d fail, %d warn, %d skipped", counts[readiness.CheckPass], counts[readiness.CheckFail], counts[readiness.CheckWarn], counts[readiness.CheckSkipped])
	if !verbose {
		fmt.Fprint(w, " (-v lists them all)")
	}
	fmt.Fprintln(w)
	var blockers []readiness.Code
	skippedBy := map[readiness.Code]int{}
	for _, c := range r.Checks {
		if !verbose && c.Status == readiness.CheckSkipped {
			if skippedBy[c.BlockedBy] == 0 {
				blockers = append(blockers, c.BlockedBy)
			}
			skippedBy[c.BlockedBy]++
			continue
		}
		if c.Status == readiness.CheckPass && !verbose {
			continue
		}
		name := c.Name
		if c.Component != "" {
			name = c.Component + " " + c.Name
		}
		detail := c.Observed
		if c.Status == readiness.CheckSkipped {
			detail = "blocked by " + string(c.BlockedBy)
		} else if c.Required != "" {
			detail = orDash(c.Observed) + " (want " + c.Required + ")"
		}
		fmt.Fprintf(w, "  %-7s %-22s %s\n", c.Status, name, detail)
	}
	for _, b := range blockers {
		if b == "" {
			fmt.Fprintf(w, "  skipped %d checks not observed\n", skippedBy[b])
			continue
		}
		fmt.Fprintf(w, "  skipped %d checks blocked by %s\n", skippedBy[b], b)
	}
	if inv := r.Inventory; inv != nil {
		fmt.Fprintf(w, "inventory: %s, systemd=%t", inv.OS, inv.Systemd)
		for _, c := range inv.Components {
			if c.Installed {
				fmt.Fprintf(w, ", %s %s", c.Name, orDash(c.Version))
			}
		}
		fmt.Fprintln(w)
	}
	if h := healthLine(r); h != "" {
		fmt.Fprintln(w, "health: "+h)
	}
}

// healthLine is what the boot and health checks observed: the system's
// state and each filesystem's free space, whatever their verdict.
func healthLine(r readiness.Report) string {
	var parts []string
	for _, c := range r.Checks {
		if (c.Prerequisite != readiness.PrereqBoot && c.Prerequisite != readiness.PrereqHealth) || c.Status == readiness.CheckSkipped || c.Observed == "" {
			continue
		}
		switch {
		case c.Name == "disk":
			parts = append(parts, c.Component+" "+c.Observed)
		case c.Name == "package_manager" && c.Status == readiness.CheckPass:
			parts = append(parts, "dpkg lock "+c.Observed)
		case c.Name == "reboot" && c.Status == readiness.CheckPass:
			parts = append(parts, "reboot "+c.Observed)
		case c.Status == readiness.CheckPass || c.Name == "boot":
			parts = append(parts, c.Observed)
		}
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
