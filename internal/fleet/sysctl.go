package fleet

import (
	"errors"
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

// inotifyOriginal holds the machine's own limit while any fleet has it
// raised: written by the first fleet that raises it (instances may run side
// by side), read back by the last one down (restoreInotify).
const inotifyOriginal = DefaultStateDir + ".inotify-original"

// raiseInotify raises the limit to what nodes (every running fleet's) need
// on top of what the host uses, and returns the value it found (0:
// unchanged).
func raiseInotify(nodes int) (was int, err error) {
	cur, err := readInt(inotifyInstances)
	if err != nil {
		return 0, err
	}
	want := 128 + nodes*inotifyPerNode
	if cur >= want {
		return 0, nil
	}
	if f, err := os.OpenFile(inotifyOriginal, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
		_, werr := f.WriteString(strconv.Itoa(cur))
		if err := errors.Join(werr, f.Close()); err != nil {
			return 0, fmt.Errorf("fleet: %w", err)
		}
	} else if !errors.Is(err, os.ErrExist) {
		return 0, fmt.Errorf("fleet: %w", err)
	}
	if err := os.WriteFile(inotifyInstances, []byte(strconv.Itoa(want)), 0o644); err != nil {
		return 0, fmt.Errorf("fleet: raise %s to %d for %d nodes: %w", inotifyInstances, want, nodes, err)
	}
	return cur, nil
}

// restoreInotify puts the machine's own limit back once no fleet runs.
func restoreInotify() error {
	orig, err := readInt(inotifyOriginal)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(inotifyInstances, []byte(strconv.Itoa(orig)), 0o644); err != nil {
		return fmt.Errorf("fleet: restore %s: %w", inotifyInstances, err)
	}
	return os.Remove(inotifyOriginal)
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
