// Package realhost holds integration tests that probe the machine they run
// on through a real OpenSSH server, real sudo and the real packages of the
// distribution, and check that the readiness report says what the host is.
//
// The package has no API; everything is in its tests. They need root: they
// start /usr/sbin/sshd on a free 127.0.0.1 port with a generated host key,
// create local users (named plrt-<random>-<role>) with sudoers.d files
// validated by visudo, and remove all of it when they end. For one case
// they remove the unzip package with dpkg and reinstall it from the .deb
// scripts/realhost-setup.sh keeps. Runs of the package are serialised by a
// lock file, so two runs never see each other's users or packages.
//
// # Running
//
//	sudo scripts/realhost-setup.sh             # once: openssh-server, sudo, nginx, php-fpm, ...
//	sudo go test -race ./internal/realhost/ -v
//
// Run as another user, the tests skip and say how to run them. Run as root
// on a machine without the packages, they skip too, unless CI=true or
// PRESSLUFT_REALHOST_SETUP=1, which make them run scripts/realhost-setup.sh
// first.
//
// # Expectations come from the host
//
// The expected reasons are derived from the machine, not from a table: the
// OS from /etc/os-release, systemd from /run/systemd/system, what is
// installed and at which version from dpkg-query, whether php-fpm loads the
// redis extension from php-fpm -m, what each user may do from `sudo -l -U`,
// and with systemd the unit states from `systemctl is-active`. On a host
// without systemd (a container) the service checks are skipped, blocked by
// service_manager_unavailable; on a systemd host the same tests compare the
// service checks with the real unit states.
//
// # Speed
//
// bench_test.go times four ways of checking the same sshd as the same
// NOPASSWD user with the same key: a full evaluation through the SDK
// (BenchmarkRealEvaluate), the floor of dial + auth + exec `true` through
// sshexec.Client (BenchmarkRealFloor), OpenSSH's ssh running the probe
// script (BenchmarkRealSSHClient) and a cold `ansible -m ping -b`
// (BenchmarkRealAnsiblePing; ssh and ansible-core come from
// scripts/realhost-setup.sh --bench, and a case whose tool is missing
// skips). TestRealSpeedTable runs them interleaved for
// PRESSLUFT_BENCH_ROUNDS rounds and prints medians and ratios against the
// targets; without that variable it skips. Nothing asserts a speed.
// scripts/bench.sh runs it; docs/performance.md records the figures.
package realhost
