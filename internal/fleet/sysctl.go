package fleet

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// inotifyInstances is the kernel's per-user limit on inotify instances.
// Every node's systemd, journald, dbus, fail2ban and path units take some
// as root, the same user on the host: past about fifteen nodes the
// default 128 runs out, units fail with result 'resources' and boots hang.
const inotifyInstances = "/proc/sys/fs/inotify/max_user_instances"

// inotifyPerNode is a generous bound on one node's inotify instances.
const inotifyPerNode = 24

// raiseInotify raises the limit to what nodes need on top of what the
// host uses, and returns the value to restore at cleanup (0: unchanged).
func raiseInotify(nodes int) (restore int, err error) {
	cur, err := readInt(inotifyInstances)
	if err != nil {
		return 0, err
	}
	want := 128 + nodes*inotifyPerNode
	if cur >= want {
		return 0, nil
	}
	if err := os.WriteFile(inotifyInstances, []byte(strconv.Itoa(want)), 0o644); err != nil {
		return 0, fmt.Errorf("fleet: raise %s to %d for %d nodes: %w", inotifyInstances, want, nodes, err)
	}
	return cur, nil
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("fleet: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("fleet: %s: %w", path, err)
	}
	return v, nil
}
