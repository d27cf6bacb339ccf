//go:build unix

package sshexec

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock(2) on path, creating it (0600), and
// returns its release. It polls rather than blocks, so that a lock held
// by a stuck process costs at most timeout. The lock is on a sidecar
// file because the store replaces the known_hosts file by rename: a lock
// on the file itself would stay on the replaced inode, and the next
// process would lock the new one.
func lockFile(path string, timeout time.Duration) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, errors.New("another process holds the lock; timed out after " + timeout.String())
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// copyOwner gives f the owner and group of old, where the process may
// (as root); otherwise f keeps the process's.
func copyOwner(f *os.File, old fs.FileInfo) {
	if st, ok := old.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
