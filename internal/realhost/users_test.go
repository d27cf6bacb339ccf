package realhost

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pressluft/runtime-readiness/internal/fleet"
)

// userPrefix starts the name of every account the tests create.
const userPrefix = "plrt-"

// role is one kind of account found on real nodes.
type role string

const (
	roleNopasswd role = "nopasswd" // USER ALL=(ALL) NOPASSWD:ALL
	rolePassword role = "sudopw"   // USER ALL=(ALL) ALL, with a password
	roleNoSudo   role = "nosudo"   // not in sudoers
	roleNologin  role = "nologin"  // login shell /usr/sbin/nologin
	roleTTY      role = "tty"      // Defaults:USER requiretty + NOPASSWD
	roleNoisy    role = "noisy"    // NOPASSWD, ~/.bashrc prints a greeting
	// roleLimited may run one command without a password, not true.
	roleLimited role = "limited" // USER ALL=(ALL) NOPASSWD: /usr/bin/apt-get
	// roleNoAuth may run one command and never authenticates.
	roleNoAuth role = "noauth" // Defaults:USER !authenticate + USER ALL=(ALL) /usr/bin/apt-get
)

var roles = []role{roleNopasswd, rolePassword, roleNoSudo, roleNologin, roleTTY, roleNoisy, roleLimited, roleNoAuth}

// account is a real user on nodeUsers with a client key authorized for it.
type account struct {
	Name   string
	Role   role
	Signer ssh.Signer
}

// sudoers returns the account's sudoers.d file, "" for none.
func (a account) sudoers() string {
	switch a.Role {
	case rolePassword:
		return a.Name + " ALL=(ALL) ALL\n"
	case roleNoSudo:
		return ""
	case roleTTY:
		return "Defaults:" + a.Name + " requiretty\n" + a.Name + " ALL=(ALL) NOPASSWD:ALL\n"
	case roleLimited:
		return a.Name + " ALL=(ALL) NOPASSWD: /usr/bin/apt-get\n"
	case roleNoAuth:
		return "Defaults:" + a.Name + " !authenticate\n" + a.Name + " ALL=(ALL) /usr/bin/apt-get\n"
	default:
		return a.Name + " ALL=(ALL) NOPASSWD:ALL\n"
	}
}

func (a account) shell() string {
	if a.Role == roleNologin {
		return "/usr/sbin/nologin"
	}
	return "/bin/bash"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// newSigner returns a fresh ed25519 client key and its authorized_keys line.
func newSigner() (ssh.Signer, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return s, ssh.MarshalAuthorizedKey(s.PublicKey()), nil
}

// quote is s as one /bin/sh word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// createAccount creates, inside the running node n with the node's own
// tools, the user (useradd), its password (chpasswd) or greeting, its
// authorized key, and its sudoers.d file, checked by the node's visudo
// before it is installed. The node is disposable: nothing is removed.
func createAccount(ctx context.Context, n fleet.Node, r role) (account, error) {
	a := account{Name: userPrefix + string(r), Role: r}
	signer, line, err := newSigner()
	if err != nil {
		return a, err
	}
	a.Signer = signer
	home := "/home/" + a.Name
	script := []string{
		"set -eu",
		"useradd -m -s " + a.shell() + " " + a.Name,
		"install -d -m 0700 -o " + a.Name + " -g " + a.Name + " " + home + "/.ssh",
		"printf '%s' " + quote(string(line)) + " >" + home + "/.ssh/authorized_keys",
		"chown " + a.Name + ":" + a.Name + " " + home + "/.ssh/authorized_keys",
		"chmod 0600 " + home + "/.ssh/authorized_keys",
	}
	if r == rolePassword {
		script = append(script, "echo "+quote(a.Name+":"+randomHex(12))+" | chpasswd")
	}
	if r == roleNoisy {
		script = append(script, `sed -i '1i echo "Welcome to $(hostname)"' `+home+"/.bashrc")
	}
	if text := a.sudoers(); text != "" {
		tmp := "/run/" + a.Name + ".sudoers"
		script = append(script,
			"printf '%s' "+quote(text)+" >"+tmp,
			"visudo -cf "+tmp,
			"install -o root -g root -m 0440 "+tmp+" /etc/sudoers.d/"+a.Name,
			"rm -f "+tmp)
	}
	if _, err := inNode(n)(ctx, strings.Join(script, "\n")); err != nil {
		return a, fmt.Errorf("create %s: %w", a.Name, err)
	}
	return a, nil
}
