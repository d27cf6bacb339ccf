package probe

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// wantFacts is what the probe must report for a profile, derived from the
// profile itself rather than from probe's own tables.
func wantFacts(p sshtest.Profile) *readiness.Facts {
	units := map[string]string{
		readiness.ComponentNginx: "nginx", readiness.ComponentPHPFPM: p.PHPUnit(),
		readiness.ComponentMariaDB: "mariadb", readiness.ComponentRedis: "redis-server",
		readiness.ComponentFail2ban: "fail2ban",
	}
	sudo := map[sshtest.SudoPolicy]readiness.SudoOutcome{
		sshtest.SudoNoPassword: readiness.SudoOK, sshtest.SudoPassword: readiness.SudoPasswordRequired,
		sshtest.SudoNotPermitted: readiness.SudoNotPermitted, sshtest.SudoMissing: readiness.SudoMissing,
		sshtest.SudoRequireTTY: readiness.SudoTTYRequired,
	}
	f := &readiness.Facts{
		ScriptVersion: ScriptVersion,
		OS:            p.OS.OSRelease,
		Systemd:       p.Systemd,
		Sudo:          sudo[p.Sudo],
		Components:    map[string]readiness.ComponentFacts{},
	}
	for _, name := range sshtest.Components() {
		c, ok := p.Components[name]
		if !ok {
			f.Components[name] = readiness.ComponentFacts{}
			continue
		}
		// The tool's version (mariadb: 10.11.8-MariaDB-...), which the
		// script reads only when no package covers the tool, and never
		// from wp (it would start PHP).
		v, _, _ := strings.Cut(c.Version, "-")
		if name == readiness.ComponentWPCLI {
			v = ""
		}
		if c.Package != "" {
			// The package's upstream version: 1:10.11.8-0ubuntu0... is 10.11.8.
			_, v, _ = strings.Cut(":"+c.Package, ":")
			if strings.Contains(v, ":") {
				_, v, _ = strings.Cut(v, ":")
			}
			v = v[:strings.LastIndex(v, "-")]
		}
		cf := readiness.ComponentFacts{Installed: true, Version: v, Package: c.Package}
		if u := units[name]; u != "" && p.Systemd {
			cf.Unit, cf.Service = u, c.Service
			if cf.Service == "" { // no unit: systemd does not know it
				cf.Service = "not-found"
			}
		}
		f.Components[name] = cf
	}
	// Extensions are the ini files in conf.d: 20-redis.ini loads redis.
	for _, ini := range p.PHPConfD() {
		_, ext, _ := strings.Cut(strings.TrimSuffix(ini, ".ini"), "-")
		f.PHPExtensions = append(f.PHPExtensions, ext)
	}
	slices.Sort(f.PHPExtensions)
	f.Health = wantHealth(p)
	return f
}

