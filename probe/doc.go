// Package probe decides what the control plane checks on a node and reads
// the answer: one fixed shell script, run in one SSH round trip, and a
// strict parser that turns its output into readiness.Facts.
//
// Prober.Observe is the entry point: it runs the script through an
// sshexec.Client and returns a readiness.Observation for
// readiness.Evaluate. Parse reads the script's output on its own, for tests
// and for output obtained some other way. The zero Prober is ready to use
// (a zero sshexec.Client, time.Now); it holds no connections, so there is
// nothing to close.
//
// # The script
//
// Script returns a POSIX sh script, versioned by ScriptVersion and
// embedded from script.sh. It is a constant: nothing from the node record
// or the request (names, hosts, users) is ever spliced into it. The exec
// command is always Command, "exec /bin/sh -s", with the script on stdin,
// so it runs under /bin/sh whatever the user's login shell is, and a
// login shell that refuses commands (nologin) is recognised.
//
// The script sets LC_ALL=C, resets PATH, and reads files only under
// $PRESSLUFT_PROBE_ROOT (unset on real hosts; the test harness points it at
// a fake root). All its work happens in one function the shell reads in
// full before running, so nothing can swallow the script, and every
// command it starts has stdin from /dev/null. On a typical Ubuntu host it
// starts three commands, concurrently, so its wall time is the slowest of
// them rather than their sum:
//
//   - `sudo -n true` (exit status, stderr), when sudo is found; only when
//     it fails, `sudo -n -v` after it, in the same job: sudo 1.9 answers
//     `-n true` with "a password is required" both for a user who needs
//     a password and for one outside sudoers, and only `-n -v` tells the
//     second ("may not run sudo").
//   - one `grep -A15 -E '^Package: (NAME|...)$' /var/lib/dpkg/status` for
//     the Debian packages of every tool found (nginx nginx-core nginx-full
//     nginx-light nginx-extras, phpX.Y-fpm, mariadb-server-core*
//     mariadb-server, redis-server, wp-cli, fail2ban, rsync, unzip, curl),
//     when grep is found and the status file is readable. The script reads
//     the stanzas grep prints with builtins: a stanza starts at its
//     Package field (dpkg writes it first) and ends at the next one or at
//     grep's "--", and counts when its Status field's third word is
//     "installed" and it has a Version (dpkg writes Version within a
//     stanza's first 14 fields). Without grep or the status file, or when
//     grep fails (exit status over 1), one `dpkg-query -W` for the same
//     packages instead, when dpkg-query is found. Either way the first
//     installed package of a component, in the database's (name) order,
//     is the one reported.
//   - one `systemctl list-units --all --plain --no-legend --full` for
//     the units of every service found (nginx.service,
//     phpX.Y-fpm.service, mariadb.service, redis-server.service,
//     fail2ban.service), when /run/systemd/system exists and systemctl
//     is found; of each line only the first three fields, UNIT LOAD
//     ACTIVE, are read (SUB, the JOB column systemd adds when some unit
//     has a job, and the description, which has spaces, never are; a
//     first field that is not a unit name, a status glyph, which
//     --plain leaves out, is skipped). systemd lists only the units it
//     has in memory, so only for a unit it did not list (stopped and
//     disabled with nothing referencing it, as nginx is when disabled on
//     Debian 12, or absent), one `systemctl show -p
//     LoadState,ActiveState` for those units after it, in the same job.
//     Listed, LOAD and ACTIVE are the unit's LoadState and ActiveState,
//     what show prints. list-units costs about 3.7 ms on a fleet node
//     against 8.8-10.8 ms for show of the five units, which fetches every
//     property of each (GetAll); `systemctl is-active` would be cheaper
//     still but prints "inactive" for a masked or missing unit.
//
// Everything else is sh builtins: ID and VERSION_ID from /etc/os-release
// (or /usr/lib/os-release, one pair of quotes removed), whether
// /run/systemd/system exists, where each tool's executable is (php-fpm is
// the highest /usr/sbin/php-fpmX.Y), and the ini files in
// /etc/php/X.Y/fpm/conf.d, which name the extensions php-fpm loads in the
// Debian layout (a dangling link does not count). Only when needed does
// the script start more: a tool that no installed package covers (built
// from source, no dpkg) is asked for its version (nginx -v,
// php-fpmX.Y -v, mariadbd --version, redis-server --version,
// fail2ban-client --version, rsync --version, unzip -v, curl --version),
// except wp, which starts PHP and is never run; and without conf.d,
// `php-fpmX.Y -m` lists the modules.
//
// The script reports what it found; it interprets nothing. Versions,
// sudo's verdict and extension names are read in Go, where they are
// tested.
//
// # Output grammar
//
// The output is lines ending in LF:
//
//	output  = header *record trailer
//	header  = "pressluft-probe" SP version LF   ; version = "3"
//	record  = key SP value LF
//	trailer = "end" SP count LF                 ; count = number of records
//	key     = one of the keys below
//	value   = *(any byte but LF and NUL)        ; escaped: "\\" is a
//	                                            ; backslash, "\n" a newline
//
// A value holds at most 8 lines (4 for a tool's version output, 512 for
// php-fpm's extensions); a line over 512 bytes is replaced by an empty
// one, and no line is added once the escaped value would pass 3000 bytes,
// so each record is one write under PIPE_BUF and records written
// concurrently never mix. The keys, and when each must be present
// (exactly then; any other record is an error):
//
//	os.id, os.version_id     always; text, may be empty
//	systemd                  always; "yes" or "no"
//	sudo.path                always; absolute path, or empty: no sudo
//	sudo.exit, sudo.stderr   when sudo.path is set; exit status 0-255, text
//	sudo.validate_exit,      when sudo.exit is not 0: the same of
//	sudo.validate_stderr     `sudo -n -v`
//	C.path                   always, for each component C; empty: missing
//	C.package                when C.path is set and an installed package
//	                         covers it: "installed NAME VERSION", the
//	                         stanza's Package and Version (what
//	                         dpkg-query prints for ${db:Status-Status}
//	                         ${Package} ${Version})
//	C.version                when C.path is set, there is no C.package,
//	                         and C is not wp-cli; the tool's output
//	php-fpm.conf_d           when php-fpm.path is set and its conf.d
//	                         exists; the ini file names, one per line
//	php-fpm.modules          when php-fpm.path is set and there is no
//	                         conf.d; `php-fpm -m` stdout
//	C.unit, C.load, C.active when C.path is set, systemd is yes and C is a
//	                         service; the unit checked and its LoadState
//	                         and ActiveState: what systemctl list-units
//	                         printed for it (LOAD, ACTIVE), or, for a
//	                         unit it did not list, systemctl show (empty
//	                         without systemctl)
//	system.state             when systemd is yes; what `systemctl
//	                         is-system-running` printed (empty without
//	                         systemctl)
//	system.failed            when system.state is "degraded": the first
//	                         word (the unit) of each line `systemctl
//	                         list-units --state=failed --plain
//	                         --no-legend` printed
//	cloud_init.status,       always; "yes" or "no": whether
//	cloud_init.result        /run/cloud-init/status.json, result.json exist
//	reboot.required          always; "yes" or "no": /run/reboot-required
//	reboot.pkgs              when reboot.required is yes and
//	                         /run/reboot-required.pkgs exists: its lines
//	disk                     always; per path of readiness.DiskPaths
//	                         measured, "PATH DIR FSID BSIZE BLOCKS AVAIL
//	                         FILES FFREE": DIR the path or its nearest
//	                         existing parent, the rest what `stat -f -c
//	                         '%i %S %b %a %c %d'` printed for DIR
//	dpkg.lock_observed       always; "yes" when stat -L read the dpkg lock
//	                         files' device and inode and /proc/locks is
//	                         readable
//	dpkg.lock_holders        always; per POSIX or OFD write lock
//	                         /proc/locks lists on a lock file, "PATH TYPE
//	                         PID COMM" (COMM from /proc/PID/comm)
//
// Records may come in any order, each at most once. The trailer's count
// lets truncation be told from a short report, and the header must be the
// first line: a shell startup file that prints something makes the output
// invalid, as it would corrupt any other command's output too.
//
// # Parsing
//
// Parse is strict about the frame and lenient about the tools. Missing
// header, another version, an unknown or duplicate key, a missing or
// unexpected record, a malformed line or escape, a wrong trailer count,
// anything after the trailer, more than MaxOutput bytes, or OS text that
// is not printable UTF-8 all reject the whole output: Parse returns nil
// facts and an *OutputError wrapping ErrOutputInvalid. Its message names a
// line number and a fixed reason, never the output.
//
// Within a well-formed report, a component's Version is the upstream
// part of its package's version ("10.11.8" of "1:10.11.8-0ubuntu0.24.04.1",
// "6.0" of "6.0-28ubuntu4") and Package the whole; without a package,
// Version comes from the tool's output ("10.11.8" from "Ver
// 10.11.8-MariaDB-0ubuntu0...") and Package is empty. A tool whose output
// holds no version Parse recognises, and wp-cli without a package, are
// installed with an empty Version; the evaluator reports that as
// unrecognised rather than guessing. A package record must name an
// installed package of its component (php-fpm's of the same branch) with a
// valid Debian version, or the output is invalid. sudo's verdict comes
// from its exit status and its C-locale messages: "a password is
// required" is SudoPasswordRequired unless `sudo -n -v` then said "may
// not run sudo" (a user outside sudoers) or succeeded (a user who may run
// some commands without a password, not every one): both are
// SudoNotPermitted, as are "is not allowed to execute" and "may not run
// sudo" from `sudo -n true`; "must have a tty" is SudoTTYRequired; any
// other failure is SudoFailed (sudo_failed: said, not guessed). A unit's Service is
// its ActiveState when its LoadState is "loaded", and its LoadState
// otherwise ("masked", "not-found", ...). PHP extensions
// are the names of the conf.d ini files without priority and suffix
// ("20-redis.ini" is redis), or the module names under [PHP Modules] and
// [Zend Modules]; lowercased, sorted, de-duplicated.
//
// Version 3 added the system-state records (system.*, cloud_init.*,
// reboot.*, disk, dpkg.*). They are always present, so a version-2 parser
// would reject a version-3 report (unknown keys) and the version was
// bumped; Parse accepts only version 3. A dpkg lock is held only by a
// POSIX or OFD lock: dpkg and apt lock with fcntl(2), and a flock(2) on
// the file does not keep them out (on a Debian 12 node, `flock
// /var/lib/dpkg/lock-frontend sleep 600` running, `dpkg --configure -a`
// succeeded), so the script does not report flock holders.
//
// # Cost: one connection, one exec, three commands
//
// Observe makes one TCP connection and one exec request per call, whatever
// the outcome, and no retries: the whole check is a single round trip
// bounded by the client's Timeout (10s by default). The one exception is
// sshexec's: a connection the node's sshd drops before its banner or in
// key exchange (MaxStartups) is dialed once more within that Timeout;
// the exec still happens at most once. On a host whose tools
// come from packages the script starts three commands at once (sudo,
// grep, systemctl list-units) and no interpreter (PHP, Python); its report is a few
// kilobytes. grep is there for speed: dpkg-query parses the whole status
// database (716 KB on the Debian 12 host measured, 7-8 ms) whatever it is
// asked, while one grep over the same file takes about 1.5 ms and prints a
// few kilobytes, so the package job is no longer the script's critical
// path; `sudo -n true` (4-5 ms) is. Version 3 adds, concurrently with
// those, `systemctl is-system-running` (and, only on a degraded system,
// `systemctl list-units --state=failed`) in one job and `stat -f` for the
// three filesystems then `stat -L` for the two lock files in another;
// cloud-init's and the reboot marker's files and /proc/locks are read
// with builtins; `stat -L` runs only when a process other than mariadbd
// holds a write lock. On a fleet node that added about 3.6 ms to the
// script's 13 ms (one systemctl is 3.4 ms of CPU); reading the units'
// state with list-units instead of show then took 3.6-4.3 ms off the
// median (docs/performance.md, section 6), so that on a ready node the
// version-3 script costs about what version 2 did. On a node with a unit
// list-units does not list, list-units and then show cost about what
// show alone did (9.4 ms against 9.9 ms).
package probe
