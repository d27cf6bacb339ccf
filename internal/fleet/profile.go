package fleet

// Profile is a real state a node is put in before it boots: Setup runs as
// root under chroot in the node's own root (its overlay), after the common
// per-node set-up (hostname, host key, the client key in authorized_keys,
// NOPASSWD sudoers), so it can undo any of that.
type Profile struct {
	// Name names the profile and, by default, the node.
	Name string
	// Doc says in a line what the node is.
	Doc string
	// Setup is a /bin/sh script; empty leaves the node ready.
	Setup string
	// Port is the port sshd listens on; zero means 22.
	Port int
	// Booting is true for a profile whose Setup keeps the boot from
	// finishing (systemd stays starting): Up then waits only for
	// ssh.service to be active, not for the boot. False waits for
	// running or degraded.
	Booting bool
}

// Profiles are the states the fleet knows, in a stable order. Every one is
// made with the node's own tools (systemctl, dpkg, usermod, sudoers), so
// what a probe sees is what a real machine in that state shows.
func Profiles() []Profile {
	return []Profile{
		{Name: "ready", Doc: "the whole stack installed and active under systemd; NOPASSWD sudo"},
		{Name: "sudo-password", Doc: "the user may run sudo, but only with a password",
			Setup: `echo '` + User + ` ALL=(ALL:ALL) ALL' >/etc/sudoers.d/` + User},
		{Name: "not-in-sudoers", Doc: "the user has no sudoers entry at all",
			Setup: `rm -f /etc/sudoers.d/` + User},
		{Name: "sudo-requiretty", Doc: "NOPASSWD sudo, but sudoers requires a tty",
			Setup: `printf 'Defaults:%s requiretty\n' ` + User + ` >/etc/sudoers.d/00-requiretty && chmod 0440 /etc/sudoers.d/00-requiretty`},
		{Name: "nginx-stopped", Doc: "nginx installed but disabled, so inactive after boot",
			Setup: `systemctl disable --quiet nginx.service`},
		{Name: "php-fpm-stopped", Doc: "php8.2-fpm installed but disabled, so inactive after boot",
			Setup: `systemctl disable --quiet php8.2-fpm.service`},
		{Name: "mariadb-stopped", Doc: "mariadb installed but disabled, so inactive after boot",
			Setup: `systemctl disable --quiet mariadb.service`},
		{Name: "redis-stopped", Doc: "redis-server installed but disabled, so inactive after boot",
			Setup: `systemctl disable --quiet redis-server.service`},
		{Name: "fail2ban-stopped", Doc: "fail2ban installed but disabled, so inactive after boot",
			Setup: `systemctl disable --quiet fail2ban.service`},
		{Name: "nginx-failed", Doc: "nginx enabled with a configuration that fails its start",
			Setup: `echo 'this is not nginx configuration;' >/etc/nginx/conf.d/broken.conf`},
		{Name: "redis-masked", Doc: "redis-server installed and masked",
			Setup: `systemctl mask --quiet redis-server.service`},
		{Name: "redis-activating", Doc: "redis-server exits at start and waits an hour to restart: activating (auto-restart)",
			Setup: `mkdir -p /etc/systemd/system/redis-server.service.d && printf '[Service]\nType=simple\nExecStart=\nExecStart=/bin/false\nRestart=always\nRestartSec=1h\n' >/etc/systemd/system/redis-server.service.d/crash.conf`},
		// Without its init script too, systemd-sysv-generator would make
		// a unit of /etc/init.d/redis-server.
		{Name: "redis-not-found", Doc: "redis-server installed, its unit file and init script deleted: LoadState not-found",
			Setup: `rm -f /lib/systemd/system/redis-server.service /etc/init.d/redis-server /etc/systemd/system/redis.service /etc/systemd/system/multi-user.target.wants/redis-server.service`},
		{Name: "php-redis-missing", Doc: "the php8.2-redis package removed (purged)",
			Setup: `dpkg --purge php8.2-redis >/dev/null`},
		{Name: "wp-cli-missing", Doc: "no wp executable (the stand-in removed)",
			Setup: `rm -f /usr/local/bin/wp`},
		{Name: "sudo-missing", Doc: "the sudo package removed (purged)",
			Setup: `SUDO_FORCE_REMOVE=yes dpkg --purge sudo >/dev/null 2>&1`},
		{Name: "unzip-missing", Doc: "the unzip package removed (purged)",
			Setup: `dpkg --purge unzip >/dev/null`},
		{Name: "nologin", Doc: "the user's login shell is /usr/sbin/nologin",
			Setup: `usermod --shell /usr/sbin/nologin ` + User},
		{Name: "noisy-bashrc", Doc: "the user's ~/.bashrc prints before its interactive check",
			Setup: `sed -i '1i echo "Welcome to $(hostname)!"' /home/` + User + `/.bashrc`},
		{Name: "port-2222", Doc: "sshd listens on 2222 only", Port: 2222,
			Setup: `echo 'Port 2222' >/etc/ssh/sshd_config.d/port.conf`},
		// Enabled, so wanted by multi-user.target and kept in systemd's
		// memory, unlike the disabled -stopped units: list-units lists
		// it, loaded and inactive.
		{Name: "redis-condition-failed", Doc: "redis-server enabled, but its start condition fails at boot: inactive (dead) and still in systemd's memory",
			Setup: `mkdir -p /etc/systemd/system/redis-server.service.d && printf '[Unit]\nConditionPathExists=/nonexistent\n' >/etc/systemd/system/redis-server.service.d/condition.conf`},
	}
}

// ProfileByName is the profile of that name from Profiles or
// HealthProfiles.
func ProfileByName(name string) (Profile, bool) {
	for _, p := range append(Profiles(), HealthProfiles()...) {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
