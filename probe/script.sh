LC_ALL=C; export LC_ALL
R=${PRESSLUFT_PROBE_ROOT-}
PATH=$R/usr/local/sbin:$R/usr/local/bin:$R/usr/sbin:$R/usr/bin:$R/sbin:$R/bin; export PATH
# pressluft readiness probe, protocol version 3 (see probe/doc.go).
#
# Sent on stdin to `exec /bin/sh -s`. A constant: nothing about the node or
# the request is ever spliced into it. It uses only sh builtins and, at
# most, sudo (twice when it refuses), grep (over dpkg's status file; dpkg-query without it),
# systemctl (list-units for the services' units, and show only for those it
# does not list; once more for the system's state, twice when it is degraded), stat
# (twice: free space, the dpkg locks' inodes) and a tool's own version flag when no
# installed package covers it, reads files only under "$R", and runs
# every command with stdin from /dev/null. All work happens in main, which
# the shell must read in full before it runs, so no command can swallow the
# rest of the script.
#
# Output: "pressluft-probe 3", then one "KEY VALUE" record per line, in no
# particular order, then "end N" with N the number of records. Values are
# escaped by esc. The commands run as concurrent background jobs;
# each record is one printf of one line under 4096 bytes (PIPE_BUF), so
# lines from different jobs never interleave.

NL='
'
BS='\'

# esc MAX TEXT sets E to TEXT as one line: every backslash doubled, at most
# MAX lines joined by the two characters \n, lines over 512 bytes emptied,
# and no further line once E would pass 3000 bytes.
esc() {
	e_max=$1 e_s=$2 E= e_sep=
	while :; do
		case $e_s in
		*"$NL"*)
			e_l=${e_s%%"$NL"*}
			e_s=${e_s#*"$NL"}
			e_more=1
			;;
		*)
			e_l=$e_s
			e_more=
			;;
		esac
		if [ "${#e_l}" -gt 512 ]; then
			e_l=
		fi
		e_o=
		while :; do
			case $e_l in
			*"$BS"*)
				e_o=$e_o${e_l%%"$BS"*}$BS$BS
				e_l=${e_l#*"$BS"}
				;;
			*)
				e_o=$e_o$e_l
				break
				;;
			esac
		done
		if [ $((${#E} + ${#e_o})) -gt 3000 ]; then
			break
		fi
		E=$E$e_sep$e_o
		e_sep=${BS}n
		e_max=$((e_max - 1))
		if [ -z "$e_more" ] || [ "$e_max" -le 0 ]; then
			break
		fi
	done
}

# rec KEY VALUE [MAXLINES] prints one record with a single printf: one
# write of one line, so concurrent jobs cannot split it.
rec() {
	esc "${3-8}" "$2"
	printf '%s %s\n' "$1" "$E"
}

# lookup NAME sets P to the path of executable file NAME in the first
# directory of PATH that has one, or to "". It searches PATH as
# `command -v` would, without the subshell $(command -v) costs.
lookup() {
	for P in "$R/usr/local/sbin" "$R/usr/local/bin" "$R/usr/sbin" "$R/usr/bin" "$R/sbin" "$R/bin"; do
		P=$P/$1
		if [ -f "$P" ] && [ -x "$P" ]; then
			return 0
		fi
	done
	P=
}

# unquote VALUE sets U to VALUE without one pair of surrounding quotes.
unquote() {
	U=$1
	case $U in
	\"*\")
		U=${U#\"}
		U=${U%\"}
		;;
	\'*\')
		U=${U#\'}
		U=${U%\'}
		;;
	esac
}

# next sets L to the first line of $T and removes it from T.
next() {
	case $T in
	*"$NL"*)
		L=${T%%"$NL"*}
		T=${T#*"$NL"}
		;;
	*)
		L=$T
		T=
		;;
	esac
}

# job_sudo records what `sudo -n true` says and, only when it fails, what
# `sudo -n -v` says: sudo 1.9 tells a user outside sudoers "a password is
# required" for a command, and "may not run sudo" only when validating.
job_sudo() {
	u_err=$("$SUDO" -n true 2>&1 >/dev/null </dev/null)
	u_x=$?
	rec sudo.exit "$u_x"
	rec sudo.stderr "$u_err"
	if [ "$u_x" -ne 0 ]; then
		u_err=$("$SUDO" -n -v 2>&1 >/dev/null </dev/null)
		u_x=$?
		rec sudo.validate_exit "$u_x"
		rec sudo.validate_stderr "$u_err"
	fi
}

# pick LINE keeps LINE ("installed NAME VERSION") as the package of the
# component NAME belongs to, unless that component already has one.
pick() {
	k_n=${1#installed }
	k_n=${k_n%% *}
	case $k_n in
	nginx | nginx-core | nginx-full | nginx-light | nginx-extras)
		[ -n "$k_nginx" ] || k_nginx=$1
		;;
	"php$F_V-fpm")
		[ -n "$k_php" ] || k_php=$1
		;;
	mariadb-server-core* | mariadb-server)
		[ -n "$k_mariadb" ] || k_mariadb=$1
		;;
	redis-server) [ -n "$k_redis" ] || k_redis=$1 ;;
	wp-cli) [ -n "$k_wp" ] || k_wp=$1 ;;
	fail2ban) [ -n "$k_f2b" ] || k_f2b=$1 ;;
	rsync) [ -n "$k_rsync" ] || k_rsync=$1 ;;
	unzip) [ -n "$k_unzip" ] || k_unzip=$1 ;;
	curl) [ -n "$k_curl" ] || k_curl=$1 ;;
	esac
}

