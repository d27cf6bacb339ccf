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
// a fake root). Besides sh builtins it runs only the tools it checks, each
// with stdin from /dev/null, and all its work happens in one function the
// shell reads in full before running, so nothing can swallow the script.
// It checks:
//
//   - os.id, os.version_id: ID and VERSION_ID from /etc/os-release (or
//     /usr/lib/os-release), one pair of quotes removed.
//   - systemd: whether /run/systemd/system exists.
//   - sudo: `command -v sudo`, then `sudo -n true` (exit status, stderr).
//   - each runtime component (nginx, php-fpm, mariadb, redis, wp-cli,
//     fail2ban, rsync, unzip, curl): where its executable is and what its
//     version flag prints (stdout and stderr together, as printed). php-fpm
//     is the highest /usr/sbin/php-fpmX.Y, with `php-fpmX.Y -m` for its
//     modules. With systemd, `systemctl is-active UNIT` for the services
//     (nginx, phpX.Y-fpm, mariadb, redis-server, fail2ban) that are
//     installed.
//
// The script reports what the tools print; it interprets nothing. Version
// numbers, sudo's verdict and module names are read in Go, where they are
// tested.
//
// # Output grammar
//
// The output is lines ending in LF:
//
//	output  = header *record trailer
//	header  = "pressluft-probe" SP version LF   ; version = "1"
//	record  = key SP value LF
//	trailer = "end" SP count LF                 ; count = number of records
//	key     = one of the keys below
//	value   = *(any byte but LF and NUL)        ; escaped: "\\" is a
//	                                            ; backslash, "\n" a newline
//
// A value holds at most 8 lines of a tool's output (512 for php-fpm -m);
// a line over 512 bytes is replaced by an empty one. The keys, and when
// each must be present (exactly then; any other record is an error):
//
//	os.id, os.version_id     always; text, may be empty
//	systemd                  always; "yes" or "no"
//	sudo.path                always; absolute path, or empty: no sudo
//	sudo.exit, sudo.stderr   when sudo.path is set; exit status 0-255, text
//	C.path                   always, for each component C; empty: missing
//	C.version                when C.path is set; the tool's output
//	php-fpm.modules          when php-fpm.path is set; `php-fpm -m` stdout
//	C.unit, C.active         when C.path is set, systemd is yes and C is a
//	                         service; the unit checked and what systemctl
//	                         is-active printed (empty without systemctl)
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
// Within a well-formed report, a tool whose output does not contain a
// version Parse recognises is installed with an empty Version; the
// evaluator reports that as unrecognised rather than guessing. Versions
// are the upstream numbers ("10.11.8" from "Ver 10.11.8-MariaDB-0ubuntu0...").
// sudo's verdict comes from its exit status and its C-locale messages:
// "a password is required" (also what a user outside sudoers gets with -n),
// "is not allowed to execute" or "may not run sudo", "must have a tty"; any
// other failure is SudoFailed (sudo_failed: said, not guessed). PHP extensions are the
// lowercased, sorted, de-duplicated names under [PHP Modules] and
// [Zend Modules].
//
// # Cost: one connection, one exec
//
// Observe makes one TCP connection and one exec request per call, whatever
// the outcome, and no retries: the whole check is a single round trip
// bounded by the client's Timeout (10s by default). The script starts each
// checked tool once (php-fpm twice) and systemctl once per service, and
// its report is a few kilobytes.
package probe
