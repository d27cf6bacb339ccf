package probe_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pressluft/runtime-readiness/probe"
	"github.com/pressluft/runtime-readiness/readiness"
	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

// The output of the probe script on an Ubuntu 24.04 node where sudo asks
// for a password, Redis is not installed, nginx was built from source,
// MariaDB has failed (so systemd says degraded) and /srv/www is full.
const output = `pressluft-probe 3
os.id ubuntu
os.version_id 24.04
systemd yes
sudo.path /usr/bin/sudo
nginx.path /usr/local/sbin/nginx
php-fpm.path /usr/sbin/php-fpm8.3
mariadb.path /usr/sbin/mariadbd
redis.path 
wp-cli.path /usr/local/bin/wp
fail2ban.path /usr/bin/fail2ban-client
rsync.path /usr/bin/rsync
unzip.path /usr/bin/unzip
curl.path /usr/bin/curl
php-fpm.conf_d 10-mysqlnd.ini\n10-opcache.ini\n20-mysqli.ini\n20-redis.ini
nginx.unit nginx
nginx.load loaded
nginx.active active
php-fpm.unit php8.3-fpm
php-fpm.load loaded
php-fpm.active active
mariadb.unit mariadb
mariadb.load loaded
mariadb.active failed
fail2ban.unit fail2ban
fail2ban.load loaded
fail2ban.active active
sudo.exit 1
sudo.stderr sudo: a password is required
sudo.validate_exit 1
sudo.validate_stderr sudo: a password is required
php-fpm.package installed php8.3-fpm 8.3.6-0ubuntu0.24.04.5
mariadb.package installed mariadb-server-core 1:10.11.8-0ubuntu0.24.04.1
fail2ban.package installed fail2ban 1.0.2-3ubuntu0.1
rsync.package installed rsync 3.2.7-1ubuntu1
unzip.package installed unzip 6.0-28ubuntu4
curl.package installed curl 8.5.0-2ubuntu10.6
nginx.version nginx version: nginx/1.27.3
system.state degraded
system.failed mariadb.service
cloud_init.status yes
cloud_init.result yes
reboot.required no
disk / / 2a3e8b1c9d0f4e57 4096 10485760 5242880 2621440 1310720\n/var/lib/mysql /var/lib/mysql 2a3e8b1c9d0f4e57 4096 10485760 5242880 2621440 1310720\n/srv/www /srv/www 1c 4096 16384 0 16384 16380
dpkg.lock_observed yes
dpkg.lock_holders 
end 45
`

func ExampleParse() {
	facts, err := probe.Parse([]byte(output))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("os:", facts.OS, "systemd:", facts.Systemd, "sudo:", facts.Sudo)
	for _, name := range []string{readiness.ComponentMariaDB, readiness.ComponentNginx, readiness.ComponentRedis, readiness.ComponentWPCLI} {
		c := facts.Components[name]
		fmt.Printf("%s: installed=%v version=%q package=%q unit=%q service=%q\n", name, c.Installed, c.Version, c.Package, c.Unit, c.Service)
	}
	fmt.Println("php extensions:", facts.PHPExtensions)
	h := facts.Health
	fmt.Println("system:", h.SystemState, h.FailedUnits, "cloud-init:", h.CloudInit)
	for _, d := range h.Disks {
		fmt.Printf("%s: %d of %d bytes free, at %s\n", d.Path, d.FreeBytes, d.TotalBytes, d.MeasuredAt)
	}

	_, err = probe.Parse([]byte("Welcome to node-1!\n" + output))
	fmt.Println(err)
	// Output:
	// os: ubuntu-24.04 systemd: true sudo: password_required
	// mariadb: installed=true version="10.11.8" package="1:10.11.8-0ubuntu0.24.04.1" unit="mariadb" service="failed"
	// nginx: installed=true version="1.27.3" package="" unit="nginx" service="active"
	// redis: installed=false version="" package="" unit="" service=""
	// wp-cli: installed=true version="" package="" unit="" service=""
	// php extensions: [mysqli mysqlnd opcache redis]
	// system: degraded [mariadb.service] cloud-init: done
	// /: 21474836480 of 42949672960 bytes free, at /
	// /var/lib/mysql: 21474836480 of 42949672960 bytes free, at /var/lib/mysql
	// /srv/www: 0 of 67108864 bytes free, at /srv/www
	// probe: output invalid: line 1: missing header
}

func ExampleProber_Observe() {
	// A fake node on 127.0.0.1: Ubuntu 24.04 whose nginx has failed.
	node := sshtest.NewNode(sshtest.ServiceStateProfile(readiness.ComponentNginx, "failed"))
	defer node.Close()

	p := &probe.Prober{Client: &sshexec.Client{Timeout: 5 * time.Second}}
	obs := p.Observe(context.Background(), "node-1", node.Target())
	if obs.Transport != nil {
		fmt.Println(obs.Transport.Code, obs.Transport.Detail)
		return
	}
	fmt.Println("os:", obs.Facts.OS, "sudo:", obs.Facts.Sudo)
	fmt.Println("nginx:", obs.Facts.Components[readiness.ComponentNginx].Service)
	fmt.Println("connections:", node.Connections(), "execs:", len(node.Execs()))

	op := readiness.OperationSiteCreate
	report := readiness.Evaluate(obs, readiness.PolicyFor(op), op)
	fmt.Println(report.State, report.PrimaryReason)
	// Output:
	// os: ubuntu-24.04 sudo: ok
	// nginx: failed
	// connections: 1 execs: 1
	// not_ready runtime_service_inactive
}