# pkg COMPONENT PATH PACKAGE [ARGS...] records COMPONENT.package when an
# installed package covers the tool at PATH; otherwise, given ARGS, what
# PATH ARGS prints (COMPONENT.version). Without ARGS the tool is never run.
pkg() {
	if [ -z "$2" ]; then
		return 0
	fi
	if [ -n "$3" ]; then
		rec "$1.package" "$3" 1
		return 0
	fi
	if [ $# -le 3 ]; then
		return 0
	fi
	k_c=$1 k_p=$2
	shift 3
	rec "$k_c.version" "$("$k_p" "$@" 2>&1 </dev/null)" 4
}

# stanzas reads what grep printed of dpkg's status file (in T): stanzas
# of "Field: value" lines, each starting with its Package field (dpkg
# writes it first), the groups grep prints separated by "--". Of each
# stanza only the first Status (its third word is the state) and Version
# count; an installed one with a version is kept by pick. Lines are split
# by IFS, so the blank lines between stanzas do not reach the loop.
stanzas() {
	s_n= s_s= s_v=
	IFS=$NL
	set -f
	for L in $T; do
		case $L in
		"Package: "*)
			stanza
			s_n=${L#Package: }
			;;
		"Status: "*) [ -n "$s_s" ] || s_s=${L#Status: } ;;
		"Version: "*) [ -n "$s_v" ] || s_v=${L#Version: } ;;
		--) stanza ;;
		esac
	done
	set +f
	unset IFS
	stanza
}

# stanza keeps the stanza read so far (s_n, s_s, s_v) when its package is
# installed and has a version, then forgets it.
stanza() {
	case $s_s in
	*" "*" installed")
		if [ -n "$s_n" ] && [ -n "$s_v" ]; then
			pick "installed $s_n $s_v"
		fi
		;;
	esac
	s_n= s_s= s_v=
}

