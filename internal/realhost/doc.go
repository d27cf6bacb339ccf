// Package realhost holds integration tests that probe real machines:
// Debian 12 nodes of the test fleet (internal/fleet), each booted by
// systemd under systemd-nspawn in its own network namespace, with a real
// OpenSSH server, real sudo, real users and Debian's real packages. They
// check that the readiness report says what the node is, and never what
// the machine running the tests (the control plane's host) is.
//
// The package has no API; everything is in its tests. They are opt-in,
// as every fleet test is (fleettest.Require says why a run skips): they
// need root and PRESSLUFT_FLEET=1. The first test that needs the fleet
// boots it, one fleet for the package on instance
// fleettest.InstanceRealHost ($PRESSLUFT_FLEET_INSTANCE overrides it),
// and TestMain takes it down at the end; a run killed before that is
// cleaned up by the next fleet.Up. Runs on one instance are serialised by
// a lock file. The nodes are disposable overlays on the fleet's base
// root, so the tests change them freely and undo nothing: accounts and
// sudoers.d files (checked by the node's visudo) are made inside a
// running node, a package is removed with the node's dpkg -r, a host key
// replaced with its ssh-keygen and a restart of ssh.service. Nothing is
// installed on, or changed on, the machine the tests run on.
//
// # Running
//
//	sudo apt-get install debootstrap systemd-container iproute2   # once
//	sudo env PRESSLUFT_FLEET=1 "PATH=$PATH" go test -race ./internal/realhost/ -v
//
// # Nodes
//
// ready (the fleet's ready profile), rh-users (the accounts of
// users_test.go: NOPASSWD, a password, outside sudoers, requiretty, one
// command only, !authenticate, nologin, a printing .bashrc), rh-services
// (nginx failed, php-fpm inactive, redis masked), rh-absent and rh-rekey
// (ready, changed by their tests). The five boot together in about 2-2.5 s
// and add about 450-550 MiB to the machine's memory in use; the package's
// tests take about 10 s in all.
//
// # Expectations come from the node
//
// The expected reasons are derived from the node, read inside it
// (fleet.Exec, through nsenter), not from a table: the OS from
// /etc/os-release, systemd from /run/systemd/system, what is installed
// and at which version from dpkg-query, whether php-fpm loads the redis
// extension from php-fpm -m, what each user may do from `sudo -l -U`, and
// the unit states from `systemctl show` (LoadState and ActiveState, one
// property at a time). The same code reads the control plane's host: the
// tests of acceptance criterion 6 (absent_test.go) pick what the two
// disagree on, a package the host has and the node lacks and components
// the node has and the host lacks, so a probe that read the host would
// fail them.
//
// One connection and one exec per evaluation is asserted from a node's
// own sshd journal in internal/fleet (journal_test.go), not here.
//
// # Speed
//
// bench_test.go times four ways of checking the fleet's ready node as the
// fleet's NOPASSWD user with the fleet's key: a full evaluation through
// the SDK (BenchmarkRealEvaluate), the floor of dial + auth + exec `true`
// through sshexec.Client (BenchmarkRealFloor), OpenSSH's ssh running the
// probe script (BenchmarkRealSSHClient) and a cold `ansible -m ping -b`
// (BenchmarkRealAnsiblePing; ssh and ansible-core come from
// scripts/realhost-setup.sh --bench, and a case whose tool is missing
// skips). TestRealSpeedTable runs them interleaved for
// PRESSLUFT_BENCH_ROUNDS rounds and prints medians and ratios against the
// targets; without that variable it skips, and with it only the ready
// node boots. Nothing asserts a speed. scripts/bench.sh runs it (ONLY=real,
// on instance fleettest.InstanceBench); docs/performance.md records the
// figures.
package realhost
