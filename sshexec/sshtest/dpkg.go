package sshtest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pressluft/runtime-readiness/readiness"
)

// Package is one entry of the dpkg database a node simulates.
type Package struct {
	// Name is the package name, e.g. "nginx". Required.
	Name string
	// Version is the full Debian version, e.g. "1.24.0-2ubuntu7.1".
	// Zero prints as empty, as dpkg does for a package it only knows of.
	Version string
	// Status is what dpkg-query prints for ${db:Status-Status}:
	// "installed", "config-files" (removed, configuration kept),
	// "not-installed", "half-installed", ... The zero value means
	// "installed".
	Status string
}

func (p Package) status() string {
	if p.Status == "" {
		return "installed"
	}
	return p.Status
}

// abbrev is ${db:Status-Abbrev}: want ("i"nstall, "r"emove, "u"nknown),
// status and error flag, e.g. "ii ".
func (p Package) abbrev() string {
	switch p.status() {
	case "installed":
		return "ii "
	case "config-files":
		return "rc "
	case "not-installed":
		return "un "
	case "half-installed":
		return "iH "
	case "unpacked":
		return "iU "
	case "half-configured":
		return "iF "
	case "triggers-awaited":
		return "iW "
	case "triggers-pending":
		return "it "
	}
	return "?? "
}

// packageName is the Debian package that installs a component on Ubuntu
// 24.04 and Debian 12.
func (p Profile) packageName(name string, c Component) string {
	if c.PackageName != "" {
		return c.PackageName
	}
	switch name {
	case readiness.ComponentPHPFPM:
		if b := p.phpBranch(); b != "" {
			return "php" + b + "-fpm"
		}
		return ""
	case readiness.ComponentMariaDB:
		return "mariadb-server-core"
	case readiness.ComponentRedis:
		return "redis-server"
	}
	return name // nginx, wp-cli, fail2ban, rsync, unzip, curl
}

