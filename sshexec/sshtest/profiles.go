package sshtest

import (
	"fmt"

	"github.com/pressluft/runtime-readiness/readiness"
)

// ubuntu24 is the os-release identity of Ubuntu 24.04 LTS.
var ubuntu24 = OS{
	OSRelease:  readiness.OSRelease{ID: "ubuntu", VersionID: "24.04"},
	PrettyName: "Ubuntu 24.04.1 LTS",
}

// debian12 is the os-release identity of Debian 12 (bookworm).
var debian12 = OS{
	OSRelease:  readiness.OSRelease{ID: "debian", VersionID: "12"},
	PrettyName: "Debian GNU/Linux 12 (bookworm)",
}

// phpBaseModules are the modules php8.3-fpm loads on a stock Ubuntu 24.04
// with php-mysql, php-curl, php-mbstring, php-xml, php-zip and php-gd.
var phpBaseModules = []string{
	"calendar", "Core", "ctype", "curl", "date", "dom", "exif", "FFI",
	"fileinfo", "filter", "ftp", "gd", "gettext", "hash", "iconv", "json",
	"libxml", "mbstring", "mysqli", "mysqlnd", "openssl", "pcre", "PDO",
	"pdo_mysql", "Phar", "posix", "random", "readline", "Reflection",
	"session", "shmop", "SimpleXML", "sockets", "sodium", "SPL", "standard",
	"sysvmsg", "sysvsem", "sysvshm", "tokenizer", "xml", "xmlreader",
	"xmlwriter", "xsl", "Zend OPcache", "zip", "zlib",
}

// ReadyProfile is a fully provisioned Ubuntu 24.04 node: systemd,
// NOPASSWD sudo, and every runtime component installed and active, from
// noble's packages (wp-cli from its phar, which no package covers).
func ReadyProfile() Profile {
	return Profile{
		Name:     "ready",
		Hostname: "node-1",
		OS:       ubuntu24,
		Systemd:  true,
		Sudo:     SudoNoPassword,
		Components: map[string]Component{
			readiness.ComponentNginx:    {Version: "1.24.0", Package: "1.24.0-2ubuntu7.1", Service: "active"},
			readiness.ComponentPHPFPM:   {Version: "8.3.6", Package: "8.3.6-0ubuntu0.24.04.5", Service: "active"},
			readiness.ComponentMariaDB:  {Version: "10.11.8-MariaDB-0ubuntu0.24.04.1", Package: "1:10.11.8-0ubuntu0.24.04.1", Service: "active"},
			readiness.ComponentRedis:    {Version: "7.0.15", Package: "5:7.0.15-1build2", Service: "active"},
			readiness.ComponentWPCLI:    {Version: "2.10.0"}, // the phar, in /usr/local/bin
			readiness.ComponentFail2ban: {Version: "1.0.2", Package: "1.0.2-3ubuntu0.1", Service: "active"},
			readiness.ComponentRsync:    {Version: "3.2.7", Package: "3.2.7-1ubuntu1"},
			readiness.ComponentUnzip:    {Version: "6.00", Package: "6.0-28ubuntu4"},
			readiness.ComponentCurl:     {Version: "8.5.0", Package: "8.5.0-2ubuntu10.6"},
		},
		PHPExtensions: append([]string{"igbinary", "redis"}, phpBaseModules...),
	}
}

func withSudo(name string, s SudoPolicy) Profile {
	p := ReadyProfile()
	p.Name, p.Sudo = name, s
	return p
}

// SudoMissingProfile is ReadyProfile without sudo installed.
func SudoMissingProfile() Profile { return withSudo("sudo-missing", SudoMissing) }

// SudoPasswordProfile is ReadyProfile where sudo asks for a password.
func SudoPasswordProfile() Profile { return withSudo("sudo-password", SudoPassword) }

// SudoNotPermittedProfile is ReadyProfile whose user is not in sudoers.
func SudoNotPermittedProfile() Profile { return withSudo("sudo-not-permitted", SudoNotPermitted) }

// SudoRequireTTYProfile is ReadyProfile with "Defaults requiretty".
func SudoRequireTTYProfile() Profile { return withSudo("sudo-requiretty", SudoRequireTTY) }

// Components lists the runtime component names ReadyProfile installs, in
// a stable order.
func Components() []string {
	return []string{
		readiness.ComponentNginx, readiness.ComponentPHPFPM, readiness.ComponentMariaDB,
		readiness.ComponentRedis, readiness.ComponentWPCLI, readiness.ComponentFail2ban,
		readiness.ComponentRsync, readiness.ComponentUnzip, readiness.ComponentCurl,
	}
}