// wantHealth is the system state the probe must read from a profile: what
// its Health says, with the defaults sshtest documents.
func wantHealth(p sshtest.Profile) *readiness.Health {
	h := &readiness.Health{CloudInit: p.Health.CloudInit}
	if p.Systemd {
		h.SystemState = p.SystemState()
		if h.SystemState == "degraded" {
			var comp []string
			for u, st := range p.Units() {
				if st == "failed" && !slices.Contains([]string{"mysql", "mysqld", "redis"}, u) {
					comp = append(comp, u+".service")
				}
			}
			slices.Sort(comp)
			h.FailedUnits = comp
			for _, u := range p.Health.FailedUnits {
				h.FailedUnits = append(h.FailedUnits, u.Name)
			}
		}
	}
	debian := p.OS.ID == "ubuntu" || p.OS.ID == "debian"
	h.DpkgLockObserved = debian
	h.DpkgLockHolders = slices.Clone(p.Health.DpkgLockHolders)
	disks := slices.Clone(p.Health.Disks)
	if !slices.ContainsFunc(disks, func(d sshtest.Disk) bool { return d.MountPoint == "/" }) {
		disks = append(disks, sshtest.Disk{MountPoint: "/", Blocks: 10 << 20, Avail: 5 << 20, Files: 2621440, FreeFiles: 1310720})
	}
	slices.SortFunc(disks, func(a, b sshtest.Disk) int { return len(b.MountPoint) - len(a.MountPoint) })
	_, mariadb := p.Components[readiness.ComponentMariaDB]
	mysqlAt := "/"
	switch {
	case mariadb:
		mysqlAt = "/var/lib/mysql"
	case debian:
		mysqlAt = "/var/lib"
	}
	wwwAt := "/srv"
	if slices.ContainsFunc(disks, func(d sshtest.Disk) bool { return d.MountPoint == "/srv/www" }) {
		wwwAt = "/srv/www"
	}
	for _, pa := range [][2]string{{"/", "/"}, {"/var/lib/mysql", mysqlAt}, {"/srv/www", wwwAt}} {
		for i, d := range disks {
			if d.MountPoint == "/" || pa[1] == d.MountPoint || strings.HasPrefix(pa[1], d.MountPoint+"/") {
				h.Disks = append(h.Disks, readiness.DiskUsage{Path: pa[0], MeasuredAt: pa[1], FSID: fmt.Sprintf("%016x", 0x7f4a2f83e5c61900+uint64(i)),
					TotalBytes: d.Blocks * 4096, FreeBytes: d.Avail * 4096, TotalInodes: d.Files, FreeInodes: d.FreeFiles})
				break
			}
		}
	}
	if p.Health.RebootPackages != nil {
		h.RebootRequired = true
		for _, pkg := range p.Health.RebootPackages {
			if !slices.Contains(h.RebootPackages, pkg) {
				h.RebootPackages = append(h.RebootPackages, pkg)
			}
		}
	}
	return h
}

// checkOneRoundTrip asserts the node saw one connection with one exec of
// exactly Command.
func checkOneRoundTrip(t *testing.T, node *sshtest.Node) {
	t.Helper()
	if got := node.Connections(); got != 1 {
		t.Errorf("node saw %d connections, want 1", got)
	}
	execs := node.Execs()
	if len(execs) != 1 {
		t.Fatalf("node saw %d execs, want 1", len(execs))
	}
	if execs[0].Command != Command {
		t.Errorf("exec command = %q, want %q", execs[0].Command, Command)
	}
	if got, want := execs[0].StdinBytes, len(Script()); got != want {
		t.Errorf("exec stdin = %d bytes, want %d (the script)", got, want)
	}
	if got, want := execs[0].StdinSHA256, sha256.Sum256([]byte(Script())); got != want {
		t.Errorf("exec stdin SHA-256 = %x, want %x (the script's)", got, want)
	}
}

func TestObserveProfiles(t *testing.T) {
	t.Parallel()
	for _, p := range sshtest.Profiles() {
		if p.Fault != sshtest.FaultNone || p.Shell != sshtest.ShellSh || p.ShellStartupOutput != "" || p.AuthRejected || p.ExecRefused {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			node := sshtest.NewNodeT(t, p)
			checked := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
			clock := []time.Time{checked, checked.Add(1500 * time.Millisecond)}
			pr := &Prober{Now: func() time.Time { c := clock[0]; clock = clock[1:]; return c }}
			got := pr.Observe(context.Background(), "node-"+p.Name, node.Target())
			want := readiness.Observation{
				NodeID: "node-" + p.Name, User: sshtest.DefaultUser,
				HasAddress: true, Probed: true,
				CheckedAt: checked, Duration: 1500 * time.Millisecond,
				Facts: wantFacts(p),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Observe() mismatch (-want +got):\n%s", diff)
			}
			checkOneRoundTrip(t, node)
		})
	}
}

