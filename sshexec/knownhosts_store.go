package sshexec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// KnownHosts is an OpenSSH known_hosts file used as a host key store: the
// policies it hands out read it, and its AcceptNew policy writes the keys
// it learns to it. Open it with OpenKnownHosts (the zero value is not a
// store); a KnownHosts is safe for concurrent use, holds no open file,
// and needs no closing.
//
// The file is the store: the policies follow changes that others make to
// it (an operator's edit, another process learning a key). Each lookup
// costs one stat of the file; it is parsed again only when its identity,
// size or modification time changed. A file that has become malformed or
// unreadable makes every lookup fail (ssh_host_key_unknown) until it is
// fixed, never "fall back" to what was read before.
type KnownHosts struct {
	path string
	// now is the clock for host certificate validity; nil means
	// time.Now. Tests set it.
	now func() time.Time

	learnMu sync.Mutex // serializes learns in this process

	mu     sync.Mutex // guards the cache below
	loaded bool
	info   fs.FileInfo // of the file parsed; nil when it was missing
	racy   bool        // info's mtime was too recent to trust
	db     *knownHosts
	err    error // why the file as of info could not be used
	parses int   // for tests: how often the file was parsed
}

// racyWindow is how recent a file's modification time may be for its
// cached parse to be re-validated by stat alone. A file modified within
// it may be modified again within the same timestamp granule, with the
// same size, and look unchanged; such a parse is redone on the next
// lookup (the way git treats "racily clean" index entries).
const racyWindow = 2 * time.Second

// lockTimeout bounds waiting for another process's learn to finish.
const lockTimeout = 5 * time.Second

// OpenKnownHosts opens the known_hosts file at path as a store. A missing
// file is an empty store, created (with its directory, 0700) by the first
// key learned. A malformed file is an error naming the file and line, as
// for KnownHostsFile.
func OpenKnownHosts(path string) (*KnownHosts, error) {
	if path == "" {
		return nil, errors.New("sshexec: known_hosts: empty path")
	}
	k := &KnownHosts{path: path}
	if _, err := k.current(); err != nil {
		return nil, err
	}
	return k, nil
}

// Path returns the file's path, as given to OpenKnownHosts.
func (k *KnownHosts) Path() string { return k.path }

// Strict returns a policy that trusts only what the file holds: its host
// keys, its @cert-authority lines, and none of its @revoked keys. A host
// the file has no key for is unknown (ssh_host_key_unknown).
func (k *KnownHosts) Strict() HostKeyPolicy { return storePolicy{k} }

// AcceptNew returns a trust-on-first-use policy that persists what it
// learns: a host the file has no key (and no certificate authority
// accepting the node's certificate) for is trusted with the first key it
// presents, which is written to the file before authentication proceeds
// (Result.HostKeyLearned is set). A key that differs from the file's,
// before or after a restart, is a mismatch and never written.
//
// The write re-reads the file under its lock: if another process or
// goroutine has meanwhile recorded a different key for the host, or
// revoked this one, the Run fails with ssh_host_key_mismatch and nothing
// is written. A write that fails (disk full, permissions, lock timeout)
// fails the Run with ssh_host_key_unknown: the key was not pinned.
func (k *KnownHosts) AcceptNew() HostKeyPolicy {
	return acceptNew{known: storePolicy{k}, persist: k.learn}
}

// storePolicy is the strict policy of a KnownHosts.
type storePolicy struct{ k *KnownHosts }

func (p storePolicy) lookup(host string, port int) hostKnowledge {
	db, err := p.k.current()
	if err != nil {
		return hostKnowledge{err: err}
	}
	know := db.lookup(host, port)
	know.now = p.k.now
	return know
}