# job_packages finds the packages of every tool found with one grep over
# dpkg's status file (without grep or a readable status file, with one
# dpkg-query, which parses the whole database), then falls back to the
# tools' own version output for what no installed package covers, and to
# `php-fpm -m` when there is no conf.d to read.
job_packages() {
	k_nginx= k_php= k_mariadb= k_redis= k_wp= k_f2b= k_rsync= k_unzip= k_curl=
	set --
	k_re=
	if [ -n "$P_NGINX" ]; then
		set -- "$@" nginx nginx-core nginx-full nginx-light nginx-extras
		k_re=$k_re'|nginx|nginx-core|nginx-full|nginx-light|nginx-extras'
	fi
	if [ -n "$P_PHP" ]; then
		set -- "$@" "php$F_V-fpm"
		k_re=$k_re"|php${F_V%%.*}\\.${F_V#*.}-fpm"
	fi
	if [ -n "$P_MARIADB" ]; then
		set -- "$@" 'mariadb-server-core*' mariadb-server
		k_re=$k_re'|mariadb-server-core[a-z0-9.+-]*|mariadb-server'
	fi
	if [ -n "$P_REDIS" ]; then
		set -- "$@" redis-server
		k_re=$k_re'|redis-server'
	fi
	if [ -n "$P_WP" ]; then
		set -- "$@" wp-cli
		k_re=$k_re'|wp-cli'
	fi
	if [ -n "$P_F2B" ]; then
		set -- "$@" fail2ban
		k_re=$k_re'|fail2ban'
	fi
	if [ -n "$P_RSYNC" ]; then
		set -- "$@" rsync
		k_re=$k_re'|rsync'
	fi
	if [ -n "$P_UNZIP" ]; then
		set -- "$@" unzip
		k_re=$k_re'|unzip'
	fi
	if [ -n "$P_CURL" ]; then
		set -- "$@" curl
		k_re=$k_re'|curl'
	fi
	k_db=$R/var/lib/dpkg/status
	k_x=2
	if [ -n "$GREP" ] && [ -f "$k_db" ] && [ -r "$k_db" ]; then
		# Version is at most the 14th field of a stanza dpkg writes.
		T=$("$GREP" -A15 -E "^Package: (${k_re#|})\$" "$k_db" 2>/dev/null </dev/null)
		k_x=$?
	fi
	if [ "$k_x" -le 1 ]; then
		stanzas
	elif [ -n "$DPKG" ]; then
		T=$("$DPKG" -W --showformat='${db:Status-Status} ${Package} ${Version}\n' "$@" 2>/dev/null </dev/null)
		while [ -n "$T" ]; do
			next
			case $L in
			"installed "?*" "?*) pick "$L" ;;
			esac
		done
	fi
	pkg nginx "$P_NGINX" "$k_nginx" -v
	pkg php-fpm "$P_PHP" "$k_php" -v
	pkg mariadb "$P_MARIADB" "$k_mariadb" --version
	pkg redis "$P_REDIS" "$k_redis" --version
	pkg wp-cli "$P_WP" "$k_wp"
	pkg fail2ban "$P_F2B" "$k_f2b" --version
	pkg rsync "$P_RSYNC" "$k_rsync" --version
	pkg unzip "$P_UNZIP" "$k_unzip" -v
	pkg curl "$P_CURL" "$k_curl" --version
	if [ -n "$P_PHP" ] && [ "$CONFD" = no ]; then
		rec php-fpm.modules "$("$P_PHP" -m 2>/dev/null </dev/null)" 512
	fi
}

# unit COMPONENT PATH UNIT LISTED records COMPONENT.unit, COMPONENT.load
# and COMPONENT.active when the tool at PATH exists: the LoadState and
# ActiveState list-units printed for the unit (LISTED, "LOAD ACTIVE"), or,
# when it did not list it, the next unit's of what `systemctl show`
# printed (in T).
unit() {
	if [ -n "$2" ]; then
		n_l= n_a=
		if [ -n "$4" ]; then
			n_l=${4% *}
			n_a=${4#* }
		else
			while [ -n "$T" ]; do
				next
				case $L in
				'') break ;;
				LoadState=*) n_l=${L#LoadState=} ;;
				ActiveState=*) n_a=${L#ActiveState=} ;;
				esac
			done
		fi
		rec "$1.unit" "$3"
		rec "$1.load" "$n_l" 1
		rec "$1.active" "$n_a" 1
	fi
}

# units records the service state of every service found: what
# list-units listed for it (u_*), or the next block `systemctl show`
# printed in T ("" when not run), one per unit not listed, in argument
# order, separated by empty lines.
units() {
	unit nginx "$P_NGINX" nginx "$u_nginx"
	unit php-fpm "$P_PHP" "php$F_V-fpm" "$u_php"
	unit mariadb "$P_MARIADB" mariadb "$u_mariadb"
	unit redis "$P_REDIS" redis-server "$u_redis"
	unit fail2ban "$P_F2B" fail2ban "$u_f2b"
}

