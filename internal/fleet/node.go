package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// boot makes node i: its namespace and veth, its overlay, its per-node
// files, then starts systemd-nspawn and waits for systemd and sshd.
// Every resource is recorded in the state file before it is created, so
// cleanup can undo a half-made node.
func (f *Fleet) boot(ctx context.Context, base string, i int, n *Node, clientPub ssh.PublicKey, logf func(string, ...any)) error {
	netns, hostIf, nodeIf := f.cfg.names(i)
	dir := filepath.Join(f.cfg.nodesDir(), n.Name)
	ns := nodeState{Name: n.Name, Profile: n.Profile.Name, Addr: n.Addr, Port: n.Port,
		Dir: dir, NetNS: netns, HostIf: hostIf, Merged: filepath.Join(dir, "merged")}
	if err := f.st.put(ns); err != nil {
		return err
	}
	wrap := func(what string, err error) error { return fmt.Errorf("fleet: node %s: %s: %w", n.Name, what, err) }

	// Network: a namespace of its own and a veth whose only other end is
	// on the host, with a /30 between them and no other route.
	if err := run(ctx, "ip", "netns", "add", netns); err != nil {
		return wrap("netns", err)
	}
	steps := [][]string{
		{"ip", "link", "add", hostIf, "type", "veth", "peer", "name", nodeIf},
		{"ip", "link", "set", nodeIf, "netns", netns},
		{"ip", "addr", "add", f.cfg.hostAddr(i) + "/30", "dev", hostIf},
		{"ip", "link", "set", hostIf, "up"},
		{"ip", "-n", netns, "link", "set", nodeIf, "name", "eth0"},
		{"ip", "-n", netns, "addr", "add", f.cfg.nodeAddr(i) + "/30", "dev", "eth0"},
		{"ip", "-n", netns, "link", "set", "eth0", "up"},
		{"ip", "-n", netns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return wrap("network", err)
		}
	}

	// Root: an overlay on the base, or a copy where overlayfs is missing.
	if err := os.RemoveAll(dir); err != nil {
		return wrap("node dir", err)
	}
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return wrap("node dir", err)
		}
	}
	opts := "lowerdir=" + base + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	if err := syscall.Mount("overlay", ns.Merged, "overlay", 0, opts); err != nil {
		if !errors.Is(err, syscall.ENODEV) && !errors.Is(err, syscall.EINVAL) {
			return wrap("mount overlay", err)
		}
		logf("fleet: node %s: overlayfs unavailable (%v): copying the base root", n.Name, err)
		if err := run(ctx, "cp", "-a", "--reflink=auto", base+"/.", ns.Merged); err != nil {
			return wrap("copy base", err)
		}
	} else {
		ns.Mounted = true
		if err := f.st.put(ns); err != nil {
			return err
		}
	}

	hostPub, err := writeNodeFiles(ns.Merged, n.Name, clientPub)
	if err != nil {
		return wrap("files", err)
	}
	n.HostKey = hostPub
	ns.HostKey = string(ssh.MarshalAuthorizedKey(hostPub))
	script := nodeSetup(n.Name) + "\n" + n.Profile.Setup + "\n"
	cmd := exec.CommandContext(ctx, "chroot", ns.Merged, "/bin/sh", "-eu", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return wrap("setup", fmt.Errorf("%w: %s", err, out))
	}

	// Boot. nspawn outlives this call (and, under scripts/fleet.sh, this
	// process): it is not tied to ctx, and has a session of its own.
	console, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		return wrap("console", err)
	}
	defer console.Close()
	start := time.Now()
	ns.Cgroups = nodeCgroups(f.cfg.cgroupParent(), netns)
	if err := f.st.put(ns); err != nil {
		return err
	}
	if err := makeCgroups(ns.Cgroups); err != nil {
		return wrap("boot", err)
	}
	name, args := nspawnInCgroups(ns.Cgroups, "--quiet", "-D", ns.Merged, "-b", "--register=no", "--keep-unit",
		"--network-namespace-path=/run/netns/"+netns, "--machine="+n.Name, "--hostname="+n.Name,
		"--capability=CAP_NET_ADMIN", "--console=read-only", "--link-journal=no")
	nsp := exec.Command(name, args...)
	nsp.Stdout, nsp.Stderr = console, console
	nsp.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := nsp.Start(); err != nil {
		return wrap("systemd-nspawn", err)
	}
	done := make(chan struct{})
	f.mu.Lock()
	f.waits = append(f.waits, done)
	f.mu.Unlock()
	go func() { _ = nsp.Wait(); close(done) }()
	ns.Nspawn = procOf(nsp.Process.Pid)
	if err := f.st.put(ns); err != nil {
		return err
	}

	bctx, cancel := context.WithTimeout(ctx, f.cfg.BootTimeout)
	defer cancel()
	leader, err := waitLeader(bctx, nsp.Process.Pid, done)
	if err != nil {
		return wrap("boot", fmt.Errorf("%w; console:\n%s", err, consoleTail(dir)))
	}
	ns.Leader = procOf(leader)
	n.Leader = leader
	if err := f.st.put(ns); err != nil {
		return err
	}
	state, err := waitSystem(bctx, leader)
	if err != nil {
		return wrap("boot", fmt.Errorf("%w; console:\n%s", err, consoleTail(dir)))
	}
	// sshd is Type=notify on Debian 12: active means listening. Asking
	// systemd, not dialing, keeps boot out of sshd's journal and away from
	// fail2ban, which counts a connection closed before the banner as a
	// failure in its aggressive mode.
	if out, err := Exec(bctx, leader, "systemctl", "is-active", "ssh.service"); err != nil {
		return wrap("sshd", fmt.Errorf("ssh.service %s: %w; console:\n%s", strings.TrimSpace(out), err, consoleTail(dir)))
	}
	n.Boot = time.Since(start)
	logf("fleet: node %s up at %s:%d in %s (system %s)", n.Name, n.Addr, n.Port, n.Boot.Round(time.Millisecond), state)
	return nil
}

