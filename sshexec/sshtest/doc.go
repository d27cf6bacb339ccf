// Package sshtest runs fake SSH nodes in-process for tests, the way
// net/http/httptest runs HTTP servers.
//
// A Node listens on 127.0.0.1 with a freshly generated ed25519 host key and
// accepts one freshly generated ed25519 client key. It runs every exec
// request for real, as `/bin/sh -c COMMAND`, against a temporary fake root
// that the node's Profile describes, so a probe script sent with
// `exec /bin/sh -s` on stdin runs end to end with no canned output:
//
//	n := sshtest.NewNodeT(t, sshtest.ReadyProfile())
//	res, err := new(sshexec.Client).Run(ctx, n.Target(), "exec /bin/sh -s", script)
//
// # Profiles
//
// A Profile is the simulated machine: os-release, whether systemd is the
// init system, the sudo policy, installed runtime components with their
// versions and service states, php-fpm's modules, and how authentication
// and exec requests are answered. The zero Profile is a reachable host with
// passwordless sudo and nothing else (no os-release, no systemd, no
// components). ReadyProfile and the other constructors return fresh,
// realistic values (Ubuntu 24.04 with the full stack, each sudo failure,
// a missing, old, stopped, failed, masked or unit-less component, Debian
// 12, nologin, a ~/.bashrc that prints, a node still booting, degraded,
// with the dpkg lock held, a full site root, a reboot pending, ...);
// Profiles lists them all by name for table tests and CLIs.
//
// For each profile the node writes, under a directory that its commands
// see as $PRESSLUFT_PROBE_ROOT: etc/os-release, run/systemd/system/ (only
// with systemd), php-fpm's conf.d with one ini file per loadable
// extension (etc/php/X.Y/fpm/conf.d/20-redis.ini, ...; see PHPConfD),
// dpkg's database var/lib/dpkg/status with a stanza for each of
// Profile.Packages (Debian-based OS only; see DpkgStatus), the system
// state of Profile.Health (srv/ and its mount points, var/lib/mysql with
// mariadb, the dpkg lock files, proc/locks and proc/PID/comm as Linux 6.1
// writes them, run/cloud-init/status.json and result.json,
// run/reboot-required and reboot-required.pkgs as Ubuntu's update-notifier
// writes them), usr/bin/grep, a
// symlink to the machine's real grep (absent if the machine has none), and
// #!/bin/sh stubs built from shell builtins only, at the real Ubuntu paths
// (or a Component's Path):
//
//	/usr/bin/sudo            sudo -n CMD and sudo -n -v per Profile.Sudo, with sudo 1.9's real messages
//	/usr/bin/systemctl       is-active UNIT..., show [-p PROP,...] UNIT..., is-system-running,
//	                         list-units [--all] [--state=S] --plain --no-legend [--full] [PATTERN...]
//	                         as systemd 252 prints them (or the "not booted with systemd" error);
//	                         list-units lists only the units systemd would keep in memory: not a
//	                         component whose Service is "inactive" (taken for stopped and disabled,
//	                         as the fleet's -stopped nodes are; mariadb's stays, triggered by its
//	                         socket) or not-found, nor an alias
//	/usr/bin/stat            -f -c '%n %i %S %b %a %c %d' DIR... (Profile.Health's Disks) and
//	                         -L -c '%n %d %i' for the dpkg lock files, as coreutils 9.1 prints them
//	/usr/bin/dpkg-query      -W [-f FORMAT] PATTERN... over Profile.Packages (Debian-based OS only)
//	/usr/sbin/nginx          -v, -V (on stderr)
//	/usr/sbin/php-fpmX.Y     -v, -m
//	/usr/sbin/mariadbd       --version
//	/usr/bin/redis-server    --version
//	/usr/local/bin/wp        --version
//	/usr/bin/fail2ban-client --version
//	/usr/bin/rsync           --version
//	/usr/bin/unzip           -v
//	/usr/bin/curl            --version
//
// The stubs print what the real tools print, byte for byte, for those
// invocations; any other invocation prints "sshtest: the TOOL stub does not
// simulate: ARGS" on stderr and exits 2. dpkg-query is generic, like the
// real one: it lists the profile's packages (each component's Package,
// plus ExtraPackages) for any patterns and format (DpkgQueryScript). The
// real grep reads the same packages from the generated status file: a
// real tool over a fake database, no canned output. No other utility
// exists in the root. The command's environment is only
// PATH=/usr/bin:/bin, HOME (a temporary directory), PRESSLUFT_PROBE_ROOT,
// USER and LOGNAME. The root is built on the first exec that needs it and
// shared by every later exec of the same profile and user (until
// SetProfile): commands must not change it.
//
// # Faults
//
// Profile.Fault injects one transport fault: a refused port, a silent
// peer, a non-SSH banner, a slow handshake, an exec that never answers,
// a connection dropped mid-output, a flood of output, an exit without
// status, or an exit by signal; and what sshd does past MaxStartups: a
// connection closed or reset before the banner, or closed during key
// exchange. Profile.FaultConnections limits the fault to the first
// connections (dropped once, then served). AuthRejected, Shell
// (ShellNologin) and ExecRefused simulate the authentication and exec
// failures, and ShellStartupOutput a shell startup file that prints
// before every command (the report's header is then not its first line).
// Each Fault constant documents what the client sees.
//
// # Host certificates
//
// A Node presents its plain host key until it is given a certificate of
// it: CertifyHostKey signs the host key with a CA signer for the given
// principals (valid from an hour ago for a day) and presents the result;
// SetHostCertificate presents any certificate of the host key as given,
// expired, misaddressed, of the wrong type or badly signed, for tests of
// the client's checks. Like sshd with HostCertificate, the node then
// offers both the certificate and the plain key; the client's host key
// algorithms choose. Target's policy still pins the plain key.
//
// # Recording
//
// Like httptest.ResponseRecorder, a Node records what it saw:
// Connections counts accepted TCP connections and Execs returns the exec
// requests (user, command, time, whether refused, and the size and SHA-256
// of the stdin sent, so a test can check which script ran), and
// OfferedKeys the public keys clients offered for authentication (so a
// test can check that a client offers a node only its own key). Reset
// forgets them all.
//
// # Lifecycle
//
// NewNode returns a running node and panics with a message starting
// "sshtest: " when it cannot set up (key generation, temp dir, listener);
// NewNodeT also registers Close with t.Cleanup. The caller must call
// Close, which closes the listener and every connection (including ones
// still in the handshake), kills the process group of every running
// command, waits for every goroutine and process the node started, and
// removes the temp dir. Goroutines internal to golang.org/x/crypto/ssh and
// gliderlabs/ssh end on their own once their connection is closed.
//
// SetProfile swaps the simulated host at runtime (a service stops, a fault
// starts); exec requests that arrive afterwards see the new profile. A
// failure to build the fake root or start /bin/sh during an exec is
// reported to the client as "sshtest: ..." on stderr with exit status 255.
//
// # Cost
//
// A node costs a listener, two key pairs and a temp dir. The first exec of
// a profile writes a few dozen small files; every exec forks /bin/sh plus
// one shell per stub invoked. A full probe run takes milliseconds.
//
// SetReplay(true) trades that for a record: the first exec of a command
// with a given stdin runs for real and every identical one after it is
// answered with the same stdout, stderr and exit status without starting a
// process. The SSH side (handshake, auth, channel, Execs) is unchanged.
// It is for load and fleet measurements, where a thousand fake nodes'
// shells would otherwise run on the cores the measurement is about; on a
// real fleet that work is done by the nodes.
package sshtest
