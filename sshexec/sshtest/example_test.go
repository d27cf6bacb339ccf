package sshtest_test

import (
	"context"
	"fmt"

	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
)

func ExampleNewNode() {
	n := sshtest.NewNode(sshtest.ReadyProfile())
	defer n.Close()

	script := []byte(`R=${PRESSLUFT_PROBE_ROOT-}
PATH=$R/usr/local/sbin:$R/usr/local/bin:$R/usr/sbin:$R/usr/bin:$R/sbin:$R/bin; export PATH
nginx -v 2>&1
sudo -n true && echo sudo ok
systemctl is-active php8.3-fpm
`)
	res, err := new(sshexec.Client).Run(context.Background(), n.Target(), "exec /bin/sh -s", script)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%sexit %d, %d exec recorded\n", res.Stdout, res.ExitStatus, len(n.Execs()))
	// Output:
	// nginx version: nginx/1.24.0 (Ubuntu)
	// sudo ok
	// active
	// exit 0, 1 exec recorded
}

func ExampleNode_SetProfile() {
	n := sshtest.NewNode(sshtest.ReadyProfile())
	defer n.Close()
	check := func() {
		res, err := new(sshexec.Client).Run(context.Background(), n.Target(),
			`PATH=$PRESSLUFT_PROBE_ROOT/usr/bin; systemctl is-active nginx`, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s", res.Stdout)
	}
	check()
	n.SetProfile(sshtest.ServiceInactiveProfile("nginx"))
	check()
	// Output:
	// active
	// inactive
}