# job_systemctl asks systemd once, with `systemctl list-units`
# (ListUnitsByPatterns, which reads only what it is asked for, where show
# fetches every property of every unit), for the LoadState and
# ActiveState of every service found: the first three fields of each line,
# UNIT LOAD ACTIVE (SUB, JOB and DESCRIPTION, which has spaces, are never
# read; --plain prints no status glyph, and a first field that is not a
# unit name is skipped anyway). systemd lists only the units it has in
# memory: for those it did not list (stopped and disabled with nothing
# referencing them, or absent), one `systemctl show` tells a loaded
# inactive unit from a masked or missing one, which is-active calls
# inactive.
job_systemctl() {
	u_nginx= u_php= u_mariadb= u_redis= u_f2b=
	set --
	if [ -n "$P_NGINX" ]; then
		set -- "$@" nginx.service
	fi
	if [ -n "$P_PHP" ]; then
		set -- "$@" "php$F_V-fpm.service"
	fi
	if [ -n "$P_MARIADB" ]; then
		set -- "$@" mariadb.service
	fi
	if [ -n "$P_REDIS" ]; then
		set -- "$@" redis-server.service
	fi
	if [ -n "$P_F2B" ]; then
		set -- "$@" fail2ban.service
	fi
	T=$("$SYSTEMCTL" list-units --all --plain --no-legend --full "$@" 2>/dev/null </dev/null)
	set -f
	while [ -n "$T" ]; do
		next
		set -- $L
		case ${1-} in
		*.service) ;;
		*) [ $# -eq 0 ] || shift ;;
		esac
		if [ $# -lt 3 ]; then
			continue
		fi
		case $1 in
		nginx.service) u_nginx="$2 $3" ;;
		"php$F_V-fpm.service") u_php="$2 $3" ;;
		mariadb.service) u_mariadb="$2 $3" ;;
		redis-server.service) u_redis="$2 $3" ;;
		fail2ban.service) u_f2b="$2 $3" ;;
		esac
	done
	set +f
	set --
	if [ -n "$P_NGINX" ] && [ -z "$u_nginx" ]; then
		set -- "$@" nginx.service
	fi
	if [ -n "$P_PHP" ] && [ -z "$u_php" ]; then
		set -- "$@" "php$F_V-fpm.service"
	fi
	if [ -n "$P_MARIADB" ] && [ -z "$u_mariadb" ]; then
		set -- "$@" mariadb.service
	fi
	if [ -n "$P_REDIS" ] && [ -z "$u_redis" ]; then
		set -- "$@" redis-server.service
	fi
	if [ -n "$P_F2B" ] && [ -z "$u_f2b" ]; then
		set -- "$@" fail2ban.service
	fi
	T=
	if [ $# -gt 0 ]; then
		T=$("$SYSTEMCTL" show -p LoadState,ActiveState "$@" 2>/dev/null </dev/null)
	fi
	units
}

# job_system records systemd's state of the whole system and, only when it
# is degraded, the failed units (the first word of each line).
job_system() {
	y_s=$("$SYSTEMCTL" is-system-running 2>/dev/null </dev/null)
	rec system.state "$y_s" 1
	if [ "$y_s" = degraded ]; then
		T=$("$SYSTEMCTL" list-units --state=failed --plain --no-legend --no-pager 2>/dev/null </dev/null)
		y_f=
		while [ -n "$T" ]; do
			next
			L=${L%% *}
			if [ -n "$L" ]; then
				y_f=$y_f${y_f:+$NL}$L
			fi
		done
		rec system.failed "$y_f" 64
	fi
}

