package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// proc names a process by PID and start time (field 22 of
// /proc/PID/stat), so a PID reused by another process is never signalled.
type proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

func procOf(pid int) proc { return proc{PID: pid, Start: startTime(pid)} }

func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // from field 3, the state
	if len(f) < 20 || f[0] == "Z" {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

// alive reports whether p is still the process it was recorded as.
func (p proc) alive() bool { return p.PID > 0 && p.Start != 0 && startTime(p.PID) == p.Start }

// nodeState is what cleanup needs to undo one node.
type nodeState struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	Merged  string `json:"merged"`
	Mounted bool   `json:"mounted"`
	NetNS   string `json:"netns"`
	HostIf  string `json:"host_if"`
	Profile string `json:"profile"`
	Addr    string `json:"addr"`
	Port    int    `json:"port"`
	HostKey string `json:"host_key,omitempty"` // authorized_keys format
	// Cgroups are the node's own cgroups, one per hierarchy (nodeCgroups).
	Cgroups []string `json:"cgroups,omitempty"`
	Nspawn  proc     `json:"nspawn"`
	Leader  proc     `json:"leader"`
}

// state is the state file: every node's resources, written before each is
// created.
type state struct {
	path  string
	mu    sync.Mutex
	Nodes []nodeState `json:"nodes"`
	// InotifyRestore is the inotify instance limit Up found and raised
	// (0: Up left it alone). The machine's own value, restored by the last
	// fleet down, is in inotifyOriginal.
	InotifyRestore int `json:"inotify_restore,omitempty"`
}

func (s *state) put(n nodeState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	replaced := false
	for i := range s.Nodes {
		if s.Nodes[i].Name == n.Name {
			s.Nodes[i], replaced = n, true
		}
	}
	if !replaced {
		s.Nodes = append(s.Nodes, n)
	}
	return s.writeLocked()
}

// save writes the state file as it is.
func (s *state) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked()
}

func (s *state) writeLocked() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	return nil
}

func readState(path string) (*state, error) {
	s := &state{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("fleet: state %s: %w", path, err)
	}
	return s, nil
}

