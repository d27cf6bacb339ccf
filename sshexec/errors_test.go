package sshexec_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
)

func TestError(t *testing.T) {
	t.Parallel()
	e := &sshexec.Error{Phase: sshexec.PhaseDial, Code: readiness.CodeSSHUnreachable, Detail: "connection refused", Err: io.EOF}
	if got, want := e.Error(), "sshexec: dial: connection refused: EOF"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(e, io.EOF) {
		t.Error("got errors.Is(e, io.EOF) false, want true")
	}
	wrapped := fmt.Errorf("probe: %w", e)
	tests := []struct {
		name string
		err  error
		want readiness.Code
	}{
		{"nil", nil, ""},
		{"plain", io.EOF, ""},
		{"direct", e, readiness.CodeSSHUnreachable},
		{"wrapped", wrapped, readiness.CodeSSHUnreachable},
		{"no code", &sshexec.Error{Phase: sshexec.PhaseConfig, Detail: "x"}, ""},
	}
	for _, tt := range tests {
		if got := sshexec.CodeOf(tt.err); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
