package readiness_test

import (
	"fmt"
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

func ExampleEvaluate() {
	obs := readiness.Observation{
		NodeID:     "node-1",
		User:       "pressluft",
		HasAddress: true,
		Probed:     true,
		CheckedAt:  time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Facts: &readiness.Facts{
			ScriptVersion: 1,
			OS:            readiness.OSRelease{ID: "ubuntu", VersionID: "24.04"},
			Systemd:       true,
			Sudo:          readiness.SudoPasswordRequired,
			Components: map[string]readiness.ComponentFacts{
				readiness.ComponentNginx: {Installed: true, Version: "1.24.0", Unit: "nginx", Service: "active"},
			},
		},
	}
	policy := readiness.Baseline().WithoutComponent(readiness.ComponentPHPFPM).
		WithoutComponent(readiness.ComponentMariaDB).WithoutComponent(readiness.ComponentRedis).
		WithoutComponent(readiness.ComponentWPCLI).WithoutComponent(readiness.ComponentFail2ban).
		WithoutComponent(readiness.ComponentRsync).WithoutComponent(readiness.ComponentUnzip)
	r := readiness.Evaluate(obs, policy, readiness.OperationSiteCreate)
	fmt.Println(r.State, r.PrimaryReason)
	for _, x := range r.Reasons {
		fmt.Println(x.Code, x.Component, x.Prerequisite)
	}
	// Output:
	// not_ready sudo_password_required
	// sudo_password_required  privilege
	// runtime_component_missing curl runtime
}

func ExampleCompareVersions() {
	c, _ := readiness.CompareVersions("1:10.11.8-0ubuntu0.24.04.1", "10.11")
	fmt.Println(c)
	c, _ = readiness.CompareVersions("1.0~rc1", "1.0")
	fmt.Println(c)
	// Output:
	// 1
	// -1
}