// nodeSetup is the per-node part every profile starts from.
func nodeSetup(name string) string {
	return `echo ` + name + ` >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' ` + name + ` >/etc/hosts
chown ` + User + `:` + User + ` /home/` + User + `/.ssh/authorized_keys
chmod 0600 /home/` + User + `/.ssh/authorized_keys
echo '` + User + ` ALL=(ALL:ALL) NOPASSWD:ALL' >/etc/sudoers.d/` + User + `
chmod 0440 /etc/sudoers.d/` + User + `
` + banAction
}

// banAction makes fail2ban's bans drop traffic. Debian 12's jail.conf bans
// with iptables-multiport, and Debian 12 no longer installs iptables: seen
// on the fleet, a ban was recorded ("Banned IP list: ...") while every
// action failed with "iptables: not found" and the banned address still
// connected. nftables is what Debian's nft-based systems use (and what
// Ubuntu 24.04 operators configure); it needs CAP_NET_ADMIN in the node
// and netbase's /etc/services.
const banAction = `printf '[DEFAULT]\nbanaction = nftables\nbanaction_allports = nftables[type=allports]\n' >/etc/fail2ban/jail.d/fleet-banaction.conf`

// writeNodeFiles writes the node's own host key and the client's public
// key into root, and returns the host key.
func writeNodeFiles(root, name string, clientPub ssh.PublicKey) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "root@"+name)
	if err != nil {
		return nil, err
	}
	hostPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{"etc/ssh/ssh_host_ed25519_key", pem.EncodeToMemory(blk), 0o600},
		{"etc/ssh/ssh_host_ed25519_key.pub", ssh.MarshalAuthorizedKey(hostPub), 0o644},
		{"home/" + User + "/.ssh/authorized_keys", ssh.MarshalAuthorizedKey(clientPub), 0o600},
	}
	for _, fl := range files {
		if err := os.WriteFile(filepath.Join(root, fl.path), fl.data, fl.mode); err != nil {
			return nil, err
		}
	}
	return hostPub, nil
}

// waitLeader waits for nspawn's child, the container's PID 1, to exec
// systemd.
func waitLeader(ctx context.Context, nspawn int, done <-chan struct{}) (int, error) {
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", nspawn, nspawn))
		for _, c := range strings.Fields(string(b)) {
			comm, _ := os.ReadFile("/proc/" + c + "/comm")
			if strings.TrimSpace(string(comm)) == "systemd" {
				var pid int
				fmt.Sscan(c, &pid)
				return pid, nil
			}
		}
		select {
		case <-done:
			return 0, errors.New("systemd-nspawn exited")
		case <-ctx.Done():
			return 0, fmt.Errorf("no systemd under nspawn %d: %w", nspawn, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitSystem waits, from inside the node's namespaces, for systemd to
// finish booting, and returns its state ("running", or "degraded" when a
// unit failed, as a profile may mean it to).
func waitSystem(ctx context.Context, leader int) (string, error) {
	for {
		out, _ := Exec(ctx, leader, "systemctl", "is-system-running", "--wait")
		st := strings.TrimSpace(out)
		switch st {
		case "running":
			return st, nil
		case "degraded":
			// Say which units failed: a profile's own (nginx-failed) or
			// boot units that timed out on a loaded machine, which can
			// leave /run/nologin behind (sshd's PAM then refuses logins).
			failed, _ := Exec(ctx, leader, "/bin/sh", "-c",
				"systemctl --failed --no-legend --plain | while read -r u _; do printf '%s ' \"$u\"; done; [ ! -e /run/nologin ] || printf '(/run/nologin present)'")
			return st + ": failed " + strings.TrimSpace(failed), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("systemctl is-system-running: %q: %w", st, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Exec runs a command inside the node whose systemd is leader (every
// namespace of it, via nsenter) and returns its combined output.
func Exec(ctx context.Context, leader int, name string, args ...string) (string, error) {
	a := append([]string{"-t", itoa(leader), "-m", "-u", "-i", "-n", "-p", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", a...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func consoleTail(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "console.log"))
	return tail(b, 30)
}