func TestObserveFailures(t *testing.T) {
	t.Parallel()
	otherKey := func() ssh.PublicKey {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}()
	unknown, err := sshexec.ParseKnownHosts(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		profile sshtest.Profile
		target  func(sshexec.Target) sshexec.Target
		want    readiness.Code
		reached readiness.Prerequisite // the step of the SSH chain the round trip got to
		execs   int                    // exec requests the node must see
	}{
		{"nologin", sshtest.NologinProfile(), nil, readiness.CodeSSHExecRejected, readiness.PrereqExec, 1},
		{"exec refused", sshtest.ExecRefusedProfile(), nil, readiness.CodeSSHExecRejected, readiness.PrereqExec, 1},
		{"auth rejected", sshtest.AuthRejectedProfile(), nil, readiness.CodeSSHAuthFailed, readiness.PrereqAuth, 0},
		{"host key mismatch", sshtest.ReadyProfile(), func(t sshexec.Target) sshexec.Target {
			t.HostKeys = sshexec.PinnedHostKeys(otherKey)
			return t
		}, readiness.CodeSSHHostKeyMismatch, readiness.PrereqHostKey, 0},
		{"host key unknown", sshtest.ReadyProfile(), func(t sshexec.Target) sshexec.Target {
			t.HostKeys = unknown
			return t
		}, readiness.CodeSSHHostKeyUnknown, readiness.PrereqHostKey, 0},
		{"refused", sshtest.FaultProfile(sshtest.FaultRefuseTCP), nil, readiness.CodeSSHUnreachable, readiness.PrereqTCP, 0},
		{"silent", sshtest.FaultProfile(sshtest.FaultSilent), nil, readiness.CodeSSHHandshakeFailed, readiness.PrereqSSHHandshake, 0},
		{"garbage banner", sshtest.FaultProfile(sshtest.FaultGarbageBanner), nil, readiness.CodeSSHHandshakeFailed, readiness.PrereqSSHHandshake, 0},
		{"hang after exec", sshtest.FaultProfile(sshtest.FaultHangAfterExec), nil, readiness.CodeProbeTimeout, readiness.PrereqExec, 1},
		{"drop mid output", sshtest.FaultProfile(sshtest.FaultDropMidOutput), nil, readiness.CodeProbeInterrupted, readiness.PrereqExec, 1},
		{"flood", sshtest.FaultProfile(sshtest.FaultFlood), nil, readiness.CodeProbeOutputInvalid, readiness.PrereqExec, 1},
		{"exit without status", sshtest.FaultProfile(sshtest.FaultExitNoStatus), nil, readiness.CodeProbeInterrupted, readiness.PrereqExec, 1},
		{"exit by signal", sshtest.FaultProfile(sshtest.FaultExitSignal), nil, readiness.CodeProbeInterrupted, readiness.PrereqExec, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			node := sshtest.NewNodeT(t, tt.profile)
			tg := node.Target()
			if tt.target != nil {
				tg = tt.target(tg)
			}
			// Short deadlines only where the case is about a deadline; the
			// rest get room for a loaded machine.
			client := &sshexec.Client{Timeout: 10 * time.Second}
			if f := tt.profile.Fault; f == sshtest.FaultSilent || f == sshtest.FaultHangAfterExec {
				client = &sshexec.Client{Timeout: 2 * time.Second, HandshakeTimeout: time.Second}
			}
			pr := &Prober{Client: client}
			got := pr.Observe(context.Background(), "n1", tg)
			if !got.Probed || !got.HasAddress || got.Facts != nil || got.Transport == nil {
				t.Fatalf("Observe() = %+v, want a transport failure", got)
			}
			if got.Transport.Code != tt.want {
				t.Errorf("code = %q (%s), want %q", got.Transport.Code, got.Transport.Detail, tt.want)
			}
			if got.Transport.Reached != tt.reached {
				t.Errorf("reached = %q, want %q", got.Transport.Reached, tt.reached)
			}
			if got.Transport.Detail == "" || strings.Contains(got.Transport.Detail, "available") ||
				strings.Contains(got.Transport.Detail, "flood") {
				t.Errorf("detail = %q, want a short description without remote output", got.Transport.Detail)
			}
			if c := node.Connections(); tt.profile.Fault != sshtest.FaultRefuseTCP && c != 1 {
				t.Errorf("node saw %d connections, want 1", c)
			}
			if n := len(node.Execs()); n != tt.execs {
				t.Errorf("node saw %d execs, want %d", n, tt.execs)
			}
		})
	}
}

