// Package scripts_test checks the logic inside the project's shell
// scripts that decides whether a run passed.
package scripts_test

import (
	"errors"
	"os/exec"
	"testing"
)

// TestFuzzClassify: scripts/fuzz.sh lets a run pass only when its log is
// the fuzzing coordinator's bare deadline (golang/go#75804); a failing
// input, a panic, a test failure, or a log without that line is a failure.
func TestFuzzClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		log      string
		deadline bool
	}{
		{"deadline.log", true},
		{"failing-input.log", false},
		{"deadline-and-panic.log", false},
		{"test-failure.log", false},
		{"pass.log", false},
	}
	for _, tt := range tests {
		err := exec.Command("bash", "fuzz.sh", "--classify", "testdata/fuzzlogs/"+tt.log).Run()
		var exit *exec.ExitError
		switch {
		case err == nil && !tt.deadline:
			t.Errorf("%s: classified as the coordinator's deadline, want a failure", tt.log)
		case err != nil && !errors.As(err, &exit):
			t.Fatalf("%s: running fuzz.sh: %v", tt.log, err)
		case err != nil && tt.deadline:
			t.Errorf("%s: classified as a failure (%v), want the coordinator's deadline", tt.log, err)
		}
	}
}
