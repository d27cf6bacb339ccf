// Package fleet boots a test fleet of real Debian 12 (bookworm) nodes on
// the machine it runs on: each node a systemd-nspawn container with
// systemd as PID 1, its own network namespace and address, a real sshd
// with its own host key, a real user, real sudoers and Debian's real
// packages (nginx, php8.2-fpm, php8.2-redis, mariadb, redis, fail2ban,
// rsync, unzip, curl, and a stand-in /usr/local/bin/wp, as Debian 12 has
// no wp-cli package). It is internal: a harness for tests that must see
// what a real node says, where sshtest's fake can only say what it was
// told. Everything needs root.
//
// # Lifecycle
//
// Up builds or reuses the base root, boots one node per Profile and
// returns a running Fleet; the caller must call Down, which stops every
// node it started (systemd's orderly halt; after 15s its immediate halt,
// SIGRTMIN+15; after 5s more SIGKILL; all by recorded PID and start time,
// never by name), unmounts the overlays
// and deletes the veths and namespaces. Down leaves nothing behind; a run
// that crashed before Down is cleaned up by the next Up, from the state
// file (DefaultStateDir, on /run). Up replaces any fleet its state file
// lists. The package-level Down and Status work from another process
// (scripts/fleet.sh down and status).
//
// WriteNodesFile writes nodes as the -nodes file of the example server
// (examples/devserver): each node's address, User, the fleet's client key
// file and its pinned host key. scripts/fleet.sh up writes one at
// NodesFilePath (nodes.json in the state directory, removed by Down) and
// prints the command that serves the fleet on the dashboard:
//
//	go run ./examples/devserver -nodes /run/pressluft-fleet/nodes.json -allow-os debian-12
//
// Fleets of different instances (Config.Instance, or
// $PRESSLUFT_FLEET_INSTANCE: 0 to 19) run side by side on one machine,
// for test packages or engineers working at once: instance k has its own
// state directory (/run/pressluft-fleet-k), namespaces and veths (plfk-N,
// plfkhN), cgroups, overlays and addresses (10.(213+k).0.0/16); they
// share the base root, which the first to need it builds under a lock.
//
// Every node's systemd, journald, dbus and fail2ban take inotify
// instances as root, the same user on the host; past about fifteen nodes
// the kernel's default limit of 128 runs out (units fail with result
// 'resources' and boots hang). Up raises fs.inotify.max_user_instances to
// 128 + 24 per node (of every running fleet) when it is lower, and the
// last fleet down restores the machine's own value.
//
// # The base root
//
// The base root is made by `debootstrap --variant=minbase` from Debian's
// mirror, with the packages above plus systemd, dbus, netbase, iproute2,
// sudo, openssh-server, nftables and python3-systemd (fail2ban reads
// sshd's journal: a minbase root has no syslog), and cloud-init (disabled
// by /etc/cloud/cloud-init.disabled on every node but the cloud-init
// health profiles, which seed it from NoCloud), then a set-up script
// (the stand-in wp, sshd's LogLevel VERBOSE and single ed25519 host key,
// the user). It is cached under the cache directory
// ($PRESSLUFT_FLEET_CACHE, default DefaultCacheDir) as base-RECIPE, where
// RECIPE is a hash of the suite, mirror, package list and set-up script:
// a changed recipe builds a new root and removes the old one. Debootstrap's
// downloaded packages are kept in the cache directory's debs/, so a
// rebuild fetches only what changed.
//
// # Nodes
//
// Each node has an overlayfs mount on the base root under the cache
// directory (a copy of it where overlayfs is unavailable), the per-node
// set-up (hostname, a new ed25519 host key, the fleet's client key in
// User's authorized_keys, NOPASSWD sudoers), then its Profile's Setup, all
// before it boots. Node i (from 0) of instance 0 lives in network
// namespace plf-(i+1), reached over veth plfh(i+1): 10.213.(i+1).1/30 on
// the host end, 10.213.(i+1).2/30 inside. Up refuses to run when the host
// already has a route into its instance's /16, so the fleet's addresses
// exist only on its own veths and no traffic goes anywhere else. Nodes boot with
//
//	systemd-nspawn -D ROOT -b --register=no --keep-unit --network-namespace-path=/run/netns/plf-N --capability=CAP_NET_ADMIN
//
// (without --register=no --keep-unit nspawn needs a system bus on the
// host), each started in a cgroup of its own, pressluft-fleet/plf-N at the
// root of each cgroup hierarchy (with --keep-unit nspawn splits the cgroup
// it starts in into supervisor and payload, so nodes started in one cgroup
// shared one tree: units failed at boot with 219/CGROUP, halts stalled, and
// a node whose systemd-user-sessions failed kept /run/nologin and refused
// logins); Down removes them. Nodes are up when `systemctl is-system-running --wait`, run in the
// node through nsenter, says running or degraded and sshd accepts TCP
// connections. Exec runs a command inside a node the same way, for tests
// that read a node's real state or its journal.
//
// # Cost
//
// Measured on a 2-core, 24 GiB Debian 12 machine: a cold base build
// (debootstrap with downloads) took about 4 minutes and leaves a 656 MiB
// root; a cached one costs nothing. One node alone boots (nspawn start to
// systemd running and ssh.service active) in about 1.5-3 s; twelve booted
// at once took 7-15 s each (13-16 s for the whole Up) and added about
// 1.2-1.3 GiB to the machine's memory in use; eighteen took about 21 s
// and added about 1.7 GiB (roughly 100 MiB a node); twenty, each in its
// own cgroup, took 24-27 s and added about 2.1 GiB on a loaded machine.
// Down takes about 10 s for twenty nodes; a node whose halt stalls (seen
// before nodes had cgroups of their own) adds up to 20 s.
//
// # Tests
//
// The package's tests boot the fleet and probe every node with the real
// prober. They are opt-in: they skip unless PRESSLUFT_FLEET=1 is set and
// they run as root with debootstrap, systemd-nspawn, ip and nsenter:
//
//	sudo apt-get install debootstrap systemd-container iproute2
//	sudo env PRESSLUFT_FLEET=1 "PATH=$PATH" go test ./internal/fleet/ -v
package fleet

// User is the account the control plane logs in as on every node.
const User = "pressluft"
