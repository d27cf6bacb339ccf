package sshexec_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
)

// A malformed known_hosts file is an error up front, with its line.
func ExampleParseKnownHosts() {
	file := `# control plane known hosts
node1.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJk3aHrP4qKmW2dNqUX2Qk0y9M7e0R6w2l1Xb9v8J6tP
@revoke node2.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJk3aHrP4qKmW2dNqUX2Qk0y9M7e0R6w2l1Xb9v8J6tP
`
	_, err := sshexec.ParseKnownHosts(strings.NewReader(file))
	fmt.Println(err)
	// Output: sshexec: known_hosts: line 3: unknown marker "@revoke"
}

func ExampleClient_Run() {
	signer, err := sshexec.LoadPrivateKeyFile("/etc/pressluft/id_ed25519", nil)
	if err != nil {
		log.Fatal(err)
	}
	hostKeys, err := sshexec.KnownHostsFile("/etc/pressluft/known_hosts")
	if err != nil {
		log.Fatal(err)
	}
	c := sshexec.Client{Timeout: 15 * time.Second}
	res, err := c.Run(context.Background(), sshexec.Target{
		Host:     "203.0.113.7",
		User:     "deploy",
		Signers:  []ssh.Signer{signer},
		HostKeys: hostKeys,
	}, "exec /bin/sh -s", []byte("echo ok\n"))
	if err != nil {
		log.Printf("node not reachable: %s (%v)", sshexec.CodeOf(err), err)
		return
	}
	fmt.Printf("exit %d: %s", res.ExitStatus, res.Stdout)
}