# dir PATH sets D to PATH under $R when it is a directory, else to its
# nearest parent that is: the filesystem a job would create PATH on.
dir() {
	D=$1
	while [ ! -d "$R$D" ]; do
		D=${D%/*}
		if [ -z "$D" ]; then
			D=/
			break
		fi
	done
}

# job_files records, with one `stat -f`, the free space and inodes of the
# filesystems of /, /var/lib/mysql and /srv/www (disk: "PATH DIR FSID
# BSIZE BLOCKS AVAIL FILES FFREE" per path measured), then the POSIX and
# OFD write locks /proc/locks lists on the dpkg lock files
# (dpkg.lock_holders: "PATH TYPE PID COMM" per lock), with one `stat -L`
# for the lock files' device and inode only when a process other than
# mariadbd holds a write lock.
job_files() {
	f_d=
	if [ -n "$STAT" ]; then
		dir /
		f_r=$D
		dir /var/lib/mysql
		f_m=$D
		dir /srv/www
		f_w=$D
		f_t=$("$STAT" -f -c '%n %i %S %b %a %c %d' "$R$f_r" "$R$f_m" "$R$f_w" 2>/dev/null </dev/null)
		for f_p in "/ $f_r" "/var/lib/mysql $f_m" "/srv/www $f_w"; do
			T=$f_t
			while [ -n "$T" ]; do
				next
				L=${L#"$R"}
				if [ "${L%% *}" = "${f_p#* }" ]; then
					f_d=$f_d${f_d:+$NL}${f_p%% *}" "$L
					break
				fi
			done
		done
	fi
	rec disk "$f_d" 3
	f_seen=no f_held=
	if [ -n "$STAT" ] && [ -f "$R/proc/locks" ] && [ -r "$R/proc/locks" ]; then
		# The write locks that could be dpkg's, with their holders'
		# names: every POSIX and OFD write lock but mariadbd's (its data
		# files), so that a node whose only locks are MariaDB's needs no
		# stat to know the dpkg lock is free.
		f_cand=
		while read -r f_1 f_t f_3 f_rw f_pid f_id f_rest; do
			case $f_t:$f_rw in
			POSIX:WRITE | OFDLCK:WRITE) ;;
			*) continue ;;
			esac
			f_c=
			case $f_pid in
			'' | *[!0-9]*) ;;
			*)
				if [ -f "$R/proc/$f_pid/comm" ] && [ -r "$R/proc/$f_pid/comm" ]; then
					IFS= read -r f_c <"$R/proc/$f_pid/comm" || :
				fi
				;;
			esac
			case $f_c in
			mariadbd | mysqld) continue ;;
			esac
			f_cand=$f_cand${f_cand:+$NL}"$f_id $f_t $f_pid $f_c"
		done <"$R/proc/locks"
		if [ -z "$f_cand" ]; then
			f_seen=yes
		else
			T=$("$STAT" -L -c '%n %d %i' "$R/var/lib/dpkg/lock-frontend" "$R/var/lib/dpkg/lock" 2>/dev/null </dev/null)
		fi
		f_ids=
		while [ -n "$f_cand" ] && [ -n "$T" ]; do
			next
			L=${L#"$R"}
			f_n=${L%% *}
			L=${L#* }
			f_dev=${L%% *}
			f_i=${L#* }
			case $f_dev:$f_i in
			*:*[!0-9]* | *[!0-9]*:* | :* | *:) continue ;;
			esac
			f_ids="$f_ids $(((f_dev >> 8) & 4095)):$(((f_dev & 255) | ((f_dev >> 12) & 1048320))):$f_i=$f_n"
			f_seen=yes
		done
		T=$f_cand
		while [ -n "$f_ids" ] && [ -n "$T" ]; do
			next
			f_id=${L%% *}
			f_maj=${f_id%%:*}
			f_x=${f_id#*:}
			f_min=${f_x%%:*}
			f_in=${f_x#*:}
			case $f_maj:$f_min:$f_in in
			*[!0-9a-f:]* | :* | *::* | *:) continue ;;
			esac
			case $f_in in *[!0-9]*) continue ;; esac
			case " $f_ids" in
			*" $((0x$f_maj)):$((0x$f_min)):$f_in="*) ;;
			*) continue ;;
			esac
			f_path=${f_ids#*" $((0x$f_maj)):$((0x$f_min)):$f_in="}
			f_path=${f_path%% *}
			f_held=$f_held${f_held:+$NL}"$f_path ${L#* }"
		done
	fi
	rec dpkg.lock_observed "$f_seen" 1
	rec dpkg.lock_holders "$f_held"
}

# records prints the records that need no command: os-release, systemd,
# where each tool is, and php-fpm's conf.d.
records() {
	rec os.id "$O_ID" 1
	rec os.version_id "$O_VER" 1
	rec systemd "$SD"
	rec sudo.path "$SUDO"
	rec nginx.path "$P_NGINX"
	rec php-fpm.path "$P_PHP"
	rec mariadb.path "$P_MARIADB"
	rec redis.path "$P_REDIS"
	rec wp-cli.path "$P_WP"
	rec fail2ban.path "$P_F2B"
	rec rsync.path "$P_RSYNC"
	rec unzip.path "$P_UNZIP"
	rec curl.path "$P_CURL"
	if [ "$CONFD" = yes ]; then
		rec php-fpm.conf_d "$INIS" 512
	fi
	if [ "$SD" = yes ] && [ -z "$SYSTEMCTL" ]; then
		T= u_nginx= u_php= u_mariadb= u_redis= u_f2b=
		units
		rec system.state ""
	fi
	c_s=no c_r=no
	if [ -f "$R/run/cloud-init/status.json" ]; then
		c_s=yes
	fi
	if [ -f "$R/run/cloud-init/result.json" ]; then
		c_r=yes
	fi
	rec cloud_init.status "$c_s"
	rec cloud_init.result "$c_r"
	if [ -f "$R/run/reboot-required" ]; then
		rec reboot.required yes
		if [ -f "$R/run/reboot-required.pkgs" ] && [ -r "$R/run/reboot-required.pkgs" ]; then
			c_p=
			while IFS= read -r c_l || [ -n "$c_l" ]; do
				c_p=$c_p$c_l$NL
			done <"$R/run/reboot-required.pkgs"
			rec reboot.pkgs "${c_p%"$NL"}" 64
		fi
	else
		rec reboot.required no
	fi
}

# count prints the records in T, then the trailer that counts them.
count() {
	printf '%s\n' "$T"
	c_n=0
	while [ -n "$T" ]; do
		next
		c_n=$((c_n + 1))
	done
	printf 'end %d\n' "$c_n"
}

# collect prints every record: it starts sudo, the slowest command on a
# real host, before anything else, then reads what needs no command while
# it runs, starts the other jobs, and waits for all of them.
collect() {
	lookup sudo
	SUDO=$P
	if [ -n "$SUDO" ]; then
		job_sudo &
	fi

	o_f=$R/etc/os-release
	if [ ! -f "$o_f" ]; then
		o_f=$R/usr/lib/os-release
	fi
	O_ID= O_VER=
	if [ -f "$o_f" ] && [ -r "$o_f" ]; then
		while IFS= read -r o_l || [ -n "$o_l" ]; do
			case $o_l in
			ID=*)
				unquote "${o_l#ID=}"
				O_ID=$U
				;;
			VERSION_ID=*)
				unquote "${o_l#VERSION_ID=}"
				O_VER=$U
				;;
			esac
		done <"$o_f"
	fi

	SD=no SYSTEMCTL=
	if [ -d "$R/run/systemd/system" ]; then
		SD=yes
		lookup systemctl
		SYSTEMCTL=$P
	fi
	lookup stat
	STAT=$P
	job_files &
	if [ -n "$SYSTEMCTL" ]; then
		job_system &
	fi
	lookup dpkg-query
	DPKG=$P
	lookup grep
	GREP=$P
	lookup nginx
	P_NGINX=$P
	lookup mariadbd
	P_MARIADB=$P
	lookup redis-server
	P_REDIS=$P
	lookup wp
	P_WP=$P
	lookup fail2ban-client
	P_F2B=$P
	lookup rsync
	P_RSYNC=$P
	lookup unzip
	P_UNZIP=$P
	lookup curl
	P_CURL=$P

	P_PHP= F_V= f_maj=-1 f_min=-1
	for f in "$R"/usr/sbin/php-fpm[0-9]*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		v=${f##*/php-fpm}
		maj=${v%%.*}
		min=${v#*.}
		case $maj in '' | *[!0-9]* | ????*) continue ;; esac
		case $min in '' | *[!0-9]* | ????*) continue ;; esac
		if [ "$maj" -gt "$f_maj" ] ||
			{ [ "$maj" -eq "$f_maj" ] && [ "$min" -gt "$f_min" ]; }; then
			P_PHP=$f F_V=$v f_maj=$maj f_min=$min
		fi
	done
	CONFD= INIS=
	if [ -n "$P_PHP" ]; then
		CONFD=no
		if [ -d "$R/etc/php/$F_V/fpm/conf.d" ]; then
			CONFD=yes
			for f in "$R/etc/php/$F_V/fpm/conf.d"/*.ini; do
				if [ -e "$f" ]; then
					INIS=$INIS${INIS:+$NL}${f##*/}
				fi
			done
		fi
	fi

	if [ -n "$P_NGINX$P_PHP$P_MARIADB$P_REDIS$P_WP$P_F2B$P_RSYNC$P_UNZIP$P_CURL" ]; then
		job_packages &
	fi
	if [ -n "$SYSTEMCTL" ] && [ -n "$P_NGINX$P_PHP$P_MARIADB$P_REDIS$P_F2B" ]; then
		job_systemctl &
	fi
	records
	wait
}

main() {
	printf 'pressluft-probe 3\n'
	# The jobs and records write to the pipe of one command substitution:
	# it ends when the last of them has.
	T=$(collect)
	count
}

main </dev/null; exit 0
