package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pressluft/runtime-readiness/readiness"
)

func TestHealthFakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fake    string
		code    int
		state   readiness.State
		primary readiness.Code
		warning readiness.Code
	}{
		{"booting", exitNotReady, readiness.StatePending, readiness.CodeNodeBooting, ""},
		{"degraded", exitReady, readiness.StateReady, "", readiness.CodeSystemDegraded},
		{"dpkg-locked", exitReady, readiness.StateReady, "", readiness.CodePackageManagerBusy},
		{"disk-low", exitNotReady, readiness.StateNotReady, readiness.CodeDiskSpaceLow, ""},
		{"reboot-required", exitReady, readiness.StateReady, "", readiness.CodeRebootRequired},
	}
	for _, tt := range tests {
		t.Run(tt.fake, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, "-fake", tt.fake, "-json")
			if code != tt.code {
				t.Fatalf("exit = %d, want %d; stderr %q", code, tt.code, stderr)
			}
			var r readiness.Report
			require.NoError(t, json.Unmarshal([]byte(stdout), &r))
			if r.State != tt.state || r.PrimaryReason != tt.primary {
				t.Errorf("got %s/%q, want %s/%q", r.State, r.PrimaryReason, tt.state, tt.primary)
			}
			if tt.warning != "" && (len(r.Reasons) != 1 || r.Reasons[0].Code != tt.warning || r.Reasons[0].Severity != readiness.SeverityWarning) {
				t.Errorf("got reasons %+v, want one %s warning", r.Reasons, tt.warning)
			}
		})
	}
}

func TestHumanOutputShowsHealth(t *testing.T) {
	t.Parallel()
	_, stdout, _ := runCLI(t, nil, "-fake", "disk-low,dpkg-locked")
	for _, want := range []string{
		"=> disk_space_low [/srv/www] (blocking)",
		"observed: 0.0 MiB (0%) free of 64.0 MiB, 99% inodes free, at /srv/www; required: >= 2.0 GiB and >= 5% free, >= 5% inodes free",
		"health: systemd: running; no failed units; dpkg lock free; reboot not required; / 20.0 GiB (50%) free",
		"   package_manager_busy (warning)",
		"fix: Wait for apt-get (pid 581) to finish",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