func mustComponent(p Profile, name string) Component {
	c, ok := p.Components[name]
	if !ok {
		panic(fmt.Sprintf("sshtest: unknown component %q", name))
	}
	return c
}

// MissingComponentProfile is ReadyProfile without the named component
// (readiness.ComponentNginx, ...). It panics on an unknown name.
func MissingComponentProfile(name string) Profile {
	p := ReadyProfile()
	mustComponent(p, name)
	delete(p.Components, name)
	p.Name = name + "-missing"
	return p
}

// ServiceInactiveProfile is ReadyProfile with the named component's
// service inactive. It panics on an unknown name or a component without
// a service.
func ServiceInactiveProfile(name string) Profile {
	return ServiceStateProfile(name, "inactive")
}

// ServiceStateProfile is ReadyProfile with the named component's service
// in the given state ("failed", "activating", ...). It panics on an
// unknown name or a component without a service.
func ServiceStateProfile(name string, state readiness.ServiceState) Profile {
	p := ReadyProfile()
	c := mustComponent(p, name)
	if c.Service == "" {
		panic(fmt.Sprintf("sshtest: component %q has no service", name))
	}
	c.Service = state
	p.Components[name] = c
	p.Name = name + "-" + string(state)
	return p
}

// oldVersions are the components OldVersionsProfile installs: the ones
// Ubuntu 20.04/22.04 shipped, with their packages.
var oldVersions = map[string]Component{
	readiness.ComponentNginx:  {Version: "1.18.0", Package: "1.18.0-6ubuntu14.4"},
	readiness.ComponentPHPFPM: {Version: "7.4.3", Package: "7.4.3-4ubuntu2.24"},
	readiness.ComponentMariaDB: {Version: "10.6.18-MariaDB-0ubuntu0.22.04.1", Package: "1:10.6.18-0ubuntu0.22.04.1",
		PackageName: "mariadb-server-core-10.6"},
	readiness.ComponentRedis: {Version: "6.0.16", Package: "5:6.0.16-1ubuntu1"},
}

// withOld returns c at the old version old.
func withOld(c, old Component) Component {
	c.Version, c.Package, c.PackageName = old.Version, old.Package, old.PackageName
	return c
}

// OldComponentProfile is ReadyProfile with one component (nginx, php-fpm,
// mariadb or redis) at the old version OldVersionsProfile uses. It panics
// on any other name. An old php-fpm also renames the binary and unit
// (php-fpm7.4, php7.4-fpm).
func OldComponentProfile(name string) Profile {
	v, ok := oldVersions[name]
	if !ok {
		panic(fmt.Sprintf("sshtest: no old version for component %q", name))
	}
	p := ReadyProfile()
	p.Components[name] = withOld(p.Components[name], v)
	p.Name = name + "-old"
	return p
}

// OldVersionsProfile is ReadyProfile with nginx 1.18.0, PHP 7.4, MariaDB
// 10.6 and Redis 6.0, all active.
func OldVersionsProfile() Profile {
	p := ReadyProfile()
	for name, v := range oldVersions {
		p.Components[name] = withOld(p.Components[name], v)
	}
	p.Name = "old-versions"
	return p
}

// NoPHPRedisProfile is ReadyProfile where php-fpm does not load redis.
func NoPHPRedisProfile() Profile {
	p := ReadyProfile()
	p.PHPExtensions = append([]string{"igbinary"}, phpBaseModules...)
	p.Name = "no-php-redis"
	return p
}

// NoSystemdProfile is ReadyProfile in a container without systemd as init:
// no run/systemd/system, and systemctl fails to connect to the bus.
func NoSystemdProfile() Profile {
	p := ReadyProfile()
	p.Systemd = false
	p.Name = "no-systemd"
	return p
}

// DebianProfile is a fully provisioned Debian 12 node with bookworm's
// package versions.
func DebianProfile() Profile {
	p := ReadyProfile()
	p.Name = "debian-12"
	p.OS = debian12
	set := func(name, v, pkg string) {
		c := p.Components[name]
		c.Version, c.Package = v, pkg
		p.Components[name] = c
	}
	set(readiness.ComponentNginx, "1.22.1", "1.22.1-9")
	set(readiness.ComponentPHPFPM, "8.2.28", "8.2.28-1~deb12u1")
	set(readiness.ComponentMariaDB, "10.11.6-MariaDB-0+deb12u1", "1:10.11.6-0+deb12u1")
	set(readiness.ComponentRedis, "7.0.15", "5:7.0.15-1~deb12u3")
	set(readiness.ComponentFail2ban, "1.0.2", "1.0.2-2")
	set(readiness.ComponentRsync, "3.2.7", "3.2.7-1")
	set(readiness.ComponentUnzip, "6.00", "6.0-28")
	set(readiness.ComponentCurl, "7.88.1", "7.88.1-10+deb12u8")
	return p
}

