// Package parity holds the test that keeps the probe path SSH-only: every
// node, the control plane's own host included, is probed over SSH, so no
// package on that path may start a local process.
package parity

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// probePath are the directories (recursively) whose non-test Go files make
// up the probe path.
var probePath = []string{"readiness", "probe", "sshexec", "preflight"}

// harness directories simulate a remote host and may start processes, but
// never import os/exec (they use os.StartProcess, like a remote sshd would
// fork a shell).
var harness = map[string]bool{filepath.Join("sshexec", "sshtest"): true}

func TestProbePathHasNoLocalShell(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	for _, dir := range probePath {
		base := filepath.Join(root, dir)
		if _, err := os.Stat(base); os.IsNotExist(err) {
			continue
		}
		err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p == "os/exec" {
					t.Errorf("%s imports os/exec: the probe path reaches nodes over SSH only", path)
				}
			}
			if harness[rel] {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, banned := range []string{"os.StartProcess", "syscall.Exec", "syscall.ForkExec", "unix.Exec"} {
				if strings.Contains(string(src), banned) {
					t.Errorf("%s calls %s: the probe path reaches nodes over SSH only", path, banned)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no files checked: the probe path moved?")
	}
}
