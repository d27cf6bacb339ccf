//go:build !unix

package sshexec

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// lockFile is unavailable here: without a lock that other processes
// honor, learning a key could lose another process's, so it fails.
func lockFile(string, time.Duration) (func(), error) {
	return nil, errors.New("file locking is not supported on this platform")
}

func copyOwner(*os.File, fs.FileInfo) {}

func syncDir(string) {}
