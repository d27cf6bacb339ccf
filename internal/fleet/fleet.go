package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// Defaults for Config's zero values.
const (
	DefaultCacheDir    = "/var/cache/pressluft-fleet"
	DefaultStateDir    = "/run/pressluft-fleet"
	DefaultBootTimeout = 4 * time.Minute
	// CacheDirEnv overrides DefaultCacheDir.
	CacheDirEnv = "PRESSLUFT_FLEET_CACHE"
	// InstanceEnv sets Config.Instance when that is zero.
	InstanceEnv = "PRESSLUFT_FLEET_INSTANCE"
	// MaxInstance is the highest Instance.
	MaxInstance = 19
)

// Config says which nodes to boot. It is copied by Up and never mutated.
type Config struct {
	// Profiles are the nodes, one per profile, named after it; nil means
	// Profiles(). Names must be unique.
	Profiles []Profile
	// CacheDir holds the base root and the nodes' overlays; empty means
	// $PRESSLUFT_FLEET_CACHE, or DefaultCacheDir when that is unset.
	CacheDir string
	// StateDir holds the state file and the client key; empty means
	// DefaultStateDir. It must be on a tmpfs (/run) so a reboot forgets it.
	StateDir string
	// BootTimeout bounds each node's boot, to sshd accepting connections;
	// zero means DefaultBootTimeout.
	BootTimeout time.Duration
	// Logger receives progress at info level; nil discards it.
	Logger *slog.Logger
	// Instance (0 to MaxInstance) lets fleets run side by side on one
	// machine: instance k has its own state directory (DefaultStateDir,
	// with "-k" appended for k > 0), namespaces, veths, cgroups, overlays
	// and addresses (10.(213+k).0.0/16); the base root is shared. Zero
	// means $PRESSLUFT_FLEET_INSTANCE, or 0 when that is unset.
	Instance int
}

// Node is what a client needs to reach one node.
type Node struct {
	Name    string
	Profile Profile
	// Addr is the node's address, on its own veth; Port its sshd's port.
	Addr string
	Port int
	// HostAddr is the host end of the node's veth: the address the node
	// sees the control plane connect from.
	HostAddr string
	// User is the account to log in as (User).
	User string
	// HostKey is the node's own ed25519 host key, generated at Up.
	HostKey ssh.PublicKey
	// ClientKeyFile is the private key in the node's authorized_keys.
	ClientKeyFile string
	// Leader is the PID (on this host) of the node's systemd.
	Leader int
	// Boot is how long the node took from nspawn's start to sshd's port
	// accepting connections.
	Boot time.Duration
}

// Target is how sshexec reaches n as User with the fleet's client key and
// n's pinned host key.
func (n Node) Target() (sshexec.Target, error) {
	s, err := sshexec.LoadPrivateKeyFile(n.ClientKeyFile, nil)
	if err != nil {
		return sshexec.Target{}, fmt.Errorf("fleet: client key: %w", err)
	}
	return sshexec.Target{
		Host:     n.Addr,
		Port:     n.Port,
		User:     n.User,
		Signers:  []ssh.Signer{s},
		HostKeys: sshexec.PinnedHostKeys(n.HostKey),
	}, nil
}

// Fleet is a set of running nodes. Down stops them.
type Fleet struct {
	cfg   Config
	nodes []Node
	st    *state
	// BaseBuilt reports whether Up built the base root (false: cached);
	// BaseTime is how long Up spent on it.
	BaseBuilt bool
	BaseTime  time.Duration

	mu    sync.Mutex
	waits []chan struct{} // closed when each nspawn this process started exits
}

// Nodes are the fleet's nodes, in Config order.
func (f *Fleet) Nodes() []Node { return append([]Node(nil), f.nodes...) }

