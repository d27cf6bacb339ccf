package sshexec_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/sshexec"
	"github.com/pressluft/runtime-readiness/sshexec/sshtest"
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

// A control plane without a host key store of its own keeps accept-new
// keys in a known_hosts file: the first contact records the key, and
// after a restart the file pins it.
func ExampleOpenKnownHosts() {
	dir, err := os.MkdirTemp("", "known-hosts-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "known_hosts")
	node := sshtest.NewNode(sshtest.ReadyProfile()) // a fake node on 127.0.0.1
	defer node.Close()
	ctx := context.Background()

	store, err := sshexec.OpenKnownHosts(path) // missing: an empty store
	if err != nil {
		log.Fatal(err)
	}
	t := node.Target()
	t.HostKeys = store.AcceptNew()
	res, err := new(sshexec.Client).Run(ctx, t, "true", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first contact, key learned:", res.HostKeyLearned)

	// A restart: only the file remembers.
	restarted, err := sshexec.OpenKnownHosts(path)
	if err != nil {
		log.Fatal(err)
	}
	t.HostKeys = restarted.Strict()
	res, err = new(sshexec.Client).Run(ctx, t, "true", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after restart, key learned:", res.HostKeyLearned)

	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	host, keyType, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
	keyType, _, _ = strings.Cut(keyType, " ")
	fmt.Println("recorded as:", strings.SplitN(host, ":", 2)[0]+":PORT", keyType)
	// Output:
	// first contact, key learned: true
	// after restart, key learned: false
	// recorded as: [127.0.0.1]:PORT ssh-ed25519
}