func TestObserveCommandNeverVaries(t *testing.T) {
	t.Parallel()
	node := sshtest.NewNodeT(t, sshtest.ReadyProfile())
	pr := &Prober{}
	tg := node.Target()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		tg.Host = host
		obs := pr.Observe(context.Background(), "node; rm -rf / #$(id)", tg)
		if obs.Facts == nil {
			t.Fatalf("Observe(%s) = %+v, want facts", host, obs.Transport)
		}
	}
	for i, e := range node.Execs() {
		if e.Command != Command {
			t.Errorf("exec %d: command = %q, want %q", i, e.Command, Command)
		}
	}
}

func TestObserveWithoutAddress(t *testing.T) {
	t.Parallel()
	pr := &Prober{Client: &sshexec.Client{}}
	got := pr.Observe(context.Background(), "n1", sshexec.Target{User: "pressluft"})
	if got.Probed || got.HasAddress || got.Transport != nil || got.Facts != nil {
		t.Errorf("Observe() = %+v, want not probed and no address", got)
	}
}

func TestObserveLocalFailure(t *testing.T) {
	t.Parallel()
	// No client keys: sshexec refuses before dialing. The report must say
	// so (the control plane has no usable key), not "never probed".
	got := (&Prober{}).Observe(context.Background(), "n1", sshexec.Target{Host: "127.0.0.1", User: "u", HostKeys: sshexec.PinnedHostKeys()})
	want := &readiness.TransportFailure{Code: readiness.CodeSSHCredentialsUnavailable, Detail: "no client keys and no agent", Reached: readiness.PrereqTCP}
	if !got.Probed || !got.HasAddress || got.Facts != nil || !reflect.DeepEqual(got.Transport, want) {
		t.Errorf("Observe() = %+v (transport %+v), want probed with %+v", got, got.Transport, want)
	}
	if r := readiness.Evaluate(got, readiness.Baseline(), ""); r.PrimaryReason != readiness.CodeSSHCredentialsUnavailable {
		t.Errorf("primary reason = %s, want %s", r.PrimaryReason, readiness.CodeSSHCredentialsUnavailable)
	}
}

func TestInterpret(t *testing.T) {
	t.Parallel()
	valid := []byte(render(readyRecords()))
	tests := []struct {
		name string
		res  sshexec.Result
		want *readiness.TransportFailure
	}{
		{"ok", sshexec.Result{Stdout: valid}, nil},
		{"ok despite exit status", sshexec.Result{Stdout: valid, ExitStatus: 1}, nil},
		{"nologin", sshexec.Result{Stdout: []byte("This account is currently not available.\n"), ExitStatus: 1},
			&readiness.TransportFailure{Code: readiness.CodeSSHExecRejected, Detail: "the login shell did not run the probe (exit status 1)", Reached: readiness.PrereqExec}},
		{"forced command", sshexec.Result{Stdout: []byte{}, ExitStatus: 126},
			&readiness.TransportFailure{Code: readiness.CodeSSHExecRejected, Detail: "the login shell did not run the probe (exit status 126)", Reached: readiness.PrereqExec}},
		{"banner before the report", sshexec.Result{Stdout: append([]byte("Welcome!\n"), valid...)},
			&readiness.TransportFailure{Code: readiness.CodeProbeOutputInvalid, Detail: "line 1: missing header", Reached: readiness.PrereqExec}},
		{"script died", sshexec.Result{Stdout: valid[:200], ExitStatus: 2},
			&readiness.TransportFailure{Code: readiness.CodeProbeOutputInvalid, Detail: "output does not end with a newline (truncated)", Reached: readiness.PrereqExec}},
		{"signal", sshexec.Result{Stdout: valid, ExitSignal: "KILL", ExitStatus: 137},
			&readiness.TransportFailure{Code: readiness.CodeProbeInterrupted, Detail: "the probe was killed by signal KILL", Reached: readiness.PrereqExec}},
		{"odd signal name", sshexec.Result{ExitSignal: "SECRET output here"},
			&readiness.TransportFailure{Code: readiness.CodeProbeInterrupted, Detail: "the probe was killed by a signal", Reached: readiness.PrereqExec}},
		{"truncated", sshexec.Result{Stdout: valid, StdoutTruncated: true},
			&readiness.TransportFailure{Code: readiness.CodeProbeOutputInvalid, Detail: "the probe's output exceeds the client's limit", Reached: readiness.PrereqExec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			facts, got := interpret(&tt.res)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("interpret() failure mismatch (-want +got):\n%s", diff)
			}
			if (facts == nil) == (got == nil) {
				t.Errorf("interpret() = %v, %v; want exactly one", facts, got)
			}
		})
	}
}

