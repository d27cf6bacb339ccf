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
// for a password and Redis is not installed.
const output = `pressluft-probe 1
os.id ubuntu
os.version_id 24.04
systemd yes
sudo.path /usr/bin/sudo
sudo.exit 1
sudo.stderr sudo: a password is required
nginx.path /usr/sbin/nginx
nginx.version nginx version: nginx/1.24.0 (Ubuntu)
nginx.unit nginx
nginx.active active
php-fpm.path /usr/sbin/php-fpm8.3
php-fpm.version PHP 8.3.6 (fpm-fcgi) (built: Apr 15 2024 19:21:47)\nCopyright (c) The PHP Group
php-fpm.modules [PHP Modules]\nCore\nmysqli\nredis\n\n[Zend Modules]\nZend OPcache\n
php-fpm.unit php8.3-fpm
php-fpm.active active
mariadb.path /usr/sbin/mariadbd
mariadb.version /usr/sbin/mariadbd  Ver 10.11.8-MariaDB-0ubuntu0.24.04.1 for debian-linux-gnu on x86_64 (Ubuntu 24.04)
mariadb.unit mariadb
mariadb.active failed
redis.path 
wp-cli.path /usr/local/bin/wp
wp-cli.version WP-CLI 2.10.0
fail2ban.path /usr/bin/fail2ban-client
fail2ban.version Fail2Ban v1.0.2
fail2ban.unit fail2ban
fail2ban.active active
rsync.path /usr/bin/rsync
rsync.version rsync  version 3.2.7  protocol version 31
unzip.path /usr/bin/unzip
unzip.version UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.
curl.path /usr/bin/curl
curl.version curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0
end 32
`

func ExampleParse() {
	facts, err := probe.Parse([]byte(output))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("os:", facts.OS, "systemd:", facts.Systemd, "sudo:", facts.Sudo)
	for _, name := range []string{readiness.ComponentMariaDB, readiness.ComponentPHPFPM, readiness.ComponentRedis} {
		c := facts.Components[name]
		fmt.Printf("%s: installed=%v version=%q unit=%q service=%q\n", name, c.Installed, c.Version, c.Unit, c.Service)
	}
	fmt.Println("php extensions:", facts.PHPExtensions)

	_, err = probe.Parse([]byte("Welcome to node-1!\n" + output))
	fmt.Println(err)
	// Output:
	// os: ubuntu-24.04 systemd: true sudo: password_required
	// mariadb: installed=true version="10.11.8" unit="mariadb" service="failed"
	// php-fpm: installed=true version="8.3.6" unit="php8.3-fpm" service="active"
	// redis: installed=false version="" unit="" service=""
	// php extensions: [core mysqli redis zend opcache]
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