// lock serialises Up, Down and Status on the machine.
func lock(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet: state dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fleet: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("fleet: lock: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// stopGrace is how long a node gets to power off before it is halted at
// once; killGrace how long that gets before SIGKILL.
const (
	stopGrace = 15 * time.Second
	killGrace = 5 * time.Second
)

// sigRTMin is SIGRTMIN as glibc defines it (34: glibc keeps the kernel's
// 32 and 33 for itself), which systemd's SIGRTMIN+N signals count from.
const sigRTMin = syscall.Signal(34)

// escalate waits up to grace for every node to stop, then calls next for
// each node that has not.
func escalate(nodes []nodeState, grace time.Duration, next func(nodeState)) {
	deadline := time.Now().Add(grace)
	for _, n := range nodes {
		for (n.Nspawn.alive() || n.Leader.alive()) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, n := range nodes {
		if n.Nspawn.alive() || n.Leader.alive() {
			next(n)
		}
	}
}

// cleanup undoes every node the state file lists: processes (by recorded
// PID and start time only), mounts, veths, namespaces, node directories,
// then the state file, the client key and the -nodes file naming it.
func cleanup(cfg Config) error {
	s, err := readState(filepath.Join(cfg.StateDir, "state.json"))
	if err != nil {
		return err
	}
	// Ask every node to power off at once (nspawn turns SIGTERM into
	// SIGRTMIN+3 for the container's systemd), then wait for all.
	for _, n := range s.Nodes {
		if n.Nspawn.alive() {
			_ = syscall.Kill(n.Nspawn.PID, syscall.SIGTERM)
		}
	}
	// A node whose halt stalls (seen under load: systemd-halt.service's
	// `systemctl --force halt` failed, leaving PID 1 waiting) gets
	// SIGRTMIN+15, systemd's immediate halt, then SIGKILL.
	escalate(s.Nodes, stopGrace, func(n nodeState) {
		if n.Leader.alive() {
			cfg.Logger.Warn("fleet: node did not power off in time: immediate halt", "node", n.Name, "pid", n.Leader.PID,
				"console", tail([]byte(consoleTail(n.Dir)), 4))
			_ = syscall.Kill(n.Leader.PID, sigRTMin+15)
		}
	})
	escalate(s.Nodes, killGrace, func(n nodeState) {
		for _, p := range []proc{n.Leader, n.Nspawn} {
			if p.alive() {
				cfg.Logger.Warn("fleet: node did not halt: SIGKILL", "node", n.Name, "pid", p.PID)
				_ = syscall.Kill(p.PID, syscall.SIGKILL) // PID 1 of its namespace: takes the node with it
			}
		}
	})
	var errs []error
	for _, n := range s.Nodes {
		for t := 0; (n.Nspawn.alive() || n.Leader.alive()) && t < 100; t++ {
			time.Sleep(50 * time.Millisecond)
		}
		if n.Nspawn.alive() || n.Leader.alive() {
			errs = append(errs, fmt.Errorf("fleet: node %s: still running after SIGKILL", n.Name))
			continue
		}
		if n.Mounted || isMount(n.Merged) {
			if err := syscall.Unmount(n.Merged, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
				errs = append(errs, fmt.Errorf("fleet: node %s: unmount: %w", n.Name, err))
				continue
			}
		}
		if n.HostIf != "" && exists("/sys/class/net/"+n.HostIf) {
			if err := run(context.Background(), "ip", "link", "del", n.HostIf); err != nil {
				errs = append(errs, fmt.Errorf("fleet: node %s: %w", n.Name, err))
			}
		}
		if n.NetNS != "" && exists("/run/netns/"+n.NetNS) {
			if err := run(context.Background(), "ip", "netns", "del", n.NetNS); err != nil {
				errs = append(errs, fmt.Errorf("fleet: node %s: %w", n.Name, err))
			}
		}
		for _, c := range n.Cgroups {
			if err := removeCgroup(c); err != nil {
				errs = append(errs, fmt.Errorf("fleet: node %s: %w", n.Name, err))
			}
		}
		if n.Dir != "" && !isMount(n.Merged) {
			if err := os.RemoveAll(n.Dir); err != nil {
				errs = append(errs, fmt.Errorf("fleet: node %s: %w", n.Name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if otherFleetNodes(cfg) == 0 {
		if err := restoreInotify(); err != nil {
			return err
		}
	} else if s.InotifyRestore > 0 {
		cfg.Logger.Info("fleet: other fleets run on this machine: leaving " + inotifyInstances + " raised for them")
	}
	for _, p := range []string{s.path, filepath.Join(cfg.StateDir, "client_ed25519"), filepath.Join(cfg.StateDir, NodesFileName)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("fleet: %w", err)
		}
	}
	return nil
}

// otherFleetNodes counts the nodes of the other instances' fleets that
// state files under DefaultStateDir's siblings list.
func otherFleetNodes(cfg Config) int {
	files, _ := filepath.Glob(DefaultStateDir + "*/state.json")
	own := filepath.Join(cfg.StateDir, "state.json")
	count := 0
	for _, f := range files {
		if f == own {
			continue
		}
		if s, err := readState(f); err == nil {
			count += len(s.Nodes)
		}
	}
	return count
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// isMount reports whether path is a mount point, from /proc/self/mountinfo.
func isMount(path string) bool {
	if path == "" {
		return false
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

// Status is the fleet the state file under cfg.StateDir describes: every
// node it lists, with Leader zero for one whose systemd is not running.
func Status(cfg Config) ([]Node, error) {
	cfg = cfg.withDefaults()
	unlock, err := lock(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s, err := readState(filepath.Join(cfg.StateDir, "state.json"))
	if err != nil {
		return nil, err
	}
	var nodes []Node
	for _, ns := range s.Nodes {
		p, _ := ProfileByName(ns.Profile)
		n := Node{Name: ns.Name, Profile: p, Addr: ns.Addr, Port: ns.Port, User: User,
			ClientKeyFile: filepath.Join(cfg.StateDir, "client_ed25519")}
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(ns.HostKey)); err == nil {
			n.HostKey = k
		}
		if a, err := netip.ParseAddr(ns.Addr); err == nil && a.Is4() {
			b := a.As4()
			b[3] = 1 // the host end of the node's /30 (Config.hostAddr)
			n.HostAddr = netip.AddrFrom4(b).String()
		}
		if ns.Leader.alive() {
			n.Leader = ns.Leader.PID
		}
		nodes = append(nodes, n)
	}
	// Config order: node i has the i-th /30 (the state file lists nodes in
	// the order their concurrent boots began).
	slices.SortStableFunc(nodes, func(a, b Node) int {
		x, errx := netip.ParseAddr(a.Addr)
		y, erry := netip.ParseAddr(b.Addr)
		if errx != nil || erry != nil {
			return strings.Compare(a.Addr, b.Addr)
		}
		return x.Compare(y)
	})
	return nodes, nil
}
