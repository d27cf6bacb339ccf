package realhost

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
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
	roleCounted  role = "counted"  // NOPASSWD, for the connection count
	// roleLimited may run one command without a password, not true.
	roleLimited role = "limited" // USER ALL=(ALL) NOPASSWD: /usr/bin/apt-get
	// roleNoAuth may run one command and never authenticates.
	roleNoAuth role = "noauth" // Defaults:USER !authenticate + USER ALL=(ALL) /usr/bin/apt-get
)

var roles = []role{roleNopasswd, rolePassword, roleNoSudo, roleNologin, roleTTY, roleNoisy, roleCounted, roleLimited, roleNoAuth}

// account is a real local user with a client key authorized for it.
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

func sudoersPath(name string) string { return filepath.Join("/etc/sudoers.d", name) }

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

// createAccount creates the user, its sudoers.d file (validated with
// visudo first) and its authorized key in keysDir. On error, what was
// created is left for removeAccount.
func createAccount(ctx context.Context, run string, r role, keysDir, scratch string) (account, error) {
	a := account{Name: userPrefix + run + "-" + string(r), Role: r}
	if _, err := runCmd(ctx, "useradd", "-m", "-s", a.shell(), a.Name); err != nil {
		return a, err
	}
	if r == rolePassword {
		if _, err := runStdin(ctx, a.Name+":"+randomHex(12)+"\n", "chpasswd"); err != nil {
			return a, err
		}
	}
	if r == roleNoisy {
		home := filepath.Join("/home", a.Name)
		rc, err := os.ReadFile(filepath.Join(home, ".bashrc"))
		if err != nil {
			return a, err
		}
		rc = append([]byte("echo \"Welcome to $(hostname)\"\n"), rc...)
		if err := os.WriteFile(filepath.Join(home, ".bashrc"), rc, 0o644); err != nil {
			return a, err
		}
	}
	if text := a.sudoers(); text != "" {
		tmp := filepath.Join(scratch, a.Name+".sudoers")
		if err := os.WriteFile(tmp, []byte(text), 0o440); err != nil {
			return a, err
		}
		if _, err := runCmd(ctx, "visudo", "-cf", tmp); err != nil {
			return a, err
		}
		if _, err := runCmd(ctx, "install", "-o", "root", "-g", "root", "-m", "0440", tmp, sudoersPath(a.Name)); err != nil {
			return a, err
		}
	}
	signer, line, err := newSigner()
	if err != nil {
		return a, err
	}
	a.Signer = signer
	if err := os.WriteFile(filepath.Join(keysDir, a.Name), line, 0o644); err != nil {
		return a, err
	}
	return a, nil
}

// removeAccount removes the user, its home and its sudoers.d file.
func removeAccount(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, userPrefix) {
		return fmt.Errorf("refusing to remove %q: not a test account", name)
	}
	var errs []string
	if err := os.Remove(sudoersPath(name)); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err.Error())
	}
	if _, err := lookupUser(name); err == nil {
		// A session that just ended may still be exiting: retry while
		// userdel finds a process of the user (exit status 8).
		var err error
		for range 50 {
			if _, err = runCmd(ctx, "userdel", "-r", name); err == nil || !strings.Contains(err.Error(), "currently used by process") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		// userdel -r exits 12 when only the mail spool is missing.
		if _, still := lookupUser(name); err != nil && still == nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove %s: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// lookupUser returns the user's /etc/passwd line.
func lookupUser(name string) (string, error) {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, name+":") {
			return line, nil
		}
	}
	return "", fmt.Errorf("no user %s", name)
}

// staleAccounts lists test accounts and sudoers.d files left by a run that
// was killed before it could clean up.
func staleAccounts() []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if strings.HasPrefix(n, userPrefix) && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if b, err := os.ReadFile("/etc/passwd"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			n, _, _ := strings.Cut(line, ":")
			add(n)
		}
	}
	if es, err := os.ReadDir("/etc/sudoers.d"); err == nil {
		for _, e := range es {
			add(e.Name())
		}
	}
	return names
}