// TestObserveBeforeDialing: a round trip that stops before its connection
// (a target without a host key policy, a context that has already ended)
// says it reached nothing, and its report passes no step of the SSH chain,
// although its code belongs to a later step.
func TestObserveBeforeDialing(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		target func(*sshexec.Target)
		want   readiness.Code
	}{
		{"no host key policy", context.Background(), func(t *sshexec.Target) { t.HostKeys = nil }, readiness.CodeSSHHostKeyUnknown},
		{"canceled before dialing", canceled, func(*sshexec.Target) {}, readiness.CodeProbeInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			node := sshtest.NewNodeT(t, sshtest.ReadyProfile())
			tg := node.Target()
			tt.target(&tg)
			got := (&Prober{}).Observe(tt.ctx, "n1", tg)
			if got.Transport == nil || got.Transport.Code != tt.want || got.Transport.Reached != readiness.PrereqTCP {
				t.Fatalf("transport = %+v, want %s having reached tcp", got.Transport, tt.want)
			}
			if c := node.Connections(); c != 0 {
				t.Errorf("node saw %d connections, want 0", c)
			}
			r := readiness.Evaluate(got, readiness.Baseline(), "")
			if r.PrimaryReason != tt.want {
				t.Errorf("primary reason = %s, want %s", r.PrimaryReason, tt.want)
			}
			for _, c := range r.Checks {
				if c.Status == readiness.CheckPass && c.Name != "lifecycle" && c.Name != "address" {
					t.Errorf("check %s passes, but nothing was dialed", c.Name)
				}
			}
		})
	}
}

// A node whose sshd drops one connection before the handshake (past
// MaxStartups) is ready in one Observe, over two connections; one that
// drops both is not ready for that reason, at the handshake step, and
// the report never says the handshake is broken.
func TestObservePreAuthDrop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		times int // connections dropped; 0 is every one
		want  readiness.Code
	}{
		{"dropped once", 1, ""},
		{"dropped twice", 2, readiness.CodeSSHConnectionDropped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := sshtest.ReadyProfile()
			p.Fault, p.FaultConnections = sshtest.FaultDropBeforeBanner, tt.times
			node := sshtest.NewNodeT(t, p)
			obs := (&Prober{Client: &sshexec.Client{Timeout: 10 * time.Second}}).Observe(context.Background(), "n1", node.Target())
			r := readiness.Evaluate(obs, readiness.Baseline(), "")
			if c := node.Connections(); c != 2 {
				t.Errorf("node saw %d connections, want 2", c)
			}
			if tt.want == "" {
				if r.State != readiness.StateReady {
					t.Fatalf("state = %s (%+v), want ready", r.State, r.Reasons)
				}
				if n := len(node.Execs()); n != 1 {
					t.Errorf("node saw %d execs, want 1", n)
				}
				return
			}
			if r.PrimaryReason != tt.want {
				t.Fatalf("primary reason = %q, want %q", r.PrimaryReason, tt.want)
			}
			if obs.Transport.Reached != readiness.PrereqSSHHandshake {
				t.Errorf("reached = %q, want ssh_handshake", obs.Transport.Reached)
			}
			if strings.Contains(obs.Transport.Detail, "failed") || !strings.Contains(obs.Transport.Detail, "MaxStartups") {
				t.Errorf("detail = %q, want the drop named, not a failed handshake", obs.Transport.Detail)
			}
		})
	}
}