// current returns the parsed file, re-reading it when it changed.
func (k *KnownHosts) current() (*knownHosts, error) {
	fi, err := os.Stat(k.path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return nil, fmt.Errorf("sshexec: known_hosts %s: %w", k.path, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded && !k.racy && sameFileState(k.info, fi) {
		return k.db, k.err
	}
	data, info, err := readKnownHosts(k.path)
	if err != nil {
		return nil, err
	}
	k.setLocked(data, info)
	return k.db, k.err
}

// setLocked caches the parse of data, read from the file described by
// info (nil: missing). k.mu is held.
func (k *KnownHosts) setLocked(data []byte, info fs.FileInfo) {
	k.parses++
	k.loaded, k.info = true, info
	k.racy = info != nil && time.Since(info.ModTime()) < racyWindow
	k.db, k.err = parseKnownHosts(bytes.NewReader(data), k.path)
}

// sameFileState reports whether a and b (nil: missing) describe the same
// file with the same size and modification time.
func sameFileState(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// readKnownHosts reads path, returning what it read with the state of
// the file it read it from; a missing file reads as empty, with nil info.
func readKnownHosts(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sshexec: known_hosts %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("sshexec: known_hosts %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("sshexec: known_hosts %s: not a regular file", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("sshexec: known_hosts %s: %w", path, err)
	}
	return data, info, nil
}

// hostKeyConflict is a learn refused because the file, re-read under its
// lock, holds another key for the host or revokes this one.
type hostKeyConflict struct{ detail string }

func (e *hostKeyConflict) Error() string { return "sshexec: known_hosts: " + e.detail }

// learn records key for hostport ("host:port") in the file: under the
// process's mutex and the file's lock, it re-reads the file, refuses a
// key that conflicts with it (*hostKeyConflict), and otherwise appends
// one line and replaces the file atomically.
func (k *KnownHosts) learn(hostport string, key ssh.PublicKey) error {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("sshexec: known_hosts: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 || CheckHost(host) != nil {
		return fmt.Errorf("sshexec: known_hosts: cannot record a key for %q", hostport)
	}
	key = plainKey(key)

	k.learnMu.Lock()
	defer k.learnMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("sshexec: known_hosts: %w", err)
	}
	// A symlink's target is the file: it is locked and replaced, the
	// link kept, so that stores opened through the link and through the
	// target exclude each other.
	target := k.path
	if resolved, err := filepath.EvalSymlinks(k.path); err == nil {
		target = resolved
	}
	unlock, err := lockFile(target+".lock", lockTimeout)
	if err != nil {
		return fmt.Errorf("sshexec: known_hosts %s: lock: %w", k.path, err)
	}
	defer unlock()

	data, info, err := readKnownHosts(target)
	if err != nil {
		return err
	}
	db, err := parseKnownHosts(bytes.NewReader(data), k.path)
	if err != nil {
		return err
	}
	if db.revoked[string(key.Marshal())] {
		return &hostKeyConflict{detail: "host key is revoked"}
	}
	if known := db.lookup(host, port).trusted; len(known) > 0 {
		for _, kk := range known {
			if sameKey(kk, key) {
				// Recorded meanwhile by someone else: nothing to write.
				k.cache(data, info)
				return nil
			}
		}
		return &hostKeyConflict{detail: "another host key was recorded for this host meanwhile"}
	}

	line := knownhosts.Line([]string{net.JoinHostPort(strings.ToLower(host), portText)}, key) + "\n"
	out := make([]byte, 0, len(data)+1+len(line))
	out = append(out, data...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, line...)
	newInfo, err := writeFileAtomic(target, out, info)
	if err != nil {
		return fmt.Errorf("sshexec: known_hosts %s: %w", k.path, err)
	}
	k.cache(out, newInfo)
	return nil
}

// cache records data, just read or written under the lock, as the
// file's current content.
func (k *KnownHosts) cache(data []byte, info fs.FileInfo) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.setLocked(data, info)
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same directory, with old's mode (and, where permitted, owner) or
// 0600 when old is nil, syncs it, renames it over path and syncs the
// directory. A reader sees the old file or the new one, never a part.
func writeFileAtomic(path string, data []byte, old fs.FileInfo) (fs.FileInfo, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	mode := fs.FileMode(0o600)
	if old != nil {
		mode = old.Mode().Perm()
		copyOwner(f, old)
	}
	if err := f.Chmod(mode); err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	renamed = true
	syncDir(dir)
	return info, nil
}