// Node is the node named name; ok is false when there is none.
func (f *Fleet) Node(name string) (n Node, ok bool) {
	for _, n := range f.nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

func (c Config) withDefaults() Config {
	if c.Profiles == nil {
		c.Profiles = Profiles()
	} else {
		c.Profiles = append([]Profile(nil), c.Profiles...)
	}
	if c.CacheDir == "" {
		c.CacheDir = os.Getenv(CacheDirEnv)
	}
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir
	}
	if c.Instance == 0 {
		if v, err := strconv.Atoi(os.Getenv(InstanceEnv)); err == nil {
			c.Instance = v
		}
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir + c.suffix()
	}
	if c.BootTimeout <= 0 {
		c.BootTimeout = DefaultBootTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Up tears down whatever fleet a previous run left (its state file), builds
// or reuses the base root, and boots one node per profile, concurrently.
// On error it stops what it started and returns nil. Root only.
func Up(ctx context.Context, cfg Config) (*Fleet, error) {
	cfg = cfg.withDefaults()
	if os.Geteuid() != 0 {
		return nil, errNotRoot
	}
	if err := cfg.checkInstance(); err != nil {
		return nil, err
	}
	if len(cfg.Profiles) > maxNodes {
		return nil, fmt.Errorf("fleet: %d nodes, at most %d", len(cfg.Profiles), maxNodes)
	}
	seen := map[string]bool{}
	for _, p := range cfg.Profiles {
		if p.Name == "" || seen[p.Name] || strings.ContainsAny(p.Name, "/ ") {
			return nil, fmt.Errorf("fleet: bad or duplicate node name %q", p.Name)
		}
		seen[p.Name] = true
	}
	unlock, err := lock(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := cleanup(cfg); err != nil {
		return nil, err
	}
	if err := cfg.checkAddressRange(); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) { cfg.Logger.Info(fmt.Sprintf(format, args...)) }
	start := time.Now()
	base, built, err := ensureBase(ctx, cfg.CacheDir, logf)
	if err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, st: &state{path: filepath.Join(cfg.StateDir, "state.json")}, BaseBuilt: built, BaseTime: time.Since(start)}
	restore, err := raiseInotify(len(cfg.Profiles) + otherFleetNodes(cfg))
	if err != nil {
		return nil, err
	}
	if restore > 0 {
		logf("fleet: raised %s from %d for %d nodes (restored when the last fleet is down)", inotifyInstances, restore, len(cfg.Profiles))
		f.st.InotifyRestore = restore
		if err := f.st.save(); err != nil {
			_ = f.down()
			return nil, err
		}
	}
	keyFile, err := clientKey(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	pub, err := publicKeyOf(keyFile)
	if err != nil {
		return nil, err
	}

	f.nodes = make([]Node, len(cfg.Profiles))
	errs := make([]error, len(cfg.Profiles))
	var wg sync.WaitGroup
	for i, p := range cfg.Profiles {
		n := Node{Name: p.Name, Profile: p, Addr: cfg.nodeAddr(i), HostAddr: cfg.hostAddr(i), Port: 22, User: User, ClientKeyFile: keyFile}
		if p.Port != 0 {
			n.Port = p.Port
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.boot(ctx, base, i, &n, pub, logf)
			f.nodes[i] = n
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = f.down()
		return nil, err
	}
	return f, nil
}

// Down stops every node (systemd's orderly power-off, then SIGKILL after
// 30s), unmounts the overlays, deletes the veths and namespaces and the
// state file. It is safe to call more than once.
func (f *Fleet) Down() error {
	unlock, err := lock(f.cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	return f.down()
}

func (f *Fleet) down() error {
	err := cleanup(f.cfg)
	f.mu.Lock()
	waits := f.waits
	f.waits = nil
	f.mu.Unlock()
	for _, w := range waits {
		<-w // cleanup killed it; this reaps it
	}
	return err
}

// Down tears down the fleet the state file under cfg.StateDir describes,
// as Fleet.Down does, from any process: what scripts/fleet.sh down runs.
func Down(cfg Config) error {
	cfg = cfg.withDefaults()
	unlock, err := lock(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	return cleanup(cfg)
}

// maxNodes is how many /30s of an instance's /16 the fleet uses (its
// third octet).
const maxNodes = 250

// suffix tells instance k's names apart: "" for 0, "-k" otherwise.
func (c Config) suffix() string {
	if c.Instance == 0 {
		return ""
	}
	return "-" + itoa(c.Instance)
}

func (c Config) checkInstance() error {
	if c.Instance < 0 || c.Instance > MaxInstance {
		return fmt.Errorf("fleet: instance %d: want 0 to %d ($%s)", c.Instance, MaxInstance, InstanceEnv)
	}
	return nil
}

// net is the first two octets of the instance's /16: 10.213 for 0.
func (c Config) net() string { return fmt.Sprintf("10.%d", 213+c.Instance) }

// nodeAddr and hostAddr are the two ends of node i's /30: NET.i+1.2 in
// the node's namespace, NET.i+1.1 on the host end of its veth.
func (c Config) nodeAddr(i int) string { return fmt.Sprintf("%s.%d.2", c.net(), i+1) }
func (c Config) hostAddr(i int) string { return fmt.Sprintf("%s.%d.1", c.net(), i+1) }

// names are node i's namespace and veth ends: plf-N, plfhN, plfnN for
// instance 0, plfK-N, plfKhN, plfKnN for instance K (at most 15 bytes, an
// interface name's limit).
func (c Config) names(i int) (netns, hostIf, nodeIf string) {
	p := "plf"
	if c.Instance > 0 {
		p += itoa(c.Instance)
	}
	return fmt.Sprintf("%s-%d", p, i+1), fmt.Sprintf("%sh%d", p, i+1), fmt.Sprintf("%sn%d", p, i+1)
}

// nodesDir holds the instance's node overlays, under the cache directory.
func (c Config) nodesDir() string { return filepath.Join(c.CacheDir, "nodes"+c.suffix()) }

// cgroupParent is the directory, at the root of each cgroup hierarchy,
// that holds the instance's node cgroups.
func (c Config) cgroupParent() string { return cgroupBase + c.suffix() }

// checkAddressRange refuses to run when anything on the host already
// routes into the instance's /16: the fleet's addresses must exist only on
// its own veths.
func (c Config) checkAddressRange() error {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		return fmt.Errorf("fleet: ip route: %w: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, c.net()+".") {
			return fmt.Errorf("fleet: the host already routes into %s.0.0/16 (%q): refusing to add addresses there", c.net(), l)
		}
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// clientKey writes a new ed25519 client key under dir (0600) and returns
// its path.
func clientKey(dir string) (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "pressluft-fleet control plane")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "client_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return "", fmt.Errorf("fleet: client key: %w", err)
	}
	return path, nil
}

func publicKeyOf(path string) (ssh.PublicKey, error) {
	s, err := sshexec.LoadPrivateKeyFile(path, nil)
	if err != nil {
		return nil, fmt.Errorf("fleet: client key: %w", err)
	}
	return s.PublicKey(), nil
}

func itoa(i int) string { return strconv.Itoa(i) }