// UnpackagedNginxProfile is ReadyProfile whose nginx 1.27.3 was built from
// source into /usr/local/sbin: no package covers it, and the apt package
// it replaced left only its configuration files (dpkg status
// config-files).
func UnpackagedNginxProfile() Profile {
	p := ReadyProfile()
	p.Name = "nginx-unpackaged"
	c := p.Components[readiness.ComponentNginx]
	c.Version, c.Package, c.Path = "1.27.3", "", "/usr/local/sbin/nginx"
	p.Components[readiness.ComponentNginx] = c
	p.ExtraPackages = []Package{{Name: "nginx", Version: "1.24.0-2ubuntu7.1", Status: "config-files"}}
	return p
}

// NologinProfile is ReadyProfile whose user has /usr/sbin/nologin as shell.
func NologinProfile() Profile {
	p := ReadyProfile()
	p.Shell = ShellNologin
	p.Name = "nologin"
	return p
}

// NoisyBashrcProfile is ReadyProfile whose user's ~/.bashrc prints a
// greeting before its interactive check, as the fleet's noisy-bashrc node
// does: every command's output starts with it.
func NoisyBashrcProfile() Profile {
	p := ReadyProfile()
	p.ShellStartupOutput = "Welcome to node-1!\n"
	p.Name = "noisy-bashrc"
	return p
}

// AuthRejectedProfile is ReadyProfile that rejects every public key.
func AuthRejectedProfile() Profile {
	p := ReadyProfile()
	p.AuthRejected = true
	p.Name = "auth-rejected"
	return p
}

// ExecRefusedProfile is ReadyProfile that refuses exec requests.
func ExecRefusedProfile() Profile {
	p := ReadyProfile()
	p.ExecRefused = true
	p.Name = "exec-refused"
	return p
}

// FaultProfile is ReadyProfile with a transport fault; its name is the
// fault's name (e.g. "hang-after-exec").
func FaultProfile(f Fault) Profile {
	p := ReadyProfile()
	p.Fault = f
	p.Name = f.String()
	return p
}

// Profiles returns every ready-made profile, fresh, in a stable order,
// for CLIs and table-driven tests. Names are unique.
func Profiles() []Profile {
	ps := []Profile{
		ReadyProfile(),
		SudoMissingProfile(), SudoPasswordProfile(), SudoNotPermittedProfile(), SudoRequireTTYProfile(),
	}
	for _, c := range Components() {
		ps = append(ps, MissingComponentProfile(c))
	}
	for _, c := range []string{readiness.ComponentNginx, readiness.ComponentPHPFPM, readiness.ComponentMariaDB, readiness.ComponentRedis} {
		ps = append(ps, OldComponentProfile(c))
	}
	ps = append(ps, OldVersionsProfile())
	for _, c := range []string{readiness.ComponentNginx, readiness.ComponentPHPFPM, readiness.ComponentMariaDB, readiness.ComponentRedis, readiness.ComponentFail2ban} {
		ps = append(ps, ServiceInactiveProfile(c))
	}
	ps = append(ps, ServiceStateProfile(readiness.ComponentNginx, "failed"),
		ServiceStateProfile(readiness.ComponentRedis, "masked"),
		ServiceStateProfile(readiness.ComponentRedis, "activating"),
		ServiceStateProfile(readiness.ComponentRedis, "not-found"))
	ps = append(ps, NoPHPRedisProfile(), NoSystemdProfile(), DebianProfile(), UnpackagedNginxProfile(),
		NologinProfile(), NoisyBashrcProfile(), AuthRejectedProfile(), ExecRefusedProfile())
	ps = append(ps, HealthProfiles()...)
	for f := FaultRefuseTCP; f <= FaultExitSignal; f++ {
		ps = append(ps, FaultProfile(f))
	}
	return ps
}

// ProfileByName returns the ready-made profile with that name.
func ProfileByName(name string) (Profile, bool) {
	for _, p := range Profiles() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
