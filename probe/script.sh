LC_ALL=C; export LC_ALL
R=${PRESSLUFT_PROBE_ROOT-}
PATH=$R/usr/local/sbin:$R/usr/local/bin:$R/usr/sbin:$R/usr/bin:$R/sbin:$R/bin; export PATH
# pressluft readiness probe, protocol version 1 (see probe/doc.go).
#
# Sent on stdin to `exec /bin/sh -s`. A constant: nothing about the node or
# the request is ever spliced into it. It uses only sh builtins and the tools
# it checks, reads files only under "$R", and runs every tool with stdin from
# /dev/null. All work happens in main, which the shell must read in full
# before it runs, so no command can swallow the rest of the script.
#
# Output: "pressluft-probe 1", then one "KEY VALUE" record per line, then
# "end N" with N the number of records. Values are escaped by esc.

# wp refuses to run as root without this; it changes nothing else.
WP_CLI_ALLOW_ROOT=1; export WP_CLI_ALLOW_ROOT
NL='
'
BS='\'
N=0

# esc MAX TEXT sets E to TEXT as one line: every backslash doubled, at most
# MAX lines joined by the two characters \n, lines over 512 bytes emptied.
esc() {
	e_max=$1 e_s=$2 E=
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
		E=$E$e_o
		e_max=$((e_max - 1))
		if [ -z "$e_more" ] || [ "$e_max" -le 0 ]; then
			break
		fi
		E=$E${BS}n
	done
}

# rec KEY VALUE [MAXLINES] prints one record and counts it.
rec() {
	esc "${3-8}" "$2"
	printf '%s %s\n' "$1" "$E"
	N=$((N + 1))
}

# lookup NAME sets P to the absolute path of executable NAME, or to "".
lookup() {
	P=$(command -v "$1" 2>/dev/null) || P=
	case $P in
	/*) [ -f "$P" ] && [ -x "$P" ] || P= ;;
	*) P= ;;
	esac
}

# tool COMPONENT NAME ARGS... records COMPONENT.path and, when NAME is
# installed, COMPONENT.version: what NAME ARGS prints on stdout and stderr.
# It returns 1 when NAME is not installed.
tool() {
	t_c=$1
	lookup "$2"
	shift 2
	rec "$t_c.path" "$P"
	if [ -z "$P" ]; then
		return 1
	fi
	rec "$t_c.version" "$("$P" "$@" 2>&1 </dev/null)"
}

# svc COMPONENT UNIT records COMPONENT.unit and COMPONENT.active, the word
# `systemctl is-active UNIT` prints ("" when systemctl is missing).
svc() {
	s_out=
	if [ -n "$SYSTEMCTL" ]; then
		s_out=$("$SYSTEMCTL" is-active "$2" 2>/dev/null </dev/null)
	fi
	rec "$1.unit" "$2"
	rec "$1.active" "$s_out" 1
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

main() {
	printf 'pressluft-probe 1\n'

	o_f=$R/etc/os-release
	if [ ! -f "$o_f" ]; then
		o_f=$R/usr/lib/os-release
	fi
	o_id= o_ver=
	if [ -f "$o_f" ] && [ -r "$o_f" ]; then
		while IFS= read -r o_l || [ -n "$o_l" ]; do
			case $o_l in
			ID=*)
				unquote "${o_l#ID=}"
				o_id=$U
				;;
			VERSION_ID=*)
				unquote "${o_l#VERSION_ID=}"
				o_ver=$U
				;;
			esac
		done <"$o_f"
	fi
	rec os.id "$o_id" 1
	rec os.version_id "$o_ver" 1

	SD=no SYSTEMCTL=
	if [ -d "$R/run/systemd/system" ]; then
		SD=yes
		lookup systemctl
		SYSTEMCTL=$P
	fi
	rec systemd "$SD"

	lookup sudo
	rec sudo.path "$P"
	if [ -n "$P" ]; then
		u_err=$("$P" -n true 2>&1 >/dev/null </dev/null)
		u_x=$?
		rec sudo.exit "$u_x"
		rec sudo.stderr "$u_err"
	fi

	if tool nginx nginx -v && [ "$SD" = yes ]; then
		svc nginx nginx
	fi

	f_p= f_v= f_maj=-1 f_min=-1
	for f in "$R"/usr/sbin/php-fpm[0-9]*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		v=${f##*/php-fpm}
		maj=${v%%.*}
		min=${v#*.}
		case $maj in '' | *[!0-9]* | ????*) continue ;; esac
		case $min in '' | *[!0-9]* | ????*) continue ;; esac
		if [ "$maj" -gt "$f_maj" ] ||
			{ [ "$maj" -eq "$f_maj" ] && [ "$min" -gt "$f_min" ]; }; then
			f_p=$f f_v=$v f_maj=$maj f_min=$min
		fi
	done
	rec php-fpm.path "$f_p"
	if [ -n "$f_p" ]; then
		rec php-fpm.version "$("$f_p" -v 2>&1 </dev/null)"
		rec php-fpm.modules "$("$f_p" -m 2>/dev/null </dev/null)" 512
		if [ "$SD" = yes ]; then
			svc php-fpm "php$f_v-fpm"
		fi
	fi

	if tool mariadb mariadbd --version && [ "$SD" = yes ]; then
		svc mariadb mariadb
	fi
	if tool redis redis-server --version && [ "$SD" = yes ]; then
		svc redis redis-server
	fi
	tool wp-cli wp --version
	if tool fail2ban fail2ban-client --version && [ "$SD" = yes ]; then
		svc fail2ban fail2ban
	fi
	tool rsync rsync --version
	tool unzip unzip -v
	tool curl curl --version

	printf 'end %d\n' "$N"
}

main </dev/null; exit 0