// Packages returns the dpkg database the node simulates, sorted by name:
// one installed package for each component with a Package version, then
// the profile's extra Packages. A name listed twice keeps its first entry.
func (p Profile) Packages() []Package {
	var pkgs []Package
	for name, c := range p.Components {
		if c.Package == "" {
			continue
		}
		if n := p.packageName(name, c); n != "" {
			pkgs = append(pkgs, Package{Name: n, Version: c.Package, Status: "installed"})
		}
	}
	slices.SortFunc(pkgs, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	for _, x := range p.ExtraPackages {
		if x.Status == "" {
			x.Status = "installed"
		}
		pkgs = append(pkgs, x)
	}
	slices.SortStableFunc(pkgs, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(pkgs, func(a, b Package) bool { return a.Name == b.Name })
}

// hasDpkg reports whether the simulated host is Debian-based and so has
// dpkg-query.
func (p Profile) hasDpkg() bool {
	return p.OS.ID == "ubuntu" || p.OS.ID == "debian"
}

// DpkgQueryScript returns a #!/bin/sh stub, made of shell builtins only,
// that answers `dpkg-query -W|--show [-f FORMAT|--showformat=FORMAT]
// PATTERN...` from pkgs the way the real one does: packages in name order,
// each once, for every package some PATTERN (a shell glob) matches; in
// FORMAT, ${Package}, ${binary:Package}, ${Version}, ${db:Status-Status}
// and ${db:Status-Abbrev} are replaced (other fields print empty) and \n,
// \t and \\ are escapes; for each PATTERN that matches nothing,
// "dpkg-query: no packages found matching PATTERN" on stderr and exit
// status 1 at the end. Any other invocation prints "sshtest: the
// dpkg-query stub does not simulate: ARGS" on stderr and exits 2. Node
// roots of Debian-based profiles hold it at /usr/bin/dpkg-query; tests
// that lay out their own root can use it too.
func DpkgQueryScript(pkgs []Package) string {
	sorted := slices.Clone(pkgs)
	slices.SortStableFunc(sorted, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	sorted = slices.CompactFunc(sorted, func(a, b Package) bool { return a.Name == b.Name })
	var b strings.Builder
	b.WriteString(dpkgHead)
	for _, x := range sorted {
		fmt.Fprintf(&b, "pkg %s %s %s %s \"$@\"\n", q(x.Name), q(x.status()), q(x.Version), q(x.abbrev()))
	}
	b.WriteString(dpkgTail)
	return b.String()
}

const dpkgHead = `#!/bin/sh
# sshtest stub for dpkg-query: only -W/--show is simulated
NL='
'
TAB='	'
unsupported() {
	printf 'sshtest: the dpkg-query stub does not simulate: %s\n' "$ARGS" >&2
	exit 2
}
ARGS=$*
fmt='${binary:Package}\t${Version}\n'
show=
while [ $# -gt 0 ]; do
	case $1 in
	-W | --show) show=1; shift ;;
	-f | --showformat) [ $# -ge 2 ] || unsupported; fmt=$2; shift 2 ;;
	-f=* | --showformat=*) fmt=${1#*=}; shift ;;
	-f?*) fmt=${1#-f}; shift ;;
	--) shift; break ;;
	-*) unsupported ;;
	*) break ;;
	esac
done
[ -n "$show" ] && [ $# -gt 0 ] || unsupported
hits=' '
# pkg NAME STATUS VERSION ABBREV PATTERN... prints NAME in fmt once if
# any PATTERN matches it, and notes every PATTERN that does.
pkg() {
	n=$1 s=$2 v=$3 a=$4 m=
	shift 4
	i=0
	for p in "$@"; do
		i=$((i + 1))
		case $n in
		$p)
			hits="$hits$i "
			m=1
			;;
		esac
	done
	if [ -n "$m" ]; then
		emit
	fi
}
emit() {
	r=$fmt o=
	while [ -n "$r" ]; do
		case $r in
		'${'*'}'*)
			f=${r#??}
			f=${f%%\}*}
			r=${r#*\}}
			case $f in
			Package | binary:Package) o=$o$n ;;
			Version) o=$o$v ;;
			db:Status-Status) o=$o$s ;;
			db:Status-Abbrev) o=$o$a ;;
			esac
			;;
		'\n'*) o=$o$NL r=${r#??} ;;
		'\t'*) o=$o$TAB r=${r#??} ;;
		'\\'*) o=$o'\' r=${r#??} ;;
		*)
			l=${r%%[\$\\]*}
			if [ -z "$l" ]; then
				l=${r%"${r#?}"}
			fi
			o=$o$l
			r=${r#"$l"}
			;;
		esac
	done
	printf '%s' "$o"
}
`

const dpkgTail = `rc=0
i=0
for p in "$@"; do
	i=$((i + 1))
	case $hits in
	*" $i "*) ;;
	*)
		printf 'dpkg-query: no packages found matching %s\n' "$p" >&2
		rc=1
		;;
	esac
done
exit $rc
`

// phpBuiltin are the modules Ubuntu's php-fpm has compiled in: they load
// without an ini file in conf.d.
var phpBuiltin = map[string]bool{
	"core": true, "date": true, "filter": true, "hash": true, "json": true,
	"libxml": true, "openssl": true, "pcre": true, "random": true,
	"reflection": true, "session": true, "sodium": true, "spl": true,
	"standard": true, "zlib": true,
}

// PHPConfD returns the ini files in php-fpm's conf.d
// (etc/php/X.Y/fpm/conf.d) of the profile, sorted: one per extension in
// PHPExtensions that is not compiled in, named as the Debian packages name
// them ("10-opcache.ini" for Zend OPcache, "20-redis.ini"). It returns nil
// when php-fpm is not installed.
func (p Profile) PHPConfD() []string {
	if p.phpBranch() == "" {
		return nil
	}
	var inis []string
	for _, m := range p.PHPExtensions {
		m = strings.ToLower(m)
		if m == "zend opcache" {
			m = "opcache"
		}
		if phpBuiltin[m] {
			continue
		}
		prio := "20"
		switch m {
		case "opcache", "pdo", "mysqlnd":
			prio = "10"
		case "xml":
			prio = "15"
		}
		inis = append(inis, prio+"-"+m+".ini")
	}
	slices.Sort(inis)
	return slices.Compact(inis)
}

// statusField is the Status field of p in dpkg's status file: want, error
// flag and state, e.g. "install ok installed".
func (p Package) statusField() string {
	switch s := p.status(); s {
	case "installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending":
		return "install ok " + s
	case "config-files":
		return "deinstall ok config-files"
	case "not-installed":
		return "purge ok not-installed"
	case "half-installed":
		return "install reinstreq half-installed"
	default:
		return "unknown ok " + s
	}
}

// section is the archive section a package of that name is filed under.
func section(name string) string {
	switch {
	case strings.HasPrefix(name, "nginx"):
		return "httpd"
	case strings.HasPrefix(name, "php"), name == "wp-cli":
		return "php"
	case strings.HasPrefix(name, "mariadb"), strings.HasPrefix(name, "redis"):
		return "database"
	case name == "fail2ban", name == "rsync":
		return "net"
	case name == "curl":
		return "web"
	}
	return "utils"
}

// DpkgStatus returns dpkg's status file (/var/lib/dpkg/status) holding
// pkgs, in name order, each once: one stanza per package, separated by
// blank lines, with the fields a real one has in dpkg's order (Package,
// Status, Priority, Section, Installed-Size, Maintainer, Architecture,
// Version, Depends, Description and its continuation line). Status is
// "install ok installed" for an installed package, "deinstall ok
// config-files" for one removed with its configuration kept, "purge ok
// not-installed" (and nothing but Package, Status and Priority) for one
// dpkg only knows of, and so on; a zero Version leaves out the Version
// field. Node roots of Debian-based profiles hold it at
// var/lib/dpkg/status; tests that lay out their own root can use it too.
func DpkgStatus(pkgs []Package) string {
	sorted := slices.Clone(pkgs)
	slices.SortStableFunc(sorted, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	sorted = slices.CompactFunc(sorted, func(a, b Package) bool { return a.Name == b.Name })
	var b strings.Builder
	for i, x := range sorted {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: %s\nPriority: optional\n", x.Name, x.statusField())
		if x.status() == "not-installed" {
			continue
		}
		arch := "amd64"
		if x.Name == "wp-cli" {
			arch = "all"
		}
		fmt.Fprintf(&b, "Section: %s\nInstalled-Size: %d\n"+
			"Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\nArchitecture: %s\n",
			section(x.Name), 100+37*len(x.Name), arch)
		if x.Version != "" {
			fmt.Fprintf(&b, "Version: %s\n", x.Version)
		}
		fmt.Fprintf(&b, "Depends: libc6 (>= 2.34), libssl3t64 (>= 3.0.0)\n"+
			"Description: %s, as sshtest simulates it\n This stanza was written by sshtest; no such package is installed.\n", x.Name)
	}
	return b.String()
}
