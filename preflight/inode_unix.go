//go:build unix

package preflight

import (
	"os"
	"syscall"
)

// inode is the file's inode number, so a key file replaced by rename is
// read again even when its size and time match the old one.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
