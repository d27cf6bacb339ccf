package realhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pressluft/runtime-readiness/internal/fleet"
	"github.com/pressluft/runtime-readiness/internal/fleet/fleettest"
)

// The package's nodes. Each test reads the state of the node it probes;
// what a profile does to a node only makes the states differ.
const (
	nodeReady    = "ready"       // the fleet's ready profile: the whole stack, the fleet's NOPASSWD user
	nodeUsers    = "rh-users"    // ready, plus one account per role (users_test.go), made after boot
	nodeServices = "rh-services" // nginx failed, php-fpm disabled, redis masked
	nodeAbsent   = "rh-absent"   // ready until TestAbsentPackage removes a package
	nodeRekey    = "rh-rekey"    // ready until TestChangedHostKey gives it a new host key
)

// profiles are the nodes to boot: all of them, or only the ready node
// for a speed run ($PRESSLUFT_BENCH_ROUNDS set, as scripts/bench.sh does),
// so that idle nodes do not share the cores with what is measured.
func profiles() []fleet.Profile {
	ready, ok := fleet.ProfileByName(nodeReady)
	if !ok {
		panic("realhost: the fleet has no ready profile")
	}
	if os.Getenv(roundsEnv) != "" {
		return []fleet.Profile{ready}
	}
	return []fleet.Profile{
		ready,
		{Name: nodeUsers, Doc: "ready; the tests add their accounts after boot"},
		{Name: nodeServices, Doc: "nginx fails at start, php8.2-fpm disabled (inactive), redis-server masked; mariadb and fail2ban active",
			Setup: `echo 'this is not nginx configuration;' >/etc/nginx/conf.d/broken.conf
systemctl disable --quiet php8.2-fpm.service
systemctl mask --quiet redis-server.service`},
		{Name: nodeAbsent, Doc: "ready; TestAbsentPackage removes a package with dpkg -r"},
		{Name: nodeRekey, Doc: "ready; TestChangedHostKey replaces its host key and restarts ssh.service"},
	}
}

// instance is the fleet instance this package boots: $PRESSLUFT_FLEET_INSTANCE
// when set (scripts/bench.sh sets fleettest.InstanceBench), else
// fleettest.InstanceRealHost.
func instance() int {
	if v, err := strconv.Atoi(os.Getenv(fleet.InstanceEnv)); err == nil {
		return v
	}
	return fleettest.InstanceRealHost
}

// fixture is the package's one fleet, booted by the first test that
// needs it and taken down by TestMain.
type fixture struct {
	fleet    *fleet.Fleet
	accounts map[role]account // on nodeUsers
	unlock   func()
}

var (
	fxOnce    sync.Once
	fx        *fixture
	fxErr     error
	fxSummary string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := closeFixture(); err != nil {
		fmt.Fprintf(os.Stderr, "realhost: clean-up: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// requireFixture skips tb unless the fleet can run here (fleettest.Require
// says why and how), boots the package's fleet on the first call, and
// fails tb when it could not boot.
func requireFixture(tb testing.TB) *fixture {
	tb.Helper()
	fleettest.Require(tb)
	booted := false
	fxOnce.Do(func() {
		booted = true
		fx, fxSummary, fxErr = newFixture()
	})
	if booted && fxSummary != "" {
		tb.Log(fxSummary)
	}
	if fxErr != nil {
		tb.Fatalf("realhost: fleet set-up: %v", fxErr)
	}
	return fx
}

// node is the node of that name, or a skip when this run did not boot
// it (a speed run boots only the ready node).
func (f *fixture) node(tb testing.TB, name string) fleet.Node {
	tb.Helper()
	n, ok := f.fleet.Node(name)
	if !ok {
		tb.Skipf("node %s is not booted in this run ($%s is set: only the ready node boots)", name, roundsEnv)
	}
	return n
}

func newFixture() (*fixture, string, error) {
	unlock, err := lockRuns(instance())
	if err != nil {
		return nil, "", err
	}
	fl, summary, err := fleettest.Boot(fleet.Config{Instance: instance(), Profiles: profiles()})
	if err != nil {
		unlock()
		return nil, "", err
	}
	f := &fixture{fleet: fl, accounts: map[role]account{}, unlock: unlock}
	if n, ok := fl.Node(nodeUsers); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, r := range roles {
			a, err := createAccount(ctx, n, r)
			if err != nil {
				return nil, "", errors.Join(err, f.close())
			}
			f.accounts[r] = a
		}
	}
	return f, summary, nil
}

func (f *fixture) close() error {
	err := f.fleet.Down()
	f.unlock()
	return err
}

// closeFixture takes the fleet down if a test booted it; a later
// requireFixture would not boot another.
func closeFixture() error {
	fxOnce.Do(func() {})
	var errs []error
	if fx != nil {
		errs = append(errs, fx.close())
	}
	if benchDir != "" {
		errs = append(errs, os.RemoveAll(benchDir))
	}
	return errors.Join(errs...)
}

// lockRuns serialises runs of this package on one fleet instance: a
// second run's fleet.Up would replace the first's nodes under it.
func lockRuns(inst int) (func(), error) {
	path := fmt.Sprintf("/run/lock/pressluft-realhost-%d.lock", inst)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
