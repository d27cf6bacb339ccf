// Package readinesstest provides readiness fixtures for tests of packages
// built on readiness, the way net/http/httptest serves net/http: facts of a
// fully provisioned Ubuntu 24.04 node, and observations built from them.
package readinesstest

import (
	"time"

	"github.com/pressluft/runtime-readiness/readiness"
)

// ReadyFacts returns fresh probe facts of a node that meets the baseline:
// Ubuntu 24.04, systemd, passwordless sudo, every component installed,
// recent enough and active, php-fpm loading redis. Callers may change the
// result freely.
func ReadyFacts() *readiness.Facts {
	return &readiness.Facts{
		ScriptVersion: 3,
		OS:            readiness.OSRelease{ID: "ubuntu", VersionID: "24.04"},
		Systemd:       true,
		Sudo:          readiness.SudoOK,
		Components: map[string]readiness.ComponentFacts{
			readiness.ComponentNginx:    {Installed: true, Version: "1.24.0", Unit: "nginx", Service: "active"},
			readiness.ComponentPHPFPM:   {Installed: true, Version: "8.3.6", Unit: "php8.3-fpm", Service: "active"},
			readiness.ComponentMariaDB:  {Installed: true, Version: "10.11.8", Unit: "mariadb", Service: "active"},
			readiness.ComponentRedis:    {Installed: true, Version: "7.0.15", Unit: "redis-server", Service: "active"},
			readiness.ComponentWPCLI:    {Installed: true, Version: "2.10.0"},
			readiness.ComponentFail2ban: {Installed: true, Version: "1.0.2", Unit: "fail2ban", Service: "active"},
			readiness.ComponentRsync:    {Installed: true, Version: "3.2.7"},
			readiness.ComponentUnzip:    {Installed: true, Version: "6.00"},
			readiness.ComponentCurl:     {Installed: true, Version: "8.5.0"},
		},
		PHPExtensions: []string{"core", "mysqli", "redis"},
		Health:        Healthy(),
	}
}

// Facts returns ReadyFacts changed by fn.
func Facts(fn func(f *readiness.Facts)) *readiness.Facts {
	f := ReadyFacts()
	if fn != nil {
		fn(f)
	}
	return f
}

// Observed returns the observation of a completed probe of node id that
// reported f, checked at t by user "pressluft".
func Observed(id string, t time.Time, f *readiness.Facts) readiness.Observation {
	return readiness.Observation{NodeID: id, User: "pressluft", HasAddress: true, Probed: true, CheckedAt: t, Facts: f}
}

// Healthy returns the system state of a settled node: systemd running,
// cloud-init done, the dpkg lock free, no reboot pending, and 20 GiB of
// 40 GiB free with half the inodes on one filesystem holding every path
// of readiness.DiskPaths.
func Healthy() *readiness.Health {
	h := &readiness.Health{SystemState: "running", CloudInit: readiness.CloudInitDone, DpkgLockObserved: true}
	for _, p := range readiness.DiskPaths() {
		at := p
		if p == readiness.DiskSites {
			at = "/srv"
		}
		h.Disks = append(h.Disks, readiness.DiskUsage{Path: p, MeasuredAt: at, FSID: "a1b2c3d4e5f60718",
			TotalBytes: 40 << 30, FreeBytes: 20 << 30, TotalInodes: 2621440, FreeInodes: 1310720})
	}
	return h
}
